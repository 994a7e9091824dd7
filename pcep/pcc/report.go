package pcc

import (
	"net/netip"

	"github.com/pccagent/pccagent/pcep"
)

// maxBatchBytes bounds the estimated size of one PCRpt (the length field
// allows 65535 bytes).
const maxBatchBytes = 60 * 1024

// rptOpts are the per-report variations.
type rptOpts struct {
	srpID   uint32 // echoed SRP-ID, 0 = none
	sync    bool   // S flag (state synchronisation)
	remove  bool   // R flag (LSP removed)
	errCode uint32 // LSP-ERROR-CODE, 0 = none
}

// reportEstimate is an upper bound of a report's encoded size.
func reportEstimate(l *lsp) int {
	// SRP 20, LSP 8 + name TLV + identifiers (v6) 56 + color 8 + error 8,
	// ERO 4 + 8 per label, SR policy association (v6) 4+20+24+36+8.
	return 20 + 8 + 4 + len(l.name) + 4 + 56 + 8 + 8 + 4 + 8*len(l.labels) + 92
}

// queueReport adds a report of l to s's pending PCRpt; the PCRpt is written
// when it is full or when the engine's inbox is empty.
func (e *Engine) queueReport(s *server, l *lsp, o rptOpts) {
	est := reportEstimate(l)
	if s.pendingBytes+est > maxBatchBytes {
		e.flush(s)
	}
	if len(s.pending) == 0 {
		e.dirty = append(e.dirty, s)
	}
	s.pendingBytes += est
	v6 := l.endpoint.Is6()
	src := e.srcFor(s, v6)

	s.pending = append(s.pending, pcep.Report{})
	r := &s.pending[len(s.pending)-1]
	if o.srpID != 0 || e.cfg.SegmentRouting {
		// RFC 8408: the PATH-SETUP-TYPE TLV (in the SRP) says the path is
		// SR; SRP-ID 0 marks a report that answers no request.
		r.HasSRP = true
		r.SRP.SRPID = o.srpID
		if e.cfg.SegmentRouting {
			r.SRP.HasPST = true
			r.SRP.PST = pcep.PSTSRMPLS
		}
	}
	flags := pcep.LSPAdmin | uint16(l.oper)<<pcep.LSPOperShift
	if l.delegatedTo == s && !o.remove {
		flags |= pcep.LSPDelegate
	}
	if o.sync {
		flags |= pcep.LSPSync
	}
	if o.remove {
		flags |= pcep.LSPRemove
		flags &^= pcep.LSPOperMask
	}
	if l.origin == OriginPCE {
		flags |= pcep.LSPCreate
	}
	r.LSP.PLSPID = l.plspID
	r.LSP.Flags = flags
	r.LSP.SymbolicName = l.name
	r.LSP.ErrorCode = o.errCode
	if l.endpoint.IsValid() {
		s.ids = append(s.ids, pcep.LSPIdentifiers{
			Sender:           src,
			LSPID:            1,
			TunnelID:         uint16(l.plspID),
			ExtendedTunnelID: src,
			Endpoint:         l.endpoint,
		})
		r.LSP.Identifiers = &s.ids[len(s.ids)-1]
	}
	if l.hasColor {
		r.LSP.HasColor = true
		r.LSP.Color = l.color
	}
	if len(l.labels) > 0 {
		start := len(s.subs)
		for _, lbl := range l.labels {
			s.subs = append(s.subs, pcep.SRLabel(lbl))
		}
		r.ERO.Subobjects = s.subs[start:len(s.subs):len(s.subs)]
	}
	if e.cfg.SegmentRouting && l.endpoint.IsValid() {
		origin := pcep.OriginConfig
		if l.origin == OriginPCE {
			origin = pcep.OriginPCEP
		}
		s.assocs = append(s.assocs, pcep.Association{
			Type:          pcep.AssocSRPolicy,
			ID:            1,
			Source:        src,
			Color:         l.color,
			Endpoint:      l.endpoint,
			HasCPathID:    true,
			CPathID:       pcep.CPathID{Origin: origin, Originator: src, Discriminator: l.plspID},
			HasPreference: true,
			Preference:    l.preference,
		})
		n := len(s.assocs)
		s.attrs = append(s.attrs, pcep.Attributes{Associations: s.assocs[n-1 : n : n]})
		r.Attributes = &s.attrs[len(s.attrs)-1]
	}
}

// queueEndMarker adds the end-of-synchronisation marker: PLSP-ID 0, S=0,
// empty ERO (RFC 8231 section 5.6).
func (e *Engine) queueEndMarker(s *server) {
	if len(s.pending) == 0 {
		e.dirty = append(e.dirty, s)
	}
	s.pendingBytes += 16
	s.pending = append(s.pending, pcep.Report{})
}

// flush writes s's pending reports as one PCRpt.
func (e *Engine) flush(s *server) {
	if len(s.pending) == 0 {
		return
	}
	if s.sess != nil {
		rpt := &pcep.PCRpt{Reports: s.pending}
		if e.sendRaw(s, rpt) {
			s.counters.PCRptSent++
		}
	}
	clear(s.pending)
	s.pending = s.pending[:0]
	clear(s.subs)
	s.subs = s.subs[:0]
	clear(s.assocs)
	s.assocs = s.assocs[:0]
	s.ids = s.ids[:0]
	clear(s.attrs)
	s.attrs = s.attrs[:0]
	s.pendingBytes = 0
}

// flushAll writes every server's pending reports and publishes counters
// that changed.
func (e *Engine) flushAll() {
	for _, s := range e.dirty {
		e.flush(s)
	}
	clear(e.dirty)
	e.dirty = e.dirty[:0]
	for _, s := range e.srvList {
		if s.countersDirty {
			s.countersDirty = false
			e.pushServer(s)
		}
	}
}

// reportAll reports l to every synchronised server, echoing srpID to srpTo.
func (e *Engine) reportAll(l *lsp, srpTo *server, srpID uint32) {
	for _, s := range e.srvList {
		if !s.reportable() {
			continue
		}
		id := uint32(0)
		if s == srpTo {
			id = srpID
		}
		e.queueReport(s, l, rptOpts{srpID: id})
	}
}

// stateSync sends every LSP with S=1 and the end marker to s.
func (e *Engine) stateSync(s *server) {
	if !s.reportable() {
		return
	}
	for _, l := range e.lsps {
		e.queueReport(s, l, rptOpts{sync: true})
	}
	e.queueEndMarker(s)
	e.flush(s)
	e.emit(EventLSPReported, s, nil, 0, "state synchronisation: "+itoa(len(e.lsps))+" LSPs")
}

// srcFor returns our address in family v6 for reports to s: the
// source-interface or LSR-ID address, else the session's local address, else
// any session's local address of that family, else the unspecified address.
func (e *Engine) srcFor(s *server, v6 bool) netip.Addr {
	if v6 {
		if e.routerID6.IsValid() {
			return e.routerID6
		}
	} else if e.routerID4.IsValid() {
		return e.routerID4
	}
	if s != nil && s.localAddr.IsValid() && s.localAddr.Is6() == v6 {
		return s.localAddr
	}
	for _, o := range e.srvList {
		if o.localAddr.IsValid() && o.localAddr.Is6() == v6 {
			return o.localAddr
		}
	}
	if v6 {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
