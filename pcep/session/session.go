package session

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pccagent/pccagent/pcep"
	"github.com/pccagent/pccagent/pcep/clock"
)

// Role says which end of the connection a session is. The PCC opens the TCP
// connection and the PCE accepts it; the Open exchange is the same for both,
// so the role only labels logs.
type Role uint8

// Roles.
const (
	RolePCC Role = iota
	RolePCE
)

// String returns "pcc" or "pce".
func (r Role) String() string {
	switch r {
	case RolePCC:
		return "pcc"
	case RolePCE:
		return "pce"
	}
	return "role(" + fmt.Sprint(uint8(r)) + ")"
}

// Defaults for the zero values of Config.
const (
	// DefaultOpenWait and DefaultKeepWait are the fixed RFC 5440 values.
	DefaultOpenWait = 60 * time.Second
	DefaultKeepWait = 60 * time.Second
	// DefaultMaxUnknownPerMinute is RFC 5440's MAX-UNKNOWN-MESSAGES.
	DefaultMaxUnknownPerMinute = 5
	// DefaultMaxPendingWrite bounds the bytes queued for a slow peer.
	DefaultMaxPendingWrite = 8 << 20
	// DefaultWriteTimeout is used when our dead timer is zero or unused.
	DefaultWriteTimeout = 60 * time.Second
)

// readBufferSize holds the largest PCEP message, so a whole message can be
// framed inside the read buffer without copying it out.
const readBufferSize = 64 << 10

// maxSpareBuffer is the largest write buffer always kept for reuse after a
// flush; a larger one (from a burst to a slow peer) is kept only while it
// is at least a quarter full.
const maxSpareBuffer = 1 << 20

// Config describes one session.
type Config struct {
	Role Role
	// Local is our OPEN object: keepalive, dead timer, TLVs and the session
	// ID, which the caller chooses (and increments per connection).
	Local pcep.OpenObject
	// CheckOpen judges the peer's OPEN. nil error: accept. A *pcep.Error 1/4
	// with a non-nil counter-proposal: negotiable (send PCErr 1/4 carrying
	// the counter OPEN, allow ONE new Open). Any other error: not negotiable
	// (PCErr 1/3, then close). nil CheckOpen accepts everything.
	CheckOpen func(peer *pcep.OpenObject) (counter *pcep.OpenObject, err *pcep.Error)
	// Handler receives every message after the session is UP, in order, on
	// the session's reader goroutine (it may block: that is TCP
	// backpressure, nothing is dropped). Keepalives are consumed by the
	// session and not passed on. Close from the peer ends the session
	// instead. A handler that blocks longer than the peer's dead timer lets
	// that timer expire, since nothing is read meanwhile.
	Handler func(s *Session, m pcep.Message)
	// OnError is told of each received message that failed to decode after
	// UP (the session has already answered it with PCErr or Close as the
	// *pcep.Error says). Optional; called on the reader goroutine.
	OnError func(s *Session, err error)
	// Clock runs the timers; default clock.Real{}.
	Clock clock.Clock
	// Logger gets one line per state change and, at debug level, one per
	// message; default slog.Default().
	Logger *slog.Logger
	// OpenWait and KeepWait bound the wait for the peer's Open and for its
	// Keepalive; default 60 s each.
	OpenWait, KeepWait time.Duration
	// MaxUnknownPerMinute is how many unknown messages are answered with
	// PCErr in any minute; one more ends the session with Close reason 5.
	// Default 5.
	MaxUnknownPerMinute int
	// MaxPendingWrite is how many bytes may wait for the peer before Send
	// blocks; default 8 MiB.
	MaxPendingWrite int
	// WriteTimeout ends the session when the peer accepts nothing for this
	// long. Default: our dead timer (the peer would declare us dead by then
	// anyway), or 60 s when we advertise none. It is wall-clock time: it is
	// a socket deadline, not a Clock timer.
	WriteTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.OpenWait <= 0 {
		c.OpenWait = DefaultOpenWait
	}
	if c.KeepWait <= 0 {
		c.KeepWait = DefaultKeepWait
	}
	if c.MaxUnknownPerMinute <= 0 {
		c.MaxUnknownPerMinute = DefaultMaxUnknownPerMinute
	}
	if c.MaxPendingWrite <= 0 {
		c.MaxPendingWrite = DefaultMaxPendingWrite
	}
	return c
}

// state is the RFC 5440 session state, for logs.
type state uint8

const (
	stateIdle state = iota
	stateOpenWait
	stateKeepWait
	stateUp
	stateClosed
)

func (s state) String() string {
	switch s {
	case stateIdle:
		return "Idle"
	case stateOpenWait:
		return "OpenWait"
	case stateKeepWait:
		return "KeepWait"
	case stateUp:
		return "Up"
	case stateClosed:
		return "Closed"
	}
	return "?"
}

// Session is one PCEP session. Its methods are safe for concurrent use.
type Session struct {
	cfg   Config
	conn  net.Conn
	br    *bufio.Reader
	log   *slog.Logger
	clock clock.Clock
	done  chan struct{}
	stats counters

	// Read by the reader goroutine only after UP.
	deadTimer    clock.Timer
	deadInterval time.Duration
	epoch        time.Time    // clock time at UP
	lastRecv     atomic.Int64 // when the last message came in, as a time.Duration since epoch
	unknown      []time.Time  // reader goroutine only: recent unknown messages

	mu           sync.Mutex
	wake         sync.Cond // the writer waits for data or the end
	room         sync.Cond // Send waits for room in pending
	pending      []byte    // encoded messages not yet handed to conn.Write
	spare        []byte    // the other write buffer, swapped with pending
	closing      bool      // no more messages; the writer flushes and closes
	aborted      bool      // drop pending: the connection is gone
	err          error     // why the session ended (first cause)
	writeErr     error     // a failed write, for Close
	state        state
	local        pcep.OpenObject
	peer         pcep.OpenObject
	est          establishment
	lastSent     time.Time // clock time of the last write
	kaTimer      clock.Timer
	kaInterval   time.Duration
	writeTimeout time.Duration
}

// Establish runs RFC 5440 Open negotiation on an already connected conn (PCC
// dials, PCE accepts; the exchange is symmetric) and returns when the session
// is UP. On failure it has sent the right PCErr/Close, closed conn and returns
// an error: a *pcep.Error for a protocol error this side detected (the PCErr
// it sent), a *PeerError when the peer refused with PCErr, a *ClosedError
// when the peer sent Close, the context's error when ctx ended first, or an
// I/O error.
func Establish(ctx context.Context, conn net.Conn, cfg Config) (*Session, error) {
	cfg = cfg.withDefaults()
	s := &Session{
		cfg:   cfg,
		conn:  conn,
		br:    bufio.NewReaderSize(conn, readBufferSize),
		clock: cfg.Clock,
		done:  make(chan struct{}),
		local: cfg.Local,
	}
	s.log = cfg.Logger.With("role", cfg.Role.String(), "local", addrString(conn.LocalAddr()), "remote", addrString(conn.RemoteAddr()))
	s.wake.L = &s.mu
	s.room.L = &s.mu
	s.writeTimeout = cfg.WriteTimeout
	if s.writeTimeout <= 0 {
		s.writeTimeout = DefaultWriteTimeout
		if cfg.Local.Keepalive != 0 && cfg.Local.DeadTimer != 0 {
			s.writeTimeout = time.Duration(cfg.Local.DeadTimer) * time.Second
		}
	}
	go s.writeLoop()

	stop := context.AfterFunc(ctx, func() {
		s.abort(fmt.Errorf("pcep session: establishment abandoned: %w", context.Cause(ctx)))
	})
	err := s.establish()
	if !stop() && err == nil {
		// ctx ended just as the session came up: honour it.
		err = s.abort(fmt.Errorf("pcep session: establishment abandoned: %w", context.Cause(ctx)))
	}
	if err != nil {
		<-s.done
		return nil, err
	}
	go s.readLoop()
	return s, nil
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// PeerOpen returns the peer's accepted OPEN object.
func (s *Session) PeerOpen() pcep.OpenObject {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peer
}

// LocalOpen returns our OPEN object as the peer finally accepted it: Local
// with the keepalive and dead timer of the peer's counter-proposal, if it
// made one.
func (s *Session) LocalOpen() pcep.OpenObject {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.local
}

// LocalAddr returns the local address of the connection.
func (s *Session) LocalAddr() net.Addr { return s.conn.LocalAddr() }

// RemoteAddr returns the peer's address.
func (s *Session) RemoteAddr() net.Addr { return s.conn.RemoteAddr() }

// Done is closed when the session has ended and its connection is closed.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err says why the session ended, nil while it is up: a *ClosedError when a
// Close was sent or received, otherwise the I/O or protocol error.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Stats returns the session's counters.
func (s *Session) Stats() Stats { return s.stats.snapshot() }

// Send encodes m and queues it for the writer goroutine, which batches
// everything queued into one write. It blocks while more than
// MaxPendingWrite bytes wait for the peer. After the session has ended it
// returns an error wrapping ErrClosed and the reason the session ended.
func (s *Session) Send(m pcep.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for !s.closing && len(s.pending) >= s.cfg.MaxPendingWrite {
		s.room.Wait()
	}
	if s.closing {
		return s.closedErrLocked()
	}
	return s.queueLocked(m)
}

// Close sends Close with reason, flushes what is queued and closes the
// connection; it returns when that is done (a peer that accepts nothing for
// WriteTimeout cuts the flush short). It returns an error wrapping ErrClosed
// when the session had already ended, and the write error if the flush
// failed.
func (s *Session) Close(reason uint8) error {
	s.mu.Lock()
	if s.closing {
		err := s.closedErrLocked()
		s.mu.Unlock()
		<-s.done
		return err
	}
	s.endLocked(&ClosedError{Reason: reason}, closeMessage(reason))
	s.mu.Unlock()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writeErr
}

func (s *Session) closedErrLocked() error {
	if s.err == nil {
		return ErrClosed
	}
	return fmt.Errorf("%w: %w", ErrClosed, s.err)
}

// queueLocked encodes m into the pending buffer, whatever its size, and
// wakes the writer.
func (s *Session) queueLocked(m pcep.Message) error {
	if s.closing {
		return s.closedErrLocked()
	}
	if m == nil {
		return errors.New("pcep session: cannot send a nil message")
	}
	buf, err := pcep.Append(s.pending, m)
	if err != nil {
		return fmt.Errorf("pcep session: encode %s: %w", m.MessageType(), err)
	}
	s.pending = buf
	s.stats.countOut(m.MessageType())
	s.wake.Signal()
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.Debug("pcep message out", "msg", describe(m))
	}
	return nil
}

// endLocked ends the session gracefully: err becomes the session's error,
// the final messages (a PCErr or Close) are queued after what is pending,
// and the writer flushes everything and closes the connection. Only the
// first end counts. It returns the session's error.
func (s *Session) endLocked(err error, final ...pcep.Message) error {
	if s.closing {
		return s.err
	}
	for _, m := range final {
		if qerr := s.queueLocked(m); qerr != nil {
			s.log.Warn("pcep session: cannot encode final message", "err", qerr)
		}
	}
	s.closing = true
	s.err = err
	s.stopTimersLocked()
	s.setStateLocked(stateClosed, err)
	s.wake.Signal()
	s.room.Broadcast()
	return s.err
}

// end is endLocked with the lock.
func (s *Session) end(err error, final ...pcep.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endLocked(err, final...)
}

// abort ends the session at once: nothing more is written and the
// connection is closed, which unblocks the reader and the writer. If the
// session had already ended, its first error stays. It returns the
// session's error.
func (s *Session) abort(err error) error {
	s.mu.Lock()
	if !s.closing {
		s.closing = true
		s.err = err
		s.stopTimersLocked()
		s.setStateLocked(stateClosed, err)
	}
	s.aborted = true
	s.pending = s.pending[:0]
	s.wake.Signal()
	s.room.Broadcast()
	err = s.err
	s.mu.Unlock()
	// Outside the lock: closing a TLS connection may try to write an alert.
	s.conn.Close()
	return err
}

func (s *Session) stopTimersLocked() {
	s.est.stopLocked()
	if s.kaTimer != nil {
		s.kaTimer.Stop()
	}
	if s.deadTimer != nil {
		s.deadTimer.Stop()
	}
}

// setStateLocked logs a state change.
func (s *Session) setStateLocked(to state, err error) {
	if s.state == to {
		return
	}
	from := s.state
	s.state = to
	if err != nil {
		s.log.Info("pcep session state", "from", from.String(), "to", to.String(), "err", err)
		return
	}
	s.log.Info("pcep session state", "from", from.String(), "to", to.String())
}

// writeLoop hands the pending bytes to the connection, all of them in one
// write, until the session ends; then it closes the connection and Done.
func (s *Session) writeLoop() {
	defer close(s.done)
	defer s.conn.Close()
	s.mu.Lock()
	for {
		for len(s.pending) == 0 && !s.closing {
			s.wake.Wait()
		}
		if len(s.pending) == 0 || s.aborted {
			s.mu.Unlock()
			return
		}
		buf := s.pending
		s.pending = s.spare[:0]
		s.spare = nil
		timeout := s.writeTimeout
		// Sending anything restarts the keepalive interval. Doing it once
		// per write rather than per message keeps clock reads off the hot
		// path; it happens before the write, so a peer that has read a
		// message knows the interval restarted.
		if s.kaTimer != nil {
			s.lastSent = s.clock.Now()
			s.kaTimer.Reset(s.kaInterval)
		}
		s.room.Broadcast()
		s.mu.Unlock()

		err := s.writeAll(buf, timeout)

		s.mu.Lock()
		// Keep the buffer for the next swap unless it is large and was
		// mostly empty: a burst's buffer is reused while the burst lasts
		// (no regrowing) and given back once traffic is light again.
		if cap(buf) <= maxSpareBuffer || len(buf) >= cap(buf)/4 {
			s.spare = buf[:0]
		}
		if err != nil {
			s.writeErr = fmt.Errorf("pcep session: write: %w", err)
			s.mu.Unlock()
			s.abort(s.writeErr)
			return
		}
	}
}

// writeAll writes b, failing only when the peer accepts nothing for
// timeout: a write that times out after some progress is resumed with a
// fresh deadline, so a slow reader is not mistaken for a stuck one.
func (s *Session) writeAll(b []byte, timeout time.Duration) error {
	for len(b) > 0 {
		if err := s.conn.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
			return err
		}
		n, err := s.conn.Write(b)
		s.stats.bytesOut.Add(uint64(n))
		b = b[n:]
		if err != nil {
			var ne net.Error
			if n > 0 && errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
	}
	return nil
}

// describe renders a message for debug logs.
func describe(m pcep.Message) string {
	return pcep.Describe(m)
}
