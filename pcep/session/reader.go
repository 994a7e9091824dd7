package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/pccagent/pccagent/pcep"
)

// readFrame returns the next whole message, header included, as a slice of
// the read buffer, valid until the next read. The buffer holds the largest
// message the length field can express, so a message split across several
// TCP reads is assembled in place, and several messages from one read are
// framed without another read. A header that cannot be framed is a
// *frameError; anything else is an I/O error.
func (s *Session) readFrame() ([]byte, pcep.MessageType, error) {
	hdr, err := s.br.Peek(pcep.HeaderLen)
	if err != nil {
		return nil, 0, err
	}
	if v := hdr[0] >> 5; v != pcep.Version {
		return nil, 0, &frameError{pcep.NewError(pcep.ErrSessionEstablishment, pcep.ValVersionNotSupported,
			"PCEP version "+strconv.Itoa(int(v))+" not supported")}
	}
	t, n, err := pcep.ParseHeader(hdr)
	if err != nil {
		return nil, 0, &frameError{err}
	}
	if n < pcep.HeaderLen || n > pcep.MaxMessageLen {
		return nil, 0, &frameError{pcep.NewCloseError(pcep.CloseMalformed, "message length "+strconv.Itoa(n)+" out of range")}
	}
	raw, err := s.br.Peek(n)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, 0, err
	}
	return raw, t, nil
}

// lost ends the session after a read error, unless it had already ended
// (closing the connection is what stops the reader).
func (s *Session) lost(err error) error {
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		return s.Err()
	}
	if errors.Is(err, io.EOF) {
		return s.abort(errors.New("pcep session: the peer closed the connection without Close"))
	}
	return s.abort(fmt.Errorf("pcep session: connection lost: %w", err))
}

// readLoop reads, decodes and dispatches messages after UP until the
// session ends.
func (s *Session) readLoop() {
	for {
		buffered := s.br.Buffered()
		raw, t, err := s.readFrame()
		if err != nil {
			s.readFailed(err)
			return
		}
		s.stats.countIn(t, len(raw))
		// A received message restarts the dead timer. Messages that came
		// in with the same read arrived together, so the timer restarts
		// once per read that completed a message, not once per message.
		if s.deadTimer != nil && buffered < len(raw) {
			s.lastRecv.Store(int64(s.clock.Now().Sub(s.epoch)))
			s.deadTimer.Reset(s.deadInterval)
		}
		more := s.dispatch(raw, t)
		s.br.Discard(len(raw)) // raw was peeked: this cannot fail
		if !more {
			return
		}
	}
}

// readFailed handles a read error after UP. A header that cannot be framed
// loses the message boundaries, so the session ends: with the PCErr the
// error names followed by Close reason 3, or with the Close it names.
func (s *Session) readFailed(err error) {
	var fe *frameError
	if !errors.As(err, &fe) {
		s.lost(err)
		return
	}
	var pe *pcep.Error
	switch {
	case errors.As(fe.err, &pe) && pe.CloseReason != 0:
		s.end(&ClosedError{Reason: pe.CloseReason, Cause: err}, closeMessage(pe.CloseReason))
	case pe != nil:
		s.end(&ClosedError{Reason: pcep.CloseMalformed, Cause: err},
			pcerrMessage(pe.Type, pe.Value, nil), closeMessage(pcep.CloseMalformed))
	default:
		s.end(&ClosedError{Reason: pcep.CloseMalformed, Cause: err}, closeMessage(pcep.CloseMalformed))
	}
	s.notifyError(err)
}

// dispatch decodes one message and hands it on; it reports whether to go
// on reading.
func (s *Session) dispatch(raw []byte, t pcep.MessageType) bool {
	m, err := pcep.Decode(raw)
	if err != nil {
		return s.decodeFailed(err)
	}
	s.logIn(m)
	switch m := m.(type) {
	case *pcep.Keepalive:
		return true
	case *pcep.Close:
		s.abort(&ClosedError{Reason: m.Close.Reason, ByPeer: true})
		return false
	}
	if h := s.cfg.Handler; h != nil {
		h(s, m)
	}
	return true
}

// decodeFailed answers a message that did not decode: an unknown message
// type with PCErr 2 (capability not supported) unless there were too many
// in the last minute (Close reason 5), a *pcep.Error with the PCErr or Close
// it names, anything else with Close reason 3. It reports whether to go on
// reading.
func (s *Session) decodeFailed(err error) bool {
	defer s.notifyError(err)
	var ue *pcep.UnknownMessageError
	if errors.As(err, &ue) {
		if s.tooManyUnknown() {
			s.end(&ClosedError{Reason: pcep.CloseTooManyUnknownMsg,
				Cause: fmt.Errorf("more than %d unknown messages in a minute: %w", s.cfg.MaxUnknownPerMinute, err)},
				closeMessage(pcep.CloseTooManyUnknownMsg))
			return false
		}
		return s.answer(pcerrMessage(pcep.ErrCapability, 0, nil))
	}
	var pe *pcep.Error
	if errors.As(err, &pe) {
		if pe.CloseReason != 0 {
			s.end(&ClosedError{Reason: pe.CloseReason, Cause: err}, closeMessage(pe.CloseReason))
			return false
		}
		return s.answer(pcerrMessage(pe.Type, pe.Value, nil))
	}
	s.end(&ClosedError{Reason: pcep.CloseMalformed, Cause: err}, closeMessage(pcep.CloseMalformed))
	return false
}

// answer sends a PCErr from the reader. It goes through Send, so a peer
// that floods errors and reads nothing is pushed back instead of growing
// the write buffer.
func (s *Session) answer(m pcep.Message) bool {
	return s.Send(m) == nil
}

func (s *Session) notifyError(err error) {
	if f := s.cfg.OnError; f != nil {
		f(s, err)
	}
}

// tooManyUnknown records an unknown message and reports whether more than
// MaxUnknownPerMinute arrived within the last minute.
func (s *Session) tooManyUnknown() bool {
	now := s.clock.Now()
	keep := s.unknown[:0]
	for _, at := range s.unknown {
		if now.Sub(at) < time.Minute {
			keep = append(keep, at)
		}
	}
	s.unknown = append(keep, now)
	return len(s.unknown) > s.cfg.MaxUnknownPerMinute
}

func (s *Session) logIn(m pcep.Message) {
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.Debug("pcep message in", "msg", describe(m))
	}
}
