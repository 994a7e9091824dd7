package pcc

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/pccagent/pccagent/pcep"
	"github.com/pccagent/pccagent/pcep/pce"
)

func TestStateSyncReportsEveryLSPThenEndMarker(t *testing.T) {
	p := startPCE(t, "127.0.0.1")
	e := startEngine(t)
	e.apply(baseConfig([]ServerConfig{p.server(0)},
		policy("a", 1, 16001), policy("b", 2, 16002, 16003), policy("c", 3, 16004)))
	c := p.pcc()

	var syncReports []pcep.Report
	var marker *pcep.Report
	for _, r := range c.Recorded() {
		m, ok := r.Msg.(*pcep.PCRpt)
		if !r.In || !ok {
			continue
		}
		for i := range m.Reports {
			rep := m.Reports[i]
			if rep.LSP.PLSPID == 0 {
				marker = &rep
				break
			}
			if rep.LSP.Flags&pcep.LSPSync != 0 {
				syncReports = append(syncReports, rep)
			}
		}
		if marker != nil {
			break
		}
	}
	if marker == nil {
		t.Fatal("no end-of-sync marker")
	}
	if marker.LSP.Flags&pcep.LSPSync != 0 || len(marker.ERO.Subobjects) != 0 {
		t.Errorf("end marker: flags %#x, ERO %v; want S=0 and an empty ERO", marker.LSP.Flags, marker.ERO.Subobjects)
	}
	if len(syncReports) != 3 {
		t.Fatalf("%d sync reports before the marker, want 3", len(syncReports))
	}
	ids := map[uint32]bool{}
	for _, rep := range syncReports {
		if rep.LSP.PLSPID == 0 || rep.LSP.PLSPID >= pcep.MaxPLSPID || ids[rep.LSP.PLSPID] {
			t.Errorf("bad or duplicate PLSP-ID %d", rep.LSP.PLSPID)
		}
		ids[rep.LSP.PLSPID] = true
		if rep.LSP.Flags&pcep.LSPCreate != 0 {
			t.Errorf("%s: C flag on a PCC-initiated LSP", rep.LSP.SymbolicName)
		}
		if !rep.LSP.HasColor || rep.LSP.Identifiers == nil || !rep.LSP.Identifiers.Endpoint.IsValid() {
			t.Errorf("%s: missing COLOR or LSP-IDENTIFIERS TLV", rep.LSP.SymbolicName)
		}
		if !rep.HasSRP || !rep.SRP.HasPST || rep.SRP.PST != pcep.PSTSRMPLS {
			t.Errorf("%s: no SRP with PATH-SETUP-TYPE SR", rep.LSP.SymbolicName)
		}
		if len(rep.Attributes.Assocs()) != 1 {
			t.Fatalf("%s: %d associations, want 1", rep.LSP.SymbolicName, len(rep.Attributes.Assocs()))
		}
		a := rep.Attributes.Associations[0]
		if a.Type != pcep.AssocSRPolicy || !a.HasCPathID || a.CPathID.Origin != pcep.OriginConfig || !a.HasPreference || a.Preference != 100 {
			t.Errorf("%s: association %+v", rep.LSP.SymbolicName, a)
		}
	}
	want := []struct {
		name   string
		color  uint32
		labels []uint32
	}{{"a", 101, []uint32{16001}}, {"b", 102, []uint32{16002, 16003}}, {"c", 103, []uint32{16004}}}
	for _, w := range want {
		name := w.name
		l := waitLSP(t, c, name, named(name, nil))
		if !slices.Equal(l.Labels, w.labels) || l.Color != w.color || l.Oper != pcep.OperActive || l.Preference != 100 {
			t.Errorf("%s at the PCE: %+v", name, l)
		}
	}
}

func TestPLSPIDsAreStableAcrossApply(t *testing.T) {
	p := startPCE(t, "127.0.0.1")
	e := startEngine(t)
	cfg := baseConfig([]ServerConfig{p.server(0)}, policy("a", 1, 16001), policy("b", 2, 16002))
	e.apply(cfg)
	before := e.snapshot()
	cfg.Policies[1].Labels = []uint32{16009}
	cfg.Policies = append(cfg.Policies, policy("c", 3, 16003))
	e.apply(cfg)
	after := e.snapshot()
	for _, name := range []string{"a", "b"} {
		x, _ := lspState(before, name)
		y, _ := lspState(after, name)
		if x.PLSPID != y.PLSPID || x.PLSPID == 0 {
			t.Errorf("%s: PLSP-ID %d became %d", name, x.PLSPID, y.PLSPID)
		}
	}
	cl, _ := lspState(after, "c")
	if cl.PLSPID == 0 || cl.PLSPID == 1 || cl.PLSPID == 2 {
		t.Errorf("c got PLSP-ID %d", cl.PLSPID)
	}
}

func TestResyncSendsStateSyncAgain(t *testing.T) {
	p := startPCE(t, "127.0.0.1")
	e := startEngine(t)
	e.apply(baseConfig([]ServerConfig{p.server(0)}, policy("a", 1, 16001)))
	c := p.pcc()
	if err := e.Resync(testContext(t), p.addr.Addr()); err != nil {
		t.Fatal(err)
	}
	markers := 0
	_, err := c.WaitRecorded(testContext(t), func(r pce.Recorded) bool {
		if m, ok := r.Msg.(*pcep.PCRpt); ok && r.In {
			for _, rep := range m.Reports {
				if rep.LSP.PLSPID == 0 {
					markers++
				}
			}
		}
		return markers == 2
	})
	if err != nil {
		t.Fatalf("second end marker: %v", err)
	}
}

func TestDelegatesOnlyToPreferredServer(t *testing.T) {
	low := startPCE(t, "127.0.0.2")
	high := startPCE(t, "127.0.0.3")
	e := startEngine(t)
	e.apply(baseConfig([]ServerConfig{low.server(3), high.server(7)}, policy("a", 1, 16001)))
	hc, lc := high.pcc(), low.pcc()
	waitLSP(t, hc, "a delegated to the preferred server", named("a", delegated))
	waitLSP(t, lc, "a reported to the other server", named("a", nil))
	barrier(t, lc)
	if l, _ := lc.LSPByName("a"); l.Delegated {
		t.Error("a delegated to the less preferred server too")
	}
	s := e.waitState("selection", func(s Snapshot) bool { return s.Selected == high.addr.Addr() })
	if l, _ := lspState(s, "a"); !l.Delegated || l.DelegatedTo != high.addr.Addr() {
		t.Errorf("engine state of a: %+v", l)
	}
	if st, _ := serverState(s, high.addr.Addr()); !st.Selected || st.SessionState != StateUp || !st.Stateful || !st.LSPUpdate || !st.SegmentRouting {
		t.Errorf("selected server state: %+v", st)
	}
}

func TestSelectionTieGoesToSmallestAddress(t *testing.T) {
	tests := []struct {
		name   string
		ips    []string
		winner string
	}{
		{"IPv4 pair", []string{"127.0.0.3", "127.0.0.2"}, "127.0.0.2"},
		{"IPv4 before IPv6", []string{"::1", "127.0.0.4"}, "127.0.0.4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var servers []ServerConfig
			pces := map[string]*testPCE{}
			for _, ip := range tt.ips {
				p := startPCE(t, ip)
				pces[ip] = p
				servers = append(servers, p.server(5))
			}
			e := startEngine(t)
			e.apply(baseConfig(servers, policy("a", 1, 16001)))
			for _, p := range pces {
				p.pcc()
			}
			want := netip.MustParseAddr(tt.winner)
			e.waitState("tie-break", func(s Snapshot) bool {
				l, _ := lspState(s, "a")
				return s.Selected == want && l.DelegatedTo == want
			})
			waitLSP(t, pces[tt.winner].pcc(), "a delegated to the winner", named("a", delegated))
		})
	}
}

func TestServerRankOrder(t *testing.T) {
	tests := []struct {
		a, b   string
		pa, pb uint8
		above  bool
	}{
		{"10.0.0.2", "10.0.0.1", 7, 0, true},
		{"10.0.0.1", "10.0.0.2", 0, 7, false},
		{"10.0.0.1", "10.0.0.2", 3, 3, true},
		{"10.0.0.2", "10.0.0.1", 3, 3, false},
		{"2001:db8::1", "2001:db8::2", 0, 0, true},
		{"2001:db8::10", "2001:db8::9", 0, 0, false},
		{"192.0.2.1", "2001:db8::1", 0, 0, true},
		{"2001:db8::1", "192.0.2.1", 0, 0, false},
		{"2001:db8::1", "192.0.2.1", 1, 0, true},
	}
	for _, tt := range tests {
		a := &server{cfg: ServerConfig{Address: netip.MustParseAddr(tt.a), Preference: tt.pa}}
		b := &server{cfg: ServerConfig{Address: netip.MustParseAddr(tt.b), Preference: tt.pb}}
		if got := rankAbove(a, b); got != tt.above {
			t.Errorf("rankAbove(%s/%d, %s/%d) = %v, want %v", tt.a, tt.pa, tt.b, tt.pb, got, tt.above)
		}
	}
}

func TestSelectionRevertsToHigherRankedServer(t *testing.T) {
	high := startPCE(t, "127.0.0.2")
	low := startPCE(t, "127.0.0.3")
	e := startEngine(t)
	cfg := baseConfig([]ServerConfig{high.server(7), low.server(1)}, policy("a", 1, 16001))
	cfg.DelegateHold = 10 * time.Second
	cfg.StateTimeout = 20 * time.Second
	e.apply(cfg)
	waitLSP(t, high.pcc(), "a at high", named("a", delegated))
	lc := low.pcc()

	high.stop()
	e.waitState("high down", func(s Snapshot) bool {
		st, _ := serverState(s, high.addr.Addr())
		return st.SessionState != StateUp
	})
	e.clk.Advance(11 * time.Second) // delegate-hold expires: failover to low
	waitLSP(t, lc, "a failed over to low", named("a", delegated))

	high.restart()
	e.reconnect(high.addr.Addr(), maxBackoff)
	hc := high.pcc()
	waitLSP(t, hc, "a back at high", named("a", delegated))
	waitLSP(t, lc, "a revoked at low", named("a", notDelegated))
	// Order: D=0 to the old server was sent before D=1 to the new one.
	revoked := e.waitEvent(func(ev Event) bool { return ev.Kind == EventLSPRevoked && ev.Server == low.addr.Addr() })
	back := e.waitEvent(func(ev Event) bool {
		return ev.Kind == EventLSPDelegated && ev.Server == high.addr.Addr() && ev.Seq > revoked.Seq
	})
	if back.LSP != "a" {
		t.Errorf("delegation event %+v", back)
	}
}

func TestFailoverWaitsDelegateHold(t *testing.T) {
	high := startPCE(t, "127.0.0.2")
	low := startPCE(t, "127.0.0.3")
	e := startEngine(t)
	cfg := baseConfig([]ServerConfig{high.server(7), low.server(1)}, policy("a", 1, 16001))
	cfg.DelegateHold = 30 * time.Second
	e.apply(cfg)
	waitLSP(t, high.pcc(), "a at high", named("a", delegated))
	lc := low.pcc()
	high.stop()
	e.waitState("high down", func(s Snapshot) bool {
		st, _ := serverState(s, high.addr.Addr())
		return st.SessionState != StateUp
	})
	e.clk.Advance(20 * time.Second)
	s := e.snapshot()
	if l, _ := lspState(s, "a"); l.DelegatedTo != high.addr.Addr() || s.Selected != high.addr.Addr() {
		t.Errorf("before delegate-hold expired: a %+v, selected %s", l, s.Selected)
	}
	barrier(t, lc)
	if l, _ := lc.LSPByName("a"); l.Delegated {
		t.Error("a delegated to low before delegate-hold expired")
	}
	e.clk.Advance(11 * time.Second)
	waitLSP(t, lc, "a at low after delegate-hold", named("a", delegated))
	e.waitState("low selected", func(s Snapshot) bool {
		l, _ := lspState(s, "a")
		return s.Selected == low.addr.Addr() && l.DelegatedTo == low.addr.Addr()
	})
}

func TestReconnectBacksOffExponentially(t *testing.T) {
	e := startEngine(t)
	// Nothing listens there: every attempt is refused.
	gone := startPCE(t, "127.0.0.5")
	gone.stop()
	e.apply(baseConfig([]ServerConfig{gone.server(0)}))
	want := []time.Duration{1, 2, 4, 8, 16, 32, 64, 120, 120}
	for i, w := range want {
		w *= time.Second
		e.waitBackoff(gone.addr.Addr(), w)
		if i == 0 {
			st, _ := serverState(e.snapshot(), gone.addr.Addr())
			if st.LastError == "" || st.SessionState != StateIdle {
				t.Errorf("after a refused attempt: %+v", st)
			}
		}
		e.clk.Advance(w) // the jittered delay is at most the backoff
	}
}

// reconnect advances the clock by step whenever a reconnect attempt to addr
// is pending, until its session is up.
func (te *testEngine) reconnect(addr netip.Addr, step time.Duration) {
	te.t.Helper()
	ctx := testContext(te.t)
	for {
		var up, pending bool
		te.call(ctx, func() error {
			if s := te.servers[addr]; s != nil {
				up = s.up
				pending = s.retryTimer != nil && s.retryAt.After(te.now())
			}
			return nil
		})
		if up {
			return
		}
		if pending {
			te.clk.Advance(step)
		}
		select {
		case <-ctx.Done():
			te.t.Fatalf("no session to %s", addr)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// waitBackoff waits until the server's pending retry uses backoff d.
func (te *testEngine) waitBackoff(addr netip.Addr, d time.Duration) {
	te.t.Helper()
	ctx := testContext(te.t)
	for {
		var got time.Duration
		te.call(ctx, func() error {
			if s := te.servers[addr]; s != nil && s.retryTimer != nil && s.retryAt.After(te.now()) {
				got = s.backoff
			}
			return nil
		})
		if got == d {
			return
		}
		select {
		case <-ctx.Done():
			te.t.Fatalf("backoff is %v, want %v", got, d)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func TestOpenAdvertisesConfiguredCapabilities(t *testing.T) {
	tests := []struct {
		name         string
		sr, initiate bool
	}{
		{"segment routing and instantiation", true, true},
		{"neither", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startPCE(t, "127.0.0.1")
			e := startEngine(t)
			cfg := baseConfig([]ServerConfig{p.server(0)})
			cfg.SegmentRouting, cfg.PCEInitiated, cfg.MSD = tt.sr, tt.initiate, 6
			cfg.Keepalive, cfg.DeadTimer = 25, 100
			e.apply(cfg)
			o := p.pcc().Session().PeerOpen()
			if o.Keepalive != 25 || o.DeadTimer != 100 {
				t.Errorf("keepalive %d dead timer %d", o.Keepalive, o.DeadTimer)
			}
			if o.Stateful == nil || o.Stateful.Flags&pcep.StatefulUpdate == 0 ||
				(o.Stateful.Flags&pcep.StatefulInstantiation != 0) != tt.initiate {
				t.Errorf("stateful capability %+v", o.Stateful)
			}
			if !tt.sr {
				if o.PST != nil || o.AssocTypes != nil || o.SRPolicy != nil {
					t.Errorf("SR capabilities advertised without segment routing: %+v", o)
				}
				return
			}
			if o.PST == nil || !slices.Equal(o.PST.PSTs, []uint8{pcep.PSTRSVPTE, pcep.PSTSRMPLS}) || o.PST.SR == nil || o.PST.SR.MSD != 6 {
				t.Errorf("PATH-SETUP-TYPE-CAPABILITY %+v", o.PST)
			}
			if !slices.Equal(o.AssocTypes, []uint16{pcep.AssocSRPolicy}) || o.SRPolicy == nil {
				t.Errorf("association capabilities %v %+v", o.AssocTypes, o.SRPolicy)
			}
		})
	}
}

func TestPreferenceChangeMovesDelegations(t *testing.T) {
	a := startPCE(t, "127.0.0.2")
	b := startPCE(t, "127.0.0.3")
	e := startEngine(t)
	cfg := baseConfig([]ServerConfig{a.server(5), b.server(1)}, policy("x", 1, 16001))
	e.apply(cfg)
	waitLSP(t, a.pcc(), "x at a", named("x", delegated))
	bc := b.pcc()
	cfg.Servers[1].Preference = 7
	e.apply(cfg)
	waitLSP(t, bc, "x at b", named("x", delegated))
	waitLSP(t, a.pcc(), "x revoked at a", named("x", notDelegated))
	if s := e.snapshot(); s.Selected != b.addr.Addr() {
		t.Errorf("selected %s", s.Selected)
	}
}

func TestIPv6PolicyIsReported(t *testing.T) {
	pol := policy("v6", 1, 16001)
	pol.Endpoint = netip.MustParseAddr("2001:db8::3")
	_, _, c := onePCE(t, nil, pol)
	l := waitLSP(t, c, "v6", named("v6", delegated))
	if l.Endpoint != pol.Endpoint || l.Color != pol.Color {
		t.Errorf("PCE view %+v", l)
	}
	rep := waitReport(t, c, "v6", func(r *pcep.Report) bool { return r.LSP.SymbolicName == "v6" })
	if id := rep.LSP.Identifiers; id == nil || !id.Sender.Is6() || id.Endpoint != pol.Endpoint {
		t.Errorf("LSP identifiers %+v", id)
	}
}
