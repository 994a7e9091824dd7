package pcep

import (
	"net/netip"
	"strconv"
	"strings"
)

// Describe renders m on one line in a compact decoded form for debug logs:
// the message type, then each object with the fields an operator looks for
// (PLSP-IDs, SRP-IDs, flags, names, labels, error types). It is not a wire
// format and is meant for people, not parsers.
func Describe(m Message) string {
	if m == nil {
		return "<nil>"
	}
	var w describer
	w.s(m.MessageType().String())
	switch m := m.(type) {
	case *Open:
		w.open(&m.Open)
	case *Close:
		w.s(" CLOSE reason=")
		w.u(uint64(m.Close.Reason))
	case *PCErr:
		for i := range m.Errors {
			blk := &m.Errors[i]
			for j := range blk.RPs {
				w.rp(&blk.RPs[j])
			}
			for j := range blk.SRPs {
				w.srp(&blk.SRPs[j])
			}
			for j := range blk.Errors {
				w.s(" PCEP-ERROR ")
				w.u(uint64(blk.Errors[j].Type))
				w.s("/")
				w.u(uint64(blk.Errors[j].Value))
			}
		}
		if m.Open != nil {
			w.open(m.Open)
		}
	case *PCReq:
		for i := range m.SVECs {
			w.s(" SVEC ids=")
			for j, id := range m.SVECs[i].RequestIDs {
				if j > 0 {
					w.s(",")
				}
				w.u(uint64(id))
			}
		}
		for i := range m.Requests {
			r := &m.Requests[i]
			w.rp(&r.RP)
			w.s(" END-POINTS ")
			w.s(r.EndPoints.Source.String())
			w.s("->")
			w.s(r.EndPoints.Destination.String())
			if r.HasLSP {
				w.lsp(&r.LSP)
			}
			if r.RRO != nil {
				w.ero("RRO", r.RRO)
			}
			w.attrs(r.Attributes)
		}
	case *PCRep:
		for i := range m.Responses {
			r := &m.Responses[i]
			w.rp(&r.RP)
			if r.HasLSP {
				w.lsp(&r.LSP)
			}
			if r.NoPath != nil {
				w.s(" NO-PATH ni=")
				w.u(uint64(r.NoPath.NatureOfIssue))
			}
			w.attrs(r.Attributes)
			for j := range r.Paths {
				w.ero("ERO", &r.Paths[j].ERO)
				w.attrs(r.Paths[j].Attributes)
			}
		}
	case *PCNtf:
		for i := range m.Notifies {
			for j := range m.Notifies[i].RPs {
				w.rp(&m.Notifies[i].RPs[j])
			}
			for _, n := range m.Notifies[i].Notifications {
				w.s(" NOTIFICATION ")
				w.u(uint64(n.Type))
				w.s("/")
				w.u(uint64(n.Value))
			}
		}
	case *PCRpt:
		for i := range m.Reports {
			r := &m.Reports[i]
			if r.HasSRP {
				w.srp(&r.SRP)
			}
			w.lsp(&r.LSP)
			w.ero("ERO", &r.ERO)
			if r.RRO != nil {
				w.ero("RRO", r.RRO)
			}
			w.attrs(r.Attributes)
		}
	case *PCUpd:
		for i := range m.Updates {
			u := &m.Updates[i]
			w.srp(&u.SRP)
			w.lsp(&u.LSP)
			w.ero("ERO", &u.ERO)
			w.attrs(u.Attributes)
		}
	case *PCInitiate:
		for i := range m.Requests {
			r := &m.Requests[i]
			w.srp(&r.SRP)
			w.lsp(&r.LSP)
			if r.HasEndPoints {
				w.s(" END-POINTS ")
				w.s(r.EndPoints.Source.String())
				w.s("->")
				w.s(r.EndPoints.Destination.String())
			}
			if r.HasERO {
				w.ero("ERO", &r.ERO)
			}
			w.attrs(r.Attributes)
		}
	}
	return w.b.String()
}

type describer struct{ b strings.Builder }

func (w *describer) s(v string) { w.b.WriteString(v) }

func (w *describer) u(v uint64) { w.b.WriteString(strconv.FormatUint(v, 10)) }

func (w *describer) hex(v uint64) {
	w.b.WriteString("0x")
	w.b.WriteString(strconv.FormatUint(v, 16))
}

func (w *describer) open(o *OpenObject) {
	w.s(" OPEN ka=")
	w.u(uint64(o.Keepalive))
	w.s(" dead=")
	w.u(uint64(o.DeadTimer))
	w.s(" sid=")
	w.u(uint64(o.SessionID))
	if o.Stateful != nil {
		w.s(" stateful=")
		w.hex(uint64(o.Stateful.Flags))
	}
	if o.PST != nil {
		w.s(" pst=")
		for i, p := range o.PST.PSTs {
			if i > 0 {
				w.s(",")
			}
			w.u(uint64(p))
		}
		if o.PST.SR != nil {
			w.s(" msd=")
			w.u(uint64(o.PST.SR.MSD))
		}
	}
	if o.AssocTypes != nil {
		w.s(" assoc=")
		for i, a := range o.AssocTypes {
			if i > 0 {
				w.s(",")
			}
			w.u(uint64(a))
		}
	}
	if o.SRPolicy != nil {
		w.s(" srpolicy=")
		w.hex(uint64(o.SRPolicy.Flags))
	}
}

func (w *describer) rp(r *RP) {
	w.s(" RP id=")
	w.u(uint64(r.RequestID))
	if r.Flags != 0 {
		w.s(" flags=")
		w.hex(uint64(r.Flags))
	}
}

func (w *describer) srp(s *SRP) {
	w.s(" SRP id=")
	w.u(uint64(s.SRPID))
	if s.Flags&SRPRemove != 0 {
		w.s(" R")
	}
	if s.Flags&SRPControl != 0 {
		w.s(" C")
	}
	if s.HasPST {
		w.s(" pst=")
		w.u(uint64(s.PST))
	}
}

func (w *describer) lsp(l *LSP) {
	w.s(" LSP plsp=")
	w.u(uint64(l.PLSPID))
	w.s(" ")
	for _, f := range [...]struct {
		bit  uint16
		name string
	}{{LSPDelegate, "D"}, {LSPSync, "S"}, {LSPRemove, "R"}, {LSPAdmin, "A"}, {LSPCreate, "C"}} {
		if l.Flags&f.bit != 0 {
			w.s(f.name)
		}
	}
	w.s(" oper=")
	w.u(uint64(l.Oper()))
	if l.SymbolicName != "" {
		w.s(" name=")
		w.s(strconv.Quote(l.SymbolicName))
	}
	if l.HasColor {
		w.s(" color=")
		w.u(uint64(l.Color))
	}
	if l.Identifiers != nil {
		w.s(" ids=")
		w.s(l.Identifiers.Sender.String())
		w.s("/")
		w.u(uint64(l.Identifiers.LSPID))
		w.s("/")
		w.u(uint64(l.Identifiers.TunnelID))
		w.s("->")
		w.s(l.Identifiers.Endpoint.String())
	}
	if l.ErrorCode != 0 {
		w.s(" err=")
		w.u(uint64(l.ErrorCode))
	}
}

func (w *describer) ero(name string, e *ERO) {
	w.s(" ")
	w.s(name)
	w.s("[")
	for i := range e.Subobjects {
		if i > 0 {
			w.s(" ")
		}
		w.sub(&e.Subobjects[i])
	}
	w.s("]")
}

func (w *describer) sub(s *Subobject) {
	n := s.nai()
	if s.Loose {
		w.s("~")
	}
	switch s.Type {
	case SubIPv4Prefix, SubIPv6Prefix:
		w.s(n.Prefix.String())
	case SubUnnumbered:
		w.s(netip.AddrFrom4([4]byte{byte(n.LocalNodeID >> 24), byte(n.LocalNodeID >> 16),
			byte(n.LocalNodeID >> 8), byte(n.LocalNodeID)}).String())
		w.s("%")
		w.u(uint64(n.LocalIfID))
	case SubASNumber:
		w.s("AS")
		w.u(uint64(n.LocalNodeID))
	case SubSR:
		if l, ok := s.Label(); ok {
			w.s("L")
			w.u(uint64(l))
		} else if s.SRFlags&SRFlagS == 0 {
			w.s("SID")
			w.u(uint64(s.SID))
		} else {
			w.s("NAI")
		}
		if s.SRFlags&SRFlagF == 0 && s.NT != NAIAbsent {
			w.s("@")
			switch s.NT {
			case NAIUnnumberedIPv4:
				w.u(uint64(n.LocalNodeID))
				w.s("%")
				w.u(uint64(n.LocalIfID))
			default:
				w.s(n.LocalAddr.String())
				if n.RemoteAddr.IsValid() {
					w.s("-")
					w.s(n.RemoteAddr.String())
				}
			}
		}
	default:
		w.s("type")
		w.u(uint64(s.Type))
		w.s("/")
		w.u(uint64(len(n.Raw)))
		w.s("B")
	}
}

func (w *describer) attrs(a *Attributes) {
	if a == nil {
		return
	}
	if a.LSPA != nil {
		w.s(" LSPA")
	}
	for _, bw := range a.Bandwidths {
		w.s(" BW=")
		w.s(strconv.FormatFloat(float64(bw.Bandwidth), 'g', -1, 32))
	}
	for _, m := range a.Metrics {
		w.s(" METRIC ")
		w.u(uint64(m.Type))
		w.s("=")
		w.s(strconv.FormatFloat(float64(m.Value), 'g', -1, 32))
	}
	if a.IRO != nil {
		w.ero("IRO", a.IRO)
	}
	for i := range a.Associations {
		as := &a.Associations[i]
		w.s(" ASSOC type=")
		w.u(uint64(as.Type))
		w.s(" id=")
		w.u(uint64(as.ID))
		if as.Endpoint.IsValid() {
			w.s(" color=")
			w.u(uint64(as.Color))
			w.s(" ep=")
			w.s(as.Endpoint.String())
		}
		if as.PolicyName != "" {
			w.s(" policy=")
			w.s(strconv.Quote(as.PolicyName))
		}
		if as.CPathName != "" {
			w.s(" cpath=")
			w.s(strconv.Quote(as.CPathName))
		}
		if as.HasPreference {
			w.s(" pref=")
			w.u(uint64(as.Preference))
		}
	}
	for _, v := range a.VendorInfo {
		w.s(" VENDOR ent=")
		w.u(uint64(v.Enterprise))
	}
}
