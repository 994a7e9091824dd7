package pcep

import "net/netip"

// ERO, RRO and IRO objects (RFC 5440 sections 7.9, 7.10, 7.12) and their
// subobjects (RFC 3209, RFC 3473, RFC 8664).

// naiLen is the NAI length of each SR NAI type (RFC 8664 section 4.3.2).
var naiLen = [...]int{
	NAIAbsent:         0,
	NAIIPv4Node:       4,
	NAIIPv6Node:       16,
	NAIIPv4Adjacency:  8,
	NAIIPv6Adjacency:  32,
	NAIUnnumberedIPv4: 16,
	NAIIPv6LinkLocal:  40,
}

// decodeERO decodes an ERO, RRO or IRO object body into out, which must be
// the zero ERO (a fresh slot; assigning fields one by one spares zeroing it
// again). The subobjects go into buf when it is long enough (buf is memory
// allocated together with the message, see newRpt), otherwise into a slice
// allocated with their exact number; an empty route is nil.
func decodeERO(o object, out *ERO, buf []Subobject) error {
	out.ObjFlags = o.flags
	n, withNAI := 0, 0
	for b := o.body; len(b) > 0; n++ {
		if len(b) < 2 {
			return malformed(o.class, "truncated subobject header")
		}
		l := int(b[1])
		if l < 4 || l%4 != 0 || l > len(b) {
			return malformed(o.class, "subobject type "+itoa(uint64(b[0]&0x7f))+" has bad length "+itoa(uint64(l)))
		}
		if carriesNAI(b) {
			withNAI++
		}
		b = b[l:]
	}
	if n == 0 {
		return nil
	}
	var subs []Subobject
	if n <= len(buf) {
		subs = buf[:n:n]
	} else {
		subs = make([]Subobject, n)
	}
	var nais []NAI
	if withNAI > 0 {
		nais = make([]NAI, withNAI)
	}
	b := o.body
	var sr, nonSR bool
	for i := range subs {
		l := int(b[1])
		s := &subs[i]
		s.Loose = b[0]&0x80 != 0
		s.Type = b[0] & 0x7f
		if carriesNAI(b) {
			s.NAI, nais = &nais[0], nais[1:]
		}
		if err := decodeSubobject(o.class, s, b[2:l]); err != nil {
			return err
		}
		if s.Type == SubSR {
			sr = true
		} else {
			nonSR = true
		}
		b = b[l:]
	}
	if o.class == ClassERO && sr && nonSR {
		return NewError(ErrInvalidObject, ValSREROMixed, "ERO mixes SR and non-SR subobjects")
	}
	out.Subobjects = subs
	return nil
}

// carriesNAI reports whether the subobject at the start of b (at least 4
// bytes, its length already checked) has a NAI to decode: every type but SR,
// and an SR subobject whose F flag is clear and whose NT is not 0.
func carriesNAI(b []byte) bool {
	if b[0]&0x7f != SubSR {
		return true
	}
	w := be.Uint16(b[2:])
	return w&SRFlagF == 0 && w>>12 != uint16(NAIAbsent)
}

// decodeSubobject decodes the body (after the 2-byte header) of one
// subobject whose Loose, Type and, when carriesNAI, NAI are already set.
func decodeSubobject(class uint8, s *Subobject, body []byte) error {
	switch s.Type {
	case SubIPv4Prefix:
		if len(body) != 6 || body[4] > 32 {
			return malformed(class, "bad IPv4 prefix subobject")
		}
		s.NAI.Prefix = netip.PrefixFrom(addr4(body), int(body[4]))
		s.Attr = body[5]
	case SubIPv6Prefix:
		if len(body) != 18 || body[16] > 128 {
			return malformed(class, "bad IPv6 prefix subobject")
		}
		s.NAI.Prefix = netip.PrefixFrom(addr16(body), int(body[16]))
		s.Attr = body[17]
	case SubUnnumbered:
		if len(body) != 10 {
			return malformed(class, "bad unnumbered interface subobject")
		}
		s.NAI.LocalNodeID = be.Uint32(body[2:])
		s.NAI.LocalIfID = be.Uint32(body[6:])
	case SubASNumber:
		if len(body) != 2 {
			return malformed(class, "bad AS number subobject")
		}
		s.NAI.LocalNodeID = uint32(be.Uint16(body))
	case SubSR:
		return decodeSR(class, s, body)
	default:
		s.NAI.Raw = string(body)
	}
	return nil
}

// decodeSR decodes an SR-ERO/SR-RRO subobject body (RFC 8664 section 4.3.1):
// NT (4) | flags (12) | [SID (32)] | [NAI].
func decodeSR(class uint8, s *Subobject, body []byte) error {
	w := be.Uint16(body)
	s.NT = uint8(w >> 12)
	s.SRFlags = w & 0x0FFF
	if s.NT >= uint8(len(naiLen)) {
		return NewError(ErrInvalidObject, ValUnsupportedNAI, "SR subobject with unsupported NAI type "+itoa(uint64(s.NT)))
	}
	noSID := s.SRFlags&SRFlagS != 0
	noNAI := s.SRFlags&SRFlagF != 0 || s.NT == NAIAbsent
	if noSID && noNAI {
		return NewError(ErrInvalidObject, ValSIDAndNAIAbsent, "SR subobject with neither SID nor NAI")
	}
	want := 2
	if !noSID {
		want += 4
	}
	if !noNAI {
		want += naiLen[s.NT]
	}
	if len(body) != want {
		return malformed(class, "SR subobject with NT "+itoa(uint64(s.NT))+" and flags "+itoa(uint64(s.SRFlags))+
			" has bad length "+itoa(uint64(len(body)+2)))
	}
	p := body[2:]
	if !noSID {
		s.SID = be.Uint32(p)
		p = p[4:]
	}
	if noNAI {
		return nil
	}
	n := s.NAI
	switch s.NT {
	case NAIIPv4Node:
		n.LocalAddr = addr4(p)
	case NAIIPv6Node:
		n.LocalAddr = addr16(p)
	case NAIIPv4Adjacency:
		n.LocalAddr, n.RemoteAddr = addr4(p), addr4(p[4:])
	case NAIIPv6Adjacency:
		n.LocalAddr, n.RemoteAddr = addr16(p), addr16(p[16:])
	case NAIUnnumberedIPv4:
		n.LocalNodeID, n.LocalIfID = be.Uint32(p), be.Uint32(p[4:])
		n.RemoteNodeID, n.RemoteIfID = be.Uint32(p[8:]), be.Uint32(p[12:])
	case NAIIPv6LinkLocal:
		n.LocalAddr, n.LocalIfID = addr16(p), be.Uint32(p[16:])
		n.RemoteAddr, n.RemoteIfID = addr16(p[20:]), be.Uint32(p[36:])
	}
	return nil
}

// appendERO appends e as an object of class (ERO, RRO or IRO). It encodes
// what it is given, including routes the decoder rejects as PCErr (an ERO
// mixing SR and non-SR subobjects, an SR subobject with neither SID nor
// NAI), so that error paths can be tested; it refuses only values the wire
// format cannot carry.
func appendERO(b []byte, class uint8, e *ERO) ([]byte, error) {
	b, s := beginObj(b, class, 1, e.ObjFlags)
	var err error
	for i := range e.Subobjects {
		if b, err = appendSubobject(b, &e.Subobjects[i]); err != nil {
			return b, err
		}
	}
	return endObj(b, s), nil
}

// noNAI stands for the NAI of a subobject that has none: zero identifiers
// and invalid addresses, which the encoder's address checks refuse where
// the wire format needs an address.
var noNAI NAI

// nai returns s.NAI, or noNAI when s has none.
func (s *Subobject) nai() *NAI {
	if s.NAI == nil {
		return &noNAI
	}
	return s.NAI
}

func appendSubobject(b []byte, s *Subobject) ([]byte, error) {
	if s.Type > 0x7f {
		return b, encodeErr("subobject type " + itoa(uint64(s.Type)) + " wider than 7 bits")
	}
	hdr := s.Type
	if s.Loose {
		hdr |= 0x80
	}
	n := s.nai()
	start := len(b)
	b = append(b, hdr, 0)
	switch s.Type {
	case SubIPv4Prefix, SubIPv6Prefix:
		a := n.Prefix.Addr()
		if !n.Prefix.IsValid() || a.Is4() != (s.Type == SubIPv4Prefix) {
			return b, encodeErr("prefix subobject type " + itoa(uint64(s.Type)) + " with prefix " + n.Prefix.String())
		}
		b = appendAddr(b, a)
		b = append(b, uint8(n.Prefix.Bits()), s.Attr)
	case SubUnnumbered:
		b = appendU32(appendU32(append(b, 0, 0), n.LocalNodeID), n.LocalIfID)
	case SubASNumber:
		if n.LocalNodeID > 0xFFFF {
			return b, encodeErr("AS number subobject with AS wider than 16 bits")
		}
		b = appendU16(b, uint16(n.LocalNodeID))
	case SubSR:
		var err error
		if b, err = appendSR(b, s, n); err != nil {
			return b, err
		}
	default:
		b = append(b, n.Raw...)
	}
	l := len(b) - start
	if l > 255 || l%4 != 0 {
		return b, encodeErr("subobject type " + itoa(uint64(s.Type)) + " of " + itoa(uint64(l)) +
			" bytes (must be a multiple of 4, at most 252)")
	}
	b[start+1] = uint8(l)
	return b, nil
}

func appendSR(b []byte, s *Subobject, n *NAI) ([]byte, error) {
	if s.NT > 15 || s.SRFlags > 0x0FFF {
		return b, encodeErr("SR subobject NT or flags out of range")
	}
	b = appendU16(b, uint16(s.NT)<<12|s.SRFlags)
	if s.SRFlags&SRFlagS == 0 {
		b = appendU32(b, s.SID)
	}
	if s.SRFlags&SRFlagF != 0 {
		return b, nil
	}
	ok := true
	switch s.NT {
	case NAIIPv4Node:
		ok = n.LocalAddr.Is4()
		b = appendAddrOrZero(b, n.LocalAddr, true)
	case NAIIPv6Node:
		ok = n.LocalAddr.Is6()
		b = appendAddrOrZero(b, n.LocalAddr, false)
	case NAIIPv4Adjacency:
		ok = n.LocalAddr.Is4() && n.RemoteAddr.Is4()
		b = appendAddrOrZero(appendAddrOrZero(b, n.LocalAddr, true), n.RemoteAddr, true)
	case NAIIPv6Adjacency:
		ok = n.LocalAddr.Is6() && n.RemoteAddr.Is6()
		b = appendAddrOrZero(appendAddrOrZero(b, n.LocalAddr, false), n.RemoteAddr, false)
	case NAIUnnumberedIPv4:
		b = appendU32(appendU32(b, n.LocalNodeID), n.LocalIfID)
		b = appendU32(appendU32(b, n.RemoteNodeID), n.RemoteIfID)
	case NAIIPv6LinkLocal:
		ok = n.LocalAddr.Is6() && n.RemoteAddr.Is6()
		b = appendU32(appendAddrOrZero(b, n.LocalAddr, false), n.LocalIfID)
		b = appendU32(appendAddrOrZero(b, n.RemoteAddr, false), n.RemoteIfID)
	}
	if !ok {
		return b, encodeErr("SR subobject NAI type " + itoa(uint64(s.NT)) + " with addresses of the wrong family")
	}
	return b, nil
}
