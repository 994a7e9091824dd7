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
	n := 0
	for b := o.body; len(b) > 0; n++ {
		if len(b) < 2 {
			return malformed(o.class, "truncated subobject header")
		}
		l := int(b[1])
		if l < 4 || l%4 != 0 || l > len(b) {
			return malformed(o.class, "subobject type "+itoa(uint64(b[0]&0x7f))+" has bad length "+itoa(uint64(l)))
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
	b := o.body
	var sr, nonSR bool
	for i := range subs {
		l := int(b[1])
		s := &subs[i]
		s.Loose = b[0]&0x80 != 0
		s.Type = b[0] & 0x7f
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

// decodeSubobject decodes the body (after the 2-byte header) of one
// subobject whose Loose and Type are already set.
func decodeSubobject(class uint8, s *Subobject, body []byte) error {
	switch s.Type {
	case SubIPv4Prefix:
		if len(body) != 6 || body[4] > 32 {
			return malformed(class, "bad IPv4 prefix subobject")
		}
		s.Prefix = netip.PrefixFrom(addr4(body), int(body[4]))
		s.Attr = body[5]
	case SubIPv6Prefix:
		if len(body) != 18 || body[16] > 128 {
			return malformed(class, "bad IPv6 prefix subobject")
		}
		s.Prefix = netip.PrefixFrom(addr16(body), int(body[16]))
		s.Attr = body[17]
	case SubUnnumbered:
		if len(body) != 10 {
			return malformed(class, "bad unnumbered interface subobject")
		}
		s.LocalNodeID = be.Uint32(body[2:])
		s.LocalIfID = be.Uint32(body[6:])
	case SubASNumber:
		if len(body) != 2 {
			return malformed(class, "bad AS number subobject")
		}
		s.LocalNodeID = uint32(be.Uint16(body))
	case SubSR:
		return decodeSR(class, s, body)
	default:
		s.Raw = string(body)
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
	switch s.NT {
	case NAIIPv4Node:
		s.LocalAddr = addr4(p)
	case NAIIPv6Node:
		s.LocalAddr = addr16(p)
	case NAIIPv4Adjacency:
		s.LocalAddr, s.RemoteAddr = addr4(p), addr4(p[4:])
	case NAIIPv6Adjacency:
		s.LocalAddr, s.RemoteAddr = addr16(p), addr16(p[16:])
	case NAIUnnumberedIPv4:
		s.LocalNodeID, s.LocalIfID = be.Uint32(p), be.Uint32(p[4:])
		s.RemoteNodeID, s.RemoteIfID = be.Uint32(p[8:]), be.Uint32(p[12:])
	case NAIIPv6LinkLocal:
		s.LocalAddr, s.LocalIfID = addr16(p), be.Uint32(p[16:])
		s.RemoteAddr, s.RemoteIfID = addr16(p[20:]), be.Uint32(p[36:])
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

func appendSubobject(b []byte, s *Subobject) ([]byte, error) {
	if s.Type > 0x7f {
		return b, encodeErr("subobject type " + itoa(uint64(s.Type)) + " wider than 7 bits")
	}
	hdr := s.Type
	if s.Loose {
		hdr |= 0x80
	}
	start := len(b)
	b = append(b, hdr, 0)
	switch s.Type {
	case SubIPv4Prefix, SubIPv6Prefix:
		a := s.Prefix.Addr()
		if !s.Prefix.IsValid() || a.Is4() != (s.Type == SubIPv4Prefix) {
			return b, encodeErr("prefix subobject type " + itoa(uint64(s.Type)) + " with prefix " + s.Prefix.String())
		}
		b = appendAddr(b, a)
		b = append(b, uint8(s.Prefix.Bits()), s.Attr)
	case SubUnnumbered:
		b = appendU32(appendU32(append(b, 0, 0), s.LocalNodeID), s.LocalIfID)
	case SubASNumber:
		if s.LocalNodeID > 0xFFFF {
			return b, encodeErr("AS number subobject with AS wider than 16 bits")
		}
		b = appendU16(b, uint16(s.LocalNodeID))
	case SubSR:
		var err error
		if b, err = appendSR(b, s); err != nil {
			return b, err
		}
	default:
		b = append(b, s.Raw...)
	}
	n := len(b) - start
	if n > 255 || n%4 != 0 {
		return b, encodeErr("subobject type " + itoa(uint64(s.Type)) + " of " + itoa(uint64(n)) +
			" bytes (must be a multiple of 4, at most 252)")
	}
	b[start+1] = uint8(n)
	return b, nil
}

func appendSR(b []byte, s *Subobject) ([]byte, error) {
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
		ok = s.LocalAddr.Is4()
		b = appendAddrOrZero(b, s.LocalAddr, true)
	case NAIIPv6Node:
		ok = s.LocalAddr.Is6()
		b = appendAddrOrZero(b, s.LocalAddr, false)
	case NAIIPv4Adjacency:
		ok = s.LocalAddr.Is4() && s.RemoteAddr.Is4()
		b = appendAddrOrZero(appendAddrOrZero(b, s.LocalAddr, true), s.RemoteAddr, true)
	case NAIIPv6Adjacency:
		ok = s.LocalAddr.Is6() && s.RemoteAddr.Is6()
		b = appendAddrOrZero(appendAddrOrZero(b, s.LocalAddr, false), s.RemoteAddr, false)
	case NAIUnnumberedIPv4:
		b = appendU32(appendU32(b, s.LocalNodeID), s.LocalIfID)
		b = appendU32(appendU32(b, s.RemoteNodeID), s.RemoteIfID)
	case NAIIPv6LinkLocal:
		ok = s.LocalAddr.Is6() && s.RemoteAddr.Is6()
		b = appendU32(appendAddrOrZero(b, s.LocalAddr, false), s.LocalIfID)
		b = appendU32(appendAddrOrZero(b, s.RemoteAddr, false), s.RemoteIfID)
	}
	if !ok {
		return b, encodeErr("SR subobject NAI type " + itoa(uint64(s.NT)) + " with addresses of the wrong family")
	}
	return b, nil
}
