package pcc

import (
	"context"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"

	"github.com/pccagent/pccagent/pcep"
	"github.com/pccagent/pccagent/pcep/clock"
	"github.com/pccagent/pccagent/pcep/session"
)

// Reconnect backoff bounds.
const (
	minBackoff = time.Second
	maxBackoff = 120 * time.Second
)

// server is the engine's record of one configured PCE server and its
// session (actor-owned).
type server struct {
	cfg ServerConfig

	gen        uint64 // bumped by every attempt and stop; stale callbacks compare it
	cancel     context.CancelFunc
	sess       *session.Session
	sessState  SessionState
	up         bool
	synced     bool // our state sync has been sent on this session
	inHold     bool // session lost, delegations wait delegate-hold
	waitConfig bool // no attempt until the configuration changes (source address unusable)
	holdTimer  clock.Timer
	holdGen    uint64 // bumped whenever a hold starts or ends
	retryTimer clock.Timer
	retryAt    time.Time // when retryTimer falls due
	backoff    time.Duration

	lastErr    string
	lastChange time.Time
	localAddr  netip.Addr
	peer       pcep.OpenObject

	counters      Counters // MessagesSent/Received: of sessions that ended (see state)
	countersDirty bool

	// pending is the PCRpt being built; subs, assocs, ids and attrs hold what its
	// reports point to, reused from one PCRpt to the next so that a report
	// costs no allocation. A report keeps pointing into the array it was
	// given when a later append moves the rest.
	pending      []pcep.Report
	pendingBytes int
	subs         []pcep.Subobject
	assocs       []pcep.Association
	ids          []pcep.LSPIdentifiers
	attrs        []pcep.Attributes

	reqs map[uint32]*lsp // outstanding PCReq by request ID
}

// holds says the server holds (or may hold again) delegations: its session
// is up, or it was lost less than delegate-hold ago.
func (s *server) holds() bool { return s.up || s.inHold }

// reportable says reports may be sent to s: the session is up, our state
// sync has started and the peer is a stateful PCE.
func (s *server) reportable() bool {
	return s.up && s.synced && s.sess != nil && s.peer.Stateful != nil
}

// rankAbove says a ranks above b: higher preference, then the smaller
// address (IPv4 before IPv6).
func rankAbove(a, b *server) bool {
	if a.cfg.Preference != b.cfg.Preference {
		return a.cfg.Preference > b.cfg.Preference
	}
	return a.cfg.Address.Compare(b.cfg.Address) < 0
}

// state returns the telemetry view of s.
func (s *server) state(e *Engine) ServerState {
	st := ServerState{
		Config:          s.cfg,
		SessionState:    s.sessState,
		Selected:        e.selected == s,
		LastError:       s.lastErr,
		LastStateChange: s.lastChange,
		Counters:        s.counters,
	}
	if s.sess != nil {
		// Message totals come from the session: they include the Open,
		// Keepalive and PCErr messages the session handles itself.
		ss := s.sess.Stats()
		st.Counters.MessagesSent += ss.MessagesSent
		st.Counters.MessagesReceived += ss.MessagesReceived
	}
	if s.up {
		st.LocalAddress = s.localAddr
		st.Keepalive = s.peer.Keepalive
		st.DeadTimer = s.peer.DeadTimer
		if sc := s.peer.Stateful; sc != nil {
			st.Stateful = true
			st.LSPUpdate = sc.Flags&pcep.StatefulUpdate != 0
			st.LSPInstantiation = sc.Flags&pcep.StatefulInstantiation != 0
		}
		if p := s.peer.PST; p != nil {
			for _, t := range p.PSTs {
				if t == pcep.PSTSRMPLS {
					st.SegmentRouting = true
				}
			}
		}
	}
	return st
}

// pushServer queues s's state for telemetry.
func (e *Engine) pushServer(s *server) {
	st := s.state(e)
	e.changes.Push(Change{Server: &st})
}

// setState records a session state change and logs it.
func (e *Engine) setState(s *server, st SessionState, why string) {
	if s.sessState == st {
		return
	}
	s.sessState = st
	s.lastChange = e.now()
	if why != "" {
		e.log.Info("pcep session state", "server", s.cfg.Address, "state", st.String(), "reason", why)
	} else {
		e.log.Info("pcep session state", "server", s.cfg.Address, "state", st.String())
	}
	e.pushServer(s)
}

// sourceAddr returns the source address for a session to a server of family
// v6: source-interface's address, else the LSR-ID, else invalid (the kernel
// chooses).
func (e *Engine) sourceAddr(v6 bool) (netip.Addr, error) {
	if e.cfg.SourceInterface != "" {
		return e.ifaceAddr(e.cfg.SourceInterface, v6)
	}
	if e.cfg.LSRID.IsValid() && e.cfg.LSRID.Is6() == v6 {
		return e.cfg.LSRID, nil
	}
	return netip.Addr{}, nil
}

// localOpen returns our OPEN object for a new session.
func (e *Engine) localOpen() pcep.OpenObject {
	c := &e.cfg
	e.nextSess++
	o := pcep.OpenObject{Keepalive: c.Keepalive, DeadTimer: c.DeadTimer, SessionID: e.nextSess}
	if c.Keepalive == 0 {
		// We send no keepalives, so the peer must not expect any.
		o.DeadTimer = 0
	}
	// Color capability (RFC 9863): reports carry the COLOR TLV.
	flags := pcep.StatefulUpdate | pcep.StatefulColor
	if c.PCEInitiated {
		flags |= pcep.StatefulInstantiation
	}
	o.Stateful = &pcep.StatefulCapability{Flags: flags}
	if c.SegmentRouting {
		o.PST = &pcep.PSTCapability{
			PSTs: []uint8{pcep.PSTRSVPTE, pcep.PSTSRMPLS},
			SR:   &pcep.SRPCECapability{MSD: c.MSD},
		}
		o.AssocTypes = []uint16{pcep.AssocSRPolicy}
		o.SRPolicy = &pcep.SRPolicyCapability{}
	}
	return o
}

// start begins a connection attempt to s (or leaves it idle when the engine
// is disabled or the source address cannot be determined).
func (e *Engine) start(s *server) {
	s.gen++
	if s.retryTimer != nil {
		s.retryTimer.Stop()
		s.retryTimer = nil
	}
	if !e.cfg.Enabled {
		s.lastErr = ""
		e.setState(s, StateIdle, "disabled")
		return
	}
	local, err := e.sourceAddr(s.cfg.Address.Is6())
	if err != nil {
		s.waitConfig = true
		s.lastErr = err.Error()
		e.log.Warn("pcep session not attempted", "server", s.cfg.Address, "error", err)
		e.setState(s, StateIdle, s.lastErr)
		e.pushServer(s)
		return
	}
	s.waitConfig = false
	ctx, cancel := context.WithCancel(e.ctx)
	s.cancel = cancel
	gen := s.gen
	open := e.localOpen()
	e.setState(s, StateConnecting, "")
	e.wg.Add(1)
	go e.connect(ctx, s, gen, local, netip.AddrPortFrom(s.cfg.Address, s.cfg.Port), open)
}

// connect dials and negotiates one session (its own goroutine), then waits
// for the session to end. Every outcome goes to the actor.
func (e *Engine) connect(ctx context.Context, s *server, gen uint64, local netip.Addr, raddr netip.AddrPort, open pcep.OpenObject) {
	defer e.wg.Done()
	d := net.Dialer{Timeout: e.dialTimeout}
	if local.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: local.AsSlice()}
	}
	conn, err := d.DialContext(ctx, "tcp", raddr.String())
	if err != nil {
		e.post(func() { e.attemptFailed(s, gen, err) })
		return
	}
	e.post(func() {
		if s.gen == gen {
			e.setState(s, StateOpenWait, "")
		}
	})
	ready := make(chan struct{})
	cfg := session.Config{
		Role:   session.RolePCC,
		Local:  open,
		Clock:  e.clock,
		Logger: e.log.With("server", raddr.Addr()),
		Handler: func(_ *session.Session, m pcep.Message) {
			select {
			case <-ready:
			case <-e.stopped:
				return
			}
			e.post(func() { e.received(s, gen, m) })
		},
		OnError: func(_ *session.Session, err error) {
			e.post(func() { e.receiveError(s, gen, err) })
		},
	}
	sess, err := session.Establish(ctx, conn, cfg)
	if err != nil {
		e.post(func() { e.attemptFailed(s, gen, err) })
		return
	}
	if !e.post(func() { e.sessionUp(s, gen, sess) }) {
		sess.Close(pcep.CloseNoReason)
		return
	}
	close(ready)
	select {
	case <-sess.Done():
	case <-ctx.Done():
		sess.Close(pcep.CloseNoReason)
		<-sess.Done()
	}
	e.post(func() { e.sessionDown(s, gen, sess) })
}

// attemptFailed records a failed attempt and schedules the next one.
func (e *Engine) attemptFailed(s *server, gen uint64, err error) {
	if s.gen != gen {
		return
	}
	s.lastErr = err.Error()
	e.log.Warn("pcep session attempt failed", "server", s.cfg.Address, "error", err)
	e.setState(s, StateIdle, s.lastErr)
	e.pushServer(s)
	e.scheduleRetry(s)
}

// scheduleRetry arms the next attempt after the exponential backoff (1 s
// doubling up to 120 s) with jitter (a random point in the upper half).
func (e *Engine) scheduleRetry(s *server) {
	if s.backoff == 0 {
		s.backoff = minBackoff
	} else {
		s.backoff = min(2*s.backoff, maxBackoff)
	}
	d := s.backoff/2 + rand.N(s.backoff/2+1)
	gen := s.gen
	s.retryAt = e.now().Add(d)
	e.log.Debug("pcep session retry scheduled", "server", s.cfg.Address, "in", d)
	s.retryTimer = e.clock.AfterFunc(d, func() {
		e.post(func() {
			if s.gen == gen && !s.up && e.servers[s.cfg.Address] == s {
				s.retryTimer = nil
				e.start(s)
			} else {
				e.log.Debug("pcep session retry dropped", "server", s.cfg.Address, "gen", gen, "now", s.gen, "up", s.up)
			}
		})
	})
}

// sessionUp takes a negotiated session into service: selection, state sync,
// delegations and path requests.
func (e *Engine) sessionUp(s *server, gen uint64, sess *session.Session) {
	if s.gen != gen || e.servers[s.cfg.Address] != s {
		e.closeSession(sess)
		return
	}
	s.sess = sess
	s.up = true
	s.backoff = 0
	s.peer = sess.PeerOpen()
	s.lastErr = ""
	if ap, err := netip.ParseAddrPort(sess.LocalAddr().String()); err == nil {
		s.localAddr = ap.Addr().Unmap()
	}
	if s.inHold {
		s.inHold = false
		s.holdGen++
		if s.holdTimer != nil {
			s.holdTimer.Stop()
			s.holdTimer = nil
		}
	}
	for _, l := range e.lsps {
		if l.returnedTo == s {
			l.returnedTo = nil
		}
		if l.delegatedTo == s {
			l.ctlLostAt = 0
		}
	}
	s.reqs = make(map[uint32]*lsp)
	e.setState(s, StateUp, "")
	e.emit(EventSessionUp, s, nil, 0, "")
	if s.peer.Stateful == nil {
		e.log.Warn("pcep peer is not a stateful PCE: no reports or delegations", "server", s.cfg.Address)
	}
	// The state sync follows in this same step, so s counts as synchronised
	// for the selection; the sync reports carry its D flags.
	s.synced = true
	e.reselect()
	e.reconcile(s)
	e.stateSync(s)
	e.pushServer(s)
	e.requestPaths()
}

// sessionDown handles the end of a session.
func (e *Engine) sessionDown(s *server, gen uint64, sess *session.Session) {
	if s.gen != gen || s.sess != sess {
		return
	}
	why := "session closed"
	if err := sess.Err(); err != nil {
		why = err.Error()
	}
	e.lost(s, why, true)
	e.scheduleRetry(s)
}

// lost takes s's session out of service: grants end, PCE state starts its
// state timeout, and delegations wait delegate-hold (when hold is true).
func (e *Engine) lost(s *server, why string, hold bool) {
	wasUp := s.up
	if s.sess != nil {
		ss := s.sess.Stats()
		s.counters.MessagesSent += ss.MessagesSent
		s.counters.MessagesReceived += ss.MessagesReceived
	}
	s.up = false
	s.synced = false
	s.sess = nil
	s.localAddr = netip.Addr{}
	clear(s.pending)
	s.pending = s.pending[:0]
	s.pendingBytes = 0
	s.lastErr = why
	for _, l := range s.reqs {
		l.reqID = 0
	}
	s.reqs = nil
	if !wasUp || e.stopping {
		return
	}
	for _, l := range e.lsps {
		if l.grant == s {
			l.grant = nil
		}
		if l.returnedTo == s {
			l.returnedTo = nil
		}
		if l.delegatedTo == s {
			e.lostControl(l)
		}
	}
	e.setState(s, StateIdle, why)
	e.emit(EventSessionDown, s, nil, 0, why)
	if hold && e.cfg.DelegateHold > 0 {
		s.inHold = true
		s.holdGen++
		gen := s.holdGen
		s.holdTimer = e.clock.AfterFunc(e.cfg.DelegateHold, func() {
			e.post(func() {
				if s.holdGen == gen && s.inHold {
					s.inHold = false
					s.holdTimer = nil
					e.log.Info("delegate-hold expired", "server", s.cfg.Address)
					e.reselect()
					e.reconcile(nil)
					e.requestPaths()
				}
			})
		})
	}
	e.reselect()
	e.reconcile(nil)
	e.requestPaths()
}

// stop ends any attempt or session to s without scheduling another.
func (e *Engine) stop(s *server, why string, hold bool) {
	s.gen++
	if s.cancel != nil {
		s.cancel()
		s.cancel = nil
	}
	if s.retryTimer != nil {
		s.retryTimer.Stop()
		s.retryTimer = nil
	}
	if !hold && s.holdTimer != nil {
		s.holdTimer.Stop()
		s.holdTimer = nil
		s.inHold = false
		s.holdGen++
	}
	sess := s.sess
	if sess != nil {
		e.flush(s)
	}
	e.lost(s, why, hold)
	if sess != nil {
		e.closeSession(sess)
	}
	s.lastErr = ""
	e.setState(s, StateIdle, why)
}

// closeSession closes sess (Close reason 1) in the background: the flush
// may wait for a slow peer, and the actor must not.
func (e *Engine) closeSession(sess *session.Session) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		sess.Close(pcep.CloseNoReason)
	}()
}

// restart closes s's session or attempt and starts a new attempt at once.
func (e *Engine) restart(s *server, why string) {
	e.stop(s, why, true)
	s.backoff = 0
	e.start(s)
}

// reselect recomputes the selected server: the current one keeps the
// delegations while it holds them unless a higher-ranked server is up and
// synchronised (revertive); otherwise the best such server is selected.
func (e *Engine) reselect() {
	var best *server
	for _, s := range e.srvList {
		if s.reportable() {
			best = s
			break
		}
	}
	cur := e.selected
	next := best
	if cur != nil && cur.holds() && e.servers[cur.cfg.Address] == cur {
		if best == nil || !rankAbove(best, cur) {
			next = cur
		}
	}
	if next == cur {
		return
	}
	e.selected = next
	e.log.Info("pcep server selected", "server", addrOf(next), "previous", addrOf(cur))
	if cur != nil {
		e.pushServer(cur)
	}
	if next != nil {
		e.pushServer(next)
	}
}

// received dispatches a message from s's session.
func (e *Engine) received(s *server, gen uint64, m pcep.Message) {
	if s.gen != gen || !s.up {
		return
	}
	s.countersDirty = true
	switch m := m.(type) {
	case *pcep.PCUpd:
		s.counters.PCUpdReceived++
		e.handleUpdate(s, m)
	case *pcep.PCInitiate:
		s.counters.PCInitiateReceived++
		e.handleInitiate(s, m)
	case *pcep.PCRep:
		s.counters.PCRepReceived++
		e.handleReply(s, m)
	case *pcep.PCErr:
		s.counters.PCErrReceived++
		for _, b := range m.Errors {
			for _, pe := range b.Errors {
				e.log.Warn("pcep error received", "server", s.cfg.Address, "type", pe.Type, "value", pe.Value)
			}
		}
	case *pcep.PCNtf:
		e.log.Info("pcep notification received", "server", s.cfg.Address)
	default:
		e.log.Warn("unexpected message ignored", "server", s.cfg.Address, "type", m.MessageType().String())
	}
}

// receiveError counts a message the session could not decode (it has
// already answered it).
func (e *Engine) receiveError(s *server, gen uint64, err error) {
	if s.gen != gen {
		return
	}
	s.counters.PCErrSent++
	s.countersDirty = true
	e.log.Warn("malformed message refused", "server", s.cfg.Address, "error", err)
}

// sendRaw sends m on s's session and counts it.
func (e *Engine) sendRaw(s *server, m pcep.Message) bool {
	if s.sess == nil {
		return false
	}
	if err := s.sess.Send(m); err != nil {
		e.log.Debug("pcep send failed", "server", s.cfg.Address, "error", err)
		return false
	}
	s.countersDirty = true
	return true
}

// send writes s's pending reports, then m, so that messages leave in order.
func (e *Engine) send(s *server, m pcep.Message) bool {
	e.flush(s)
	return e.sendRaw(s, m)
}
