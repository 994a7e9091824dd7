package pcep

import "math"

// OPEN object (RFC 5440 section 7.3) and its TLVs.

func decodeOpenObj(o object, out *OpenObject) error {
	if len(o.body) < 4 {
		return malformed(ClassOpen, "body shorter than 4 bytes")
	}
	if v := o.body[0] >> 5; v != Version {
		return NewError(ErrSessionEstablishment, ValVersionNotSupported, "OPEN object version "+itoa(uint64(v)))
	}
	*out = OpenObject{
		ObjFlags:  o.flags,
		Flags:     o.body[0] & 0x1f,
		Keepalive: o.body[1],
		DeadTimer: o.body[2],
		SessionID: o.body[3],
	}
	r := tlvReader{b: o.body[4:], class: ClassOpen}
	for r.next() {
		v := r.val
		switch r.typ {
		case TLVStatefulCapability:
			if len(v) != 4 {
				return r.badLenErr()
			}
			out.Stateful = &StatefulCapability{Flags: be.Uint32(v)}
		case TLVPSTCapability:
			pst, err := decodePSTCap(v)
			if err != nil {
				return err
			}
			out.PST = pst
		case TLVAssocTypeList:
			if len(v)%2 != 0 {
				return r.badLenErr()
			}
			out.AssocTypes = make([]uint16, len(v)/2)
			for i := range out.AssocTypes {
				out.AssocTypes[i] = be.Uint16(v[2*i:])
			}
		case TLVSRPolicyCapability:
			if len(v) != 4 {
				return r.badLenErr()
			}
			out.SRPolicy = &SRPolicyCapability{Flags: be.Uint32(v)}
		case TLVSpeakerEntityID:
			out.SpeakerEntityID = append([]byte{}, v...)
		case TLVLSPDBVersion:
			if len(v) != 8 {
				return r.badLenErr()
			}
			out.HasDBVersion, out.DBVersion = true, be.Uint64(v)
		default:
			out.Unknown = r.unknown(out.Unknown)
		}
	}
	return r.err
}

// badLenErr returns the error for a TLV whose value length is wrong.
func (r *tlvReader) badLenErr() error {
	r.badLen()
	return r.err
}

func decodePSTCap(v []byte) (*PSTCapability, error) {
	if len(v) < 4 {
		return nil, malformed(ClassOpen, "PATH-SETUP-TYPE-CAPABILITY shorter than 4 bytes")
	}
	n := int(v[3])
	padded := (n + 3) &^ 3
	if 4+padded > len(v) {
		return nil, malformed(ClassOpen, "PATH-SETUP-TYPE-CAPABILITY lists more PSTs than it holds")
	}
	p := &PSTCapability{}
	if n > 0 {
		p.PSTs = append([]uint8(nil), v[4:4+n]...)
	}
	r := tlvReader{b: v[4+padded:], class: ClassOpen}
	for r.next() {
		switch r.typ {
		case TLVSRPCECapability:
			if len(r.val) != 4 {
				return nil, r.badLenErr()
			}
			p.SR = &SRPCECapability{Flags: r.val[2], MSD: r.val[3]}
		default:
			p.Unknown = r.unknown(p.Unknown)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return p, nil
}

func appendOpenObj(b []byte, o *OpenObject) ([]byte, error) {
	if o.Flags > 0x1f {
		return b, encodeErr("OPEN flags wider than 5 bits")
	}
	if err := checkRawTLVs(o.Unknown); err != nil {
		return b, err
	}
	b, s := beginObj(b, ClassOpen, 1, o.ObjFlags)
	b = append(b, Version<<5|o.Flags, o.Keepalive, o.DeadTimer, o.SessionID)
	if o.Stateful != nil {
		b = appendTLV32(b, TLVStatefulCapability, o.Stateful.Flags)
	}
	if o.HasDBVersion {
		b = appendTLV64(b, TLVLSPDBVersion, o.DBVersion)
	}
	if o.SpeakerEntityID != nil {
		if len(o.SpeakerEntityID) > MaxMessageLen {
			return b, encodeErr("SPEAKER-ENTITY-ID longer than 65535 bytes")
		}
		b = appendTLVBytes(b, TLVSpeakerEntityID, o.SpeakerEntityID)
	}
	if p := o.PST; p != nil {
		if len(p.PSTs) > 255 {
			return b, encodeErr("more than 255 path setup types")
		}
		if err := checkRawTLVs(p.Unknown); err != nil {
			return b, err
		}
		var t int
		b, t = beginTLV(b, TLVPSTCapability)
		b = append(b, 0, 0, 0, uint8(len(p.PSTs)))
		b = append(b, p.PSTs...)
		for i := len(p.PSTs); i%4 != 0; i++ {
			b = append(b, 0)
		}
		if p.SR != nil {
			b = appendTLV32(b, TLVSRPCECapability, uint32(p.SR.Flags)<<8|uint32(p.SR.MSD))
		}
		b = appendRawTLVs(b, p.Unknown)
		b = endTLV(b, t)
	}
	if o.AssocTypes != nil {
		if len(o.AssocTypes) > MaxMessageLen/2 {
			return b, encodeErr("ASSOC-TYPE-LIST too long")
		}
		var t int
		b, t = beginTLV(b, TLVAssocTypeList)
		for _, a := range o.AssocTypes {
			b = appendU16(b, a)
		}
		b = endTLV(b, t)
	}
	if o.SRPolicy != nil {
		b = appendTLV32(b, TLVSRPolicyCapability, o.SRPolicy.Flags)
	}
	b = appendRawTLVs(b, o.Unknown)
	return endObj(b, s), nil
}

// RP (RFC 5440 section 7.4) and SRP (RFC 8231 section 7.2) share one layout:
// 32-bit flags, a 32-bit request ID, then TLVs of which only PATH-SETUP-TYPE
// (RFC 8408) is known. One decoder and one encoder serve both.

// idFields points at the fields of an RP or an SRP being decoded.
type idFields struct {
	flags, id *uint32
	hasPST    *bool
	pst       *uint8
	unknown   *[]RawTLV
}

// decodeIDObject decodes the shared RP/SRP layout into fields, which must be
// zero.
func decodeIDObject(o object, class uint8, f idFields) error {
	if len(o.body) < 8 {
		return malformed(class, "body shorter than 8 bytes")
	}
	*f.flags, *f.id = be.Uint32(o.body), be.Uint32(o.body[4:])
	if len(o.body) == 8 {
		return nil
	}
	r := tlvReader{b: o.body[8:], class: class}
	for r.next() {
		switch r.typ {
		case TLVPathSetupType:
			if len(r.val) != 4 {
				return r.badLenErr()
			}
			*f.hasPST, *f.pst = true, r.val[3]
		default:
			*f.unknown = r.unknown(*f.unknown)
		}
	}
	return r.err
}

// appendIDObject encodes the shared RP/SRP layout.
func appendIDObject(b []byte, class uint8, of ObjFlags, flags, id uint32, hasPST bool, pst uint8, unknown []RawTLV) ([]byte, error) {
	if err := checkRawTLVs(unknown); err != nil {
		return b, err
	}
	b, s := beginObj(b, class, 1, of)
	b = appendU32(appendU32(b, flags), id)
	if hasPST {
		b = appendTLV32(b, TLVPathSetupType, uint32(pst))
	}
	b = appendRawTLVs(b, unknown)
	return endObj(b, s), nil
}

// decodeRP decodes an RP object into out, which must be the zero RP.
func decodeRP(o object, out *RP) error {
	out.ObjFlags = o.flags
	return decodeIDObject(o, ClassRP, idFields{&out.Flags, &out.RequestID, &out.HasPST, &out.PST, &out.Unknown})
}

func appendRP(b []byte, rp *RP) ([]byte, error) {
	return appendIDObject(b, ClassRP, rp.ObjFlags, rp.Flags, rp.RequestID, rp.HasPST, rp.PST, rp.Unknown)
}

// decodeSRP decodes an SRP object into out, which must be the zero SRP.
func decodeSRP(o object, out *SRP) error {
	out.ObjFlags = o.flags
	return decodeIDObject(o, ClassSRP, idFields{&out.Flags, &out.SRPID, &out.HasPST, &out.PST, &out.Unknown})
}

func appendSRP(b []byte, srp *SRP) ([]byte, error) {
	return appendIDObject(b, ClassSRP, srp.ObjFlags, srp.Flags, srp.SRPID, srp.HasPST, srp.PST, srp.Unknown)
}

// CLOSE object (RFC 5440 section 7.17).

func decodeCloseObj(o object, out *CloseObject) error {
	if len(o.body) < 4 {
		return malformed(ClassClose, "body shorter than 4 bytes")
	}
	*out = CloseObject{ObjFlags: o.flags, Flags: o.body[2], Reason: o.body[3]}
	r := tlvReader{b: o.body[4:], class: ClassClose}
	for r.next() {
		out.Unknown = r.unknown(out.Unknown)
	}
	return r.err
}

func appendCloseObj(b []byte, c *CloseObject) []byte {
	b, s := beginObj(b, ClassClose, 1, c.ObjFlags)
	b = append(b, 0, 0, c.Flags, c.Reason)
	b = appendRawTLVs(b, c.Unknown)
	return endObj(b, s)
}

// PCEP-ERROR (RFC 5440 section 7.15) and NOTIFICATION (section 7.14) share
// a layout: reserved (8) | flags (8) | type (8) | value (8) | TLVs.

// typeValueFields points at the fields of a PCEP-ERROR or NOTIFICATION
// object being decoded.
type typeValueFields struct {
	flags, typ, value *uint8
	unknown           *[]RawTLV
}

// decodeTypeValue decodes the shared PCEP-ERROR/NOTIFICATION layout into f,
// whose fields must be zero.
func decodeTypeValue(o object, class uint8, f typeValueFields) error {
	if len(o.body) < 4 {
		return malformed(class, "body shorter than 4 bytes")
	}
	*f.flags, *f.typ, *f.value = o.body[1], o.body[2], o.body[3]
	r := tlvReader{b: o.body[4:], class: class}
	for r.next() {
		*f.unknown = r.unknown(*f.unknown)
	}
	return r.err
}

// appendTypeValue encodes the shared PCEP-ERROR/NOTIFICATION layout.
func appendTypeValue(b []byte, class uint8, of ObjFlags, flags, typ, value uint8, unknown []RawTLV) []byte {
	b, s := beginObj(b, class, 1, of)
	b = append(b, 0, flags, typ, value)
	b = appendRawTLVs(b, unknown)
	return endObj(b, s)
}

// decodePCEPError decodes a PCEP-ERROR object into out, which must be zero.
func decodePCEPError(o object, out *PCEPError) error {
	out.ObjFlags = o.flags
	return decodeTypeValue(o, ClassPCEPError, typeValueFields{&out.Flags, &out.Type, &out.Value, &out.Unknown})
}

func appendPCEPError(b []byte, e *PCEPError) []byte {
	return appendTypeValue(b, ClassPCEPError, e.ObjFlags, e.Flags, e.Type, e.Value, e.Unknown)
}

// decodeNotification decodes a NOTIFICATION object into out, which must be zero.
func decodeNotification(o object, out *Notification) error {
	out.ObjFlags = o.flags
	return decodeTypeValue(o, ClassNotification, typeValueFields{&out.Flags, &out.Type, &out.Value, &out.Unknown})
}

func appendNotification(b []byte, n *Notification) []byte {
	return appendTypeValue(b, ClassNotification, n.ObjFlags, n.Flags, n.Type, n.Value, n.Unknown)
}

// NO-PATH object (RFC 5440 section 7.5).

func decodeNoPath(o object) (*NoPath, error) {
	if len(o.body) < 4 {
		return nil, malformed(ClassNoPath, "body shorter than 4 bytes")
	}
	np := &NoPath{ObjFlags: o.flags, NatureOfIssue: o.body[0], Flags: be.Uint16(o.body[1:])}
	r := tlvReader{b: o.body[4:], class: ClassNoPath}
	for r.next() {
		np.Unknown = r.unknown(np.Unknown)
	}
	if r.err != nil {
		return nil, r.err
	}
	return np, nil
}

func appendNoPath(b []byte, np *NoPath) []byte {
	b, s := beginObj(b, ClassNoPath, 1, np.ObjFlags)
	b = append(b, np.NatureOfIssue, byte(np.Flags>>8), byte(np.Flags), 0)
	b = appendRawTLVs(b, np.Unknown)
	return endObj(b, s)
}

// END-POINTS object (RFC 5440 section 7.6), type 1 (IPv4) or 2 (IPv6).

func decodeEndPoints(o object, out *EndPoints) error {
	switch {
	case o.typ == 1 && len(o.body) == 8:
		*out = EndPoints{ObjFlags: o.flags, Source: addr4(o.body), Destination: addr4(o.body[4:])}
	case o.typ == 2 && len(o.body) == 32:
		*out = EndPoints{ObjFlags: o.flags, Source: addr16(o.body), Destination: addr16(o.body[16:])}
	default:
		return malformed(ClassEndPoints, "type "+itoa(uint64(o.typ))+" with body of "+itoa(uint64(len(o.body)))+" bytes")
	}
	return nil
}

func appendEndPoints(b []byte, ep *EndPoints) ([]byte, error) {
	var typ uint8
	switch {
	case ep.Source.Is4() && ep.Destination.Is4():
		typ = 1
	case ep.Source.Is6() && ep.Destination.Is6():
		typ = 2
	default:
		return b, encodeErr("END-POINTS source and destination must be valid addresses of one family")
	}
	b, s := beginObj(b, ClassEndPoints, typ, ep.ObjFlags)
	b = appendAddr(appendAddr(b, ep.Source), ep.Destination)
	return endObj(b, s), nil
}

// BANDWIDTH object (RFC 5440 section 7.7).

func decodeBandwidth(o object) (Bandwidth, error) {
	if len(o.body) != 4 {
		return Bandwidth{}, malformed(ClassBandwidth, "body is not 4 bytes")
	}
	return Bandwidth{ObjFlags: o.flags, Type: o.typ, Bandwidth: math.Float32frombits(be.Uint32(o.body))}, nil
}

func appendBandwidth(b []byte, bw *Bandwidth) ([]byte, error) {
	if bw.Type != BandwidthRequested && bw.Type != BandwidthExisting {
		return b, encodeErr("BANDWIDTH type " + itoa(uint64(bw.Type)))
	}
	b, s := beginObj(b, ClassBandwidth, bw.Type, bw.ObjFlags)
	b = appendU32(b, math.Float32bits(bw.Bandwidth))
	return endObj(b, s), nil
}

// METRIC object (RFC 5440 section 7.8).

func decodeMetric(o object) (Metric, error) {
	if len(o.body) != 8 {
		return Metric{}, malformed(ClassMetric, "body is not 8 bytes")
	}
	return Metric{ObjFlags: o.flags, Flags: o.body[2], Type: o.body[3],
		Value: math.Float32frombits(be.Uint32(o.body[4:]))}, nil
}

func appendMetric(b []byte, m *Metric) []byte {
	b, s := beginObj(b, ClassMetric, 1, m.ObjFlags)
	b = append(b, 0, 0, m.Flags, m.Type)
	b = appendU32(b, math.Float32bits(m.Value))
	return endObj(b, s)
}

// LSPA object (RFC 5440 section 7.11).

func decodeLSPA(o object) (*LSPA, error) {
	if len(o.body) < 16 {
		return nil, malformed(ClassLSPA, "body shorter than 16 bytes")
	}
	l := &LSPA{ObjFlags: o.flags, ExcludeAny: be.Uint32(o.body), IncludeAny: be.Uint32(o.body[4:]),
		IncludeAll: be.Uint32(o.body[8:]), SetupPriority: o.body[12], HoldingPriority: o.body[13], Flags: o.body[14]}
	r := tlvReader{b: o.body[16:], class: ClassLSPA}
	for r.next() {
		l.Unknown = r.unknown(l.Unknown)
	}
	if r.err != nil {
		return nil, r.err
	}
	return l, nil
}

func appendLSPA(b []byte, l *LSPA) []byte {
	b, s := beginObj(b, ClassLSPA, 1, l.ObjFlags)
	b = appendU32(appendU32(appendU32(b, l.ExcludeAny), l.IncludeAny), l.IncludeAll)
	b = append(b, l.SetupPriority, l.HoldingPriority, l.Flags, 0)
	b = appendRawTLVs(b, l.Unknown)
	return endObj(b, s)
}

// SVEC object (RFC 5440 section 7.13).

func decodeSVEC(o object) (SVEC, error) {
	if len(o.body) < 4 {
		return SVEC{}, malformed(ClassSVEC, "body shorter than 4 bytes")
	}
	sv := SVEC{ObjFlags: o.flags, Flags: be.Uint32(o.body) & 0xFFFFFF}
	if n := (len(o.body) - 4) / 4; n > 0 {
		sv.RequestIDs = make([]uint32, n)
		for i := range sv.RequestIDs {
			sv.RequestIDs[i] = be.Uint32(o.body[4+4*i:])
		}
	}
	return sv, nil
}

func appendSVEC(b []byte, sv *SVEC) ([]byte, error) {
	if sv.Flags > 0xFFFFFF {
		return b, encodeErr("SVEC flags wider than 24 bits")
	}
	b, s := beginObj(b, ClassSVEC, 1, sv.ObjFlags)
	b = appendU32(b, sv.Flags)
	for _, id := range sv.RequestIDs {
		b = appendU32(b, id)
	}
	return endObj(b, s), nil
}

// VENDOR-INFORMATION object (RFC 7470).

func decodeVendorInfo(o object) (VendorInformation, error) {
	if len(o.body) < 4 {
		return VendorInformation{}, malformed(ClassVendorInfo, "body shorter than 4 bytes")
	}
	return VendorInformation{ObjFlags: o.flags, Enterprise: be.Uint32(o.body), Data: cloneBytes(o.body[4:])}, nil
}

// appendVendorInfo pads Data with zeros to a multiple of 4 bytes.
func appendVendorInfo(b []byte, v *VendorInformation) []byte {
	b, s := beginObj(b, ClassVendorInfo, 1, v.ObjFlags)
	b = appendU32(b, v.Enterprise)
	b = append(b, v.Data...)
	for n := len(v.Data); n%4 != 0; n++ {
		b = append(b, 0)
	}
	return endObj(b, s)
}
