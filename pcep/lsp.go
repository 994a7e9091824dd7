package pcep

import "net/netip"

// LSP object (RFC 8231 section 7.3) and its TLVs.

// decodeLSP decodes an LSP object into out, which must be the zero LSP (a
// fresh slot: assigning fields one by one spares zeroing it again).
func decodeLSP(o object, out *LSP) error {
	if len(o.body) < 4 {
		return malformed(ClassLSP, "body shorter than 4 bytes")
	}
	w := be.Uint32(o.body)
	out.ObjFlags, out.PLSPID, out.Flags = o.flags, w>>12, uint16(w&0x0FFF)
	if len(o.body) == 4 {
		return nil
	}
	r := tlvReader{b: o.body[4:], class: ClassLSP}
	for r.next() {
		v := r.val
		switch r.typ {
		case TLVSymbolicPathName:
			out.SymbolicName = string(v)
		case TLVIPv4LSPIdentifiers:
			if len(v) != 16 {
				return r.badLenErr()
			}
			*identifiers(out) = LSPIdentifiers{Sender: addr4(v), LSPID: be.Uint16(v[4:]), TunnelID: be.Uint16(v[6:]),
				ExtendedTunnelID: addr4(v[8:]), Endpoint: addr4(v[12:])}
		case TLVIPv6LSPIdentifiers:
			if len(v) != 52 {
				return r.badLenErr()
			}
			*identifiers(out) = LSPIdentifiers{Sender: addr16(v), LSPID: be.Uint16(v[16:]), TunnelID: be.Uint16(v[18:]),
				ExtendedTunnelID: addr16(v[20:]), Endpoint: addr16(v[36:])}
		case TLVLSPErrorCode:
			if len(v) != 4 {
				return r.badLenErr()
			}
			out.ErrorCode = be.Uint32(v)
		case TLVLSPDBVersion:
			if len(v) != 8 {
				return r.badLenErr()
			}
			out.HasDBVersion, out.DBVersion = true, be.Uint64(v)
		case TLVColor:
			if len(v) != 4 {
				return r.badLenErr()
			}
			out.HasColor, out.Color = true, be.Uint32(v)
		default:
			out.Unknown = r.unknown(out.Unknown)
		}
	}
	return r.err
}

// identifiers returns l's LSP-IDENTIFIERS, allocating them on first use (a
// repeated TLV overwrites the first, as before).
func identifiers(l *LSP) *LSPIdentifiers {
	if l.Identifiers == nil {
		l.Identifiers = new(LSPIdentifiers)
	}
	return l.Identifiers
}

func appendLSP(b []byte, l *LSP) ([]byte, error) {
	if l.PLSPID > MaxPLSPID {
		return b, encodeErr("PLSP-ID " + itoa(uint64(l.PLSPID)) + " wider than 20 bits")
	}
	if l.Flags > 0x0FFF {
		return b, encodeErr("LSP flags wider than 12 bits")
	}
	if len(l.SymbolicName) > MaxMessageLen {
		return b, encodeErr("SYMBOLIC-PATH-NAME longer than 65535 bytes")
	}
	id := l.Identifiers
	v4 := id != nil && id.Sender.Is4()
	if id != nil && !id.Sender.IsValid() {
		return b, encodeErr("LSP-IDENTIFIERS without a sender address")
	}
	if id != nil && !(familyOrInvalid(id.ExtendedTunnelID, v4) && familyOrInvalid(id.Endpoint, v4)) {
		return b, encodeErr("LSP-IDENTIFIERS addresses of mixed families")
	}
	if err := checkRawTLVs(l.Unknown); err != nil {
		return b, err
	}
	b, s := beginObj(b, ClassLSP, 1, l.ObjFlags)
	b = appendU32(b, l.PLSPID<<12|uint32(l.Flags))
	if l.SymbolicName != "" {
		b = appendTLVString(b, TLVSymbolicPathName, l.SymbolicName)
	}
	if id != nil {
		if v4 {
			b = append(b, 0, byte(TLVIPv4LSPIdentifiers), 0, 16)
		} else {
			b = append(b, 0, byte(TLVIPv6LSPIdentifiers), 0, 52)
		}
		b = appendAddr(b, id.Sender)
		b = appendU16(appendU16(b, id.LSPID), id.TunnelID)
		b = appendAddrOrZero(b, id.ExtendedTunnelID, v4)
		b = appendAddrOrZero(b, id.Endpoint, v4)
	}
	if l.ErrorCode != 0 {
		b = appendTLV32(b, TLVLSPErrorCode, l.ErrorCode)
	}
	if l.HasDBVersion {
		b = appendTLV64(b, TLVLSPDBVersion, l.DBVersion)
	}
	if l.HasColor {
		b = appendTLV32(b, TLVColor, l.Color)
	}
	b = appendRawTLVs(b, l.Unknown)
	return endObj(b, s), nil
}

// familyOrInvalid reports whether a is invalid or of the family v4 says.
func familyOrInvalid(a netip.Addr, v4 bool) bool {
	return !a.IsValid() || a.Is4() == v4
}

// ASSOCIATION object (RFC 8697 section 6.1) with the SR policy TLVs of
// RFC 9862.

func decodeAssociation(o object) (Association, error) {
	var a Association
	body := o.body
	var alen int
	if o.typ == 1 {
		alen = 4
	} else {
		alen = 16
	}
	if len(body) < 8+alen {
		return a, malformed(ClassAssociation, "body too short for its address family")
	}
	a = Association{ObjFlags: o.flags, Flags: be.Uint16(body[2:]), Type: be.Uint16(body[4:]), ID: be.Uint16(body[6:])}
	if alen == 4 {
		a.Source = addr4(body[8:])
	} else {
		a.Source = addr16(body[8:])
	}
	r := tlvReader{b: body[8+alen:], class: ClassAssociation}
	for r.next() {
		v := r.val
		switch r.typ {
		case TLVExtendedAssocID:
			if a.Type != AssocSRPolicy {
				a.ExtendedID = cloneBytes(v)
				continue
			}
			switch len(v) {
			case 8:
				a.Color, a.Endpoint = be.Uint32(v), addr4(v[4:])
			case 20:
				a.Color, a.Endpoint = be.Uint32(v), addr16(v[4:])
			default:
				return a, r.badLenErr()
			}
		case TLVSRPolicyPolName:
			a.PolicyName = string(v)
		case TLVSRPolicyCPathID:
			if len(v) != 28 {
				return a, r.badLenErr()
			}
			a.HasCPathID = true
			a.CPathID = CPathID{Origin: v[0], ASN: be.Uint32(v[4:]), Discriminator: be.Uint32(v[24:])}
			if isZero(v[8:20]) {
				a.CPathID.Originator = addr4(v[20:])
			} else {
				a.CPathID.Originator = addr16(v[8:])
			}
		case TLVSRPolicyCPathName:
			a.CPathName = string(v)
		case TLVSRPolicyCPathPref:
			if len(v) != 4 {
				return a, r.badLenErr()
			}
			a.HasPreference, a.Preference = true, be.Uint32(v)
		default:
			a.Unknown = r.unknown(a.Unknown)
		}
	}
	return a, r.err
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func appendAssociation(b []byte, a *Association) ([]byte, error) {
	if !a.Source.IsValid() {
		return b, encodeErr("ASSOCIATION without source address")
	}
	if len(a.PolicyName) > MaxMessageLen || len(a.CPathName) > MaxMessageLen || len(a.ExtendedID) > MaxMessageLen {
		return b, encodeErr("ASSOCIATION TLV longer than 65535 bytes")
	}
	if a.Endpoint.IsValid() && a.Type != AssocSRPolicy {
		return b, encodeErr("ASSOCIATION color and endpoint on a type other than SR policy")
	}
	if err := checkRawTLVs(a.Unknown); err != nil {
		return b, err
	}
	typ := uint8(2)
	if a.Source.Is4() {
		typ = 1
	}
	b, s := beginObj(b, ClassAssociation, typ, a.ObjFlags)
	b = append(b, 0, 0)
	b = appendU16(appendU16(appendU16(b, a.Flags), a.Type), a.ID)
	b = appendAddr(b, a.Source)
	switch {
	case a.Endpoint.IsValid():
		if a.Endpoint.Is4() {
			b = append(b, 0, byte(TLVExtendedAssocID), 0, 8)
		} else {
			b = append(b, 0, byte(TLVExtendedAssocID), 0, 20)
		}
		b = appendAddr(appendU32(b, a.Color), a.Endpoint)
	case a.ExtendedID != nil:
		b = appendTLVBytes(b, TLVExtendedAssocID, a.ExtendedID)
	}
	if a.PolicyName != "" {
		b = appendTLVString(b, TLVSRPolicyPolName, a.PolicyName)
	}
	if a.HasCPathID {
		c := &a.CPathID
		b = append(b, 0, byte(TLVSRPolicyCPathID), 0, 28, c.Origin, 0, 0, 0)
		b = appendU32(b, c.ASN)
		if c.Originator.Is4() {
			b = append(b, zero16[:12]...)
		}
		b = appendAddrOrZero(b, c.Originator, false)
		b = appendU32(b, c.Discriminator)
	}
	if a.CPathName != "" {
		b = appendTLVString(b, TLVSRPolicyCPathName, a.CPathName)
	}
	if a.HasPreference {
		b = appendTLV32(b, TLVSRPolicyCPathPref, a.Preference)
	}
	b = appendRawTLVs(b, a.Unknown)
	return endObj(b, s), nil
}
