package pcc

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/pccagent/pccagent/pcep"
	"github.com/pccagent/pccagent/pcep/pce"
)

// onePCE starts a PCE and an engine with the given policies and returns the
// PCE's view of the engine after the state sync.
func onePCE(t *testing.T, mutate func(*Config), policies ...PolicyConfig) (*testEngine, *testPCE, *pce.PCC) {
	t.Helper()
	p := startPCE(t, "127.0.0.1")
	e := startEngine(t)
	cfg := baseConfig([]ServerConfig{p.server(0)}, policies...)
	if mutate != nil {
		mutate(&cfg)
	}
	e.apply(cfg)
	return e, p, p.pcc()
}

func TestUpdateIsAppliedAndReportEchoesSRPID(t *testing.T) {
	e, _, c := onePCE(t, nil, policy("a", 1, 16001))
	l := waitLSP(t, c, "a delegated", named("a", delegated))
	srp, err := c.Update(l.PLSPID, []uint32{16100, 16200})
	if err != nil {
		t.Fatal(err)
	}
	rep := waitReport(t, c, "echo", srpReport(srp))
	if rep.LSP.Flags&pcep.LSPDelegate == 0 || rep.LSP.ErrorCode != 0 {
		t.Errorf("echo report flags %#x error code %d", rep.LSP.Flags, rep.LSP.ErrorCode)
	}
	got := waitLSP(t, c, "new labels", named("a", labelsAre(16100, 16200)))
	if got.LastSRPID != srp || got.Oper != pcep.OperActive {
		t.Errorf("PCE view after update: %+v", got)
	}
	s := e.waitState("update applied", func(s Snapshot) bool {
		l, _ := lspState(s, "a")
		return l.Updates == 1
	})
	st, _ := lspState(s, "a")
	if !slices.Equal(st.Labels, []uint32{16100, 16200}) || st.LastSRPID != srp || st.OperStatus != OperActive {
		t.Errorf("engine state after update: %+v", st)
	}
	if ev := e.waitEvent(func(ev Event) bool { return ev.Kind == EventLSPUpdated }); ev.SRPID != srp || ev.LSP != "a" {
		t.Errorf("update event %+v", ev)
	}
	srv, _ := serverState(s, s.Selected)
	if srv.Counters.PCUpdReceived != 1 || srv.Counters.PCRptSent < 2 {
		t.Errorf("counters %+v", srv.Counters)
	}
}

func TestUnacceptableUpdateIsRefusedWithLSPErrorCode4(t *testing.T) {
	tests := []struct {
		name   string
		labels []uint32 // via raw SR-ERO
		ero    []pcep.Subobject
	}{
		{name: "deeper than MSD", labels: []uint32{16, 17, 18, 19, 20}},
		{name: "reserved label", ero: []pcep.Subobject{pcep.SRLabel(3)}},
		{name: "not an SR label", ero: []pcep.Subobject{{Type: pcep.SubSR, NT: pcep.NAIIPv4Node, SRFlags: pcep.SRFlagS, NAI: &pcep.NAI{LocalAddr: netip.MustParseAddr("192.0.2.1")}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _, c := onePCE(t, func(c *Config) { c.MSD = 4 }, policy("a", 1, 16001))
			l := waitLSP(t, c, "a delegated", named("a", delegated))
			var srp uint32 = 5000
			ero := pcep.ERO{Subobjects: tt.ero}
			for _, lbl := range tt.labels {
				ero.Subobjects = append(ero.Subobjects, pcep.SRLabel(lbl))
			}
			err := c.Send(&pcep.PCUpd{Updates: []pcep.Update{{
				SRP: pcep.SRP{SRPID: srp, HasPST: true, PST: pcep.PSTSRMPLS},
				LSP: pcep.LSP{PLSPID: l.PLSPID, Flags: pcep.LSPDelegate},
				ERO: ero,
			}}})
			if err != nil {
				t.Fatal(err)
			}
			rep := waitReport(t, c, "refusal", srpReport(srp))
			if rep.LSP.ErrorCode != pcep.LSPErrUnacceptable {
				t.Errorf("LSP-ERROR-CODE %d, want %d", rep.LSP.ErrorCode, pcep.LSPErrUnacceptable)
			}
			if got := labelsOfReport(rep); !slices.Equal(got, []uint32{16001}) {
				t.Errorf("refusal reports labels %v, want the unchanged 16001", got)
			}
			st, _ := lspState(e.snapshot(), "a")
			if st.Updates != 0 || !slices.Equal(st.Labels, []uint32{16001}) {
				t.Errorf("engine state after refusal: %+v", st)
			}
		})
	}
}

func labelsOfReport(r *pcep.Report) []uint32 {
	var out []uint32
	for _, so := range r.ERO.Subobjects {
		if l, ok := so.Label(); ok {
			out = append(out, l)
		}
	}
	return out
}

func TestUpdateForNonDelegatedLSPIsPCErr191(t *testing.T) {
	p := policy("kept", 1, 16001)
	p.Delegate = false
	_, _, c := onePCE(t, nil, p)
	l := waitLSP(t, c, "kept", named("kept", notDelegated))
	srp, err := c.Update(l.PLSPID, []uint32{16100})
	if err != nil {
		t.Fatal(err)
	}
	if pe := waitPCErr(t, c, srp); !errIs(pe, pcep.ErrInvalidOperation, pcep.ValNonDelegatedUpdate) {
		t.Errorf("PCErr %d/%d, want 19/1", pe.Type, pe.Value)
	}
}

func TestUpdateForUnknownPLSPIDIsPCErr193(t *testing.T) {
	_, _, c := onePCE(t, nil, policy("a", 1, 16001))
	srp, err := c.Update(4242, []uint32{16100})
	if err != nil {
		t.Fatal(err)
	}
	if pe := waitPCErr(t, c, srp); !errIs(pe, pcep.ErrInvalidOperation, pcep.ValUnknownPLSPID) {
		t.Errorf("PCErr %d/%d, want 19/3", pe.Type, pe.Value)
	}
}

func TestUpdateWithD0ReturnsDelegation(t *testing.T) {
	e, _, c := onePCE(t, nil, policy("a", 1, 16001))
	l := waitLSP(t, c, "a delegated", named("a", delegated))
	srp, err := c.ReturnDelegation(l.PLSPID)
	if err != nil {
		t.Fatal(err)
	}
	rep := waitReport(t, c, "return", srpReport(srp))
	if rep.LSP.Flags&pcep.LSPDelegate != 0 {
		t.Error("report after the return still has D=1")
	}
	e.waitState("returned", func(s Snapshot) bool {
		l, _ := lspState(s, "a")
		return !l.Delegated
	})
	// Not delegated any more: a further update is refused.
	srp2, _ := c.Update(l.PLSPID, []uint32{16100})
	if pe := waitPCErr(t, c, srp2); !errIs(pe, pcep.ErrInvalidOperation, pcep.ValNonDelegatedUpdate) {
		t.Errorf("update after return: PCErr %d/%d, want 19/1", pe.Type, pe.Value)
	}
}

func TestStateTimeoutRestoresConfiguredPath(t *testing.T) {
	e, p, c := onePCE(t, func(c *Config) {
		c.DelegateHold = 10 * time.Second
		c.StateTimeout = 30 * time.Second
	}, policy("a", 1, 16001))
	l := waitLSP(t, c, "a delegated", named("a", delegated))
	srp, _ := c.Update(l.PLSPID, []uint32{16500})
	waitReport(t, c, "echo", srpReport(srp))
	p.stop()
	e.waitState("session down", func(s Snapshot) bool { return s.Servers[0].SessionState != StateUp })
	e.clk.Advance(11 * time.Second)
	s := e.waitState("delegation released", func(s Snapshot) bool {
		l, _ := lspState(s, "a")
		return !l.Delegated
	})
	if st, _ := lspState(s, "a"); !slices.Equal(st.Labels, []uint32{16500}) {
		t.Errorf("PCE labels dropped before state-timeout: %v", st.Labels)
	}
	e.clk.Advance(20 * time.Second)
	e.waitState("configured path restored", func(s Snapshot) bool {
		l, _ := lspState(s, "a")
		return slices.Equal(l.Labels, []uint32{16001})
	})
}

func TestPCEStateSurvivesWhenServerReturnsWithinHold(t *testing.T) {
	e, p, c := onePCE(t, func(c *Config) {
		c.DelegateHold = 10 * time.Second
		c.StateTimeout = 30 * time.Second
	}, policy("a", 1, 16001))
	l := waitLSP(t, c, "a delegated", named("a", delegated))
	srp, _ := c.Update(l.PLSPID, []uint32{16500})
	waitReport(t, c, "echo", srpReport(srp))
	p.restart()
	e.waitState("session down", func(s Snapshot) bool { return s.Servers[0].SessionState != StateUp })
	e.reconnect(p.addr.Addr(), time.Second)
	c = p.pcc()
	waitLSP(t, c, "a delegated again with the PCE path", named("a", func(l pce.LSP) bool {
		return l.Delegated && slices.Equal(l.Labels, []uint32{16500})
	}))
	e.clk.Advance(time.Minute)
	barrier(t, c)
	if st, _ := lspState(e.snapshot(), "a"); !slices.Equal(st.Labels, []uint32{16500}) || !st.Delegated {
		t.Errorf("after state-timeout with the server back: %+v", st)
	}
}

func TestPathComputationAppliesReplyLabels(t *testing.T) {
	p := startPCE(t, "127.0.0.1", pce.WithPathComputer(func(r *pcep.Request) ([]uint32, bool) {
		return []uint32{17000, 17001}, true
	}))
	e := startEngine(t)
	e.apply(baseConfig([]ServerConfig{p.server(0)}, policy("computed", 9)))
	c := p.pcc()
	waitLSP(t, c, "computed path", named("computed", func(l pce.LSP) bool {
		return l.Delegated && slices.Equal(l.Labels, []uint32{17000, 17001}) && l.Oper == pcep.OperActive
	}))
	var req *pcep.Request
	_, err := c.WaitRecorded(testContext(t), func(r pce.Recorded) bool {
		if m, ok := r.Msg.(*pcep.PCReq); ok && r.In {
			req = &m.Requests[0]
			return true
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	if !req.HasLSP || req.LSP.PLSPID == 0 || req.LSP.Flags&pcep.LSPDelegate != 0 || !req.RP.HasPST || req.RP.PST != pcep.PSTSRMPLS ||
		req.EndPoints.Destination.String() != "192.0.2.9" {
		t.Errorf("PCReq %+v", req)
	}
	s := e.waitState("computed", func(s Snapshot) bool {
		l, _ := lspState(s, "computed")
		return len(l.Labels) == 2
	})
	if srv := s.Servers[0]; srv.Counters.PCReqSent != 1 || srv.Counters.PCRepReceived != 1 {
		t.Errorf("counters %+v", srv.Counters)
	}
}

func TestPathComputationNoPathKeepsLSPDown(t *testing.T) {
	p := startPCE(t, "127.0.0.1", pce.WithPathComputer(func(*pcep.Request) ([]uint32, bool) { return nil, false }))
	e := startEngine(t)
	e.apply(baseConfig([]ServerConfig{p.server(0)}, policy("nopath", 9)))
	c := p.pcc()
	_, err := c.WaitRecorded(testContext(t), func(r pce.Recorded) bool {
		_, ok := r.Msg.(*pcep.PCRep)
		return ok && !r.In
	})
	if err != nil {
		t.Fatal(err)
	}
	s := e.waitState("no path", func(s Snapshot) bool { return s.Servers[0].Counters.PCRepReceived == 1 })
	l, _ := lspState(s, "nopath")
	if l.OperStatus != OperDown || len(l.Labels) != 0 {
		t.Errorf("after NO-PATH: %+v", l)
	}
	barrier(t, c)
	if pl, _ := c.LSPByName("nopath"); pl.Oper != pcep.OperDown {
		t.Errorf("PCE view after NO-PATH: %+v", pl)
	}
}
