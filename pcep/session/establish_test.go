package session

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pccagent/pccagent/pcep"
	"github.com/pccagent/pccagent/pcep/clock"
)

func TestEstablishBothRolesOverTCP(t *testing.T) {
	tests := []struct {
		name     string
		pcc, pce pcep.OpenObject
	}{
		{"same timers", openObj(30, 120, 1), openObj(30, 120, 7)},
		{"different timers", openObj(10, 40, 2), openObj(60, 240, 9)},
		{"no keepalives on one side", openObj(0, 0, 3), openObj(30, 120, 4)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pccConn, pceConn := tcpPair(t)
			clk := clock.NewFake(testStart)
			pccCfg := baseConfig(clk, tc.pcc)
			pceCfg := baseConfig(clk, tc.pce)
			pceCfg.Role = RolePCE
			pccCh := establishAsync(context.Background(), pccConn, pccCfg)
			pceCh := establishAsync(context.Background(), pceConn, pceCfg)
			pcc, pce := waitResult(t, pccCh), waitResult(t, pceCh)
			if pcc.err != nil || pce.err != nil {
				t.Fatalf("Establish: pcc %v, pce %v", pcc.err, pce.err)
			}
			if got := pcc.s.PeerOpen(); got.Keepalive != tc.pce.Keepalive || got.DeadTimer != tc.pce.DeadTimer || got.SessionID != tc.pce.SessionID {
				t.Errorf("pcc sees peer open %+v, want %+v", got, tc.pce)
			}
			if got := pce.s.PeerOpen(); got.SessionID != tc.pcc.SessionID || got.Stateful == nil {
				t.Errorf("pce sees peer open %+v, want %+v", got, tc.pcc)
			}
			if got := pcc.s.LocalOpen(); got.Keepalive != tc.pcc.Keepalive || got.SessionID != tc.pcc.SessionID {
				t.Errorf("pcc local open %+v, want %+v", got, tc.pcc)
			}
			if pcc.s.RemoteAddr().String() != pce.s.LocalAddr().String() {
				t.Errorf("addresses: pcc remote %v, pce local %v", pcc.s.RemoteAddr(), pce.s.LocalAddr())
			}
			for _, s := range []*Session{pcc.s, pce.s} {
				st := s.Stats()
				if st.SentByType[pcep.TypeOpen] != 1 || st.SentByType[pcep.TypeKeepalive] != 1 ||
					st.ReceivedByType[pcep.TypeOpen] != 1 || st.ReceivedByType[pcep.TypeKeepalive] != 1 {
					t.Errorf("stats after establishment: %+v", st)
				}
			}

			if err := pcc.s.Close(pcep.CloseNoReason); err != nil {
				t.Fatalf("Close: %v", err)
			}
			waitDone(t, pce.s)
			var ce *ClosedError
			if !errors.As(pce.s.Err(), &ce) || !ce.ByPeer || ce.Reason != pcep.CloseNoReason {
				t.Errorf("pce Err = %v, want closed by peer with reason 1", pce.s.Err())
			}
			if !errors.As(pcc.s.Err(), &ce) || ce.ByPeer || ce.Reason != pcep.CloseNoReason {
				t.Errorf("pcc Err = %v, want closed by us with reason 1", pcc.s.Err())
			}
		})
	}
}

// wantPCEPError checks that err is the *pcep.Error t/v.
func wantPCEPError(typ, val uint8) func(testing.TB, error) {
	return func(t testing.TB, err error) {
		t.Helper()
		var pe *pcep.Error
		if !errors.As(err, &pe) || pe.Type != typ || pe.Value != val {
			t.Fatalf("Establish error = %v, want PCErr %d/%d", err, typ, val)
		}
	}
}

func TestEstablishmentFailures(t *testing.T) {
	notNegotiable := func(*pcep.OpenObject) (*pcep.OpenObject, *pcep.Error) {
		return nil, pcep.NewError(pcep.ErrSessionEstablishment, pcep.ValOpenNotNegotiable, "no stateful capability")
	}
	negotiableNoCounter := func(*pcep.OpenObject) (*pcep.OpenObject, *pcep.Error) {
		return nil, pcep.NewError(pcep.ErrSessionEstablishment, pcep.ValOpenNegotiable, "keepalive too long")
	}
	alwaysCounter := func(*pcep.OpenObject) (*pcep.OpenObject, *pcep.Error) {
		c := openObj(30, 120, 1)
		return &c, pcep.NewError(pcep.ErrSessionEstablishment, pcep.ValOpenNegotiable, "keepalive too long")
	}
	counterPCErr := func(ka, dead uint8) *pcep.PCErr {
		o := openObj(ka, dead, 9)
		return pcerrMessage(pcep.ErrSessionEstablishment, pcep.ValOpenNegotiable, &o)
	}
	// An OPEN object (class 1, type 1) with the given body.
	openWithBody := func(body ...byte) []byte {
		n := 4 + len(body)
		return rawMessage(1, byte(pcep.TypeOpen), append([]byte{pcep.ClassOpen, 0x10, 0, byte(n)}, body...))
	}
	peerOpen := &pcep.Open{Open: openObj(30, 120, 9)}

	tests := []struct {
		name   string
		check  func(*pcep.OpenObject) (*pcep.OpenObject, *pcep.Error)
		cfg    func(*Config)
		script func(t *testing.T, p *rawPeer, clk *clock.Fake)
		want   func(testing.TB, error)
	}{
		{
			name: "Keepalive before Open gets 1/1",
			script: func(t *testing.T, p *rawPeer, clk *clock.Fake) {
				p.send(&pcep.Keepalive{})
				p.expectPCErr(1, 1)
				p.expectEOF()
			},
			want: wantPCEPError(1, 1),
		},
		{
			name: "PCRpt before Open gets 1/1",
			script: func(t *testing.T, p *rawPeer, clk *clock.Fake) {
				p.sendRaw(rawMessage(1, byte(pcep.TypePCRpt), nil))
				p.expectPCErr(1, 1)
				p.expectEOF()
			},
			want: wantPCEPError(1, 1),
		},
		{
			name: "unknown message before Open gets 1/1",
			script: func(t *testing.T, p *rawPeer, clk *clock.Fake) {
				p.sendRaw(rawMessage(1, 99, nil))
				p.expectPCErr(1, 1)
				p.expectEOF()
			},
			want: wantPCEPError(1, 1),
		},
		{
			name: "malformed Open gets 1/1",
			script: func(t *testing.T, p *rawPeer, clk *clock.Fake) {
				p.sendRaw(openWithBody())
				p.expectPCErr(1, 1)
				p.expectEOF()
			},
			want: wantPCEPError(1, 1),
		},
		{
			name: "header version 2 gets 1/8",
			script: func(t *testing.T, p *rawPeer, clk *clock.Fake) {
				p.sendRaw(rawMessage(2, byte(pcep.TypeOpen), []byte{pcep.ClassOpen, 0x10, 0, 8, 1 << 5, 30, 120, 1}))
				p.expectPCErr(1, 8)
				p.expectEOF()
			},
			want: wantPCEPError(1, 8),
		},
		{
			name: "OPEN object version 2 gets 1/8",
			script: func(t *testing.T, p *rawPeer, clk *clock.Fake) {
				p.sendRaw(openWithBody(2<<5, 30, 120, 1))
				p.expectPCErr(1, 8)
				p.expectEOF()
			},
			want: wantPCEPError(1, 8),
		},
		{
			name: "no Open within OpenWait gets 1/2",
			script: func(t *testing.T, p *rawPeer, clk *clock.Fake) {
				clk.Advance(DefaultOpenWait)
				p.expectPCErr(1, 2)
				p.expectEOF()
			},
			want: wantPCEPError(1, 2),
		},
		{
			name:  "no new Open after a counter-proposal gets 1/2",
			check: alwaysCounter,
			// KeepWait outlasts OpenWait, so only OpenWait can expire.
			cfg: func(c *Config) { c.KeepWait = 2 * DefaultOpenWait },
			script: func(t *testing.T, p *rawPeer, clk *clock.Fake) {
				clk.Advance(DefaultOpenWait / 2)
				p.send(peerOpen)
				p.expectPCErr(1, 4)
				// OpenWait restarted with the counter-proposal: it ends a
				// full OpenWait after it, not after our Open.
				clk.Advance(DefaultOpenWait)
				p.expectPCErr(1, 2)
				p.expectEOF()
			},
			want: wantPCEPError(1, 2),
		},
		{
			name:  "non-negotiable Open gets 1/3",
			check: notNegotiable,
			script: func(t *testing.T, p *rawPeer, clk *clock.Fake) {
				p.send(peerOpen)
				p.expectPCErr(1, 3)
				p.expectEOF()
			},
			want: wantPCEPError(1, 3),
		},
		{
			name:  "negotiable without counter-proposal gets 1/3",
			check: negotiableNoCounter,
			script: func(t *testing.T, p *rawPeer, clk *clock.Fake) {
				p.send(peerOpen)
				p.expectPCErr(1, 3)
				p.expectEOF()
			},
			want: wantPCEPError(1, 3),
		},
		{
			name:  "second unacceptable Open gets 1/5",
			check: alwaysCounter,
			script: func(t *testing.T, p *rawPeer, clk *clock.Fake) {
				p.send(peerOpen)
				m := p.expectPCErr(1, 4)
				if m.Open == nil || m.Open.Keepalive != 30 || m.Open.DeadTimer != 120 {
					t.Fatalf("PCErr 1/4 carries %+v, want the counter OPEN 30/120", m.Open)
				}
				p.send(peerOpen)
				p.expectPCErr(1, 5)
				p.expectEOF()
			},
			want: wantPCEPError(1, 5),
		},
		{
			name: "unacceptable counter-proposal gets 1/6",
			script: func(t *testing.T, p *rawPeer, clk *clock.Fake) {
				p.send(peerOpen, counterPCErr(30, 10))
				p.expectType(pcep.TypeKeepalive)
				p.expectPCErr(1, 6)
				p.expectEOF()
			},
			want: wantPCEPError(1, 6),
		},
		{
			name: "no Keepalive within KeepWait gets 1/7",
			script: func(t *testing.T, p *rawPeer, clk *clock.Fake) {
				p.send(peerOpen)
				p.expectType(pcep.TypeKeepalive)
				clk.Advance(DefaultKeepWait)
				p.expectPCErr(1, 7)
				p.expectEOF()
			},
			want: wantPCEPError(1, 7),
		},
		{
			name: "no Keepalive within KeepWait after our second Open gets 1/7",
			script: func(t *testing.T, p *rawPeer, clk *clock.Fake) {
				p.send(peerOpen, counterPCErr(10, 40))
				p.expectType(pcep.TypeKeepalive)
				if o := p.expectOpen(); o.Open.Keepalive != 10 || o.Open.DeadTimer != 40 {
					t.Fatalf("second Open %+v, want keepalive 10, dead timer 40", o.Open)
				}
				clk.Advance(DefaultKeepWait)
				p.expectPCErr(1, 7)
				p.expectEOF()
			},
			want: wantPCEPError(1, 7),
		},
		{
			name: "second counter-proposal closes",
			script: func(t *testing.T, p *rawPeer, clk *clock.Fake) {
				p.send(peerOpen, counterPCErr(10, 40))
				p.expectType(pcep.TypeKeepalive)
				p.expectOpen()
				p.send(counterPCErr(5, 20))
				p.expectEOF()
			},
			want: func(t testing.TB, err error) {
				var pe *PeerError
				if !errors.As(err, &pe) || !pe.Has(1, 4) {
					t.Fatalf("Establish error = %v, want PeerError with 1/4", err)
				}
			},
		},
		{
			name: "peer refusal with 1/3 closes",
			script: func(t *testing.T, p *rawPeer, clk *clock.Fake) {
				p.send(peerOpen, pcerrMessage(1, 3, nil))
				p.expectType(pcep.TypeKeepalive)
				p.expectEOF()
			},
			want: func(t testing.TB, err error) {
				var pe *PeerError
				if !errors.As(err, &pe) || !pe.Has(1, 3) {
					t.Fatalf("Establish error = %v, want PeerError with 1/3", err)
				}
			},
		},
		{
			name: "second Open after acceptance gets 1/1",
			script: func(t *testing.T, p *rawPeer, clk *clock.Fake) {
				p.send(peerOpen, peerOpen)
				p.expectType(pcep.TypeKeepalive)
				p.expectPCErr(1, 1)
				p.expectEOF()
			},
			want: wantPCEPError(1, 1),
		},
		{
			name: "peer Close ends establishment",
			script: func(t *testing.T, p *rawPeer, clk *clock.Fake) {
				p.send(closeMessage(pcep.CloseNoReason))
				p.expectEOF()
			},
			want: func(t testing.TB, err error) {
				var ce *ClosedError
				if !errors.As(err, &ce) || !ce.ByPeer || ce.Reason != pcep.CloseNoReason {
					t.Fatalf("Establish error = %v, want closed by peer", err)
				}
			},
		},
		{
			name: "peer hangs up",
			script: func(t *testing.T, p *rawPeer, clk *clock.Fake) {
				p.conn.Close()
			},
			want: func(t testing.TB, err error) {
				var pe *pcep.Error
				if err == nil || errors.As(err, &pe) {
					t.Fatalf("Establish error = %v, want an I/O error", err)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, peerConn := tcpPair(t)
			clk := clock.NewFake(testStart)
			cfg := baseConfig(clk, openObj(30, 120, 1))
			cfg.CheckOpen = tc.check
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			ch := establishAsync(context.Background(), c, cfg)
			p := newRawPeer(t, peerConn)
			p.expectOpen()
			tc.script(t, p, clk)
			r := waitResult(t, ch)
			if r.s != nil {
				t.Fatal("Establish returned a session")
			}
			tc.want(t, r.err)
		})
	}
}

func TestNegotiationSucceeds(t *testing.T) {
	// Our side accepts keepalives of at most 30 s and counter-proposes 30/120.
	check := func(o *pcep.OpenObject) (*pcep.OpenObject, *pcep.Error) {
		if o.Keepalive <= 30 {
			return nil, nil
		}
		c := openObj(30, 120, 1)
		return &c, pcep.NewError(pcep.ErrSessionEstablishment, pcep.ValOpenNegotiable, "keepalive above 30 s")
	}
	tests := []struct {
		name          string
		script        func(t *testing.T, p *rawPeer)
		wantLocal     [2]uint8 // our keepalive, dead timer as accepted
		wantPeerAlive uint8
	}{
		{
			name: "peer takes our counter-proposal, Keepalive first",
			script: func(t *testing.T, p *rawPeer) {
				p.send(&pcep.Open{Open: openObj(60, 240, 9)})
				p.expectPCErr(1, 4)
				p.send(&pcep.Keepalive{}, &pcep.Open{Open: openObj(30, 120, 9)})
				p.expectType(pcep.TypeKeepalive)
			},
			wantLocal:     [2]uint8{30, 120},
			wantPeerAlive: 30,
		},
		{
			name: "peer takes our counter-proposal, Open first",
			script: func(t *testing.T, p *rawPeer) {
				p.send(&pcep.Open{Open: openObj(60, 240, 9)})
				p.expectPCErr(1, 4)
				p.send(&pcep.Open{Open: openObj(20, 80, 9)}, &pcep.Keepalive{})
				p.expectType(pcep.TypeKeepalive)
			},
			wantLocal:     [2]uint8{30, 120},
			wantPeerAlive: 20,
		},
		{
			name: "we take the peer's counter-proposal",
			script: func(t *testing.T, p *rawPeer) {
				o := openObj(10, 40, 9)
				p.send(&pcep.Open{Open: openObj(30, 120, 9)},
					pcerrMessage(pcep.ErrSessionEstablishment, pcep.ValOpenNegotiable, &o))
				p.expectType(pcep.TypeKeepalive)
				if o := p.expectOpen(); o.Open.Keepalive != 10 || o.Open.DeadTimer != 40 || o.Open.SessionID != 1 || o.Open.Stateful == nil {
					t.Fatalf("second Open %+v, want our OPEN with keepalive 10, dead timer 40", o.Open)
				}
				p.send(&pcep.Keepalive{})
			},
			wantLocal:     [2]uint8{10, 40},
			wantPeerAlive: 30,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, peerConn := tcpPair(t)
			cfg := baseConfig(clock.NewFake(testStart), openObj(30, 120, 1))
			cfg.CheckOpen = check
			ch := establishAsync(context.Background(), c, cfg)
			p := newRawPeer(t, peerConn)
			p.expectOpen()
			tc.script(t, p)
			r := waitResult(t, ch)
			if r.err != nil {
				t.Fatalf("Establish: %v", r.err)
			}
			if l := r.s.LocalOpen(); l.Keepalive != tc.wantLocal[0] || l.DeadTimer != tc.wantLocal[1] {
				t.Errorf("LocalOpen = %d/%d, want %d/%d", l.Keepalive, l.DeadTimer, tc.wantLocal[0], tc.wantLocal[1])
			}
			if got := r.s.PeerOpen().Keepalive; got != tc.wantPeerAlive {
				t.Errorf("PeerOpen keepalive = %d, want %d", got, tc.wantPeerAlive)
			}
		})
	}
}

func TestSessionsNegotiateWithEachOther(t *testing.T) {
	pccConn, pceConn := tcpPair(t)
	clk := clock.NewFake(testStart)
	pceCfg := baseConfig(clk, openObj(30, 120, 1))
	pceCfg.Role = RolePCE
	pceCfg.CheckOpen = func(o *pcep.OpenObject) (*pcep.OpenObject, *pcep.Error) {
		if o.Keepalive == 10 && o.DeadTimer == 40 {
			return nil, nil
		}
		c := openObj(10, 40, 0)
		return &c, pcep.NewError(pcep.ErrSessionEstablishment, pcep.ValOpenNegotiable, "want 10/40")
	}
	pceCh := establishAsync(context.Background(), pceConn, pceCfg)
	pccCh := establishAsync(context.Background(), pccConn, baseConfig(clk, openObj(30, 120, 5)))
	pcc, pce := waitResult(t, pccCh), waitResult(t, pceCh)
	if pcc.err != nil || pce.err != nil {
		t.Fatalf("Establish: pcc %v, pce %v", pcc.err, pce.err)
	}
	if l := pcc.s.LocalOpen(); l.Keepalive != 10 || l.DeadTimer != 40 || l.SessionID != 5 {
		t.Errorf("pcc LocalOpen = %+v, want 10/40 with session ID 5", l)
	}
	if p := pce.s.PeerOpen(); p.Keepalive != 10 || p.DeadTimer != 40 {
		t.Errorf("pce PeerOpen = %+v, want 10/40", p)
	}
	if n := pcc.s.Stats().SentByType[pcep.TypeOpen]; n != 2 {
		t.Errorf("pcc sent %d Opens, want 2", n)
	}
}

func TestEstablishStopsWhenContextEnds(t *testing.T) {
	c, peerConn := tcpPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	ch := establishAsync(ctx, c, baseConfig(clock.NewFake(testStart), openObj(30, 120, 1)))
	p := newRawPeer(t, peerConn)
	p.expectOpen()
	cancel()
	p.expectEOF()
	r := waitResult(t, ch)
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("Establish error = %v, want context.Canceled", r.err)
	}
}

func TestDefaultsApply(t *testing.T) {
	cfg := Config{Local: openObj(30, 120, 1)}.withDefaults()
	if cfg.OpenWait != 60*time.Second || cfg.KeepWait != 60*time.Second || cfg.MaxUnknownPerMinute != 5 ||
		cfg.MaxPendingWrite != 8<<20 || cfg.Clock == nil || cfg.Logger == nil {
		t.Fatalf("defaults: %+v", cfg)
	}
}
