package pcc

import (
	"slices"
	"testing"

	"github.com/pccagent/pccagent/pcep"
	"github.com/pccagent/pccagent/pcep/pce"
)

// kept returns a policy that is not delegated on the PCC's own initiative.
func kept(name string, n byte) PolicyConfig {
	p := policy(name, n, 16000+uint32(n))
	p.Delegate = false
	return p
}

func withControlPolicy(cp ControlPolicy) func(*Config) {
	return func(c *Config) { c.ControlRequestPolicy = cp }
}

func TestControlRequestForAllLSPsIsNotUnknownPLSPID(t *testing.T) {
	e, _, c := onePCE(t, nil, kept("a", 1), kept("b", 2))
	srp, err := c.RequestControl(0)
	if err != nil {
		t.Fatal(err)
	}
	waitLSP(t, c, "a granted", named("a", delegated))
	waitLSP(t, c, "b granted", named("b", delegated))
	ans, err := c.WaitControlAnswer(testContext(t), srp)
	if err != nil {
		t.Fatal(err)
	}
	if ans.Refused {
		t.Fatalf("control request for PLSP-ID 0 refused with PCErr %d/%d", ans.ErrType, ans.ErrValue)
	}
	barrier(t, c)
	ans = c.ControlRequests()[0]
	if len(ans.Granted) != 2 || ans.Refused {
		t.Errorf("answer %+v, want both LSPs granted", ans)
	}
	s := e.snapshot()
	for _, l := range s.LSPs {
		if !l.Delegated || l.DelegatedTo != s.Servers[0].Config.Address || l.LastSRPID != srp {
			t.Errorf("engine state %+v", l)
		}
	}
	if n := len(e.events(EventControlGranted)); n != 2 {
		t.Errorf("%d control-granted events, want 2", n)
	}
}

func TestControlRequestWithDelegateFlagIgnoresC(t *testing.T) {
	tests := []struct {
		name     string
		delegate bool
		wantErr  bool // 19/1: an update of a non-delegated LSP
	}{
		{"delegated LSP: applied as an update", true, false},
		{"non-delegated LSP: refused as an update", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := policy("a", 1, 16001)
			pol.Delegate = tt.delegate
			_, _, c := onePCE(t, nil, pol)
			l := waitLSP(t, c, "a", named("a", nil))
			const srp = 7000
			err := c.Send(&pcep.PCUpd{Updates: []pcep.Update{{
				SRP: pcep.SRP{SRPID: srp, Flags: pcep.SRPControl, HasPST: true, PST: pcep.PSTSRMPLS},
				LSP: pcep.LSP{PLSPID: l.PLSPID, Flags: pcep.LSPDelegate},
				ERO: pcep.ERO{Subobjects: []pcep.Subobject{pcep.SRLabel(16777)}},
			}}})
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantErr {
				if pe := waitPCErr(t, c, srp); !errIs(pe, pcep.ErrInvalidOperation, pcep.ValNonDelegatedUpdate) {
					t.Errorf("PCErr %d/%d, want 19/1", pe.Type, pe.Value)
				}
				return
			}
			rep := waitReport(t, c, "update echo", srpReport(srp))
			if got := labelsOfReport(rep); !slices.Equal(got, []uint32{16777}) {
				t.Errorf("labels %v after update with C and D set", got)
			}
		})
	}
}

func TestControlRequestForNonDelegatedLSPIsNeverPCErr191(t *testing.T) {
	for _, cp := range []ControlPolicy{ControlGrant, ControlDeny, ControlIgnore} {
		t.Run(cp.String(), func(t *testing.T) {
			_, _, c := onePCE(t, withControlPolicy(cp), kept("a", 1))
			l := waitLSP(t, c, "a", named("a", nil))
			srpOne, _ := c.RequestControl(l.PLSPID)
			srpAll, _ := c.RequestControl(0)
			srpUnknown, _ := c.RequestControl(4242)
			barrier(t, c)
			for _, srp := range []uint32{srpOne, srpAll, srpUnknown} {
				for _, r := range c.Recorded() {
					if m, ok := r.Msg.(*pcep.PCErr); ok && r.In {
						for _, b := range m.Errors {
							if len(b.SRPs) > 0 && b.SRPs[0].SRPID == srp {
								t.Errorf("control request SRP-ID %d answered with PCErr %+v", srp, b.Errors)
							}
						}
					}
				}
			}
			for _, cr := range c.ControlRequests() {
				if cr.Refused {
					t.Errorf("control request %d refused", cr.SRPID)
				}
			}
		})
	}
}

func TestControlRequestForLSPDelegatedElsewhereIsIgnored(t *testing.T) {
	high := startPCE(t, "127.0.0.2")
	low := startPCE(t, "127.0.0.3")
	e := startEngine(t)
	e.apply(baseConfig([]ServerConfig{high.server(7), low.server(0)}, policy("a", 1, 16001)))
	waitLSP(t, high.pcc(), "a at high", named("a", delegated))
	lc := low.pcc()
	l := waitLSP(t, lc, "a at low", named("a", nil))
	srp, _ := lc.RequestControl(l.PLSPID)
	barrier(t, lc)
	noMessageAbout(t, lc, srp)
	ev := e.waitEvent(func(ev Event) bool { return ev.Kind == EventControlIgnored && ev.SRPID == srp })
	if ev.Server != low.addr.Addr() || ev.LSP != "a" {
		t.Errorf("ignored event %+v", ev)
	}
	if st, _ := lspState(e.snapshot(), "a"); st.DelegatedTo != high.addr.Addr() {
		t.Errorf("a moved to %s", st.DelegatedTo)
	}
}

func TestControlRequestPolicyDenyAnswersD0(t *testing.T) {
	e, _, c := onePCE(t, withControlPolicy(ControlDeny), kept("a", 1))
	l := waitLSP(t, c, "a", named("a", nil))
	srp, _ := c.RequestControl(l.PLSPID)
	ans, err := c.WaitControlAnswer(testContext(t), srp)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ans.Denied, []uint32{l.PLSPID}) || len(ans.Granted) != 0 || ans.Refused {
		t.Errorf("answer %+v, want a denial by PCRpt D=0", ans)
	}
	if st, _ := lspState(e.snapshot(), "a"); st.Delegated {
		t.Error("denied LSP is delegated")
	}
	e.waitEvent(func(ev Event) bool { return ev.Kind == EventControlDenied && ev.SRPID == srp })
}

func TestControlRequestPolicyIgnoreSendsNothing(t *testing.T) {
	e, _, c := onePCE(t, withControlPolicy(ControlIgnore), kept("a", 1), kept("b", 2))
	l := waitLSP(t, c, "a", named("a", nil))
	srpOne, _ := c.RequestControl(l.PLSPID)
	srpAll, _ := c.RequestControl(0)
	barrier(t, c)
	noMessageAbout(t, c, srpOne)
	noMessageAbout(t, c, srpAll)
	if n := len(e.events(EventControlIgnored)); n != 3 {
		t.Errorf("%d control-ignored events, want 3", n)
	}
	for _, st := range e.snapshot().LSPs {
		if st.Delegated {
			t.Errorf("%s delegated under policy ignore", st.Name)
		}
	}
}

func TestGrantedLSPStaysUntilReturned(t *testing.T) {
	tests := []struct {
		name string
		end  func(t *testing.T, e *testEngine, p *testPCE, c *pce.PCC, plsp uint32, cfg Config)
	}{
		{"returned by the PCE", func(t *testing.T, e *testEngine, p *testPCE, c *pce.PCC, plsp uint32, cfg Config) {
			if _, err := c.ReturnDelegation(plsp); err != nil {
				t.Fatal(err)
			}
		}},
		{"session lost", func(t *testing.T, e *testEngine, p *testPCE, c *pce.PCC, plsp uint32, cfg Config) {
			p.stop()
		}},
		{"operator sets delegate false", func(t *testing.T, e *testEngine, p *testPCE, c *pce.PCC, plsp uint32, cfg Config) {
			cfg.Policies[0].Delegate = true
			e.apply(cfg)
			cfg.Policies[0].Delegate = false
			e.apply(cfg)
			waitLSP(t, c, "revoked", named("g", notDelegated))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startPCE(t, "127.0.0.1")
			e := startEngine(t)
			cfg := baseConfig([]ServerConfig{p.server(0)}, kept("g", 1))
			e.apply(cfg)
			c := p.pcc()
			l := waitLSP(t, c, "g", named("g", nil))
			if _, err := c.RequestControl(l.PLSPID); err != nil {
				t.Fatal(err)
			}
			waitLSP(t, c, "g granted", named("g", delegated))
			// It stays through unrelated configuration changes and a resync.
			cfg2 := cfg
			cfg2.Policies = append(slices.Clone(cfg.Policies), policy("other", 2, 16002))
			e.apply(cfg2)
			e.apply(cfg)
			if err := e.Resync(testContext(t), p.addr.Addr()); err != nil {
				t.Fatal(err)
			}
			barrier(t, c)
			if st, _ := lspState(e.snapshot(), "g"); !st.Delegated {
				t.Fatal("grant lost on an unrelated change")
			}
			tt.end(t, e, p, c, l.PLSPID, cfg)
			e.waitState("grant ended", func(s Snapshot) bool {
				st, _ := lspState(s, "g")
				return !st.Delegated
			})
		})
	}
}
