package pcc

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pccagent/pccagent/pcep"
	"github.com/pccagent/pccagent/pcep/pce"
)

var ep50 = netip.MustParseAddr("192.0.2.50")

func TestInitiateCreatesDelegatedLSP(t *testing.T) {
	e, _, c := onePCE(t, nil)
	srp, err := c.Initiate("pce-1", ep50, 7, []uint32{16050, 16051})
	if err != nil {
		t.Fatal(err)
	}
	rep := waitReport(t, c, "initiated", srpReport(srp))
	if rep.LSP.Flags&(pcep.LSPCreate|pcep.LSPDelegate) != pcep.LSPCreate|pcep.LSPDelegate || rep.LSP.PLSPID == 0 {
		t.Errorf("report flags %#x PLSP-ID %d, want C=1 D=1", rep.LSP.Flags, rep.LSP.PLSPID)
	}
	if a := rep.Attributes.Assocs(); len(a) != 1 || a[0].CPathID.Origin != pcep.OriginPCEP || a[0].Color != 7 || a[0].Endpoint != ep50 {
		t.Errorf("association %+v", a)
	}
	s := e.waitState("initiated", func(s Snapshot) bool { _, ok := lspState(s, "pce-1"); return ok })
	st, _ := lspState(s, "pce-1")
	if st.Origin != OriginPCE || !st.Delegated || st.Color != 7 || st.Endpoint != ep50 || st.LastSRPID != srp || len(st.Labels) != 2 {
		t.Errorf("engine state %+v", st)
	}
	e.waitEvent(func(ev Event) bool { return ev.Kind == EventLSPInitiated && ev.SRPID == srp })
	// The new LSP takes updates like any delegated LSP.
	u, _ := c.Update(rep.LSP.PLSPID, []uint32{16060})
	waitReport(t, c, "update of the initiated LSP", srpReport(u))
}

func TestInitiateRemoveDeletesLSP(t *testing.T) {
	e, _, c := onePCE(t, nil, policy("local", 1, 16001))
	srp, _ := c.Initiate("pce-1", ep50, 7, []uint32{16050})
	rep := waitReport(t, c, "initiated", srpReport(srp))
	rm, _ := c.Remove(rep.LSP.PLSPID)
	gone := waitReport(t, c, "removal", srpReport(rm))
	if gone.LSP.Flags&pcep.LSPRemove == 0 || gone.LSP.PLSPID != rep.LSP.PLSPID {
		t.Errorf("removal report %+v", gone.LSP)
	}
	s := e.waitState("removed", func(s Snapshot) bool { _, ok := lspState(s, "pce-1"); return !ok })
	if _, ok := lspState(s, "local"); !ok {
		t.Error("policy removed too")
	}
}

func TestInitiateRemoveAllRemovesOnlyThatPCEsLSPs(t *testing.T) {
	e, _, c := onePCE(t, nil, policy("local", 1, 16001))
	for _, name := range []string{"pce-1", "pce-2"} {
		srp, _ := c.Initiate(name, ep50, 7, []uint32{16050})
		waitReport(t, c, name, srpReport(srp))
	}
	rm, _ := c.Remove(0)
	waitReport(t, c, "removal", srpReport(rm))
	s := e.waitState("removed", func(s Snapshot) bool { return len(s.LSPs) == 1 })
	if s.LSPs[0].Name != "local" {
		t.Errorf("left %+v", s.LSPs)
	}
	barrier(t, c)
	if n := c.LSPCount(); n != 1 {
		t.Errorf("PCE sees %d LSPs, want 1", n)
	}
}

func TestInitiateAdoptsOrphanedLSP(t *testing.T) {
	high := startPCE(t, "127.0.0.2")
	low := startPCE(t, "127.0.0.3")
	e := startEngine(t)
	cfg := baseConfig([]ServerConfig{high.server(7), low.server(0)})
	cfg.DelegateHold = 10 * time.Second
	cfg.StateTimeout = 60 * time.Second
	e.apply(cfg)
	hc, lc := high.pcc(), low.pcc()
	srp, _ := hc.Initiate("orphan", ep50, 7, []uint32{16050})
	rep := waitReport(t, hc, "initiated", srpReport(srp))
	waitLSP(t, lc, "reported to low with C=1 D=0", named("orphan", func(l pce.LSP) bool { return l.Create && !l.Delegated }))
	high.stop()
	e.waitState("high down", func(s Snapshot) bool {
		st, _ := serverState(s, high.addr.Addr())
		return st.SessionState != StateUp
	})
	e.clk.Advance(11 * time.Second)
	e.waitState("orphaned", func(s Snapshot) bool { st, _ := lspState(s, "orphan"); return !st.Delegated })
	// A PCE-initiated LSP is not handed to another PCE on the PCC's
	// initiative: it waits for adoption.
	barrier(t, lc)
	if l, _ := lc.LSPByName("orphan"); l.Delegated {
		t.Fatal("orphan delegated to low without adoption")
	}
	const adopt = 9100
	if err := lc.Send(&pcep.PCInitiate{Requests: []pcep.Initiate{{
		SRP: pcep.SRP{SRPID: adopt, HasPST: true, PST: pcep.PSTSRMPLS},
		LSP: pcep.LSP{PLSPID: rep.LSP.PLSPID, Flags: pcep.LSPDelegate},
	}}}); err != nil {
		t.Fatal(err)
	}
	got := waitReport(t, lc, "adoption", srpReport(adopt))
	if got.LSP.Flags&(pcep.LSPCreate|pcep.LSPDelegate) != pcep.LSPCreate|pcep.LSPDelegate {
		t.Errorf("adoption report flags %#x", got.LSP.Flags)
	}
	e.clk.Advance(2 * time.Minute) // past state-timeout: adopted, so kept
	barrier(t, lc)
	if st, ok := lspState(e.snapshot(), "orphan"); !ok || st.DelegatedTo != low.addr.Addr() {
		t.Errorf("after adoption and state-timeout: %+v (present %v)", st, ok)
	}
}

func TestStateTimeoutRemovesOrphanedPCEInitiatedLSP(t *testing.T) {
	e, p, c := onePCE(t, func(c *Config) {
		c.DelegateHold = 10 * time.Second
		c.StateTimeout = 30 * time.Second
	})
	srp, _ := c.Initiate("doomed", ep50, 7, []uint32{16050})
	waitReport(t, c, "initiated", srpReport(srp))
	p.stop()
	e.waitState("down", func(s Snapshot) bool { return s.Servers[0].SessionState != StateUp })
	e.clk.Advance(20 * time.Second)
	if _, ok := lspState(e.snapshot(), "doomed"); !ok {
		t.Fatal("removed before state-timeout")
	}
	e.clk.Advance(11 * time.Second)
	e.waitState("removed at state-timeout", func(s Snapshot) bool { _, ok := lspState(s, "doomed"); return !ok })
	e.waitEvent(func(ev Event) bool { return ev.Kind == EventLSPRemoved && ev.LSP == "doomed" })
}

func TestInitiateErrors(t *testing.T) {
	create := func(srp uint32, plsp uint32, name string, labels ...uint32) *pcep.PCInitiate {
		ero := pcep.ERO{}
		for _, l := range labels {
			ero.Subobjects = append(ero.Subobjects, pcep.SRLabel(l))
		}
		return &pcep.PCInitiate{Requests: []pcep.Initiate{{
			SRP:          pcep.SRP{SRPID: srp, HasPST: true, PST: pcep.PSTSRMPLS},
			LSP:          pcep.LSP{PLSPID: plsp, Flags: pcep.LSPDelegate, SymbolicName: name},
			HasEndPoints: true,
			EndPoints:    pcep.EndPoints{Source: netip.MustParseAddr("127.0.0.1"), Destination: ep50},
			HasERO:       true,
			ERO:          ero,
		}}}
	}
	remove := func(srp, plsp uint32) *pcep.PCInitiate {
		return &pcep.PCInitiate{Requests: []pcep.Initiate{{
			SRP: pcep.SRP{SRPID: srp, Flags: pcep.SRPRemove},
			LSP: pcep.LSP{PLSPID: plsp},
		}}}
	}
	tests := []struct {
		name      string
		mutate    func(*Config)
		opts      []Option
		msg       func(localPLSP uint32) *pcep.PCInitiate
		typ, val  uint8
		preCreate bool
	}{
		{name: "non-zero PLSP-ID", msg: func(uint32) *pcep.PCInitiate { return create(1, 777, "x", 16050) },
			typ: pcep.ErrInvalidOperation, val: pcep.ValNonZeroPLSPID},
		{name: "no symbolic name", msg: func(uint32) *pcep.PCInitiate { return create(1, 0, "", 16050) },
			typ: pcep.ErrInvalidObject, val: pcep.ValSymbolicNameAbsent},
		{name: "name in use", msg: func(uint32) *pcep.PCInitiate { return create(1, 0, "local", 16050) },
			typ: pcep.ErrBadParameter, val: pcep.ValSymbolicNameInUse},
		{name: "labels deeper than MSD", msg: func(uint32) *pcep.PCInitiate {
			return create(1, 0, "deep", 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26)
		}, typ: pcep.ErrInstantiation, val: pcep.ValInitUnacceptable},
		{name: "reserved label", msg: func(uint32) *pcep.PCInitiate { return create(1, 0, "low", 15) },
			typ: pcep.ErrInstantiation, val: pcep.ValInitUnacceptable},
		{name: "remove unknown PLSP-ID", msg: func(uint32) *pcep.PCInitiate { return remove(1, 4242) },
			typ: pcep.ErrInvalidOperation, val: pcep.ValUnknownPLSPID},
		{name: "remove PCC-initiated LSP", msg: func(local uint32) *pcep.PCInitiate { return remove(1, local) },
			typ: pcep.ErrInvalidOperation, val: pcep.ValNotPCEInitiated},
		{name: "limit reached", opts: []Option{WithInitiateLimit(1)}, preCreate: true,
			msg: func(uint32) *pcep.PCInitiate { return create(1, 0, "second", 16050) },
			typ: pcep.ErrInvalidOperation, val: pcep.ValInitiateLimit},
		{name: "PCE-initiated LSPs disabled", mutate: func(c *Config) { c.PCEInitiated = false },
			msg: func(uint32) *pcep.PCInitiate { return create(1, 0, "x", 16050) },
			typ: pcep.ErrCapability, val: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startPCE(t, "127.0.0.1")
			e := startEngine(t, tt.opts...)
			cfg := baseConfig([]ServerConfig{p.server(0)}, policy("local", 1, 16001))
			if tt.mutate != nil {
				tt.mutate(&cfg)
			}
			e.apply(cfg)
			c := p.pcc()
			local := waitLSP(t, c, "local", named("local", nil))
			if tt.preCreate {
				srp, _ := c.Initiate("first", ep50, 7, []uint32{16050})
				waitReport(t, c, "first", srpReport(srp))
			}
			m := tt.msg(local.PLSPID)
			m.Requests[0].SRP.SRPID = 8800
			if err := c.Send(m); err != nil {
				t.Fatal(err)
			}
			pe := waitPCErr(t, c, 8800)
			if !errIs(pe, tt.typ, tt.val) {
				t.Errorf("PCErr %d/%d, want %d/%d", pe.Type, pe.Value, tt.typ, tt.val)
			}
			want := 1
			if tt.preCreate {
				want = 2
			}
			if n := len(e.snapshot().LSPs); n != want {
				t.Errorf("%d LSPs after the refusal, want %d", n, want)
			}
		})
	}
}
