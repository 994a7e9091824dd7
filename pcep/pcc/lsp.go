package pcc

import (
	"log/slog"
	"net/netip"
	"time"

	"github.com/pccagent/pccagent/pcep"
)

// lsp is the engine's record of one LSP. It is kept small (the engine holds
// up to hundreds of thousands): labels are plain []uint32, times are Unix
// nanoseconds, the servers concerned are pointers into the server table.
type lsp struct {
	name      string
	endpoint  netip.Addr
	cfgLabels []uint32 // configured labels of a policy (nil for PCE-initiated LSPs); shared with the config, never written
	labels    []uint32 // segment list in force; aliases cfgLabels unless set by a PCE or a PCRep

	delegatedTo *server // the server that holds the delegation (D=1), nil if none
	grant       *server // RFC 8741: control granted to this server
	owner       *server // PCE-initiated: the PCE that initiated or adopted it
	returnedTo  *server // this server returned the delegation; not re-delegated to it on our own initiative

	updates    uint64
	lastChange int64 // Unix ns
	ctlLostAt  int64 // Unix ns when PCE control was lost while PCE state exists; 0 = not lost

	idx        int32 // index in Engine.lsps
	plspID     uint32
	color      uint32
	preference uint32
	lastSRPID  uint32
	reqID      uint32 // outstanding PCReq request ID, 0 = none
	mark       uint32 // Apply epoch that last saw this policy

	origin      Origin
	oper        OperStatus
	cfgDelegate bool
	pceSet      bool // labels come from a PCE (PCUpd, or PCInitiate)
	noPath      bool // the last PCRep said there is no path
	hasColor    bool
}

// state returns the telemetry view of l; Labels is a copy.
func (l *lsp) state() LSPState {
	st := LSPState{
		Name:       l.name,
		PLSPID:     l.plspID,
		Origin:     l.origin,
		Color:      l.color,
		Endpoint:   l.endpoint,
		Preference: l.preference,
		OperStatus: l.oper,
		Updates:    l.updates,
		LastSRPID:  l.lastSRPID,
		LastChange: time.Unix(0, l.lastChange),
	}
	if l.delegatedTo != nil {
		st.Delegated = true
		st.DelegatedTo = l.delegatedTo.cfg.Address
	}
	if len(l.labels) > 0 {
		st.Labels = append([]uint32(nil), l.labels...)
	}
	return st
}

// setLabels puts labels in force (nil or empty: no path) and sets the
// operational status that goes with them.
func (l *lsp) setLabels(labels []uint32) {
	l.labels = labels
	if len(labels) > 0 {
		l.oper = OperActive
	} else {
		l.oper = OperDown
	}
}

// changed records that l changed now and queues its state for telemetry.
func (e *Engine) changed(l *lsp) {
	l.lastChange = e.now().UnixNano()
	st := l.state()
	e.changes.Push(Change{LSP: &st})
}

// allocPLSPID returns an unused PLSP-ID, never 0 or 0xFFFFF.
func (e *Engine) allocPLSPID() (uint32, bool) {
	if len(e.lsps) >= int(pcep.MaxPLSPID)-1 {
		return 0, false
	}
	for {
		id := e.nextPLSP
		e.nextPLSP++
		if e.nextPLSP >= pcep.MaxPLSPID {
			e.nextPLSP = 1
		}
		if e.byID[id] == nil {
			return id, true
		}
	}
}

// addLSP enters l (with its PLSP-ID set) into the database.
func (e *Engine) addLSP(l *lsp) {
	l.idx = int32(len(e.lsps))
	e.lsps = append(e.lsps, l)
	e.byName[l.name] = l
	e.byID[l.plspID] = l
	if l.origin == OriginPCE {
		e.pceCount++
	}
}

// removeLSP reports l removed (R=1) to every synchronised server, echoing
// srpID to srpTo, and deletes it.
func (e *Engine) removeLSP(l *lsp, srpTo *server, srpID uint32, why string) {
	for _, s := range e.srvList {
		if s.reportable() {
			id := uint32(0)
			if s == srpTo {
				id = srpID
			}
			e.queueReport(s, l, rptOpts{srpID: id, remove: true})
		}
	}
	if l.reqID != 0 {
		for _, s := range e.srvList {
			delete(s.reqs, l.reqID)
		}
		l.reqID = 0
	}
	last := e.lsps[len(e.lsps)-1]
	e.lsps[l.idx] = last
	last.idx = l.idx
	e.lsps[len(e.lsps)-1] = nil
	e.lsps = e.lsps[:len(e.lsps)-1]
	delete(e.byName, l.name)
	delete(e.byID, l.plspID)
	if l.origin == OriginPCE {
		e.pceCount--
	}
	e.emit(EventLSPRemoved, srpTo, l, srpID, why)
	e.changes.Push(Change{LSP: &LSPState{Name: l.name, PLSPID: l.plspID}, Removed: true})
	e.log.Info("lsp removed", "lsp", l.name, "plsp-id", l.plspID, "reason", why)
}

// want returns the server l should be delegated to now, nil for none.
func (e *Engine) want(l *lsp) *server {
	if l.grant != nil {
		return l.grant
	}
	var s *server
	switch {
	case l.origin == OriginPCE:
		if l.owner != nil && l.owner.holds() {
			s = l.owner
		}
	case l.cfgDelegate:
		s = e.selected
	}
	if s != nil && s == l.returnedTo {
		return nil
	}
	return s
}

// lostControl records that PCE control of l ended now, when l carries
// state a PCE owns, and arms the state-timeout sweep.
func (e *Engine) lostControl(l *lsp) {
	if l.ctlLostAt != 0 || (!l.pceSet && l.origin != OriginPCE) {
		return
	}
	now := e.now()
	l.ctlLostAt = now.UnixNano()
	e.scheduleSweep(now.Add(e.cfg.StateTimeout))
}

type move struct {
	l        *lsp
	from, to *server
}

// reconcile moves every LSP whose delegation differs from want: PCRpt D=0 to
// the server losing it first (flushed), then D=1 to the server gaining it.
// Servers in skip get no reports (their state sync follows and carries the
// flags).
func (e *Engine) reconcile(skip *server) {
	var moves []move
	for _, l := range e.lsps {
		if w := e.want(l); w != l.delegatedTo {
			moves = append(moves, move{l, l.delegatedTo, w})
		}
	}
	e.applyMoves(moves, skip, nil, 0)
}

// applyMoves carries out delegation moves; srpTo/srpID is echoed in the
// report to srpTo (a control request being granted).
func (e *Engine) applyMoves(moves []move, skip, srpTo *server, srpID uint32) {
	if len(moves) == 0 {
		return
	}
	revoked, delegated := 0, 0
	for _, m := range moves {
		if m.from == nil {
			continue
		}
		m.l.delegatedTo = nil
		if m.from != skip && m.from.reportable() {
			e.queueReport(m.from, m.l, rptOpts{})
		}
	}
	for _, s := range e.srvList {
		e.flush(s)
	}
	now := e.now().UnixNano()
	for _, m := range moves {
		l := m.l
		l.delegatedTo = m.to
		if m.from != nil {
			revoked++
			e.emit(EventLSPRevoked, m.from, l, 0, "")
			if e.log.Enabled(e.ctx, slog.LevelDebug) {
				e.log.Debug("lsp delegation revoked", "lsp", l.name, "server", m.from.cfg.Address)
			}
		}
		if m.to != nil {
			delegated++
			id := uint32(0)
			if m.to == srpTo {
				id = srpID
			}
			if m.to != skip && m.to.reportable() {
				e.queueReport(m.to, l, rptOpts{srpID: id})
			}
			if m.to.up {
				l.ctlLostAt = 0
			}
			e.emit(EventLSPDelegated, m.to, l, id, "")
			if e.log.Enabled(e.ctx, slog.LevelDebug) {
				e.log.Debug("lsp delegated", "lsp", l.name, "server", m.to.cfg.Address)
			}
		} else {
			e.lostControl(l)
		}
		l.lastChange = now
		st := l.state()
		e.changes.Push(Change{LSP: &st})
	}
	if len(moves) == 1 {
		m := moves[0]
		e.log.Info("lsp delegation changed", "lsp", m.l.name, "from", addrOf(m.from), "to", addrOf(m.to))
	} else {
		e.log.Info("lsp delegations changed", "revoked", revoked, "delegated", delegated, "to", addrOf(e.selected))
	}
}

// addrOf returns s's address, or the invalid address for nil.
func addrOf(s *server) netip.Addr {
	if s == nil {
		return netip.Addr{}
	}
	return s.cfg.Address
}

// scheduleSweep arms the state-timeout sweep for at, unless it is already
// armed for an earlier time.
func (e *Engine) scheduleSweep(at time.Time) {
	if e.sweepTimer != nil && !at.Before(e.sweepAt) {
		return
	}
	if e.sweepTimer != nil {
		e.sweepTimer.Stop()
	}
	e.sweepGen++
	gen := e.sweepGen
	e.sweepAt = at
	e.sweepTimer = e.clock.AfterFunc(at.Sub(e.now()), func() {
		e.post(func() {
			if gen == e.sweepGen {
				e.sweep()
			}
		})
	})
}

// sweep applies the state timeout: an LSP whose PCE control was lost
// state-timeout ago and has not been taken over since loses its PCE state: a
// policy goes back to its configured path, a PCE-initiated LSP is removed
// (RFC 8231 section 5.7.4, RFC 8281 section 6).
func (e *Engine) sweep() {
	e.sweepTimer = nil
	now := e.now()
	st := e.cfg.StateTimeout
	var next time.Time
	for i := 0; i < len(e.lsps); i++ {
		l := e.lsps[i]
		if l.ctlLostAt == 0 {
			continue
		}
		if l.delegatedTo != nil && l.delegatedTo.up {
			l.ctlLostAt = 0
			continue
		}
		deadline := time.Unix(0, l.ctlLostAt).Add(st)
		if deadline.After(now) {
			if next.IsZero() || deadline.Before(next) {
				next = deadline
			}
			continue
		}
		l.ctlLostAt = 0
		if l.origin == OriginPCE {
			if l.delegatedTo != nil {
				e.applyMoves([]move{{l, l.delegatedTo, nil}}, nil, nil, 0)
			}
			e.removeLSP(l, nil, 0, "state-timeout")
			i--
			continue
		}
		if l.pceSet {
			l.pceSet = false
			l.setLabels(l.cfgLabels)
			l.noPath = false
			e.reportAll(l, nil, 0)
			e.changed(l)
			e.emit(EventLSPUpdated, nil, l, 0, "state-timeout: configured path restored")
			e.log.Info("state timeout: configured path restored", "lsp", l.name)
		}
	}
	if !next.IsZero() {
		e.scheduleSweep(next)
	}
	e.requestPaths()
}
