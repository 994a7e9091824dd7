package demo_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pccagent/pccagent/agent"
	"github.com/pccagent/pccagent/agent/demo"
	"github.com/pccagent/pccagent/agent/telemetry"
	"github.com/pccagent/pccagent/pcep/clock"
	"github.com/pccagent/pccagent/pcep/pcc"
	"github.com/pccagent/pccagent/pcep/pce"
)

// testContext is bounded so that no wait in a test can hang.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// logBuffer is a goroutine-safe log sink.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startDemo(t *testing.T, opts ...demo.Option) (*demo.Demo, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := demo.Start(testContext(t), logger, opts...)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() {
			t.Logf("demo logs:\n%s", logs.String())
		}
	})
	return d, logs
}

// startEngine runs a real PCC engine until the test ends.
func startEngine(t *testing.T) *pcc.Engine {
	t.Helper()
	e := pcc.New(pcc.WithLogger(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return e
}

func delegatedCount(p *pce.PCC) int {
	n := 0
	for _, l := range p.LSPs() {
		if l.Delegated {
			n++
		}
	}
	return n
}

func TestSampleConfigDelegatesToEmbeddedPCEAndUpdatesMoveLabels(t *testing.T) {
	ctx := testContext(t)
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	d, _ := startDemo(t, demo.WithClock(clk), demo.WithUpdateInterval(3*time.Second))
	if !d.Addr().Addr().IsLoopback() || d.Addr().Port() == 0 {
		t.Fatalf("Addr() = %v, want a loopback address with a port", d.Addr())
	}

	e := startEngine(t)
	sample := d.SampleConfig()
	if err := e.Apply(ctx, sample.AddTo(pcc.DefaultConfig())); err != nil {
		t.Fatalf("Apply(sample): %v", err)
	}

	p, err := d.PCE().WaitPCC(ctx, func(p *pce.PCC) bool {
		return p.Synced() && delegatedCount(p) == len(sample.Policies)
	})
	if err != nil {
		t.Fatalf("waiting for %d delegated LSPs at the embedded PCE: %v", len(sample.Policies), err)
	}
	before := map[string][]uint32{}
	for _, l := range p.LSPs() {
		before[l.Name] = l.Labels
	}
	for _, pol := range sample.Policies {
		if !slices.Equal(before[pol.Name], pol.Labels) {
			t.Errorf("PCE sees %s with labels %v, want the configured %v", pol.Name, before[pol.Name], pol.Labels)
		}
	}

	// One period of the fake clock: one PCUpd per delegated LSP.
	clk.Advance(3 * time.Second)
	for _, pol := range sample.Policies {
		want := demo.NextLabels(pol.Endpoint, pol.Labels)
		if _, err := p.WaitLSP(ctx, func(l pce.LSP) bool { return l.Name == pol.Name && slices.Equal(l.Labels, want) }); err != nil {
			t.Fatalf("PCE never saw %s reported with the updated labels %v: %v", pol.Name, want, err)
		}
	}
	snap, err := e.Snapshot(ctx)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	for _, l := range snap.LSPs {
		if l.Updates < 1 {
			t.Errorf("engine LSP %s: updates = %d, want >= 1", l.Name, l.Updates)
		}
		if !l.Delegated || l.DelegatedTo != d.Addr().Addr() {
			t.Errorf("engine LSP %s: delegated=%t to %v, want delegated to %v", l.Name, l.Delegated, l.DelegatedTo, d.Addr().Addr())
		}
	}
}

func TestGNMICommandIsLoggedForTheAgentsAddress(t *testing.T) {
	tests := []struct {
		name     string
		insecure bool
		want     string
	}{
		{"plaintext", true, "gnmic -a 127.0.0.1:9339 --insecure subscribe --path /pce-client/lsps --mode stream --stream-mode on_change"},
		{"tls", false, "gnmic -a 127.0.0.1:9339 --skip-verify subscribe --path /pce-client/lsps --mode stream --stream-mode on_change"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, logs := startDemo(t, demo.WithGNMI("127.0.0.1:9339", tt.insecure), demo.WithUpdateInterval(0))
			if !strings.Contains(logs.String(), tt.want) {
				t.Errorf("logs do not contain %q:\n%s", tt.want, logs.String())
			}
		})
	}
}

func TestStartRefusesNonLoopbackListenAddress(t *testing.T) {
	for _, addr := range []string{"192.0.2.1:0", "0.0.0.0:0", "not-an-address"} {
		t.Run(addr, func(t *testing.T) {
			d, err := demo.Start(testContext(t), slog.New(slog.DiscardHandler), demo.WithListen(addr))
			if err == nil {
				d.Close()
				t.Fatalf("Start(WithListen(%q)) succeeded, want an error", addr)
			}
		})
	}
}

func TestCloseIsIdempotentAndContextEndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	d, err := demo.Start(ctx, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := d.Close(); err != nil {
		t.Errorf("Close after the context ended: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestNextLabelsRotatesThroughTransitNodes(t *testing.T) {
	pe3 := netip.MustParseAddr("192.0.2.3")
	tests := []struct {
		name     string
		endpoint netip.Addr
		labels   []uint32
		want     []uint32
	}{
		{"direct to first transit", pe3, []uint32{16003}, []uint32{16011, 16003}},
		{"first to second transit", pe3, []uint32{16011, 16003}, []uint32{16012, 16003}},
		{"second to third transit", pe3, []uint32{16012, 16003}, []uint32{16013, 16003}},
		{"last transit back to direct", pe3, []uint32{16013, 16003}, []uint32{16003}},
		{"empty stack gets the direct path", pe3, nil, []uint32{16003}},
		{"foreign stack starts over", pe3, []uint32{20000, 20001, 20002}, []uint32{16003}},
		{"unknown endpoint keeps the bottom label", netip.Addr{}, []uint32{16007}, []uint32{16011, 16007}},
		{"ipv6 endpoint", netip.MustParseAddr("2001:db8::9"), []uint32{16009}, []uint32{16011, 16009}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := demo.NextLabels(tt.endpoint, tt.labels)
			if !slices.Equal(got, tt.want) {
				t.Errorf("NextLabels(%v, %v) = %v, want %v", tt.endpoint, tt.labels, got, tt.want)
			}
			if slices.Equal(got, tt.labels) {
				t.Errorf("NextLabels(%v, %v) did not change the stack", tt.endpoint, tt.labels)
			}
		})
	}
}

func TestAddToOnlyFillsAConfigWithoutServers(t *testing.T) {
	d, _ := startDemo(t, demo.WithUpdateInterval(0))
	s := d.SampleConfig()
	own := pcc.PolicyConfig{Name: "to-pe3", Color: 9, Endpoint: netip.MustParseAddr("192.0.2.33"), Delegate: true}
	withServer := pcc.DefaultConfig()
	withServer.Servers = []pcc.ServerConfig{{Address: netip.MustParseAddr("192.0.2.10"), Preference: 1}}

	tests := []struct {
		name         string
		in           pcc.Config
		wantServers  []netip.Addr
		wantPolicies []string
		wantSR       bool
	}{
		{"empty config gets server and policies", pcc.DefaultConfig(), []netip.Addr{d.Addr().Addr()}, []string{"to-pe2", "to-pe3", "to-pe4"}, true},
		{"own policy name wins", func() pcc.Config { c := pcc.DefaultConfig(); c.Policies = []pcc.PolicyConfig{own}; return c }(),
			[]netip.Addr{d.Addr().Addr()}, []string{"to-pe3", "to-pe2", "to-pe4"}, true},
		{"config with a server is unchanged", withServer, []netip.Addr{netip.MustParseAddr("192.0.2.10")}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.AddTo(tt.in)
			var servers []netip.Addr
			for _, sv := range got.Servers {
				servers = append(servers, sv.Address)
			}
			var names []string
			for _, p := range got.Policies {
				names = append(names, p.Name)
			}
			if !slices.Equal(servers, tt.wantServers) || !slices.Equal(names, tt.wantPolicies) || got.SegmentRouting != tt.wantSR {
				t.Errorf("AddTo: servers %v policies %v sr %t, want %v %v %t", servers, names, got.SegmentRouting, tt.wantServers, tt.wantPolicies, tt.wantSR)
			}
			if len(got.Servers) == 1 && got.Servers[0].Address == d.Addr().Addr() &&
				(got.Servers[0].Port != d.Addr().Port() || got.Servers[0].Preference != demo.ServerPreference) {
				t.Errorf("sample server = %+v, want port %d preference %d", got.Servers[0], d.Addr().Port(), demo.ServerPreference)
			}
		})
	}
}

// The SetRequest form of the sample is accepted by the agent's Set pipeline
// and yields the same engine configuration as AddTo.
func TestSampleSetRequestIsAcceptedByTheAgent(t *testing.T) {
	ctx := testContext(t)
	d, _ := startDemo(t, demo.WithUpdateInterval(0))
	s := d.SampleConfig()
	req, err := s.SetRequest()
	if err != nil {
		t.Fatalf("SetRequest: %v", err)
	}
	eng := &recordingEngine{}
	a, err := agent.New(ctx, filepath.Join(t.TempDir(), "pccagent.json"), eng, telemetry.NewCache(), agent.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	if _, err := a.Set(ctx, req); err != nil {
		t.Fatalf("agent Set(sample): %v", err)
	}
	got := a.Config()
	want := s.AddTo(pcc.DefaultConfig())
	if !got.SegmentRouting || len(got.Servers) != 1 || got.Servers[0] != want.Servers[0] {
		t.Errorf("agent config servers %+v sr %t, want %+v sr true", got.Servers, got.SegmentRouting, want.Servers)
	}
	if len(got.Policies) != len(want.Policies) {
		t.Fatalf("agent config has %d policies, want %d", len(got.Policies), len(want.Policies))
	}
	byName := map[string]pcc.PolicyConfig{}
	for _, p := range got.Policies {
		byName[p.Name] = p
	}
	for _, w := range want.Policies {
		g := byName[w.Name]
		if g.Color != w.Color || g.Endpoint != w.Endpoint || g.Preference != w.Preference || g.Delegate != w.Delegate || !slices.Equal(g.Labels, w.Labels) {
			t.Errorf("agent policy %s = %+v, want %+v", w.Name, g, w)
		}
	}
}

// recordingEngine accepts every configuration.
type recordingEngine struct {
	mu  sync.Mutex
	cfg pcc.Config
}

func (e *recordingEngine) Apply(_ context.Context, cfg pcc.Config) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cfg = cfg
	return nil
}

func (e *recordingEngine) last() pcc.Config {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cfg
}

func TestWrapEngineAddsTheSampleOnlyWithoutServers(t *testing.T) {
	ctx := testContext(t)
	d, _ := startDemo(t, demo.WithUpdateInterval(0))
	eng := &recordingEngine{}
	wrapped := d.WrapEngine(eng)

	if err := wrapped.Apply(ctx, pcc.DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	if got := eng.last(); len(got.Servers) != 1 || got.Servers[0].Address != d.Addr().Addr() || len(got.Policies) != 3 {
		t.Errorf("empty config applied as %d servers %d policies, want the sample (1, 3)", len(got.Servers), len(got.Policies))
	}
	own := pcc.DefaultConfig()
	own.Servers = []pcc.ServerConfig{{Address: netip.MustParseAddr("192.0.2.10")}}
	if err := wrapped.Apply(ctx, own); err != nil {
		t.Fatal(err)
	}
	if got := eng.last(); len(got.Servers) != 1 || got.Servers[0].Address != own.Servers[0].Address || len(got.Policies) != 0 {
		t.Errorf("own config applied as %+v, want it unchanged", got)
	}
}

// The engine is an Applier, and a wrapped engine is what agent.New takes.
var (
	_ demo.Applier = (*pcc.Engine)(nil)
	_ agent.Engine = demo.Applier(nil)
)
