package pcc

import (
	"errors"

	"github.com/pccagent/pccagent/pcep"
)

// sendErr answers s with a PCErr type/value that carries srp (when not nil),
// and logs the refusal.
func (e *Engine) sendErr(s *server, srp *pcep.SRP, t, v uint8, why string) {
	blk := pcep.ErrorBlock{Errors: []pcep.PCEPError{{Type: t, Value: v}}}
	if srp != nil {
		blk.SRPs = []pcep.SRP{{Flags: srp.Flags, SRPID: srp.SRPID}}
	}
	if e.send(s, &pcep.PCErr{Errors: []pcep.ErrorBlock{blk}}) {
		s.counters.PCErrSent++
	}
	var id uint32
	if srp != nil {
		id = srp.SRPID
	}
	e.log.Warn("pcep request refused", "server", s.cfg.Address, "srp-id", id, "pcerr-type", t, "pcerr-value", v, "reason", why)
}

// errLabels is returned by labelsFrom for a path this PCC cannot use.
var errLabels = errors.New("path is not a list of MPLS label SIDs")

// labelsFrom extracts the label stack of an SR-ERO into buf and checks it.
func labelsFrom(buf []uint32, ero *pcep.ERO, msd uint8) ([]uint32, error) {
	buf = buf[:0]
	for _, so := range ero.Subobjects {
		lbl, ok := so.Label()
		if !ok {
			return buf, errLabels
		}
		buf = append(buf, lbl)
	}
	return buf, checkLabels(buf, msd)
}

// handleUpdate processes a PCUpd: control requests (RFC 8741), delegation
// returns and path updates (RFC 8231).
func (e *Engine) handleUpdate(s *server, m *pcep.PCUpd) {
	for i := range m.Updates {
		u := &m.Updates[i]
		// RFC 8741: C is looked at before the PLSP-ID, and ignored when D is set.
		if u.SRP.Flags&pcep.SRPControl != 0 && u.LSP.Flags&pcep.LSPDelegate == 0 {
			e.controlRequest(s, u)
			continue
		}
		l := e.byID[u.LSP.PLSPID]
		if l == nil {
			e.sendErr(s, &u.SRP, pcep.ErrInvalidOperation, pcep.ValUnknownPLSPID, "update for unknown PLSP-ID "+itoa(int(u.LSP.PLSPID)))
			continue
		}
		if l.delegatedTo != s {
			e.sendErr(s, &u.SRP, pcep.ErrInvalidOperation, pcep.ValNonDelegatedUpdate, "update for non-delegated LSP "+l.name)
			continue
		}
		if u.LSP.Flags&pcep.LSPDelegate == 0 {
			e.returnDelegation(s, l, u.SRP.SRPID)
			continue
		}
		labels, err := labelsFrom(e.scratch[:0], &u.ERO, e.cfg.MSD)
		e.scratch = labels[:0]
		if err != nil {
			e.queueReport(s, l, rptOpts{srpID: u.SRP.SRPID, errCode: pcep.LSPErrUnacceptable})
			e.log.Warn("pcep update refused", "server", s.cfg.Address, "lsp", l.name, "srp-id", u.SRP.SRPID, "reason", err)
			continue
		}
		if l.pceSet && cap(l.labels) >= len(labels) {
			l.labels = append(l.labels[:0], labels...)
		} else {
			l.labels = append(make([]uint32, 0, len(labels)), labels...)
		}
		l.setLabels(l.labels)
		l.pceSet = true
		l.noPath = false
		l.updates++
		l.lastSRPID = u.SRP.SRPID
		e.reportAll(l, s, u.SRP.SRPID)
		e.changed(l)
		e.emit(EventLSPUpdated, s, l, u.SRP.SRPID, "")
	}
}

// returnDelegation handles a PCUpd with D=0: the PCE gives the LSP back.
func (e *Engine) returnDelegation(s *server, l *lsp, srpID uint32) {
	l.returnedTo = s
	if l.grant == s {
		l.grant = nil
	}
	l.delegatedTo = nil
	l.lastSRPID = srpID
	e.lostControl(l)
	e.queueReport(s, l, rptOpts{srpID: srpID})
	e.changed(l)
	e.emit(EventLSPRevoked, s, l, srpID, "returned by PCE")
	e.log.Info("lsp delegation returned by pce", "lsp", l.name, "server", s.cfg.Address)
}

// controlRequest answers an RFC 8741 control request (SRP C=1, D=0) for one
// LSP or, with PLSP-ID 0, for every LSP. It never answers with a PCErr.
func (e *Engine) controlRequest(s *server, u *pcep.Update) {
	srpID := u.SRP.SRPID
	if u.LSP.PLSPID == 0 {
		e.emit(EventControlRequested, s, nil, srpID, "all LSPs")
		// Copy: granting reorders nothing, but be independent of e.lsps.
		all := append([]*lsp(nil), e.lsps...)
		var grants []move
		for _, l := range all {
			if m, ok := e.controlOne(s, l, srpID); ok {
				grants = append(grants, m)
			}
		}
		e.applyMoves(grants, nil, s, srpID)
		return
	}
	l := e.byID[u.LSP.PLSPID]
	if l == nil {
		e.emit(EventControlRequested, s, nil, srpID, "PLSP-ID "+itoa(int(u.LSP.PLSPID)))
		e.emit(EventControlIgnored, s, nil, srpID, "unknown PLSP-ID "+itoa(int(u.LSP.PLSPID)))
		e.log.Info("control request ignored", "server", s.cfg.Address, "plsp-id", u.LSP.PLSPID, "reason", "unknown PLSP-ID")
		return
	}
	e.emit(EventControlRequested, s, l, srpID, "")
	if m, ok := e.controlOne(s, l, srpID); ok {
		e.applyMoves([]move{m}, nil, s, srpID)
	}
}

// controlOne decides a control request for l. A grant is returned as a move
// for the caller to carry out (so that many grants share one pass); denials
// and confirmations are reported here.
func (e *Engine) controlOne(s *server, l *lsp, srpID uint32) (move, bool) {
	switch {
	case l.delegatedTo == s:
		// Already delegated to the requester: confirm.
		l.lastSRPID = srpID
		e.queueReport(s, l, rptOpts{srpID: srpID})
		e.emit(EventControlGranted, s, l, srpID, "already delegated")
		return move{}, false
	case l.delegatedTo != nil:
		e.emit(EventControlIgnored, s, l, srpID, "delegated to "+l.delegatedTo.cfg.Address.String())
		e.log.Info("control request ignored", "server", s.cfg.Address, "lsp", l.name, "reason", "delegated to another server", "holder", l.delegatedTo.cfg.Address)
		return move{}, false
	}
	switch e.cfg.ControlRequestPolicy {
	case ControlGrant:
		l.grant = s
		l.returnedTo = nil
		l.lastSRPID = srpID
		e.emit(EventControlGranted, s, l, srpID, "")
		e.log.Info("control request granted", "server", s.cfg.Address, "lsp", l.name)
		return move{l, nil, s}, true
	case ControlDeny:
		l.lastSRPID = srpID
		e.queueReport(s, l, rptOpts{srpID: srpID})
		e.emit(EventControlDenied, s, l, srpID, "")
		e.log.Info("control request denied", "server", s.cfg.Address, "lsp", l.name)
	default:
		e.emit(EventControlIgnored, s, l, srpID, "policy ignore")
		e.log.Info("control request ignored", "server", s.cfg.Address, "lsp", l.name, "reason", "policy ignore")
	}
	return move{}, false
}

// handleInitiate processes a PCInitiate (RFC 8281): instantiation, removal
// and adoption of PCE-initiated LSPs.
func (e *Engine) handleInitiate(s *server, m *pcep.PCInitiate) {
	for i := range m.Requests {
		r := &m.Requests[i]
		if !e.cfg.PCEInitiated {
			e.sendErr(s, &r.SRP, pcep.ErrCapability, 0, "PCE-initiated LSPs are not enabled")
			continue
		}
		if r.SRP.Flags&pcep.SRPRemove != 0 {
			e.initiateRemove(s, r)
			continue
		}
		if r.LSP.PLSPID != 0 {
			e.initiateAdopt(s, r)
			continue
		}
		e.initiateCreate(s, r)
	}
}

// initiateRemove removes one PCE-initiated LSP, or with PLSP-ID 0 every LSP
// the requesting PCE initiated.
func (e *Engine) initiateRemove(s *server, r *pcep.Initiate) {
	srpID := r.SRP.SRPID
	if r.LSP.PLSPID == 0 {
		var victims []*lsp
		for _, l := range e.lsps {
			if l.origin == OriginPCE && l.owner == s {
				victims = append(victims, l)
			}
		}
		for _, l := range victims {
			l.delegatedTo = nil
			e.removeLSP(l, s, srpID, "removed by PCE")
		}
		if len(victims) == 0 {
			e.log.Info("pce asked to remove all its LSPs: it has none", "server", s.cfg.Address)
		}
		return
	}
	l := e.byID[r.LSP.PLSPID]
	switch {
	case l == nil:
		e.sendErr(s, &r.SRP, pcep.ErrInvalidOperation, pcep.ValUnknownPLSPID, "removal of unknown PLSP-ID "+itoa(int(r.LSP.PLSPID)))
	case l.origin != OriginPCE:
		e.sendErr(s, &r.SRP, pcep.ErrInvalidOperation, pcep.ValNotPCEInitiated, "removal of PCC-initiated LSP "+l.name)
	case l.delegatedTo != s:
		e.sendErr(s, &r.SRP, pcep.ErrInvalidOperation, pcep.ValNonDelegatedUpdate, "removal of LSP "+l.name+" not delegated to this PCE")
	default:
		l.delegatedTo = nil
		e.removeLSP(l, s, srpID, "removed by PCE")
	}
}

// initiateAdopt handles a PCInitiate with a non-zero PLSP-ID: the adoption
// of an orphaned PCE-initiated LSP; anything else is an error.
func (e *Engine) initiateAdopt(s *server, r *pcep.Initiate) {
	l := e.byID[r.LSP.PLSPID]
	switch {
	case l == nil && !r.HasERO:
		e.sendErr(s, &r.SRP, pcep.ErrInvalidOperation, pcep.ValUnknownPLSPID, "adoption of unknown PLSP-ID "+itoa(int(r.LSP.PLSPID)))
		return
	case l == nil:
		e.sendErr(s, &r.SRP, pcep.ErrInvalidOperation, pcep.ValNonZeroPLSPID, "instantiation with non-zero PLSP-ID")
		return
	case l.origin != OriginPCE:
		e.sendErr(s, &r.SRP, pcep.ErrInvalidOperation, pcep.ValNotPCEInitiated, "adoption of PCC-initiated LSP "+l.name)
		return
	case l.delegatedTo != nil && l.delegatedTo != s && l.delegatedTo.up:
		e.sendErr(s, &r.SRP, pcep.ErrInvalidOperation, pcep.ValNonZeroPLSPID, "LSP "+l.name+" is not orphaned")
		return
	}
	var labels []uint32
	if r.HasERO && len(r.ERO.Subobjects) > 0 {
		var err error
		labels, err = labelsFrom(nil, &r.ERO, e.cfg.MSD)
		if err != nil {
			e.sendErr(s, &r.SRP, pcep.ErrInstantiation, pcep.ValInitUnacceptable, "adoption of "+l.name+": "+err.Error())
			return
		}
	}
	from := l.delegatedTo
	l.owner = s
	l.grant = nil
	l.returnedTo = nil
	l.ctlLostAt = 0
	l.lastSRPID = r.SRP.SRPID
	if labels != nil {
		l.setLabels(labels)
		l.pceSet = true
	}
	e.emit(EventLSPInitiated, s, l, r.SRP.SRPID, "adopted")
	e.log.Info("orphaned lsp adopted", "lsp", l.name, "server", s.cfg.Address)
	if from == s {
		e.reportAll(l, s, r.SRP.SRPID)
		e.changed(l)
		return
	}
	e.applyMoves([]move{{l, from, s}}, nil, s, r.SRP.SRPID)
	if labels != nil {
		for _, o := range e.srvList {
			if o != s && o.reportable() {
				e.queueReport(o, l, rptOpts{})
			}
		}
	}
}

// initiateCreate instantiates a PCE-initiated LSP.
func (e *Engine) initiateCreate(s *server, r *pcep.Initiate) {
	name := r.LSP.SymbolicName
	switch {
	case name == "":
		e.sendErr(s, &r.SRP, pcep.ErrInvalidObject, pcep.ValSymbolicNameAbsent, "instantiation without SYMBOLIC-PATH-NAME")
		return
	case e.byName[name] != nil:
		e.sendErr(s, &r.SRP, pcep.ErrBadParameter, pcep.ValSymbolicNameInUse, "symbolic name "+name+" in use")
		return
	case e.pceCount >= e.initLimit:
		e.sendErr(s, &r.SRP, pcep.ErrInvalidOperation, pcep.ValInitiateLimit, "PCE-initiated LSP limit "+itoa(e.initLimit)+" reached")
		return
	case !r.HasERO:
		e.sendErr(s, &r.SRP, pcep.ErrMandatoryMissing, pcep.ValMissingERO, "instantiation without ERO")
		return
	}
	labels, err := labelsFrom(nil, &r.ERO, e.cfg.MSD)
	if err != nil {
		e.sendErr(s, &r.SRP, pcep.ErrInstantiation, pcep.ValInitUnacceptable, "instantiation of "+name+": "+err.Error())
		return
	}
	id, ok := e.allocPLSPID()
	if !ok {
		e.sendErr(s, &r.SRP, pcep.ErrInvalidOperation, pcep.ValInitiateLimit, "PLSP-ID space exhausted")
		return
	}
	l := &lsp{
		name:       name,
		plspID:     id,
		origin:     OriginPCE,
		owner:      s,
		preference: 100,
		lastSRPID:  r.SRP.SRPID,
		pceSet:     true,
	}
	if len(labels) == 0 {
		labels = nil
	}
	l.setLabels(labels)
	switch {
	case r.HasEndPoints && r.EndPoints.Destination.IsValid():
		l.endpoint = r.EndPoints.Destination.Unmap()
	case r.LSP.Identifiers != nil && r.LSP.Identifiers.Endpoint.IsValid():
		l.endpoint = r.LSP.Identifiers.Endpoint.Unmap()
	}
	if r.LSP.HasColor {
		l.color, l.hasColor = r.LSP.Color, true
	}
	for _, a := range r.Attributes.Assocs() {
		if a.Type != pcep.AssocSRPolicy {
			continue
		}
		if a.Endpoint.IsValid() {
			l.color, l.hasColor = a.Color, true
			if !l.endpoint.IsValid() {
				l.endpoint = a.Endpoint.Unmap()
			}
		}
		if a.HasPreference {
			l.preference = a.Preference
		}
	}
	e.addLSP(l)
	l.delegatedTo = e.want(l)
	e.reportAll(l, s, r.SRP.SRPID)
	e.changed(l)
	e.emit(EventLSPInitiated, s, l, r.SRP.SRPID, "")
	if l.delegatedTo != nil {
		e.emit(EventLSPDelegated, l.delegatedTo, l, r.SRP.SRPID, "")
	}
	e.log.Info("pce-initiated lsp created", "lsp", name, "plsp-id", id, "server", s.cfg.Address)
}

// requestPaths sends a PCReq to the selected server for every policy that
// has no path and no outstanding request.
func (e *Engine) requestPaths() {
	s := e.selected
	if s == nil || !s.reportable() {
		return
	}
	var req *pcep.PCReq
	for _, l := range e.lsps {
		if l.origin != OriginPCC || len(l.labels) > 0 || l.reqID != 0 || l.noPath || l.pceSet {
			continue
		}
		if req == nil {
			req = &pcep.PCReq{}
		}
		id := e.nextReqID
		e.nextReqID++
		if e.nextReqID == 0 {
			e.nextReqID = 1
		}
		l.reqID = id
		s.reqs[id] = l
		q := pcep.Request{
			RP:        pcep.RP{ObjFlags: pcep.ObjFlags{P: true}, RequestID: id},
			EndPoints: pcep.EndPoints{ObjFlags: pcep.ObjFlags{P: true}, Source: e.srcFor(s, l.endpoint.Is6()), Destination: l.endpoint},
			HasLSP:    true,
			LSP:       pcep.LSP{PLSPID: l.plspID, Flags: pcep.LSPAdmin, SymbolicName: l.name},
		}
		if e.cfg.SegmentRouting {
			q.RP.HasPST = true
			q.RP.PST = pcep.PSTSRMPLS
			q.Attributes = &pcep.Attributes{Metrics: []pcep.Metric{{Type: pcep.MetricSIDDepth, Flags: pcep.MetricBound, Value: float32(e.cfg.MSD)}}}
		}
		req.Requests = append(req.Requests, q)
		if len(req.Requests) == 100 {
			e.sendRequest(s, req)
			req = nil
		}
	}
	if req != nil {
		e.sendRequest(s, req)
	}
}

func (e *Engine) sendRequest(s *server, req *pcep.PCReq) {
	if e.send(s, req) {
		s.counters.PCReqSent++
	}
}

// handleReply applies the paths of a PCRep to the policies that asked.
func (e *Engine) handleReply(s *server, m *pcep.PCRep) {
	for i := range m.Responses {
		r := &m.Responses[i]
		l := s.reqs[r.RP.RequestID]
		if l == nil {
			e.log.Warn("pcep reply refused", "server", s.cfg.Address, "request-id", r.RP.RequestID, "reason", "no such request")
			continue
		}
		delete(s.reqs, r.RP.RequestID)
		l.reqID = 0
		if e.byID[l.plspID] != l || len(l.labels) > 0 || l.pceSet {
			continue // removed, or given a path meanwhile
		}
		if r.NoPath != nil || len(r.Paths) == 0 {
			l.noPath = true
			l.setLabels(nil)
			e.reportAll(l, nil, 0)
			e.changed(l)
			e.log.Info("no path for lsp", "lsp", l.name, "server", s.cfg.Address)
			continue
		}
		labels, err := labelsFrom(nil, &r.Paths[0].ERO, e.cfg.MSD)
		if err != nil || len(labels) == 0 {
			l.noPath = true
			e.reportAll(l, nil, 0)
			e.changed(l)
			e.log.Warn("pcep reply refused", "server", s.cfg.Address, "lsp", l.name, "reason", "unusable path")
			continue
		}
		l.noPath = false
		l.setLabels(labels)
		e.reportAll(l, nil, 0)
		e.changed(l)
		e.emit(EventLSPUpdated, s, l, 0, "path computed")
		e.log.Info("path computed for lsp", "lsp", l.name, "server", s.cfg.Address, "labels", len(labels))
	}
}
