package pcc

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pccagent/pccagent/pcep"
	"github.com/pccagent/pccagent/pcep/pce"
)

func TestApplyRefusesBadConfigAndChangesNothing(t *testing.T) {
	p := startPCE(t, "127.0.0.1")
	e := startEngine(t)
	good := baseConfig([]ServerConfig{p.server(0)}, policy("a", 1, 16001))
	e.apply(good)
	c := p.pcc()
	waitLSP(t, c, "a", named("a", delegated))
	before := e.snapshot()

	tests := []struct {
		name   string
		mutate func(*Config)
		path   string
	}{
		{"preference above 7", func(c *Config) { c.Servers[0].Preference = 8 }, "preference"},
		{"msd zero", func(c *Config) { c.MSD = 0 }, "msd"},
		{"state-timeout below delegate-hold", func(c *Config) { c.StateTimeout = 10 * time.Second }, "state-timeout"},
		{"dead-timer below keepalive", func(c *Config) { c.Keepalive = 60; c.DeadTimer = 30 }, "dead-timer"},
		{"duplicate policy names", func(c *Config) { c.Policies = append(c.Policies, policy("a", 2, 16002)) }, "policy[a]"},
		{"label below 16", func(c *Config) { c.Policies[0].Labels = []uint32{15} }, "labels"},
		{"label above 1048575", func(c *Config) { c.Policies[0].Labels = []uint32{1048576} }, "labels"},
		{"more labels than msd", func(c *Config) { c.MSD = 1; c.Policies[0].Labels = []uint32{16, 17} }, "labels"},
		{"no endpoint", func(c *Config) { c.Policies[0].Endpoint = netip.Addr{} }, "endpoint"},
		{"unspecified endpoint", func(c *Config) { c.Policies[0].Endpoint = netip.IPv4Unspecified() }, "endpoint"},
		{"server without address", func(c *Config) { c.Servers = append(c.Servers, ServerConfig{}) }, "servers"},
		{"duplicate server", func(c *Config) { c.Servers = append(c.Servers, c.Servers[0]) }, "servers"},
		{"policy without name", func(c *Config) { c.Policies = append(c.Policies, PolicyConfig{Endpoint: ep50}) }, "policies"},
		{"unknown control policy", func(c *Config) { c.ControlRequestPolicy = 9 }, "control-request-policy"},
		{"delegate-hold out of range", func(c *Config) {
			c.DelegateHold = 70000 * time.Second
			c.StateTimeout = 70000 * time.Second
		}, "delegate-hold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := cloneConfig(good)
			// Also change things that would be visible, to see that none is applied.
			bad.Policies = append(bad.Policies, policy("new", 9, 16009))
			bad.Servers[0].Preference = 1
			tt.mutate(&bad)
			err := e.Apply(testContext(t), bad)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Apply = %v, want a *ConfigError", err)
			}
			if !strings.Contains(ce.Path, tt.path) {
				t.Errorf("error path %q, want it to name %q (%v)", ce.Path, tt.path, err)
			}
			if got := e.Config(); !reflect.DeepEqual(got, good) {
				t.Errorf("Config changed:\n got %+v\nwant %+v", got, good)
			}
			after := e.snapshot()
			if len(after.LSPs) != len(before.LSPs) || after.Servers[0].Config != before.Servers[0].Config {
				t.Errorf("state changed: %+v", after)
			}
		})
	}
	barrier(t, c)
	if _, ok := c.LSPByName("new"); ok {
		t.Error("a refused policy reached the PCE")
	}
}

func TestApplyAfterStopReturnsErrStopped(t *testing.T) {
	e := New(WithLogger(quiet))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	cancel()
	<-done
	if err := e.Apply(testContext(t), DefaultConfig()); !errors.Is(err, ErrStopped) {
		t.Errorf("Apply after stop = %v, want ErrStopped", err)
	}
}

func TestPolicyAddChangeRemoveIsReported(t *testing.T) {
	e, p, c := onePCE(t, nil, policy("a", 1, 16001))
	cfg := e.Config()
	_ = p
	cfg.Policies = append(cfg.Policies, policy("b", 2, 16002))
	e.apply(cfg)
	waitLSP(t, c, "b added and delegated", named("b", delegated))

	cfg.Policies[1].Labels = []uint32{16020, 16021}
	cfg.Policies[1].Color = 555
	e.apply(cfg)
	waitLSP(t, c, "b changed", named("b", func(l pce.LSP) bool {
		return slices.Equal(l.Labels, []uint32{16020, 16021}) && l.Color == 555
	}))

	cfg.Policies = cfg.Policies[:1]
	e.apply(cfg)
	rep := waitReport(t, c, "b removed", func(r *pcep.Report) bool {
		return r.LSP.SymbolicName == "b" && r.LSP.Flags&pcep.LSPRemove != 0
	})
	if rep.LSP.PLSPID == 0 {
		t.Error("removal without PLSP-ID")
	}
	s := e.waitState("b gone", func(s Snapshot) bool { return len(s.LSPs) == 1 })
	if s.LSPs[0].Name != "a" {
		t.Errorf("left %+v", s.LSPs)
	}
}

func TestDelegateTrueToFalseRevokes(t *testing.T) {
	e, _, c := onePCE(t, nil, policy("a", 1, 16001))
	waitLSP(t, c, "a delegated", named("a", delegated))
	cfg := e.Config()
	cfg.Policies[0].Delegate = false
	e.apply(cfg)
	waitLSP(t, c, "a revoked", named("a", notDelegated))
	e.waitEvent(func(ev Event) bool { return ev.Kind == EventLSPRevoked && ev.LSP == "a" })
	cfg.Policies[0].Delegate = true
	e.apply(cfg)
	waitLSP(t, c, "a delegated again", named("a", delegated))
}

func TestSourceInterfaceMissingIsRecordedInState(t *testing.T) {
	p := startPCE(t, "127.0.0.1")
	e := startEngine(t, WithInterfaceAddr(func(name string) (netip.Addr, error) {
		return netip.Addr{}, fmt.Errorf("interface %s not found", name)
	}))
	cfg := baseConfig([]ServerConfig{p.server(0)}, policy("a", 1, 16001))
	cfg.SourceInterface = "eth-missing"
	e.apply(cfg)
	s := e.waitState("error recorded", func(s Snapshot) bool { return s.Servers[0].LastError != "" })
	if st := s.Servers[0]; st.SessionState != StateIdle || !strings.Contains(st.LastError, "eth-missing") {
		t.Errorf("server state %+v", st)
	}
	e.clk.Advance(10 * time.Minute) // no retries while the config is unchanged
	if got := len(p.PCCs()); got != 0 {
		t.Errorf("%d sessions despite the missing interface", got)
	}
	if st := e.snapshot().Servers[0]; st.SessionState != StateIdle {
		t.Errorf("state %v after waiting", st.SessionState)
	}
	cfg.SourceInterface = ""
	e.apply(cfg)
	p.pcc()
	e.waitState("up without source-interface", func(s Snapshot) bool {
		return s.Servers[0].SessionState == StateUp && s.Servers[0].LastError == ""
	})
}

func TestSourceAddress(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		opts   []Option
		want   string
	}{
		{"source-interface", func(c *Config) { c.SourceInterface = "lab0"; c.LSRID = netip.MustParseAddr("127.0.0.8") },
			[]Option{WithInterfaceAddr(func(string) (netip.Addr, error) { return netip.MustParseAddr("127.0.0.9"), nil })}, "127.0.0.9"},
		{"lsr-id", func(c *Config) { c.LSRID = netip.MustParseAddr("127.0.0.7") }, nil, "127.0.0.7"},
		{"loopback interface lookup", func(c *Config) { c.SourceInterface = "lo" }, nil, "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startPCE(t, "127.0.0.1")
			e := startEngine(t, tt.opts...)
			cfg := baseConfig([]ServerConfig{p.server(0)}, policy("a", 1, 16001))
			tt.mutate(&cfg)
			e.apply(cfg)
			c := p.pcc()
			if got := c.RemoteAddr().Addr().String(); got != tt.want {
				t.Errorf("PCE sees the PCC at %s, want %s", got, tt.want)
			}
			st := e.snapshot().Servers[0]
			if st.LocalAddress.String() != tt.want {
				t.Errorf("local-address %s, want %s", st.LocalAddress, tt.want)
			}
			waitLSP(t, c, "a", named("a", nil))
			rep := waitReport(t, c, "a", func(r *pcep.Report) bool { return r.LSP.SymbolicName == "a" })
			if rep.LSP.Identifiers == nil {
				t.Fatal("report without LSP-IDENTIFIERS")
			}
			if got := rep.LSP.Identifiers.Sender.String(); got != tt.want {
				t.Errorf("LSP-IDENTIFIERS sender %s, want %s", got, tt.want)
			}
		})
	}
}

func TestSessionRestartsWhenOpenParametersChange(t *testing.T) {
	e, p, c := onePCE(t, nil, policy("a", 1, 16001))
	cfg := e.Config()
	cfg.Keepalive = 20
	cfg.DeadTimer = 80
	e.apply(cfg)
	ctx := testContext(t)
	c2, err := p.WaitPCC(ctx, func(x *pce.PCC) bool { return x != c })
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	if ka := c2.Session().PeerOpen().Keepalive; ka != 20 {
		t.Errorf("new session keepalive %d, want 20", ka)
	}
	waitLSP(t, c2, "a on the new session", named("a", delegated))
}

func TestServerRemovalMovesDelegationsAtOnce(t *testing.T) {
	high := startPCE(t, "127.0.0.2")
	low := startPCE(t, "127.0.0.3")
	e := startEngine(t)
	cfg := baseConfig([]ServerConfig{high.server(7), low.server(0)}, policy("a", 1, 16001))
	e.apply(cfg)
	waitLSP(t, high.pcc(), "a at high", named("a", delegated))
	lc := low.pcc()
	cfg.Servers = cfg.Servers[1:]
	e.apply(cfg)
	waitLSP(t, lc, "a at low", named("a", delegated))
	s := e.snapshot()
	if len(s.Servers) != 1 || s.Selected != low.addr.Addr() {
		t.Errorf("after removal: %+v", s)
	}
}

func TestClearSessionReconnects(t *testing.T) {
	e, p, c := onePCE(t, nil, policy("a", 1, 16001))
	if err := e.ClearSession(testContext(t), p.addr.Addr()); err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	c2, err := p.WaitPCC(ctx, func(x *pce.PCC) bool { return x != c })
	if err != nil {
		t.Fatal(err)
	}
	waitLSP(t, c2, "a after clear", named("a", delegated))
	if err := e.ClearSession(ctx, netip.MustParseAddr("127.9.9.9")); !errors.Is(err, ErrUnknownServer) {
		t.Errorf("ClearSession of an unknown server = %v", err)
	}
}

func TestChangesCarryLSPAndServerState(t *testing.T) {
	e, _, c := onePCE(t, nil, policy("a", 1, 16001))
	l := waitLSP(t, c, "a", named("a", delegated))
	srp, _ := c.Update(l.PLSPID, []uint32{16100})
	waitReport(t, c, "echo", srpReport(srp))
	ctx := testContext(t)
	var lspSeen, serverUp bool
	for !(lspSeen && serverUp) {
		batch, err := e.Changes().Next(ctx, nil)
		if err != nil {
			t.Fatalf("changes: %v (lsp %v, server %v)", err, lspSeen, serverUp)
		}
		for _, ch := range batch {
			if ch.LSP != nil && ch.LSP.Name == "a" && ch.LSP.Updates == 1 && ch.LSP.Delegated {
				lspSeen = true
			}
			if ch.Server != nil && ch.Server.SessionState == StateUp && ch.Server.Selected {
				serverUp = true
			}
		}
	}
}

func TestDisabledEngineClosesSessions(t *testing.T) {
	e, p, c := onePCE(t, nil, policy("a", 1, 16001))
	cfg := e.Config()
	cfg.Enabled = false
	e.apply(cfg)
	<-c.Session().Done()
	e.clk.Advance(10 * time.Minute)
	s := e.waitState("idle", func(s Snapshot) bool { return s.Servers[0].SessionState == StateIdle })
	if len(s.LSPs) != 1 {
		t.Errorf("LSPs %+v", s.LSPs)
	}
	for _, x := range p.PCCs() {
		if x != c { // c may not be unlisted yet
			t.Error("new session while disabled")
		}
	}
	cfg.Enabled = true
	e.apply(cfg)
	ctx := testContext(t)
	c2, err := p.WaitPCC(ctx, func(x *pce.PCC) bool { return x != c })
	if err != nil {
		t.Fatal(err)
	}
	waitLSP(t, c2, "a after enabling", named("a", nil))
}
