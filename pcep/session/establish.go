package session

import (
	"errors"
	"strconv"
	"time"

	"github.com/pccagent/pccagent/pcep"
	"github.com/pccagent/pccagent/pcep/clock"
)

// establishment is the progress of the Open exchange. Both halves run at
// once: the peer's Open must be accepted (remoteOK) and the peer must
// acknowledge ours with a Keepalive (localOK), in either order.
//
// The flags are written by the reading goroutine under Session.mu; the
// timers and their generations are guarded by Session.mu. A timer callback
// acts only if its generation is still current, so a timer that fired just
// as it was stopped or re-armed does nothing.
type establishment struct {
	opens        int  // peer Opens received
	remoteOK     bool // the peer's Open is accepted
	localOK      bool // the peer acknowledged our Open
	renegotiated bool // we adopted a counter-proposal and sent a new Open

	openWait clock.Timer
	openGen  uint64
	keepWait clock.Timer
	keepGen  uint64
}

func (e *establishment) stopOpenWaitLocked() {
	if e.openWait != nil {
		e.openWait.Stop()
		e.openWait = nil
	}
	e.openGen++
}

func (e *establishment) stopKeepWaitLocked() {
	if e.keepWait != nil {
		e.keepWait.Stop()
		e.keepWait = nil
	}
	e.keepGen++
}

func (e *establishment) stopLocked() {
	e.stopOpenWaitLocked()
	e.stopKeepWaitLocked()
}

// armOpenWaitLocked (re)starts OpenWait: the time the peer has to send an
// acceptable Open.
func (s *Session) armOpenWaitLocked() {
	s.est.stopOpenWaitLocked()
	gen := s.est.openGen
	s.est.openWait = s.clock.AfterFunc(s.cfg.OpenWait, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closing || gen != s.est.openGen {
			return
		}
		s.endLocked(pcep.NewError(pcep.ErrSessionEstablishment, pcep.ValOpenWaitExpired,
			"no acceptable Open from the peer within OpenWait ("+s.cfg.OpenWait.String()+")"),
			pcerrMessage(pcep.ErrSessionEstablishment, pcep.ValOpenWaitExpired, nil))
	})
}

// armKeepWaitLocked (re)starts KeepWait: the time the peer has to
// acknowledge our Open with a Keepalive.
func (s *Session) armKeepWaitLocked() {
	s.est.stopKeepWaitLocked()
	gen := s.est.keepGen
	s.est.keepWait = s.clock.AfterFunc(s.cfg.KeepWait, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closing || gen != s.est.keepGen {
			return
		}
		s.endLocked(pcep.NewError(pcep.ErrSessionEstablishment, pcep.ValKeepWaitExpired,
			"no Keepalive from the peer within KeepWait ("+s.cfg.KeepWait.String()+")"),
			pcerrMessage(pcep.ErrSessionEstablishment, pcep.ValKeepWaitExpired, nil))
	})
}

// establish sends our Open and reads until the session is UP (nil) or has
// ended (the session's error). It runs on the goroutine that called
// Establish, which is the reader until the session is UP.
func (s *Session) establish() error {
	s.mu.Lock()
	if s.closing {
		err := s.err
		s.mu.Unlock()
		return err
	}
	s.setStateLocked(stateOpenWait, nil)
	s.armOpenWaitLocked()
	if err := s.queueLocked(&pcep.Open{Open: s.local}); err != nil {
		err = s.endLocked(err)
		s.mu.Unlock()
		return err
	}
	s.mu.Unlock()

	for {
		raw, t, err := s.readFrame()
		if err != nil {
			return s.establishReadFailed(err)
		}
		s.stats.countIn(t, len(raw))
		up, err := s.establishMessage(raw, t)
		s.br.Discard(len(raw)) // raw was peeked: this cannot fail
		if err != nil {
			return err
		}
		if up {
			return nil
		}
	}
}

// establishReadFailed answers a header that cannot be framed with PCErr 1/1
// (1/8 for a version we do not speak) and ends; an I/O error just ends.
func (s *Session) establishReadFailed(err error) error {
	var fe *frameError
	if !errors.As(err, &fe) {
		return s.lost(err)
	}
	var pe *pcep.Error
	if !errors.As(fe.err, &pe) || pe.Type != pcep.ErrSessionEstablishment {
		pe = pcep.NewError(pcep.ErrSessionEstablishment, pcep.ValOpenBad, fe.Error())
	}
	return s.end(pe, pcerrMessage(pe.Type, pe.Value, nil))
}

// refuse ends the establishment with PCErr t/v.
func (s *Session) refuse(t, v uint8, msg string) error {
	return s.end(pcep.NewError(t, v, msg), pcerrMessage(t, v, nil))
}

// establishMessage handles one framed message before UP. Only Open,
// Keepalive (after the peer's Open), PCErr and Close are allowed.
func (s *Session) establishMessage(raw []byte, t pcep.MessageType) (up bool, err error) {
	switch t {
	case pcep.TypeOpen, pcep.TypePCErr, pcep.TypeClose:
	case pcep.TypeKeepalive:
		if s.est.opens == 0 {
			return false, s.refuse(pcep.ErrSessionEstablishment, pcep.ValOpenBad, "Keepalive received before the peer's Open")
		}
	default:
		return false, s.refuse(pcep.ErrSessionEstablishment, pcep.ValOpenBad, t.String()+" received during session establishment")
	}
	m, err := pcep.Decode(raw)
	if err != nil {
		var pe *pcep.Error
		if t == pcep.TypeOpen && errors.As(err, &pe) && pe.Type == pcep.ErrSessionEstablishment {
			return false, s.end(pe, pcerrMessage(pe.Type, pe.Value, nil))
		}
		return false, s.refuse(pcep.ErrSessionEstablishment, pcep.ValOpenBad, "malformed "+t.String()+": "+err.Error())
	}
	s.logIn(m)
	switch m := m.(type) {
	case *pcep.Open:
		return s.peerOpen(&m.Open)
	case *pcep.Keepalive:
		return s.peerKeepalive()
	case *pcep.PCErr:
		return false, s.peerPCErr(m)
	case *pcep.Close:
		return false, s.abort(&ClosedError{Reason: m.Close.Reason, ByPeer: true})
	}
	return false, s.refuse(pcep.ErrSessionEstablishment, pcep.ValOpenBad, "unexpected "+t.String()+" during session establishment")
}

// peerOpen judges the peer's Open with CheckOpen: accept and acknowledge
// it, counter-propose once with PCErr 1/4, or refuse (1/3, or 1/5 for a
// second unacceptable Open).
func (s *Session) peerOpen(o *pcep.OpenObject) (bool, error) {
	if s.est.remoteOK {
		return false, s.refuse(pcep.ErrSessionEstablishment, pcep.ValOpenBad, "Open received after the peer's Open was accepted")
	}
	var counter *pcep.OpenObject
	var perr *pcep.Error
	if s.cfg.CheckOpen != nil {
		counter, perr = s.cfg.CheckOpen(o)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false, s.err
	}
	s.est.opens++
	switch {
	case perr == nil:
		s.peer = *o
		s.est.remoteOK = true
		s.est.stopOpenWaitLocked()
		if err := s.queueLocked(&pcep.Keepalive{}); err != nil {
			return false, s.endLocked(err)
		}
	case perr.Type == pcep.ErrSessionEstablishment && perr.Value == pcep.ValOpenNegotiable && counter != nil:
		if s.est.opens > 1 {
			return false, s.endLocked(pcep.NewError(pcep.ErrSessionEstablishment, pcep.ValOpenSecondBad,
				"second Open still unacceptable: "+perr.Message),
				pcerrMessage(pcep.ErrSessionEstablishment, pcep.ValOpenSecondBad, nil))
		}
		s.log.Info("pcep session: peer's Open unacceptable but negotiable, counter-proposal sent",
			"reason", perr.Message, "keepalive", counter.Keepalive, "dead_timer", counter.DeadTimer)
		s.armOpenWaitLocked()
		c := *counter
		if err := s.queueLocked(pcerrMessage(pcep.ErrSessionEstablishment, pcep.ValOpenNegotiable, &c)); err != nil {
			return false, s.endLocked(err)
		}
	default:
		return false, s.endLocked(pcep.NewError(pcep.ErrSessionEstablishment, pcep.ValOpenNotNegotiable,
			"peer's Open unacceptable: "+perr.Message),
			pcerrMessage(pcep.ErrSessionEstablishment, pcep.ValOpenNotNegotiable, nil))
	}
	if !s.est.localOK && s.est.keepWait == nil {
		s.armKeepWaitLocked()
	}
	return s.upLocked(), nil
}

// peerKeepalive notes the peer's acknowledgement of our Open.
func (s *Session) peerKeepalive() (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false, s.err
	}
	if !s.est.localOK {
		s.est.localOK = true
		s.est.stopKeepWaitLocked()
	}
	return s.upLocked(), nil
}

// peerPCErr handles a PCErr before UP. PCErr 1/4 with an OPEN object is the
// peer's counter-proposal to our Open: if its keepalive and dead timer are
// usable we adopt them and send a new Open, once. Anything else is a
// refusal: the session ends without an answer.
func (s *Session) peerPCErr(m *pcep.PCErr) error {
	refused := &PeerError{Errors: pcerrObjects(m)}
	if !refused.Has(pcep.ErrSessionEstablishment, pcep.ValOpenNegotiable) || m.Open == nil ||
		s.est.localOK || s.est.renegotiated {
		return s.end(refused)
	}
	p := m.Open
	if !counterAcceptable(p) {
		return s.refuse(pcep.ErrSessionEstablishment, pcep.ValOpenPCErrUnaccept,
			"peer proposed keepalive "+strconv.Itoa(int(p.Keepalive))+" s with dead timer "+strconv.Itoa(int(p.DeadTimer))+" s")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return s.err
	}
	s.local.Keepalive = p.Keepalive
	s.local.DeadTimer = p.DeadTimer
	if s.cfg.WriteTimeout <= 0 && p.Keepalive != 0 && p.DeadTimer != 0 {
		s.writeTimeout = time.Duration(p.DeadTimer) * time.Second
	}
	s.est.renegotiated = true
	s.log.Info("pcep session: adopting the peer's proposal, Open sent again",
		"keepalive", p.Keepalive, "dead_timer", p.DeadTimer)
	if err := s.queueLocked(&pcep.Open{Open: s.local}); err != nil {
		return s.endLocked(err)
	}
	s.armKeepWaitLocked()
	return nil
}

// counterAcceptable reports whether the keepalive and dead timer a peer
// proposes for our Open are usable: a dead timer no longer than the
// keepalive would let the peer declare us dead between two keepalives. A
// zero keepalive (no keepalives) or a zero dead timer (never dead) is fine.
func counterAcceptable(p *pcep.OpenObject) bool {
	return p.Keepalive == 0 || p.DeadTimer == 0 || p.DeadTimer > p.Keepalive
}

// upLocked moves to UP when both halves of the exchange are done, starting
// the keepalive and dead timers, and otherwise logs the state we wait in.
func (s *Session) upLocked() bool {
	switch {
	case !s.est.remoteOK:
		s.setStateLocked(stateOpenWait, nil)
		return false
	case !s.est.localOK:
		s.setStateLocked(stateKeepWait, nil)
		return false
	}
	s.est.stopLocked()
	now := s.clock.Now()
	s.epoch = now
	if s.local.Keepalive != 0 {
		s.kaInterval = time.Duration(s.local.Keepalive) * time.Second
		s.lastSent = now
		s.kaTimer = s.clock.AfterFunc(s.kaInterval, s.keepaliveDue)
	}
	// RFC 5440 section 7.3: the dead timer is ignored when the keepalive is 0.
	if s.peer.Keepalive != 0 && s.peer.DeadTimer != 0 {
		s.deadInterval = time.Duration(s.peer.DeadTimer) * time.Second
		s.lastRecv.Store(0)
		s.deadTimer = s.clock.AfterFunc(s.deadInterval, s.deadTimerDue)
	}
	from := s.state
	s.state = stateUp
	s.log.Info("pcep session state", "from", from.String(), "to", stateUp.String(),
		"keepalive", s.local.Keepalive, "peer_keepalive", s.peer.Keepalive,
		"peer_dead_timer", s.peer.DeadTimer, "session_id", s.local.SessionID, "peer_session_id", s.peer.SessionID)
	return true
}

// keepaliveDue sends a Keepalive when nothing was sent for the keepalive
// interval. Every write re-arms the timer, so a call that finds a recent
// write was overtaken by it and only re-arms for the rest.
func (s *Session) keepaliveDue() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return
	}
	if idle := s.clock.Now().Sub(s.lastSent); idle < s.kaInterval {
		s.kaTimer.Reset(s.kaInterval - idle)
		return
	}
	if err := s.queueLocked(&pcep.Keepalive{}); err != nil {
		s.endLocked(err)
	}
}

// deadTimerDue ends the session with Close reason 2 when nothing was
// received for the peer's dead timer. Every read that brings a message
// re-arms the timer; a call that finds a recent message only re-arms for
// the rest.
func (s *Session) deadTimerDue() {
	idle := s.clock.Now().Sub(s.epoch) - time.Duration(s.lastRecv.Load())
	if idle < s.deadInterval {
		s.deadTimer.Reset(s.deadInterval - idle)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return
	}
	s.endLocked(&ClosedError{Reason: pcep.CloseDeadTimer,
		Cause: errors.New("nothing received from the peer for " + s.deadInterval.String())},
		closeMessage(pcep.CloseDeadTimer))
}
