package pce_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/pccagent/pccagent/pcep"
	"github.com/pccagent/pccagent/pcep/clock"
	"github.com/pccagent/pccagent/pcep/pce"
	"github.com/pccagent/pccagent/pcep/session"
)

func TestSessionUpAdvertisesStatefulSRCapabilities(t *testing.T) {
	tests := []struct {
		name      string
		opts      []pce.Option
		wantFlags uint32
		wantMSD   uint8 // 0: no PATH-SETUP-TYPE-CAPABILITY
		keepalive uint8
	}{
		{"defaults", nil, pcep.StatefulUpdate | pcep.StatefulInstantiation, 10, 30},
		{"msd and timers", []pce.Option{pce.WithSegmentRouting(5), pce.WithKeepalive(10, 40)},
			pcep.StatefulUpdate | pcep.StatefulInstantiation, 5, 10},
		{"no instantiation, no SR", []pce.Option{pce.WithInstantiation(false), pce.WithSegmentRouting(0)},
			pcep.StatefulUpdate, 0, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, addr := startServer(t, tt.opts...)
			c := dialPCC(t, addr)
			got := c.sess.PeerOpen()
			if got.Stateful == nil || got.Stateful.Flags != tt.wantFlags {
				t.Errorf("stateful capability = %+v, want flags %#x", got.Stateful, tt.wantFlags)
			}
			if got.Keepalive != tt.keepalive {
				t.Errorf("keepalive = %d, want %d", got.Keepalive, tt.keepalive)
			}
			if tt.wantMSD == 0 {
				if got.PST != nil {
					t.Errorf("PST capability = %+v, want none", got.PST)
				}
			} else if got.PST == nil || !slices.Contains(got.PST.PSTs, pcep.PSTSRMPLS) ||
				got.PST.SR == nil || got.PST.SR.MSD != tt.wantMSD {
				t.Errorf("PST capability = %+v, want SR with MSD %d", got.PST, tt.wantMSD)
			}
			if !slices.Contains(got.AssocTypes, pcep.AssocSRPolicy) || got.SRPolicy == nil {
				t.Errorf("assoc types %v, SR policy capability %v: want SR policy", got.AssocTypes, got.SRPolicy)
			}
			p := waitPCC(t, srv)
			if p.RemoteAddr() != netipAddrPort(t, c.sess.LocalAddr().String()) {
				t.Errorf("RemoteAddr = %s, want %s", p.RemoteAddr(), c.sess.LocalAddr())
			}
			if p.Session().PeerOpen().Keepalive != 30 {
				t.Errorf("PCE sees keepalive %d, want the PCC's 30", p.Session().PeerOpen().Keepalive)
			}
		})
	}
}

func TestSessionAcceptsAnyPCCTimers(t *testing.T) {
	for _, ka := range []uint8{0, 1, 30, 255} {
		open := pccOpen()
		open.Keepalive, open.DeadTimer = ka, 4*ka
		if ka == 255 {
			open.DeadTimer = 255
		}
		srv, addr := startServer(t)
		dialPCCOpen(t, addr, open)
		if p := waitPCC(t, srv); p.Session().PeerOpen().Keepalive != ka {
			t.Errorf("keepalive %d: PCE sees %d", ka, p.Session().PeerOpen().Keepalive)
		}
	}
}

func netipAddrPort(t *testing.T, s string) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		t.Fatal(err)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

func vendorColor(color uint32) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint32(b, 0x00010004)
	binary.BigEndian.PutUint32(b[4:], color)
	return b
}

func TestSyncReportsBuildDatabase(t *testing.T) {
	extID := make([]byte, 8)
	binary.BigEndian.PutUint32(extID, 77)
	copy(extID[4:], endpoint3.AsSlice())
	tests := []struct {
		name   string
		report func() pcep.Report
		want   pce.LSP
	}{
		{
			name: "SR policy association",
			report: func() pcep.Report {
				r := report(1, "a", pcep.LSPDelegate|uint16(pcep.OperUp)<<pcep.LSPOperShift, 16001, 16002)
				r.Attributes = &pcep.Attributes{Associations: []pcep.Association{{
					Type: pcep.AssocSRPolicy, ID: 1, Source: loopback1, Color: 100, Endpoint: endpoint3,
					HasPreference: true, Preference: 200,
				}}}
				return r
			},
			want: pce.LSP{PLSPID: 1, Name: "a", Delegated: true, Oper: pcep.OperUp, Labels: []uint32{16001, 16002},
				Color: 100, Endpoint: endpoint3, Preference: 200},
		},
		{
			name: "COLOR TLV and LSP identifiers",
			report: func() pcep.Report {
				r := report(2, "b", 0, 16003)
				r.LSP.HasColor, r.LSP.Color = true, 5
				r.LSP.Identifiers = &pcep.LSPIdentifiers{Sender: loopback1, LSPID: 1, TunnelID: 2,
					ExtendedTunnelID: loopback1, Endpoint: endpoint3}
				return r
			},
			want: pce.LSP{PLSPID: 2, Name: "b", Labels: []uint32{16003}, Color: 5, Endpoint: endpoint3},
		},
		{
			name: "vendor information of enterprise 9",
			report: func() pcep.Report {
				r := report(3, "c", pcep.LSPDelegate|pcep.LSPCreate, 16004)
				r.Attributes = &pcep.Attributes{VendorInfo: []pcep.VendorInformation{{Enterprise: 9, Data: vendorColor(42)}}}
				return r
			},
			want: pce.LSP{PLSPID: 3, Name: "c", Delegated: true, Create: true, Labels: []uint32{16004}, Color: 42},
		},
		{
			name: "draft SR policy association with extended ID",
			report: func() pcep.Report {
				r := report(4, "d", 0)
				r.Attributes = &pcep.Attributes{Associations: []pcep.Association{{Type: 65505, ID: 1, Source: loopback1, ExtendedID: extID}}}
				return r
			},
			want: pce.LSP{PLSPID: 4, Name: "d", Color: 77, Endpoint: endpoint3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, addr := startServer(t)
			c := dialPCC(t, addr)
			r := tt.report()
			r.LSP.Flags |= pcep.LSPSync
			c.send(&pcep.PCRpt{Reports: []pcep.Report{r}})
			p := waitPCC(t, srv)
			got, err := p.WaitLSP(testContext(t), func(l pce.LSP) bool { return l.PLSPID == tt.want.PLSPID })
			if err != nil {
				t.Fatal(err)
			}
			if p.Synced() {
				t.Error("synced before the end marker")
			}
			if !equalLSP(got, tt.want) {
				t.Errorf("LSP = %+v, want %+v", got, tt.want)
			}
			if byName, ok := p.LSPByName(tt.want.Name); !ok || !equalLSP(byName, tt.want) {
				t.Errorf("LSPByName(%q) = %+v, %t", tt.want.Name, byName, ok)
			}
			c.send(endOfSync())
			if err := p.WaitSynced(testContext(t)); err != nil {
				t.Fatal(err)
			}
			if n := len(p.LSPs()); n != 1 {
				t.Errorf("%d LSPs after sync, want 1", n)
			}
		})
	}
}

func equalLSP(a, b pce.LSP) bool {
	return a.PLSPID == b.PLSPID && a.Name == b.Name && a.Delegated == b.Delegated && a.Create == b.Create &&
		a.Oper == b.Oper && slices.Equal(a.Labels, b.Labels) && a.Color == b.Color &&
		a.Endpoint == b.Endpoint && a.Preference == b.Preference && a.LastSRPID == b.LastSRPID
}

func TestReportsUpdateAndRemoveLSPs(t *testing.T) {
	srv, addr := startServer(t)
	c, p := syncLSPs(t, srv, addr, report(1, "a", 0, 16001), report(2, "b", pcep.LSPDelegate, 16002))

	// A report echoing an SRP-ID changes the LSP and its LastSRPID.
	r := report(1, "a", pcep.LSPDelegate, 16009)
	r.HasSRP, r.SRP.SRPID = true, 7
	c.send(&pcep.PCRpt{Reports: []pcep.Report{r}})
	got, err := p.WaitLSP(testContext(t), func(l pce.LSP) bool { return l.PLSPID == 1 && l.Delegated })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Labels, []uint32{16009}) || got.LastSRPID != 7 {
		t.Errorf("after report: %+v", got)
	}

	// R=1 removes.
	c.send(&pcep.PCRpt{Reports: []pcep.Report{report(2, "b", pcep.LSPRemove)}})
	if _, err := p.WaitRecorded(testContext(t), func(r pce.Recorded) bool {
		rpt, ok := r.Msg.(*pcep.PCRpt)
		return ok && r.In && rpt.Reports[0].LSP.Flags&pcep.LSPRemove != 0
	}); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.LSP(2); ok {
		t.Error("LSP 2 still in the database after R=1")
	}
	if _, ok := p.LSPByName("b"); ok {
		t.Error("name b still indexed after R=1")
	}
	if n := p.LSPCount(); n != 1 {
		t.Errorf("LSPCount = %d, want 1", n)
	}
}

func TestUpdateSendsPCUpd(t *testing.T) {
	srv, addr := startServer(t)
	c, p := syncLSPs(t, srv, addr, report(1, "a", pcep.LSPDelegate, 16001))
	for i, labels := range [][]uint32{{16005, 16006}, {16007}, {}} {
		srp, err := p.Update(1, labels)
		if err != nil {
			t.Fatal(err)
		}
		if srp != uint32(i+1) {
			t.Errorf("update %d: SRP-ID %d, want %d", i, srp, i+1)
		}
		upd, ok := c.next().(*pcep.PCUpd)
		if !ok || len(upd.Updates) != 1 {
			t.Fatalf("PCC got %#v, want one PCUpd", upd)
		}
		u := upd.Updates[0]
		if u.SRP.SRPID != srp || u.SRP.Flags != 0 || !u.SRP.HasPST || u.SRP.PST != pcep.PSTSRMPLS {
			t.Errorf("SRP = %+v, want ID %d, no flags, PST SR", u.SRP, srp)
		}
		if u.LSP.PLSPID != 1 || u.LSP.Flags&pcep.LSPDelegate == 0 {
			t.Errorf("LSP = %+v, want PLSP-ID 1 with D", u.LSP)
		}
		if got := labelsOf(t, u.ERO); !slices.Equal(got, labels) {
			t.Errorf("ERO labels = %v, want %v", got, labels)
		}
	}
}

func TestCallsRejectBadArguments(t *testing.T) {
	srv, addr := startServer(t, pce.WithInstantiation(false))
	_, p := syncLSPs(t, srv, addr)
	tests := []struct {
		name string
		call func() (uint32, error)
		want error
	}{
		{"label too small", func() (uint32, error) { return p.Update(1, []uint32{3}) }, pce.ErrBadLabel},
		{"label too big", func() (uint32, error) { return p.Update(1, []uint32{1 << 20}) }, pce.ErrBadLabel},
		{"update PLSP-ID 0", func() (uint32, error) { return p.Update(0, nil) }, pce.ErrBadPLSPID},
		{"PLSP-ID reserved", func() (uint32, error) { return p.RequestControl(0xFFFFF) }, pce.ErrBadPLSPID},
		{"return PLSP-ID 0", func() (uint32, error) { return p.ReturnDelegation(0) }, pce.ErrBadPLSPID},
		{"initiate turned off", func() (uint32, error) { return p.Initiate("x", endpoint3, 1, nil) }, pce.ErrNoInstantiation},
		{"remove turned off", func() (uint32, error) { return p.Remove(0) }, pce.ErrNoInstantiation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.call(); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if n := len(p.Recorded()); n != 3 { // two OPENs and the end marker
		t.Errorf("%d messages recorded, want 3: nothing sent", n)
	}
}

func TestRequestsCarryTheRightObjects(t *testing.T) {
	srv, addr := startServer(t)
	c, p := syncLSPs(t, srv, addr, report(3, "a", pcep.LSPDelegate, 16001, 16002))
	tests := []struct {
		name  string
		call  func() (uint32, error)
		check func(t *testing.T, m pcep.Message, srp uint32)
	}{
		{
			name: "initiate",
			call: func() (uint32, error) { return p.Initiate("pol", endpoint3, 100, []uint32{16003, 16004}) },
			check: func(t *testing.T, m pcep.Message, srp uint32) {
				in := only[pcep.Initiate](t, m)
				if in.SRP.SRPID != srp || in.SRP.Flags != 0 || !in.SRP.HasPST || in.SRP.PST != pcep.PSTSRMPLS {
					t.Errorf("SRP = %+v", in.SRP)
				}
				if in.LSP.PLSPID != 0 || in.LSP.SymbolicName != "pol" {
					t.Errorf("LSP = %+v, want PLSP-ID 0 and name pol", in.LSP)
				}
				if !in.HasEndPoints || in.EndPoints.Destination != endpoint3 || !in.EndPoints.Source.Is4() {
					t.Errorf("END-POINTS = %t %+v", in.HasEndPoints, in.EndPoints)
				}
				if got := labelsOf(t, in.ERO); !in.HasERO || !slices.Equal(got, []uint32{16003, 16004}) {
					t.Errorf("ERO = %t %v", in.HasERO, got)
				}
				as := in.Attributes.Assocs()
				if len(as) != 1 || as[0].Type != pcep.AssocSRPolicy || as[0].Color != 100 || as[0].Endpoint != endpoint3 ||
					as[0].Source != loopback1 || !as[0].HasPreference || as[0].Preference != pce.DefaultPreference {
					t.Errorf("associations = %+v", as)
				}
				if in.Attributes == nil {
					t.Fatal("PCInitiate without attributes")
				}
				vi := in.Attributes.VendorInfo
				if len(vi) != 1 || vi[0].Enterprise != 9 || !slices.Equal(vi[0].Data, vendorColor(100)) {
					t.Errorf("vendor information = %+v", vi)
				}
			},
		},
		{
			name: "remove one",
			call: func() (uint32, error) { return p.Remove(3) },
			check: func(t *testing.T, m pcep.Message, srp uint32) {
				in := only[pcep.Initiate](t, m)
				if in.SRP.SRPID != srp || in.SRP.Flags&pcep.SRPRemove == 0 || in.LSP.PLSPID != 3 || in.HasERO ||
					in.LSP.Flags&pcep.LSPDelegate == 0 {
					t.Errorf("removal = %+v", in)
				}
			},
		},
		{
			name: "remove all",
			call: func() (uint32, error) { return p.Remove(0) },
			check: func(t *testing.T, m pcep.Message, srp uint32) {
				in := only[pcep.Initiate](t, m)
				if in.SRP.SRPID != srp || in.SRP.Flags&pcep.SRPRemove == 0 || in.LSP.PLSPID != 0 {
					t.Errorf("removal = %+v", in)
				}
			},
		},
		{
			name: "request control of one",
			call: func() (uint32, error) { return p.RequestControl(3) },
			check: func(t *testing.T, m pcep.Message, srp uint32) {
				u := only[pcep.Update](t, m)
				if u.SRP.SRPID != srp || u.SRP.Flags != pcep.SRPControl || u.LSP.PLSPID != 3 ||
					u.LSP.Flags&pcep.LSPDelegate != 0 || len(u.ERO.Subobjects) != 0 {
					t.Errorf("control request = %+v", u)
				}
			},
		},
		{
			name: "request control of all",
			call: func() (uint32, error) { return p.RequestControl(0) },
			check: func(t *testing.T, m pcep.Message, srp uint32) {
				u := only[pcep.Update](t, m)
				if u.SRP.SRPID != srp || u.SRP.Flags != pcep.SRPControl || u.LSP.PLSPID != 0 ||
					u.LSP.Flags&pcep.LSPDelegate != 0 || len(u.ERO.Subobjects) != 0 {
					t.Errorf("control request = %+v", u)
				}
			},
		},
		{
			name: "return delegation",
			call: func() (uint32, error) { return p.ReturnDelegation(3) },
			check: func(t *testing.T, m pcep.Message, srp uint32) {
				u := only[pcep.Update](t, m)
				if u.SRP.SRPID != srp || u.SRP.Flags != 0 || u.LSP.PLSPID != 3 || u.LSP.Flags&pcep.LSPDelegate != 0 {
					t.Errorf("return = %+v", u)
				}
				if got := labelsOf(t, u.ERO); !slices.Equal(got, []uint32{16001, 16002}) {
					t.Errorf("return keeps the path: ERO %v", got)
				}
			},
		},
	}
	var last uint32
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srp, err := tt.call()
			if err != nil {
				t.Fatal(err)
			}
			if srp <= last {
				t.Errorf("SRP-ID %d after %d: not increasing", srp, last)
			}
			last = srp
			tt.check(t, c.next(), srp)
		})
	}
}

// only returns the single request of a PCInitiate (T = pcep.Initiate) or
// PCUpd (T = pcep.Update).
func only[T pcep.Initiate | pcep.Update](t *testing.T, m pcep.Message) T {
	t.Helper()
	var out []T
	switch m := m.(type) {
	case *pcep.PCInitiate:
		if v, ok := any(m.Requests).([]T); ok {
			out = v
		}
	case *pcep.PCUpd:
		if v, ok := any(m.Updates).([]T); ok {
			out = v
		}
	}
	if len(out) != 1 {
		var zero T
		t.Fatalf("got %s %+v, want one %T", m.MessageType(), m, zero)
	}
	return out[0]
}

func TestPCReqGetsPCRep(t *testing.T) {
	tests := []struct {
		name   string
		opts   []pce.Option
		dst    netip.Addr
		labels []uint32 // nil: NO-PATH
	}{
		{"default path", nil, endpoint3, []uint32{16003}},
		{"default path IPv6", nil, netip.MustParseAddr("2001:db8::21"), []uint32{16033}},
		{"path computer", []pce.Option{pce.WithPathComputer(func(r *pcep.Request) ([]uint32, bool) {
			return []uint32{17000, 17001}, true
		})}, endpoint3, []uint32{17000, 17001}},
		{"no path", []pce.Option{pce.WithPathComputer(func(*pcep.Request) ([]uint32, bool) { return nil, false })},
			endpoint3, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, addr := startServer(t, tt.opts...)
			c, _ := syncLSPs(t, srv, addr)
			src := loopback1
			if tt.dst.Is6() {
				src = netip.IPv6Loopback()
			}
			c.send(&pcep.PCReq{Requests: []pcep.Request{{
				RP:        pcep.RP{ObjFlags: pcep.ObjFlags{P: true}, RequestID: 9, HasPST: true, PST: pcep.PSTSRMPLS},
				EndPoints: pcep.EndPoints{ObjFlags: pcep.ObjFlags{P: true}, Source: src, Destination: tt.dst},
			}}})
			rep, ok := c.next().(*pcep.PCRep)
			if !ok || len(rep.Responses) != 1 {
				t.Fatalf("got %#v, want a PCRep with one response", rep)
			}
			r := rep.Responses[0]
			if r.RP.RequestID != 9 {
				t.Errorf("request ID %d, want 9", r.RP.RequestID)
			}
			if tt.labels == nil {
				if r.NoPath == nil || len(r.Paths) != 0 {
					t.Errorf("response %+v, want NO-PATH", r)
				}
				return
			}
			if r.NoPath != nil || len(r.Paths) != 1 {
				t.Fatalf("response %+v, want one path", r)
			}
			if got := labelsOf(t, r.Paths[0].ERO); !slices.Equal(got, tt.labels) {
				t.Errorf("path %v, want %v", got, tt.labels)
			}
		})
	}
}

func TestControlRequestAnswers(t *testing.T) {
	tests := []struct {
		name   string
		plsp   uint32
		answer func(srp uint32) pcep.Message
		want   pce.ControlRequest // SRPID and PLSPID filled in by the test
	}{
		{
			name: "granted by a report with D=1",
			plsp: 1,
			answer: func(srp uint32) pcep.Message {
				r := report(1, "a", pcep.LSPDelegate, 16001)
				r.HasSRP, r.SRP.SRPID = true, srp
				return &pcep.PCRpt{Reports: []pcep.Report{r}}
			},
			want: pce.ControlRequest{Granted: []uint32{1}},
		},
		{
			name: "denied by a report with D=0",
			plsp: 1,
			answer: func(srp uint32) pcep.Message {
				r := report(1, "a", 0, 16001)
				r.HasSRP, r.SRP.SRPID = true, srp
				return &pcep.PCRpt{Reports: []pcep.Report{r}}
			},
			want: pce.ControlRequest{Denied: []uint32{1}},
		},
		{
			name: "PCErr 19/1 naming the request is a denial",
			plsp: 1,
			answer: func(srp uint32) pcep.Message {
				return &pcep.PCErr{Errors: []pcep.ErrorBlock{{
					SRPs:   []pcep.SRP{{SRPID: srp}},
					Errors: []pcep.PCEPError{{Type: 19, Value: 1}},
				}}}
			},
			want: pce.ControlRequest{Refused: true, ErrType: 19, ErrValue: 1},
		},
		{
			name: "PCErr 19/3 without SRP for all LSPs is a denial",
			plsp: 0,
			answer: func(uint32) pcep.Message {
				return &pcep.PCErr{Errors: []pcep.ErrorBlock{{Errors: []pcep.PCEPError{{Type: 19, Value: 3}}}}}
			},
			want: pce.ControlRequest{Refused: true, ErrType: 19, ErrValue: 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, addr := startServer(t)
			c, p := syncLSPs(t, srv, addr, report(1, "a", 0, 16001))
			srp, err := p.RequestControl(tt.plsp)
			if err != nil {
				t.Fatal(err)
			}
			c.next()
			c.send(tt.answer(srp))
			got, err := p.WaitControlAnswer(testContext(t), srp)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.SRPID, want.PLSPID = srp, tt.plsp
			if got.SRPID != want.SRPID || got.PLSPID != want.PLSPID || got.Refused != want.Refused ||
				got.ErrType != want.ErrType || got.ErrValue != want.ErrValue ||
				!slices.Equal(got.Granted, want.Granted) || !slices.Equal(got.Denied, want.Denied) {
				t.Errorf("answer = %+v, want %+v", got, want)
			}
			if all := p.ControlRequests(); len(all) != 1 || all[0].SRPID != srp {
				t.Errorf("ControlRequests = %+v", all)
			}
		})
	}
}

func TestRecordingCanBeTurnedOff(t *testing.T) {
	tests := []struct {
		name string
		opts []pce.Option
		want []string // direction and type of each record
	}{
		{"on by default", nil, []string{"out Open", "in Open", "in PCRpt", "in PCRpt", "out PCUpd"}},
		{"off", []pce.Option{pce.WithRecording(false)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, addr := startServer(t, tt.opts...)
			c, p := syncLSPs(t, srv, addr, report(1, "a", pcep.LSPDelegate, 16001))
			if _, err := p.Update(1, []uint32{16002}); err != nil {
				t.Fatal(err)
			}
			c.next()
			// The database is kept either way.
			if _, ok := p.LSP(1); !ok {
				t.Error("LSP 1 missing")
			}
			var got []string
			for _, r := range p.Recorded() {
				dir := "out"
				if r.In {
					dir = "in"
				}
				got = append(got, dir+" "+r.Msg.MessageType().String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("records %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSetRecordingStopsRecording(t *testing.T) {
	srv, addr := startServer(t)
	c, p := syncLSPs(t, srv, addr, report(1, "a", pcep.LSPDelegate, 16001))
	before := len(p.Recorded())
	srv.SetRecording(false)
	if _, err := p.Update(1, []uint32{16002}); err != nil {
		t.Fatal(err)
	}
	c.next()
	if n := len(p.Recorded()); n != before {
		t.Errorf("%d records after turning recording off, want %d", n, before)
	}
}

func TestWaitsEndWithTheSession(t *testing.T) {
	srv, addr := startServer(t)
	c := dialPCC(t, addr)
	p := waitPCC(t, srv)
	c.sess.Close(pcep.CloseNoReason)
	if err := p.WaitSynced(testContext(t)); !errors.Is(err, pce.ErrSessionClosed) {
		t.Errorf("WaitSynced = %v, want ErrSessionClosed", err)
	}
	if _, err := p.WaitRecorded(testContext(t), func(pce.Recorded) bool { return false }); !errors.Is(err, pce.ErrSessionClosed) {
		t.Errorf("WaitRecorded = %v, want ErrSessionClosed", err)
	}
}

func TestServerCloseEndsSessions(t *testing.T) {
	srv, addr := startServer(t)
	c := dialPCC(t, addr)
	waitPCC(t, srv)
	srv.Close()
	select {
	case <-c.sess.Done():
	case <-testContext(t).Done():
		t.Fatal("PCC session still up after Close")
	}
	if _, err := srv.WaitPCC(testContext(t), nil); !errors.Is(err, pce.ErrServerClosed) {
		t.Errorf("WaitPCC after Close = %v, want ErrServerClosed", err)
	}
}

func TestManyPCCsAreListedAndAddressed(t *testing.T) {
	srv, addr := startServer(t)
	var locals []netip.AddrPort
	for range 3 {
		c := dialPCC(t, addr)
		locals = append(locals, netipAddrPort(t, c.sess.LocalAddr().String()))
	}
	for _, l := range locals {
		if _, err := srv.WaitPCC(testContext(t), func(p *pce.PCC) bool { return p.RemoteAddr() == l }); err != nil {
			t.Fatalf("PCC %s: %v", l, err)
		}
	}
	if n := len(srv.PCCs()); n != 3 {
		t.Errorf("%d PCCs, want 3", n)
	}
}

func TestInitiatedLSPKeepsTheRequestedPolicy(t *testing.T) {
	tests := []struct {
		name      string
		withColor bool // the PCC reports a color of its own
		wantColor uint32
	}{
		{"PCC reports no color", false, 100},
		{"PCC reports a color", true, 55},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, addr := startServer(t)
			c, p := syncLSPs(t, srv, addr)
			srp, err := p.Initiate("pol", endpoint3, 100, []uint32{16003})
			if err != nil {
				t.Fatal(err)
			}
			c.next()
			r := report(9, "pol", pcep.LSPDelegate|pcep.LSPCreate, 16003)
			r.HasSRP, r.SRP.SRPID = true, srp
			if tt.withColor {
				r.LSP.HasColor, r.LSP.Color = true, 55
			}
			c.send(&pcep.PCRpt{Reports: []pcep.Report{r}})
			got, err := p.WaitLSP(testContext(t), func(l pce.LSP) bool { return l.PLSPID == 9 })
			if err != nil {
				t.Fatal(err)
			}
			want := pce.LSP{PLSPID: 9, Name: "pol", Delegated: true, Create: true, Labels: []uint32{16003},
				Color: tt.wantColor, Endpoint: endpoint3, Preference: pce.DefaultPreference, LastSRPID: srp}
			if !equalLSP(got, want) {
				t.Errorf("LSP = %+v, want %+v", got, want)
			}
		})
	}
}

func TestOpenCheckDecidesWhichPCCsAreAccepted(t *testing.T) {
	srv, addr := startServer(t, pce.WithOpenCheck(func(peer *pcep.OpenObject) (*pcep.OpenObject, *pcep.Error) {
		if peer.Stateful == nil {
			return nil, pcep.NewError(pcep.ErrSessionEstablishment, pcep.ValOpenNotNegotiable, "stateless PCC")
		}
		return nil, nil
	}))
	tests := []struct {
		name     string
		stateful bool
	}{
		{"stateless PCC refused", false},
		{"stateful PCC accepted", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			open := pccOpen()
			if !tt.stateful {
				open.Stateful = nil
			}
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			sess, err := session.Establish(testContext(t), conn, session.Config{Role: session.RolePCC, Local: open, Logger: quiet})
			if tt.stateful != (err == nil) {
				t.Fatalf("Establish: %v, want success %t", err, tt.stateful)
			}
			if err == nil {
				defer func() { sess.Close(pcep.CloseNoReason); <-sess.Done() }()
				local := netipAddrPort(t, sess.LocalAddr().String())
				if _, err := srv.WaitPCC(testContext(t), func(p *pce.PCC) bool { return p.RemoteAddr() == local }); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestSendIsRawAndRecorded(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	srv, addr := startServer(t, pce.WithClock(clock.NewFake(start)))
	c, p := syncLSPs(t, srv, addr)
	// An update for PLSP-ID 0 and without SRP-ID: only Send can make it.
	raw := &pcep.PCUpd{Updates: []pcep.Update{{SRP: pcep.SRP{SRPID: 0xFFFFFFFE}, LSP: pcep.LSP{PLSPID: 0}}}}
	if err := p.Send(raw); err != nil {
		t.Fatal(err)
	}
	got, ok := c.next().(*pcep.PCUpd)
	if !ok || got.Updates[0].SRP.SRPID != 0xFFFFFFFE {
		t.Fatalf("PCC got %+v", got)
	}
	r, err := p.WaitRecorded(testContext(t), func(r pce.Recorded) bool { return !r.In && r.Msg == raw })
	if err != nil {
		t.Fatal(err)
	}
	if !r.Time.Equal(start) {
		t.Errorf("recorded at %v, want the fake clock's %v", r.Time, start)
	}
	// The raw message does not move the SRP-ID sequence.
	if srp, err := p.RequestControl(0); err != nil || srp != 1 {
		t.Errorf("RequestControl after Send: SRP-ID %d, %v; want 1", srp, err)
	}
}

func TestInitiateEndPointsFollowTheEndpointFamily(t *testing.T) {
	tests := []struct {
		name     string
		endpoint netip.Addr
		source   netip.Addr
	}{
		{"IPv4 endpoint from an IPv4 PCC", endpoint3, loopback1},
		{"IPv6 endpoint from an IPv4 PCC", netip.MustParseAddr("2001:db8::3"), netip.IPv6Unspecified()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, addr := startServer(t)
			c, p := syncLSPs(t, srv, addr)
			if _, err := p.Initiate("pol", tt.endpoint, 7, []uint32{16001}); err != nil {
				t.Fatal(err)
			}
			in := only[pcep.Initiate](t, c.next())
			if in.EndPoints.Source != tt.source || in.EndPoints.Destination != tt.endpoint {
				t.Errorf("END-POINTS %s -> %s, want %s -> %s",
					in.EndPoints.Source, in.EndPoints.Destination, tt.source, tt.endpoint)
			}
			if a := in.Attributes.Assocs(); len(a) != 1 || a[0].Endpoint != tt.endpoint || a[0].Color != 7 {
				t.Errorf("association %+v", a)
			}
		})
	}
}

func TestWaitLSPSeesChangesDuringASync(t *testing.T) {
	srv, addr := startServer(t, pce.WithRecording(false))
	c := dialPCC(t, addr)
	p := waitPCC(t, srv)
	const n = 2000
	go func() {
		for i := uint32(1); i <= n; i++ {
			r := report(i, fmt.Sprintf("lsp-%d", i), pcep.LSPSync, 16000+i%1000)
			if c.sess.Send(&pcep.PCRpt{Reports: []pcep.Report{r}}) != nil {
				return
			}
		}
		// LSP 7 changes after the sync.
		c.sess.Send(endOfSync())
		c.sess.Send(&pcep.PCRpt{Reports: []pcep.Report{report(7, "lsp-7", pcep.LSPDelegate, 17007)}})
	}()
	tests := []struct {
		name string
		pred func(pce.LSP) bool
		want uint32
	}{
		{"an LSP late in the sync", func(l pce.LSP) bool { return l.Name == "lsp-1999" }, 1999},
		{"an LSP changed after the sync", func(l pce.LSP) bool { return l.Delegated }, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.WaitLSP(testContext(t), tt.pred)
			if err != nil {
				t.Fatal(err)
			}
			if got.PLSPID != tt.want {
				t.Errorf("found PLSP-ID %d, want %d", got.PLSPID, tt.want)
			}
		})
	}
	if l, _ := p.LSP(7); !slices.Equal(l.Labels, []uint32{17007}) {
		t.Errorf("LSP 7 labels %v, want [17007]", l.Labels)
	}
}
