// Package pce is the stateful PCE role of PCEP (RFC 5440, 8231, 8281, 8664,
// 8741, 9862): it accepts PCC sessions, keeps each PCC's LSP database from
// its state reports, answers path computation requests, and offers the calls
// a controller makes (update, initiate, remove, control request, return of a
// delegation). It is what pcesim, the tests of the PCC engine and the
// benchmarks talk to, so every PCC behaviour is exercised over real TCP.
//
// A Server accepts sessions; each connected PCC is a *PCC whose methods may be
// called from any goroutine. Every message in and out of a PCC can be
// recorded for tests (Recorded, WaitRecorded); recording is on by default and
// can be turned off for benchmarks.
package pce

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pccagent/pccagent/pcep"
	"github.com/pccagent/pccagent/pcep/clock"
	"github.com/pccagent/pccagent/pcep/session"
)

// ErrServerClosed is returned by WaitPCC after Close.
var ErrServerClosed = errors.New("pce: server closed")

// PathComputer computes the label stack (top first) for a path computation
// request; false means no path (the reply carries NO-PATH).
type PathComputer func(req *pcep.Request) ([]uint32, bool)

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger of the server and of its sessions.
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) {
		if l != nil {
			s.logger = l
		}
	}
}

// WithClock sets the clock of the sessions (timers) and of the recording
// timestamps, so that tests can drive keepalives with a fake clock.
func WithClock(c clock.Clock) Option {
	return func(s *Server) {
		if c != nil {
			s.clock = c
		}
	}
}

// WithKeepalive sets the keepalive and dead timer (seconds) advertised in the
// server's OPEN. The defaults are 30 and 120.
func WithKeepalive(keepalive, deadTimer uint8) Option {
	return func(s *Server) {
		s.keepalive = keepalive
		s.deadTimer = deadTimer
	}
}

// WithSegmentRouting sets the maximum SID depth advertised in the
// SR-PCE-CAPABILITY sub-TLV of the PATH-SETUP-TYPE-CAPABILITY (default 10).
// msd 0 turns segment routing off: the OPEN then has no
// PATH-SETUP-TYPE-CAPABILITY and requests carry no PATH-SETUP-TYPE.
func WithSegmentRouting(msd uint8) Option {
	return func(s *Server) { s.msd = msd }
}

// WithInstantiation sets whether the server advertises and uses PCE-initiated
// LSPs (the I flag of RFC 8281). Default true; when false Initiate and Remove
// fail without sending anything.
func WithInstantiation(on bool) Option {
	return func(s *Server) { s.instantiation = on }
}

// WithPathComputer sets the function that answers PCReq. The default gives
// every destination the one-label path [16000 + last octet of the address].
func WithPathComputer(f PathComputer) Option {
	return func(s *Server) {
		if f != nil {
			s.compute = f
		}
	}
}

// WithOpenCheck sets how the server judges a PCC's OPEN, with the meaning of
// session.Config.CheckOpen (nil error: accept; a *pcep.Error 1/4 with a
// counter-proposal: negotiate; any other error: refuse). The default accepts
// every OPEN; tests of a PCC's negotiation set their own.
func WithOpenCheck(f func(peer *pcep.OpenObject) (*pcep.OpenObject, *pcep.Error)) Option {
	return func(s *Server) { s.checkOpen = f }
}

// WithRecording sets whether messages in and out of each PCC are recorded
// (default true). Benchmarks turn it off: records keep every message alive.
func WithRecording(on bool) Option {
	return func(s *Server) { s.recording.Store(on) }
}

// Server is a stateful PCE that accepts PCC sessions.
type Server struct {
	logger        *slog.Logger
	clock         clock.Clock
	keepalive     uint8
	deadTimer     uint8
	msd           uint8
	instantiation bool
	compute       PathComputer
	checkOpen     func(peer *pcep.OpenObject) (*pcep.OpenObject, *pcep.Error)
	recording     atomic.Bool
	// waiters counts WaitPCC calls in progress: without any, a change of a
	// PCC does not touch the server's lock.
	waiters atomic.Int32

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{} // accepted, session not yet up
	pccs      []*PCC                // connected, in order of arrival
	sessionID uint8
	changed   notifier
}

// New returns a server; it accepts nothing until Serve.
func New(opts ...Option) *Server {
	s := &Server{
		logger:        slog.Default(),
		clock:         clock.Real{},
		keepalive:     30,
		deadTimer:     120,
		msd:           10,
		instantiation: true,
		compute:       DefaultPath,
		listeners:     make(map[net.Listener]struct{}),
		conns:         make(map[net.Conn]struct{}),
	}
	s.recording.Store(true)
	for _, o := range opts {
		o(s)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// DefaultPath is the default PathComputer: the single label 16000 plus the
// last octet of the destination (a node SID in a lab numbering plan), or no
// path when the destination is not a valid address.
func DefaultPath(req *pcep.Request) ([]uint32, bool) {
	d := req.EndPoints.Destination
	if !d.IsValid() || d.IsUnspecified() {
		return nil, false
	}
	b := d.AsSlice()
	return []uint32{16000 + uint32(b[len(b)-1])}, true
}

// SetRecording turns the recording of messages on or off for every PCC,
// from the next message on. Records already made are kept.
func (s *Server) SetRecording(on bool) { s.recording.Store(on) }

// Serve accepts PCC connections on ln until Close (it then returns nil) or
// until ln fails (it returns that error). Each connection runs the Open
// negotiation in its own goroutine; ln is closed when Serve returns.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return nil
			}
			var ne net.Error
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
				(errors.As(err, &ne) && ne.Timeout()) {
				// A passing accept failure (out of file descriptors): back off, bounded.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				t := time.NewTimer(backoff)
				select {
				case <-t.C:
				case <-s.ctx.Done():
					t.Stop()
					return nil
				}
				continue
			}
			return err
		}
		backoff = 0
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			return nil
		}
		s.conns[conn] = struct{}{}
		s.sessionID++
		id := s.sessionID
		s.wg.Add(1)
		s.mu.Unlock()
		go s.handle(conn, id)
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// localOpen is the server's OPEN object for a session.
func (s *Server) localOpen(id uint8) pcep.OpenObject {
	flags := pcep.StatefulUpdate
	if s.instantiation {
		flags |= pcep.StatefulInstantiation
	}
	o := pcep.OpenObject{
		Keepalive:  s.keepalive,
		DeadTimer:  s.deadTimer,
		SessionID:  id,
		Stateful:   &pcep.StatefulCapability{Flags: flags},
		AssocTypes: []uint16{pcep.AssocSRPolicy},
		SRPolicy:   &pcep.SRPolicyCapability{},
	}
	if s.msd != 0 {
		o.PST = &pcep.PSTCapability{
			PSTs: []uint8{pcep.PSTSRMPLS},
			SR:   &pcep.SRPCECapability{MSD: s.msd},
		}
	}
	return o
}

// handle establishes a session on conn and serves it until it ends.
func (s *Server) handle(conn net.Conn, id uint8) {
	defer s.wg.Done()
	p := newPCC(s, conn)
	local := s.localOpen(id)
	p.record(false, &pcep.Open{Open: local})
	cfg := session.Config{
		Role:  session.RolePCE,
		Local: local,
		// Unless told otherwise, any OPEN is acceptable: the PCE is liberal
		// so that it interoperates with every PCC (its keepalive and dead
		// timer are the PCC's choice).
		CheckOpen: func(peer *pcep.OpenObject) (*pcep.OpenObject, *pcep.Error) {
			p.record(true, &pcep.Open{Open: *peer})
			if s.checkOpen != nil {
				return s.checkOpen(peer)
			}
			return nil, nil
		},
		Handler: p.handle,
		OnError: func(_ *session.Session, err error) {
			p.logger.Debug("pce: bad message from PCC", "err", err)
		},
		Clock:  s.clock,
		Logger: p.logger,
	}
	sess, err := session.Establish(s.ctx, conn, cfg)
	s.mu.Lock()
	delete(s.conns, conn)
	s.mu.Unlock()
	if err != nil {
		p.logger.Info("pce: session not established", "err", err)
		return
	}
	s.register(p, sess)
	s.mu.Lock()
	listed := p.listed
	s.mu.Unlock()
	if !listed {
		sess.Close(pcep.CloseNoReason)
		<-sess.Done()
		p.end()
		return
	}
	p.logger.Info("pce: session up", "keepalive", sess.PeerOpen().Keepalive, "dead-timer", sess.PeerOpen().DeadTimer)

	<-sess.Done()
	p.end()
	p.logger.Info("pce: session down", "err", sess.Err())
	s.mu.Lock()
	for i, q := range s.pccs {
		if q == p {
			s.pccs = append(s.pccs[:i:i], s.pccs[i+1:]...)
			break
		}
	}
	s.changed.notify()
	s.mu.Unlock()
}

// register lists p with its session, once: it is called when Establish
// returns and by the handler of p's first message (which may come first), so
// that a PCC whose message was handled is always listed. A PCC is not listed
// once the server is closed.
func (s *Server) register(p *PCC, sess *session.Session) {
	p.registerOnce.Do(func() {
		p.setSession(sess)
		s.mu.Lock()
		if !s.closed {
			s.pccs = append(s.pccs, p)
			p.listed = true
			s.changed.notify()
		}
		s.mu.Unlock()
	})
}

// Close stops accepting, closes every session (Close reason 1) and waits for
// their goroutines. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	pccs := append([]*PCC(nil), s.pccs...)
	s.changed.notify()
	s.mu.Unlock()
	s.cancel()
	for _, p := range pccs {
		p.Close(pcep.CloseNoReason)
	}
	s.wg.Wait()
	return nil
}

// PCCs returns the PCCs whose sessions are up, in order of arrival.
func (s *Server) PCCs() []*PCC {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*PCC(nil), s.pccs...)
}

// WaitPCC waits until a connected PCC satisfies pred (nil pred: any PCC) and
// returns it. pred is called without the server's lock held, and again after
// every change of any PCC (a session coming up or going down, a report, a
// recorded message), so it may look at the PCC's state. It fails when ctx
// ends or the server is closed.
func (s *Server) WaitPCC(ctx context.Context, pred func(*PCC) bool) (*PCC, error) {
	s.waiters.Add(1)
	defer s.waiters.Add(-1)
	for {
		s.mu.Lock()
		pccs := append([]*PCC(nil), s.pccs...)
		ch := s.changed.wait()
		closed := s.closed
		s.mu.Unlock()
		for _, p := range pccs {
			if pred == nil || pred(p) {
				return p, nil
			}
		}
		if closed {
			return nil, ErrServerClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// notifyChanged wakes WaitPCC callers; called after a PCC changed.
func (s *Server) notifyChanged() {
	if s.waiters.Load() == 0 {
		return
	}
	s.mu.Lock()
	s.changed.notify()
	s.mu.Unlock()
}

// notifier broadcasts "something changed" to waiters by closing a channel.
// The channel is made only when someone waits, so changes nobody waits for
// cost nothing. The owner's mutex guards it.
type notifier struct {
	ch chan struct{}
}

// wait returns a channel that is closed at the next notify.
func (n *notifier) wait() <-chan struct{} {
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

// notify wakes every waiter.
func (n *notifier) notify() {
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
}

// addrPort returns the address of a net.Addr as a netip.AddrPort with an
// IPv4-mapped IPv6 address unmapped.
func addrPort(a net.Addr) netip.AddrPort {
	if a == nil {
		return netip.AddrPort{}
	}
	if t, ok := a.(*net.TCPAddr); ok {
		ap := t.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
