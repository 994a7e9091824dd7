package pcep

import (
	"math/rand"
	"net/netip"
	"reflect"
)

// gen builds random valid messages in the canonical form the decoder
// produces: empty lists are nil, absent optional values are zero.
type gen struct{ r *rand.Rand }

func newGen(seed int64) *gen { return &gen{r: rand.New(rand.NewSource(seed))} }

func (g *gen) bool() bool        { return g.r.Intn(2) == 0 }
func (g *gen) chance(n int) bool { return g.r.Intn(n) == 0 }
func (g *gen) u8() uint8         { return uint8(g.r.Uint32()) }
func (g *gen) u16() uint16       { return uint16(g.r.Uint32()) }
func (g *gen) u32() uint32       { return g.r.Uint32() }

func (g *gen) bytes(max int) []byte {
	n := g.r.Intn(max + 1)
	if n == 0 {
		return nil
	}
	b := make([]byte, n)
	g.r.Read(b)
	return b
}

func (g *gen) name() string {
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789-_/"
	n := g.r.Intn(20)
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[g.r.Intn(len(chars))]
	}
	return string(b)
}

func (g *gen) flags() ObjFlags { return ObjFlags{P: g.bool(), I: g.bool()} }

func (g *gen) v4() netip.Addr { return netip.AddrFrom4([4]byte{127, g.u8(), g.u8(), g.u8()}) }

func (g *gen) v6() netip.Addr {
	var a [16]byte
	g.r.Read(a[:])
	a[0] = 0x20
	return netip.AddrFrom16(a)
}

func (g *gen) addr(v4 bool) netip.Addr {
	if v4 {
		return g.v4()
	}
	return g.v6()
}

// unknownTLVs returns TLVs of types no object of this codec knows.
func (g *gen) unknownTLVs() []RawTLV {
	if !g.chance(4) {
		return nil
	}
	n := 1 + g.r.Intn(2)
	u := make([]RawTLV, n)
	for i := range u {
		u[i] = RawTLV{Type: 40000 + uint16(g.r.Intn(100)), Value: g.bytes(9)}
	}
	return u
}

func (g *gen) openObj() OpenObject {
	o := OpenObject{ObjFlags: g.flags(), Flags: g.u8() & 0x1f, Keepalive: g.u8(), DeadTimer: g.u8(), SessionID: g.u8()}
	if g.bool() {
		o.Stateful = &StatefulCapability{Flags: g.u32()}
	}
	if g.bool() {
		o.PST = &PSTCapability{Unknown: g.unknownTLVs()}
		if n := g.r.Intn(4); n > 0 {
			o.PST.PSTs = make([]uint8, n)
			for i := range o.PST.PSTs {
				o.PST.PSTs[i] = g.u8()
			}
		}
		if g.bool() {
			o.PST.SR = &SRPCECapability{Flags: g.u8(), MSD: g.u8()}
		}
	}
	if g.bool() {
		o.AssocTypes = make([]uint16, g.r.Intn(4))
		for i := range o.AssocTypes {
			o.AssocTypes[i] = g.u16()
		}
	}
	if g.bool() {
		o.SRPolicy = &SRPolicyCapability{Flags: g.u32()}
	}
	if g.chance(3) {
		o.SpeakerEntityID = append([]byte{}, g.bytes(12)...)
	}
	if g.bool() {
		o.HasDBVersion, o.DBVersion = true, g.r.Uint64()
	}
	o.Unknown = g.unknownTLVs()
	return o
}

func (g *gen) rp() RP {
	rp := RP{ObjFlags: g.flags(), Flags: g.u32(), RequestID: g.u32(), Unknown: g.unknownTLVs()}
	if g.bool() {
		rp.HasPST, rp.PST = true, g.u8()
	}
	return rp
}

func (g *gen) srp() SRP {
	s := SRP{ObjFlags: g.flags(), Flags: g.u32(), SRPID: g.u32(), Unknown: g.unknownTLVs()}
	if g.bool() {
		s.HasPST, s.PST = true, g.u8()
	}
	return s
}

func (g *gen) lsp() LSP {
	l := LSP{ObjFlags: g.flags(), PLSPID: g.u32() & MaxPLSPID, Flags: g.u16() & 0x0FFF}
	if g.bool() {
		l.SymbolicName = g.name()
	}
	if g.bool() {
		v4 := g.bool()
		l.Identifiers = &LSPIdentifiers{Sender: g.addr(v4), LSPID: g.u16(), TunnelID: g.u16(),
			ExtendedTunnelID: g.addr(v4), Endpoint: g.addr(v4)}
	}
	if g.chance(3) {
		l.ErrorCode = g.u32()
	}
	if g.chance(3) {
		l.HasDBVersion, l.DBVersion = true, g.r.Uint64()
	}
	if g.bool() {
		l.HasColor, l.Color = true, g.u32()
	}
	l.Unknown = g.unknownTLVs()
	if g.chance(8) {
		l.Unknown = append(l.Unknown, RawTLV{Type: TLVRSVPErrorSpec, Value: g.bytes(8)})
	}
	return l
}

func (g *gen) endPoints() EndPoints {
	v4 := g.bool()
	return EndPoints{ObjFlags: g.flags(), Source: g.addr(v4), Destination: g.addr(v4)}
}

func (g *gen) srSub() Subobject {
	s := Subobject{Loose: g.bool(), Type: SubSR, NT: uint8(g.r.Intn(7)), SRFlags: g.u16() & 0x0FFF &^ (SRFlagS | SRFlagF)}
	switch {
	case s.NT == NAIAbsent:
		s.SRFlags |= SRFlagF
	case g.chance(4):
		s.SRFlags |= SRFlagS
	case g.chance(4):
		s.SRFlags |= SRFlagF
	}
	if s.SRFlags&SRFlagS == 0 {
		s.SID = g.u32()
	}
	if s.SRFlags&SRFlagF == 0 {
		s.NAI = new(NAI)
		n := s.NAI
		switch s.NT {
		case NAIIPv4Node:
			n.LocalAddr = g.v4()
		case NAIIPv6Node:
			n.LocalAddr = g.v6()
		case NAIIPv4Adjacency:
			n.LocalAddr, n.RemoteAddr = g.v4(), g.v4()
		case NAIIPv6Adjacency:
			n.LocalAddr, n.RemoteAddr = g.v6(), g.v6()
		case NAIUnnumberedIPv4:
			n.LocalNodeID, n.LocalIfID, n.RemoteNodeID, n.RemoteIfID = g.u32(), g.u32(), g.u32(), g.u32()
		case NAIIPv6LinkLocal:
			n.LocalAddr, n.LocalIfID, n.RemoteAddr, n.RemoteIfID = g.v6(), g.u32(), g.v6(), g.u32()
		}
	}
	return s
}

func (g *gen) plainSub() Subobject {
	n := new(NAI)
	s := Subobject{Loose: g.bool(), NAI: n}
	switch g.r.Intn(6) {
	case 0:
		s.Type = SubIPv4Prefix
		n.Prefix = netip.PrefixFrom(g.v4(), g.r.Intn(33))
		s.Attr = g.u8()
	case 1:
		s.Type = SubIPv6Prefix
		n.Prefix = netip.PrefixFrom(g.v6(), g.r.Intn(129))
		s.Attr = g.u8()
	case 2:
		s.Type = SubUnnumbered
		n.LocalNodeID, n.LocalIfID = g.u32(), g.u32()
	case 3:
		s.Type = SubASNumber
		n.LocalNodeID = uint32(g.u16())
	case 4:
		s.Type = SubLabel
		n.Raw = string([]byte{0x80, 0x01, 0, 0, g.u8(), g.u8()})
	default:
		s.Type = 64 + uint8(g.r.Intn(30))
		raw := make([]byte, 2+4*g.r.Intn(3))
		g.r.Read(raw)
		n.Raw = string(raw)
	}
	return s
}

// ero returns a route; an ERO (sr true or false) never mixes SR and non-SR
// subobjects, an RRO or IRO (mixed) may.
func (g *gen) ero(mode int) ERO {
	e := ERO{ObjFlags: g.flags()}
	n := g.r.Intn(5)
	if n == 0 {
		return e
	}
	e.Subobjects = make([]Subobject, n)
	for i := range e.Subobjects {
		switch mode {
		case 0:
			e.Subobjects[i] = g.srSub()
		case 1:
			e.Subobjects[i] = g.plainSub()
		default:
			if g.bool() {
				e.Subobjects[i] = g.srSub()
			} else {
				e.Subobjects[i] = g.plainSub()
			}
		}
	}
	return e
}

func (g *gen) eroPtr(mode int) *ERO {
	e := g.ero(mode)
	return &e
}

func (g *gen) bandwidth() Bandwidth {
	return Bandwidth{ObjFlags: g.flags(), Type: 1 + uint8(g.r.Intn(2)), Bandwidth: float32(g.r.Intn(1 << 20))}
}

func (g *gen) association() Association {
	v4 := g.bool()
	a := Association{ObjFlags: g.flags(), Flags: g.u16(), ID: g.u16(), Source: g.addr(v4)}
	if g.bool() {
		a.Type = AssocSRPolicy
		if !g.chance(4) {
			a.Color, a.Endpoint = g.u32(), g.addr(g.bool())
		}
	} else {
		a.Type = uint16(g.r.Intn(5))
		a.ExtendedID = g.bytes(12)
	}
	if g.bool() {
		a.PolicyName = g.name()
	}
	if g.bool() {
		a.HasCPathID = true
		a.CPathID = CPathID{Origin: g.u8(), ASN: g.u32(), Originator: g.addr(g.bool()), Discriminator: g.u32()}
	}
	if g.bool() {
		a.CPathName = g.name()
	}
	if g.bool() {
		a.HasPreference, a.Preference = true, g.u32()
	}
	a.Unknown = g.unknownTLVs()
	return a
}

// attributes returns an attribute list, nil when it would be empty (what the
// decoder makes of no attribute object).
func (g *gen) attributes() *Attributes {
	var a Attributes
	if g.chance(3) {
		a.LSPA = &LSPA{ObjFlags: g.flags(), ExcludeAny: g.u32(), IncludeAny: g.u32(), IncludeAll: g.u32(),
			SetupPriority: g.u8(), HoldingPriority: g.u8(), Flags: g.u8(), Unknown: g.unknownTLVs()}
	}
	if g.chance(3) {
		a.Bandwidths = []Bandwidth{g.bandwidth()}
		if g.bool() {
			a.Bandwidths = append(a.Bandwidths, g.bandwidth())
		}
	}
	if n := g.r.Intn(4); n > 0 && g.bool() {
		a.Metrics = make([]Metric, n)
		for i := range a.Metrics {
			a.Metrics[i] = Metric{ObjFlags: g.flags(), Flags: g.u8(), Type: g.u8(), Value: float32(g.r.Intn(1000))}
		}
	}
	if g.chance(5) {
		a.IRO = g.eroPtr(2)
	}
	if n := g.r.Intn(3); n > 0 && g.bool() {
		a.Associations = make([]Association, n)
		for i := range a.Associations {
			a.Associations[i] = g.association()
		}
	}
	if g.chance(5) {
		a.VendorInfo = []VendorInformation{{ObjFlags: g.flags(), Enterprise: g.u32(), Data: g.bytes(3)}}
		if d := a.VendorInfo[0].Data; d != nil {
			a.VendorInfo[0].Data = append(d, make([]byte, 4-len(d))...)
		}
	}
	if reflect.ValueOf(a).IsZero() {
		return nil
	}
	return &a
}

func (g *gen) srOrPlain() int {
	if g.chance(4) {
		return 1
	}
	return 0
}

func (g *gen) message() Message {
	switch g.r.Intn(11) {
	case 0:
		return &Open{Open: g.openObj()}
	case 1:
		return &Keepalive{}
	case 2:
		return &StartTLS{}
	case 3:
		return &Close{Close: CloseObject{ObjFlags: g.flags(), Flags: g.u8(), Reason: g.u8(), Unknown: g.unknownTLVs()}}
	case 4:
		m := &PCErr{Errors: make([]ErrorBlock, 1+g.r.Intn(2))}
		for i := range m.Errors {
			blk := &m.Errors[i]
			// A block after the first needs a request ID to start it:
			// otherwise it merges with the previous one on the wire.
			for range g.r.Intn(3) + min(i, 1) {
				blk.RPs = append(blk.RPs, g.rp())
			}
			for range g.r.Intn(3) {
				blk.SRPs = append(blk.SRPs, g.srp())
			}
			for range 1 + g.r.Intn(2) {
				blk.Errors = append(blk.Errors, PCEPError{ObjFlags: g.flags(), Flags: g.u8(), Type: g.u8(), Value: g.u8(), Unknown: g.unknownTLVs()})
			}
		}
		if g.chance(3) {
			o := g.openObj()
			m.Open = &o
		}
		return m
	case 5:
		m := &PCReq{Requests: make([]Request, 1+g.r.Intn(3))}
		for range g.r.Intn(3) {
			sv := SVEC{ObjFlags: g.flags(), Flags: g.u32() & 0xFFFFFF}
			for range g.r.Intn(4) {
				sv.RequestIDs = append(sv.RequestIDs, g.u32())
			}
			m.SVECs = append(m.SVECs, sv)
		}
		for i := range m.Requests {
			r := &m.Requests[i]
			r.RP, r.EndPoints = g.rp(), g.endPoints()
			if g.bool() {
				r.HasLSP, r.LSP = true, g.lsp()
			}
			if g.chance(3) {
				r.RRO = g.eroPtr(2)
				if g.bool() {
					bw := g.bandwidth()
					r.RROBandwidth = &bw
				}
			}
			r.Attributes = g.attributes()
		}
		return m
	case 6:
		m := &PCRep{Responses: make([]Response, 1+g.r.Intn(3))}
		for i := range m.Responses {
			r := &m.Responses[i]
			r.RP = g.rp()
			if g.bool() {
				r.HasLSP, r.LSP = true, g.lsp()
			}
			if g.chance(3) {
				r.NoPath = &NoPath{ObjFlags: g.flags(), NatureOfIssue: g.u8(), Flags: g.u16(), Unknown: g.unknownTLVs()}
			}
			r.Attributes = g.attributes()
			for range g.r.Intn(3) {
				r.Paths = append(r.Paths, Path{ERO: g.ero(g.srOrPlain()), Attributes: g.attributes()})
			}
		}
		return m
	case 7:
		m := &PCNtf{Notifies: make([]Notify, 1+g.r.Intn(2))}
		for i := range m.Notifies {
			n := &m.Notifies[i]
			for range g.r.Intn(3) + min(i, 1) {
				n.RPs = append(n.RPs, g.rp())
			}
			for range 1 + g.r.Intn(2) {
				n.Notifications = append(n.Notifications, Notification{ObjFlags: g.flags(), Flags: g.u8(), Type: g.u8(), Value: g.u8(), Unknown: g.unknownTLVs()})
			}
		}
		return m
	case 8:
		m := &PCRpt{Reports: make([]Report, 1+g.r.Intn(3))}
		for i := range m.Reports {
			r := &m.Reports[i]
			if g.bool() {
				r.HasSRP, r.SRP = true, g.srp()
			}
			r.LSP, r.ERO = g.lsp(), g.ero(g.srOrPlain())
			if g.chance(3) {
				r.RRO = g.eroPtr(2)
			}
			r.Attributes = g.attributes()
		}
		return m
	case 9:
		m := &PCUpd{Updates: make([]Update, 1+g.r.Intn(3))}
		for i := range m.Updates {
			u := &m.Updates[i]
			u.SRP, u.LSP, u.ERO, u.Attributes = g.srp(), g.lsp(), g.ero(g.srOrPlain()), g.attributes()
		}
		return m
	default:
		m := &PCInitiate{Requests: make([]Initiate, 1+g.r.Intn(3))}
		for i := range m.Requests {
			r := &m.Requests[i]
			r.SRP, r.LSP = g.srp(), g.lsp()
			if g.bool() {
				r.HasEndPoints, r.EndPoints = true, g.endPoints()
			}
			if g.chance(4) && (r.SRP.Flags&SRPRemove != 0 || r.LSP.PLSPID != 0) {
				r.Attributes = g.attributes()
				continue
			}
			r.HasERO, r.ERO = true, g.ero(g.srOrPlain())
			r.Attributes = g.attributes()
		}
		return m
	}
}
