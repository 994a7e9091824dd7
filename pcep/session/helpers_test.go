package session

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/pccagent/pccagent/pcep"
	"github.com/pccagent/pccagent/pcep/clock"
)

// ioBound bounds every blocking step of a test, so that a broken session
// fails the test instead of hanging it. It is never a timing assertion.
const ioBound = 20 * time.Second

var testStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// quietLogger logs everything, debug included (so the logging paths run),
// to nowhere.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t testing.TB) (dialed, accepted net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	dialed, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() {
		dialed.Close()
		r.c.Close()
	})
	return dialed, r.c
}

// pipePair returns both ends of a synchronous in-memory connection: a write
// blocks until the other side reads it.
func pipePair(t testing.TB) (net.Conn, net.Conn) {
	a, b := net.Pipe()
	t.Cleanup(func() {
		a.Close()
		b.Close()
	})
	return a, b
}

func openObj(ka, dead, sid uint8) pcep.OpenObject {
	return pcep.OpenObject{
		Keepalive: ka,
		DeadTimer: dead,
		SessionID: sid,
		Stateful:  &pcep.StatefulCapability{Flags: pcep.StatefulUpdate | pcep.StatefulInstantiation},
	}
}

// rawPeer is the far end of a session under test, driven message by
// message: it writes what the test says and decodes what the session sends.
type rawPeer struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
}

func newRawPeer(t testing.TB, c net.Conn) *rawPeer {
	return &rawPeer{t: t, conn: c, br: bufio.NewReader(c)}
}

func encode(t testing.TB, m pcep.Message) []byte {
	t.Helper()
	b, err := pcep.Encode(m)
	if err != nil {
		t.Fatalf("encode %s: %v", m.MessageType(), err)
	}
	return b
}

// send writes the messages in one write.
func (p *rawPeer) send(ms ...pcep.Message) {
	p.t.Helper()
	var b []byte
	for _, m := range ms {
		b = append(b, encode(p.t, m)...)
	}
	p.sendRaw(b)
}

func (p *rawPeer) sendRaw(b []byte) {
	p.t.Helper()
	p.conn.SetWriteDeadline(time.Now().Add(ioBound))
	if _, err := p.conn.Write(b); err != nil {
		p.t.Fatalf("peer write: %v", err)
	}
}

// next reads and decodes the next message from the session.
func (p *rawPeer) next() (pcep.Message, error) {
	p.conn.SetReadDeadline(time.Now().Add(ioBound))
	hdr, err := p.br.Peek(pcep.HeaderLen)
	if err != nil {
		return nil, err
	}
	_, n, err := pcep.ParseHeader(hdr)
	if err != nil {
		return nil, err
	}
	raw := make([]byte, n)
	if _, err := io.ReadFull(p.br, raw); err != nil {
		return nil, err
	}
	return pcep.Decode(raw)
}

func (p *rawPeer) recv() pcep.Message {
	p.t.Helper()
	m, err := p.next()
	if err != nil {
		p.t.Fatalf("peer read: %v", err)
	}
	return m
}

func (p *rawPeer) expectType(want pcep.MessageType) pcep.Message {
	p.t.Helper()
	m := p.recv()
	if m.MessageType() != want {
		p.t.Fatalf("peer got %s, want %s", pcep.Describe(m), want)
	}
	return m
}

func (p *rawPeer) expectOpen() *pcep.Open {
	p.t.Helper()
	return p.expectType(pcep.TypeOpen).(*pcep.Open)
}

func (p *rawPeer) expectPCErr(typ, val uint8) *pcep.PCErr {
	p.t.Helper()
	m := p.expectType(pcep.TypePCErr).(*pcep.PCErr)
	if len(m.Errors) == 0 || len(m.Errors[0].Errors) == 0 {
		p.t.Fatalf("PCErr without error object: %s", pcep.Describe(m))
	}
	if e := m.Errors[0].Errors[0]; e.Type != typ || e.Value != val {
		p.t.Fatalf("peer got PCErr %d/%d, want %d/%d", e.Type, e.Value, typ, val)
	}
	return m
}

func (p *rawPeer) expectClose(reason uint8) {
	p.t.Helper()
	m := p.expectType(pcep.TypeClose).(*pcep.Close)
	if m.Close.Reason != reason {
		p.t.Fatalf("peer got Close reason %d, want %d", m.Close.Reason, reason)
	}
}

// expectEOF checks that the session closed the connection with nothing
// more to say.
func (p *rawPeer) expectEOF() {
	p.t.Helper()
	m, err := p.next()
	if err == nil {
		p.t.Fatalf("peer got %s, want the connection closed", pcep.Describe(m))
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) {
		p.t.Fatalf("peer read: %v, want EOF", err)
	}
}

type establishResult struct {
	s   *Session
	err error
}

func establishAsync(ctx context.Context, c net.Conn, cfg Config) <-chan establishResult {
	ch := make(chan establishResult, 1)
	go func() {
		s, err := Establish(ctx, c, cfg)
		ch <- establishResult{s, err}
	}()
	return ch
}

func waitResult(t testing.TB, ch <-chan establishResult) establishResult {
	t.Helper()
	select {
	case r := <-ch:
		if r.s != nil {
			t.Cleanup(func() { r.s.Close(pcep.CloseNoReason) })
		}
		return r
	case <-time.After(ioBound):
		t.Fatal("Establish did not return")
	}
	return establishResult{}
}

func waitDone(t testing.TB, s *Session) {
	t.Helper()
	select {
	case <-s.Done():
	case <-time.After(ioBound):
		t.Fatal("session did not end")
	}
}

// baseConfig is a session config on a fake clock.
func baseConfig(clk clock.Clock, local pcep.OpenObject) Config {
	return Config{Role: RolePCC, Local: local, Clock: clk, Logger: quietLogger()}
}

// establishWith runs a session against a raw peer through a normal Open
// exchange (the peer offers peerOpen) and returns both, UP.
func establishWith(t testing.TB, c, peerConn net.Conn, cfg Config, peerOpen pcep.OpenObject) (*Session, *rawPeer) {
	t.Helper()
	p := newRawPeer(t, peerConn)
	ch := establishAsync(context.Background(), c, cfg)
	p.send(&pcep.Open{Open: peerOpen})
	p.send(&pcep.Keepalive{})
	p.expectOpen()
	p.expectType(pcep.TypeKeepalive)
	r := waitResult(t, ch)
	if r.err != nil {
		t.Fatalf("Establish: %v", r.err)
	}
	return r.s, p
}

// marker is a message the session passes to its handler and that a test
// can tell apart by its error value.
func marker(n uint8) *pcep.PCErr {
	return pcerrMessage(pcep.ErrPolicyViolation, n, nil)
}

func markerValue(m pcep.Message) (uint8, bool) {
	e, ok := m.(*pcep.PCErr)
	if !ok || len(e.Errors) == 0 || len(e.Errors[0].Errors) == 0 || e.Errors[0].Errors[0].Type != pcep.ErrPolicyViolation {
		return 0, false
	}
	return e.Errors[0].Errors[0].Value, true
}

// rawMessage is a common header of type typ with body, for inputs the
// codec would refuse to encode.
func rawMessage(version uint8, typ uint8, body []byte) []byte {
	n := pcep.HeaderLen + len(body)
	return append([]byte{version << 5, typ, byte(n >> 8), byte(n)}, body...)
}

// handlerChan returns a Handler that forwards every message to a channel.
func handlerChan(size int) (func(*Session, pcep.Message), chan pcep.Message) {
	ch := make(chan pcep.Message, size)
	return func(_ *Session, m pcep.Message) { ch <- m }, ch
}

func recvHandled(t testing.TB, ch <-chan pcep.Message) pcep.Message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(ioBound):
		t.Fatal("handler got nothing")
	}
	return nil
}
