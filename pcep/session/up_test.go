package session

import (
	"errors"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pccagent/pccagent/pcep"
	"github.com/pccagent/pccagent/pcep/clock"
)

func TestKeepaliveSentWhenIdleForTheInterval(t *testing.T) {
	c, peerConn := tcpPair(t)
	clk := clock.NewFake(testStart)
	// The peer sends no keepalives, so no dead timer runs on our side.
	s, p := establishWith(t, c, peerConn, baseConfig(clk, openObj(30, 120, 1)), openObj(0, 0, 9))

	steps := []struct {
		name    string
		advance time.Duration
		send    uint8 // a marker to send after advancing, 0 for none
		want    []pcep.MessageType
	}{
		{"nothing sent for 30 s", 30 * time.Second, 0, []pcep.MessageType{pcep.TypeKeepalive}},
		{"a message 10 s later", 10 * time.Second, 1, []pcep.MessageType{pcep.TypePCErr}},
		{"25 s after it no keepalive yet", 25 * time.Second, 2, []pcep.MessageType{pcep.TypePCErr}},
		{"30 s after the last message", 30 * time.Second, 0, []pcep.MessageType{pcep.TypeKeepalive}},
		{"and again 30 s later", 30 * time.Second, 0, []pcep.MessageType{pcep.TypeKeepalive}},
	}
	for _, st := range steps {
		clk.Advance(st.advance)
		if st.send != 0 {
			if err := s.Send(marker(st.send)); err != nil {
				t.Fatalf("%s: Send: %v", st.name, err)
			}
		}
		for _, want := range st.want {
			m := p.recv()
			if m.MessageType() != want {
				t.Fatalf("%s: peer got %s, want %s", st.name, pcep.Describe(m), want)
			}
			if v, ok := markerValue(m); ok && v != st.send {
				t.Fatalf("%s: peer got marker %d, want %d", st.name, v, st.send)
			}
		}
	}
	if n := s.Stats().SentByType[pcep.TypeKeepalive]; n != 4 {
		t.Errorf("sent %d keepalives, want 4 (one at establishment, three idle)", n)
	}
}

func TestZeroTimersScheduleNothing(t *testing.T) {
	tests := []struct {
		name          string
		local, peer   pcep.OpenObject
		wantKeepalive bool
		wantDead      bool
	}{
		{"keepalive 0 sends none", openObj(0, 0, 1), openObj(30, 120, 9), false, true},
		{"peer keepalive 0 disables the dead timer", openObj(30, 120, 1), openObj(0, 120, 9), true, false},
		{"both zero", openObj(0, 0, 1), openObj(0, 0, 9), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, peerConn := tcpPair(t)
			clk := clock.NewFake(testStart)
			s, p := establishWith(t, c, peerConn, baseConfig(clk, tc.local), tc.peer)
			s.mu.Lock()
			hasKA, hasDead := s.kaTimer != nil, s.deadTimer != nil
			s.mu.Unlock()
			if hasKA != tc.wantKeepalive || hasDead != tc.wantDead {
				t.Fatalf("keepalive timer %v, dead timer %v; want %v, %v", hasKA, hasDead, tc.wantKeepalive, tc.wantDead)
			}
			if tc.wantKeepalive || tc.wantDead {
				return
			}
			clk.Advance(24 * time.Hour)
			if err := s.Send(marker(1)); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if v, ok := markerValue(p.recv()); !ok || v != 1 {
				t.Fatal("peer got something before the marker")
			}
			if err := s.Err(); err != nil {
				t.Fatalf("session ended: %v", err)
			}
		})
	}
}

func TestDeadTimer(t *testing.T) {
	tests := []struct {
		name string
		// before runs after UP; it returns how long after it the dead timer
		// must expire.
		before func(t *testing.T, clk *clock.Fake, p *rawPeer, handled <-chan pcep.Message) time.Duration
	}{
		{
			name: "expires when nothing is received",
			before: func(t *testing.T, clk *clock.Fake, p *rawPeer, handled <-chan pcep.Message) time.Duration {
				return 120 * time.Second
			},
		},
		{
			name: "every received message restarts it",
			before: func(t *testing.T, clk *clock.Fake, p *rawPeer, handled <-chan pcep.Message) time.Duration {
				for i := 0; i < 3; i++ {
					clk.Advance(119 * time.Second)
					// The marker reaches the handler after the session has
					// restarted the timer for it.
					p.send(&pcep.Keepalive{}, marker(uint8(i+1)))
					recvHandled(t, handled)
				}
				return 120 * time.Second
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, peerConn := tcpPair(t)
			clk := clock.NewFake(testStart)
			cfg := baseConfig(clk, openObj(0, 0, 1))
			h, handled := handlerChan(16)
			cfg.Handler = h
			s, p := establishWith(t, c, peerConn, cfg, openObj(30, 120, 9))
			left := tc.before(t, clk, p, handled)
			clk.Advance(left - time.Second)
			if err := s.Err(); err != nil {
				t.Fatalf("session ended a second early: %v", err)
			}
			clk.Advance(time.Second)
			p.expectClose(pcep.CloseDeadTimer)
			p.expectEOF()
			waitDone(t, s)
			var ce *ClosedError
			if !errors.As(s.Err(), &ce) || ce.ByPeer || ce.Reason != pcep.CloseDeadTimer {
				t.Fatalf("Err = %v, want closed by us with reason 2", s.Err())
			}
		})
	}
}

func TestClose(t *testing.T) {
	tests := []struct {
		name       string
		close      func(t *testing.T, s *Session, p *rawPeer)
		wantReason uint8
		wantByPeer bool
	}{
		{
			name: "peer Close ends the session",
			close: func(t *testing.T, s *Session, p *rawPeer) {
				p.send(closeMessage(pcep.CloseNoReason))
				p.expectEOF()
			},
			wantReason: pcep.CloseNoReason,
			wantByPeer: true,
		},
		{
			name: "our Close sends Close after what is queued",
			close: func(t *testing.T, s *Session, p *rawPeer) {
				if err := s.Send(marker(1)); err != nil {
					t.Fatal(err)
				}
				if err := s.Close(pcep.CloseMalformed); err != nil {
					t.Fatalf("Close: %v", err)
				}
				if v, ok := markerValue(p.recv()); !ok || v != 1 {
					t.Fatal("queued message lost at Close")
				}
				p.expectClose(pcep.CloseMalformed)
				p.expectEOF()
			},
			wantReason: pcep.CloseMalformed,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, peerConn := tcpPair(t)
			s, p := establishWith(t, c, peerConn, baseConfig(clock.NewFake(testStart), openObj(30, 120, 1)), openObj(30, 120, 9))
			tc.close(t, s, p)
			waitDone(t, s)
			var ce *ClosedError
			if !errors.As(s.Err(), &ce) || ce.ByPeer != tc.wantByPeer || ce.Reason != tc.wantReason {
				t.Fatalf("Err = %v, want reason %d by peer %v", s.Err(), tc.wantReason, tc.wantByPeer)
			}
			if err := s.Send(&pcep.Keepalive{}); !errors.Is(err, ErrClosed) {
				t.Errorf("Send after the end = %v, want ErrClosed", err)
			}
			if err := s.Close(pcep.CloseNoReason); !errors.Is(err, ErrClosed) {
				t.Errorf("second Close = %v, want ErrClosed", err)
			}
		})
	}
}

func TestUnknownMessages(t *testing.T) {
	unknown := rawMessage(1, 99, nil)
	tests := []struct {
		name string
		// bursts of unknown messages, with the clock advanced before each.
		bursts    []int
		gaps      []time.Duration
		wantClose bool
	}{
		{"five in a minute are answered", []int{5}, []time.Duration{0}, false},
		{"a sixth in a minute closes", []int{6}, []time.Duration{0}, true},
		{"the minute slides", []int{5, 5}, []time.Duration{0, time.Minute}, false},
		{"the minute slides, but not far enough", []int{3, 3}, []time.Duration{0, 59 * time.Second}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, peerConn := tcpPair(t)
			clk := clock.NewFake(testStart)
			cfg := baseConfig(clk, openObj(0, 0, 1))
			h, handled := handlerChan(4)
			cfg.Handler = h
			var mu sync.Mutex
			var reported []error
			cfg.OnError = func(_ *Session, err error) {
				mu.Lock()
				reported = append(reported, err)
				mu.Unlock()
			}
			s, p := establishWith(t, c, peerConn, cfg, openObj(0, 0, 9))
			total := 0
			for i, n := range tc.bursts {
				clk.Advance(tc.gaps[i])
				for j := 0; j < n; j++ {
					p.sendRaw(unknown)
					total++
					if tc.wantClose && total > DefaultMaxUnknownPerMinute {
						p.expectClose(pcep.CloseTooManyUnknownMsg)
						p.expectEOF()
						waitDone(t, s)
						var ce *ClosedError
						var ue *pcep.UnknownMessageError
						if !errors.As(s.Err(), &ce) || ce.Reason != pcep.CloseTooManyUnknownMsg || !errors.As(s.Err(), &ue) {
							t.Fatalf("Err = %v, want Close reason 5 for unknown messages", s.Err())
						}
						return
					}
					p.expectPCErr(pcep.ErrCapability, 0)
				}
			}
			if tc.wantClose {
				t.Fatal("session did not close")
			}
			p.send(marker(7))
			if v, ok := markerValue(recvHandled(t, handled)); !ok || v != 7 {
				t.Fatal("handler did not get the marker after the unknown messages")
			}
			mu.Lock()
			n := len(reported)
			mu.Unlock()
			if n != total {
				t.Errorf("OnError told of %d errors, want %d", n, total)
			}
			if got := s.Stats().ReceivedByType[99]; got != uint64(total) {
				t.Errorf("stats count %d unknown messages, want %d", got, total)
			}
		})
	}
}

func TestMalformedMessagesAfterUp(t *testing.T) {
	tests := []struct {
		name      string
		raw       []byte
		wantPCErr [2]uint8 // 0/0: none
		wantClose uint8    // 0: the session stays up
	}{
		{
			name:      "unknown mandatory object gets PCErr 3/1",
			raw:       rawMessage(1, byte(pcep.TypePCErr), []byte{200, 0x12, 0, 4}),
			wantPCErr: [2]uint8{3, 1},
		},
		{
			name:      "Keepalive with a body closes with reason 3",
			raw:       rawMessage(1, byte(pcep.TypeKeepalive), []byte{0, 0, 0, 0}),
			wantClose: pcep.CloseMalformed,
		},
		{
			name:      "version 2 header gets PCErr 1/8 and Close",
			raw:       rawMessage(2, byte(pcep.TypeKeepalive), nil),
			wantPCErr: [2]uint8{1, 8},
			wantClose: pcep.CloseMalformed,
		},
		{
			name:      "length below the header closes with reason 3",
			raw:       []byte{1 << 5, byte(pcep.TypeKeepalive), 0, 2},
			wantClose: pcep.CloseMalformed,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, peerConn := tcpPair(t)
			cfg := baseConfig(clock.NewFake(testStart), openObj(0, 0, 1))
			h, handled := handlerChan(4)
			cfg.Handler = h
			errs := make(chan error, 4)
			cfg.OnError = func(_ *Session, err error) { errs <- err }
			s, p := establishWith(t, c, peerConn, cfg, openObj(0, 0, 9))
			p.sendRaw(tc.raw)
			if tc.wantPCErr != [2]uint8{} {
				p.expectPCErr(tc.wantPCErr[0], tc.wantPCErr[1])
			}
			select {
			case <-errs:
			case <-time.After(ioBound):
				t.Fatal("OnError not called")
			}
			if tc.wantClose != 0 {
				p.expectClose(tc.wantClose)
				p.expectEOF()
				waitDone(t, s)
				var ce *ClosedError
				if !errors.As(s.Err(), &ce) || ce.Reason != tc.wantClose || ce.Cause == nil {
					t.Fatalf("Err = %v, want Close reason %d with a cause", s.Err(), tc.wantClose)
				}
				return
			}
			p.send(marker(3))
			if v, ok := markerValue(recvHandled(t, handled)); !ok || v != 3 {
				t.Fatal("session did not go on after the PCErr")
			}
		})
	}
}

// stream is a byte stream of n markers interleaved with Keepalives and,
// with big, one message near the 64 KiB limit; and the markers in order.
func stream(t testing.TB, n int, big bool) ([]byte, []uint8) {
	var b []byte
	var want []uint8
	for i := 0; i < n; i++ {
		v := uint8(i%250 + 1)
		b = append(b, encode(t, marker(v))...)
		want = append(want, v)
		if i%3 == 0 {
			b = append(b, encode(t, &pcep.Keepalive{})...)
		}
		if big && i == n/2 {
			big := marker(251)
			// 8 bytes per PCEP-ERROR object: close to the 65535-byte limit.
			for len(big.Errors[0].Errors) < 8000 {
				big.Errors[0].Errors = append(big.Errors[0].Errors, pcep.PCEPError{Type: 5, Value: 251})
			}
			b = append(b, encode(t, big)...)
			want = append(want, 251)
		}
	}
	return b, want
}

func TestFraming(t *testing.T) {
	tests := []struct {
		name  string
		chunk int // bytes per peer write; 0: everything in one write
	}{
		{"one byte per write", 1},
		{"seven bytes per write", 7},
		{"4000 bytes per write", 4000},
		{"everything in one write", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, peerConn := tcpPair(t)
			cfg := baseConfig(clock.NewFake(testStart), openObj(0, 0, 1))
			h, handled := handlerChan(1024)
			cfg.Handler = h
			s, p := establishWith(t, c, peerConn, cfg, openObj(0, 0, 9))
			// Byte by byte, a short stream without the big message
			// keeps the test quick; the other cases split that one.
			n, big := 300, true
			if tc.chunk == 1 {
				n, big = 100, false
			}
			b, want := stream(t, n, big)
			go func() {
				chunk := tc.chunk
				if chunk == 0 {
					chunk = len(b)
				}
				for i := 0; i < len(b); i += chunk {
					if _, err := peerConn.Write(b[i:min(i+chunk, len(b))]); err != nil {
						return
					}
				}
			}()
			for i, w := range want {
				m := recvHandled(t, handled)
				if v, ok := markerValue(m); !ok || v != w {
					t.Fatalf("message %d: got %s, want marker %d", i, pcep.Describe(m), w)
				}
			}
			st := s.Stats()
			if st.BytesReceived < uint64(len(b)) || st.ReceivedByType[pcep.TypePCErr] != uint64(len(want)) {
				t.Errorf("stats: %d bytes, %d PCErr; want >= %d bytes, %d PCErr",
					st.BytesReceived, st.ReceivedByType[pcep.TypePCErr], len(b), len(want))
			}
			if err := s.Err(); err != nil {
				t.Fatalf("session ended: %v", err)
			}
			_ = p
		})
	}
}

func TestBlockingHandlerLosesNothing(t *testing.T) {
	// A pipe has no buffer: while the handler blocks, the peer's write
	// cannot complete, so the handler really holds the peer back.
	c, peerConn := pipePair(t)
	cfg := baseConfig(clock.NewFake(testStart), openObj(0, 0, 1))
	entered := make(chan struct{})
	release := make(chan struct{})
	got := make(chan pcep.Message, 1)
	var once sync.Once
	cfg.Handler = func(_ *Session, m pcep.Message) {
		once.Do(func() {
			close(entered)
			<-release
		})
		got <- m
	}
	s, _ := establishWith(t, c, peerConn, cfg, openObj(0, 0, 9))
	b, want := stream(t, 20000, true) // about 400 KB, several times the read buffer
	wrote := make(chan error, 1)
	go func() {
		peerConn.SetWriteDeadline(time.Now().Add(ioBound))
		_, err := peerConn.Write(b)
		wrote <- err
	}()
	select {
	case <-entered:
	case <-time.After(ioBound):
		t.Fatal("handler not called")
	}
	select {
	case err := <-wrote:
		t.Fatalf("the peer wrote everything while the handler blocked (err %v)", err)
	default:
	}
	close(release)
	for i, w := range want {
		m := recvHandled(t, got)
		if v, ok := markerValue(m); !ok || v != w {
			t.Fatalf("message %d: got %s, want marker %d", i, pcep.Describe(m), w)
		}
	}
	if err := <-wrote; err != nil {
		t.Fatalf("peer write: %v", err)
	}
	if err := s.Err(); err != nil {
		t.Fatalf("session ended: %v", err)
	}
	// Nobody reads the pipe: hang up so that the final Close fails at once
	// instead of waiting for the write timeout.
	peerConn.Close()
}

func TestSendFailsWhenPeerNeverReads(t *testing.T) {
	tests := []struct {
		name string
		pair func(testing.TB) (net.Conn, net.Conn)
	}{
		// A pipe accepts nothing at all; TCP first fills the socket
		// buffers, so writes make progress before they stop.
		{"pipe", pipePair},
		{"loopback TCP", func(t testing.TB) (net.Conn, net.Conn) {
			c, peer := tcpPair(t)
			// Small socket buffers, so that they fill after a few sends.
			c.(*net.TCPConn).SetWriteBuffer(8 << 10)
			peer.(*net.TCPConn).SetReadBuffer(8 << 10)
			return c, peer
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, peerConn := tc.pair(t)
			cfg := baseConfig(clock.NewFake(testStart), openObj(0, 0, 1))
			cfg.MaxPendingWrite = 4096
			cfg.WriteTimeout = 100 * time.Millisecond
			s, _ := establishWith(t, c, peerConn, cfg, openObj(0, 0, 9))
			// The peer reads nothing from now on.
			var err error
			for i := 0; i < 10_000_000 && err == nil; i++ {
				err = s.Send(marker(1))
			}
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("Send = %v, want ErrClosed", err)
			}
			waitDone(t, s)
			if !errors.Is(s.Err(), os.ErrDeadlineExceeded) {
				t.Fatalf("Err = %v, want a write deadline error", s.Err())
			}
			if err := s.Close(pcep.CloseNoReason); !errors.Is(err, ErrClosed) {
				t.Errorf("Close after the end = %v, want ErrClosed", err)
			}
		})
	}
}

func TestConcurrentSendersKeepMessagesWhole(t *testing.T) {
	c, peerConn := tcpPair(t)
	cfg := baseConfig(clock.NewFake(testStart), openObj(0, 0, 1))
	cfg.MaxPendingWrite = 512 // small, so that senders wait for room
	s, p := establishWith(t, c, peerConn, cfg, openObj(0, 0, 9))
	const senders, each = 4, 500
	var wg sync.WaitGroup
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func(v uint8) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := s.Send(marker(v)); err != nil {
					t.Errorf("Send: %v", err)
					return
				}
			}
		}(uint8(g + 1))
	}
	counts := map[uint8]int{}
	for i := 0; i < senders*each; i++ {
		v, ok := markerValue(p.recv())
		if !ok {
			t.Fatal("peer got something other than a marker")
		}
		counts[v]++
	}
	wg.Wait()
	for g := 1; g <= senders; g++ {
		if counts[uint8(g)] != each {
			t.Errorf("sender %d: %d messages arrived, want %d", g, counts[uint8(g)], each)
		}
	}
	if st := s.Stats(); st.BytesSent == 0 || st.SentByType[pcep.TypePCErr] != senders*each {
		t.Errorf("stats: %+v", st)
	}
}
