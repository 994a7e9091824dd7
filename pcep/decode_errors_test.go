package pcep

import (
	"errors"
	"testing"
)

// Objects reused by the error cases.
var (
	okSRP      = obj(ClassSRP, 1, 0, be32(0), be32(1))
	okSRPR     = obj(ClassSRP, 1, 0, be32(SRPRemove), be32(1))
	okLSP      = obj(ClassLSP, 1, 0, lspWord(5, LSPDelegate))
	okLSP0     = obj(ClassLSP, 1, 0, lspWord(0, 0))
	okERO      = obj(ClassERO, 1, 0, srLabelSub(16001))
	emptyERO   = obj(ClassERO, 1, 0)
	okRP       = obj(ClassRP, 1, 0, be32(0), be32(1))
	okEndPts   = obj(ClassEndPoints, 1, 0, ip("127.0.0.1"), ip("127.0.0.2"))
	okMetric   = obj(ClassMetric, 1, 0, []byte{0, 0, 0, MetricTE}, be32(0))
	okLSPA     = obj(ClassLSPA, 1, 0, be32(0), be32(0), be32(0), []byte{7, 7, 0, 0})
	okOpenBody = []byte{0x20, 30, 120, 1}
)

// eroWith wraps subobjects in a PCRpt that is otherwise valid.
func rptWithERO(subs ...[]byte) []byte {
	return msg(TypePCRpt, okLSP, obj(ClassERO, 1, 0, subs...))
}

func TestDecodeErrorMapping(t *testing.T) {
	tests := []struct {
		name              string
		in                []byte
		typ, val, closeRs uint8
	}{
		// Framing.
		{"ShortHeaderIsMalformedMessage", []byte{0x20, 2}, 0, 0, CloseMalformed},
		{"VersionTwoIsVersionNotSupported", []byte{0x40, 2, 0, 4}, ErrSessionEstablishment, ValVersionNotSupported, 0},
		{"LengthBelowHeaderIsMalformedMessage", []byte{0x20, 2, 0, 3}, 0, 0, CloseMalformed},
		{"LengthLongerThanBufferIsMalformedMessage", []byte{0x20, 2, 0, 8}, 0, 0, CloseMalformed},
		{"LengthShorterThanBufferIsMalformedMessage", append(msg(TypeKeepalive), 0, 0, 0, 0), 0, 0, CloseMalformed},
		{"KeepaliveWithBodyIsMalformedMessage", msg(TypeKeepalive, okRP), 0, 0, CloseMalformed},
		{"StartTLSWithBodyIsMalformedMessage", msg(TypeStartTLS, okRP), 0, 0, CloseMalformed},
		{"ObjectPastMessageEndIsMalformedMessage", msg(TypePCRpt, okLSP, []byte{ClassERO, 0x10, 0, 12, 0, 0, 0, 0}), 0, 0, CloseMalformed},
		{"TruncatedObjectHeaderIsMalformedMessage", msg(TypePCRpt, okLSP, okERO, []byte{ClassMetric, 0x10}), 0, 0, CloseMalformed},
		{"ObjectLengthBelowFourIsMalformedObject", msg(TypePCRpt, []byte{ClassLSP, 0x10, 0, 2, 0, 0, 0, 0}), ErrInvalidObject, ValMalformedObject, 0},
		{"ObjectLengthNotMultipleOfFourIsMalformedObject", msg(TypePCRpt, []byte{ClassLSP, 0x10, 0, 6, 0, 0, 0, 0}), ErrInvalidObject, ValMalformedObject, 0},

		// Unknown and unsupported objects.
		{"UnknownClassWithPIsUnknownObjectClass", msg(TypePCRpt, okLSP, okERO, obj(200, 1, 0x02, be32(0))), ErrUnknownObject, ValObjectClass, 0},
		{"UnknownTypeWithPIsUnknownObjectType", msg(TypePCRpt, okLSP, okERO, obj(ClassMetric, 9, 0x02, be32(0))), ErrUnknownObject, ValObjectType, 0},
		{"UnsupportedClassWithPIsNotSupportedObject", msg(TypePCRpt, okLSP, okERO, obj(ClassOF, 1, 0x02, be32(0))), ErrNotSupportedObject, ValObjectClass, 0},

		// Open.
		{"OpenWithoutOPENIsBadOpen", msg(TypeOpen), ErrSessionEstablishment, ValOpenBad, 0},
		{"OpenWithOtherObjectIsBadOpen", msg(TypeOpen, okRP), ErrSessionEstablishment, ValOpenBad, 0},
		{"OpenWithTrailingObjectIsBadOpen", msg(TypeOpen, obj(ClassOpen, 1, 0, okOpenBody), okRP), ErrSessionEstablishment, ValOpenBad, 0},
		{"OPENVersionTwoIsVersionNotSupported", msg(TypeOpen, obj(ClassOpen, 1, 0, []byte{0x40, 30, 120, 1})), ErrSessionEstablishment, ValVersionNotSupported, 0},
		{"OPENStatefulTLVBadLengthIsMalformedObject", msg(TypeOpen, obj(ClassOpen, 1, 0, okOpenBody, tlv(TLVStatefulCapability, 0, 0, 1))), ErrInvalidObject, ValMalformedObject, 0},
		{"OPENPSTCapabilityCountTooLargeIsMalformedObject", msg(TypeOpen, obj(ClassOpen, 1, 0, okOpenBody, tlv(TLVPSTCapability, 0, 0, 0, 5, 0, 1, 0, 0))), ErrInvalidObject, ValMalformedObject, 0},
		{"OPENAssocTypeListOddLengthIsMalformedObject", msg(TypeOpen, obj(ClassOpen, 1, 0, okOpenBody, tlv(TLVAssocTypeList, 0, 6, 0))), ErrInvalidObject, ValMalformedObject, 0},
		{"TLVPastObjectEndIsMalformedObject", msg(TypeOpen, obj(ClassOpen, 1, 0, okOpenBody, []byte{0, 16, 0, 8, 0, 0, 0, 1})), ErrInvalidObject, ValMalformedObject, 0},

		// Close and PCErr.
		{"CloseWithoutCLOSEIsMalformedMessage", msg(TypeClose), 0, 0, CloseMalformed},
		{"PCErrWithoutPCEPErrorIsMalformedMessage", msg(TypePCErr, okRP), 0, 0, CloseMalformed},
		{"EmptyPCErrIsMalformedMessage", msg(TypePCErr), 0, 0, CloseMalformed},
		{"PCNtfWithoutNotificationIsMalformedMessage", msg(TypePCNtf, okRP), 0, 0, CloseMalformed},

		// PCRpt.
		{"EmptyPCRptIsLSPMissing", msg(TypePCRpt), ErrMandatoryMissing, ValMissingLSP, 0},
		{"PCRptSRPWithoutLSPIsLSPMissing", msg(TypePCRpt, okSRP, okERO), ErrMandatoryMissing, ValMissingLSP, 0},
		{"PCRptWithoutEROIsEROMissing", msg(TypePCRpt, okSRP, okLSP), ErrMandatoryMissing, ValMissingERO, 0},
		{"PCRptMetricInsteadOfEROIsEROMissing", msg(TypePCRpt, okLSP, okMetric), ErrMandatoryMissing, ValMissingERO, 0},
		{"PCRptSecondReportWithoutEROIsEROMissing", msg(TypePCRpt, okLSP, okERO, okLSP), ErrMandatoryMissing, ValMissingERO, 0},
		{"PCRptDuplicateLSPAIsMalformedMessage", msg(TypePCRpt, okLSP, okERO, okLSPA, okLSPA), 0, 0, CloseMalformed},
		{"LSPObjectTooShortIsMalformedObject", msg(TypePCRpt, obj(ClassLSP, 1, 0), okERO), ErrInvalidObject, ValMalformedObject, 0},
		{"LSPColorTLVBadLengthIsMalformedObject", msg(TypePCRpt, obj(ClassLSP, 1, 0, lspWord(1, 0), tlv(TLVColor, 0, 0, 1)), okERO), ErrInvalidObject, ValMalformedObject, 0},
		{"LSPIPv4IdentifiersBadLengthIsMalformedObject", msg(TypePCRpt, obj(ClassLSP, 1, 0, lspWord(1, 0), tlv(TLVIPv4LSPIdentifiers, make([]byte, 12)...)), okERO), ErrInvalidObject, ValMalformedObject, 0},
		{"SRPTooShortIsMalformedObject", msg(TypePCRpt, obj(ClassSRP, 1, 0, be32(0)), okLSP, okERO), ErrInvalidObject, ValMalformedObject, 0},

		// ERO subobjects.
		{"SRWithSAndFIsSIDAndNAIAbsent", rptWithERO([]byte{0x24, 4, 0x10, 0x0c}), ErrInvalidObject, ValSIDAndNAIAbsent, 0},
		{"SRNT0WithoutSIDIsSIDAndNAIAbsent", rptWithERO([]byte{0x24, 4, 0x00, 0x04}), ErrInvalidObject, ValSIDAndNAIAbsent, 0},
		{"SRNT7IsUnsupportedNAIType", rptWithERO(cat([]byte{0x24, 8, 0x70, 0x00}, be32(1))), ErrInvalidObject, ValUnsupportedNAI, 0},
		{"SRNT1MissingNAIIsMalformedObject", rptWithERO(cat([]byte{0x24, 8, 0x10, 0x01}, be32(16001<<12))), ErrInvalidObject, ValMalformedObject, 0},
		{"SRNT3ShortNAIIsMalformedObject", rptWithERO(cat([]byte{0x24, 12, 0x30, 0x01}, be32(16001<<12), ip("127.0.0.1"))), ErrInvalidObject, ValMalformedObject, 0},
		{"SRNT0LengthTwelveIsMalformedObject", rptWithERO(cat([]byte{0x24, 12, 0x00, 0x09}, be32(16001<<12), be32(0))), ErrInvalidObject, ValMalformedObject, 0},
		{"EROMixingSRAndIPv4IsMixed", rptWithERO(srLabelSub(16001), cat([]byte{0x01, 8}, ip("127.0.0.1"), []byte{32, 0})), ErrInvalidObject, ValSREROMixed, 0},
		{"SubobjectLengthZeroIsMalformedObject", rptWithERO([]byte{0x24, 0, 0, 0}), ErrInvalidObject, ValMalformedObject, 0},
		{"SubobjectLengthNotMultipleOfFourIsMalformedObject", rptWithERO([]byte{0x01, 6, 0, 0, 0, 0, 0, 0}), ErrInvalidObject, ValMalformedObject, 0},
		{"SubobjectPastEROEndIsMalformedObject", rptWithERO([]byte{0x01, 12, 0, 0, 0, 0, 0, 0}), ErrInvalidObject, ValMalformedObject, 0},
		{"IPv4PrefixLength33IsMalformedObject", rptWithERO(cat([]byte{0x01, 8}, ip("127.0.0.1"), []byte{33, 0})), ErrInvalidObject, ValMalformedObject, 0},

		// PCUpd.
		{"PCUpdWithoutSRPIsSRPMissing", msg(TypePCUpd, okLSP, okERO), ErrMandatoryMissing, ValMissingSRP, 0},
		{"PCUpdWithoutLSPIsLSPMissing", msg(TypePCUpd, okSRP, okERO), ErrMandatoryMissing, ValMissingLSP, 0},
		{"PCUpdWithoutEROIsEROMissing", msg(TypePCUpd, okSRP, okLSP), ErrMandatoryMissing, ValMissingERO, 0},
		{"PCUpdSecondUpdateWithoutSRPIsSRPMissing", msg(TypePCUpd, okSRP, okLSP, okERO, okLSP, okERO), ErrMandatoryMissing, ValMissingSRP, 0},

		// PCInitiate.
		{"PCInitiateWithoutSRPIsSRPMissing", msg(TypePCInitiate, okLSP0, okERO), ErrMandatoryMissing, ValMissingSRP, 0},
		{"PCInitiateWithoutLSPIsLSPMissing", msg(TypePCInitiate, okSRP, okERO), ErrMandatoryMissing, ValMissingLSP, 0},
		{"PCInitiateInstantiationWithoutEROIsEROMissing", msg(TypePCInitiate, okSRP, okLSP0), ErrMandatoryMissing, ValMissingERO, 0},
		{"PCInitiateInstantiationEndPointsWithoutEROIsEROMissing", msg(TypePCInitiate, okSRP, okLSP0, okEndPts), ErrMandatoryMissing, ValMissingERO, 0},

		// PCReq and PCRep.
		{"PCReqWithoutRPIsRPMissing", msg(TypePCReq, okEndPts), ErrMandatoryMissing, ValMissingRP, 0},
		{"EmptyPCReqIsRPMissing", msg(TypePCReq), ErrMandatoryMissing, ValMissingRP, 0},
		{"PCReqWithoutEndPointsIsEndPointsMissing", msg(TypePCReq, okRP), ErrMandatoryMissing, ValMissingEndPoints, 0},
		{"PCReqLSPBeforeEndPointsIsEndPointsMissing", msg(TypePCReq, okRP, okLSP, okEndPts), ErrMandatoryMissing, ValMissingEndPoints, 0},
		{"EndPointsIPv4WrongLengthIsMalformedObject", msg(TypePCReq, okRP, obj(ClassEndPoints, 1, 0, make([]byte, 12))), ErrInvalidObject, ValMalformedObject, 0},
		{"EmptyPCRepIsRPMissing", msg(TypePCRep), ErrMandatoryMissing, ValMissingRP, 0},
		{"BandwidthWrongLengthIsMalformedObject", msg(TypePCReq, okRP, okEndPts, obj(ClassBandwidth, 1, 0, be32(0), be32(0))), ErrInvalidObject, ValMalformedObject, 0},
		{"AssociationSRPolicyBadExtendedIDIsMalformedObject", msg(TypePCRpt, okLSP, okERO,
			obj(ClassAssociation, 1, 0, be16(0), be16(0), be16(AssocSRPolicy), be16(1), ip("127.0.0.1"), tlv(TLVExtendedAssocID, 0, 0, 0, 1))),
			ErrInvalidObject, ValMalformedObject, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode(tt.in)
			if err == nil {
				t.Fatalf("Decode succeeded with %s", Describe(m))
			}
			wantErr(t, err, tt.typ, tt.val, tt.closeRs)
		})
	}
}

func TestDecodeUnknownMessageTypeIsUnknownMessageError(t *testing.T) {
	_, err := Decode([]byte{0x20, 99, 0, 8, 1, 2, 3, 4})
	var ue *UnknownMessageError
	if !errors.As(err, &ue) || ue.Type != 99 {
		t.Fatalf("Decode = %v, want *UnknownMessageError{99}", err)
	}
}

func TestDecodeSkipsUnknownObjectsWithoutP(t *testing.T) {
	tests := []struct {
		name  string
		extra []byte
	}{
		{"UnknownClass", obj(200, 1, 0, be32(0))},
		{"UnknownType", obj(ClassMetric, 9, 0, be32(0))},
		{"UnsupportedClass", obj(ClassOF, 1, 0, be32(0))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode(msg(TypePCRpt, okLSP, tt.extra, okERO, tt.extra))
			if err != nil {
				t.Fatal(err)
			}
			r := m.(*PCRpt)
			if len(r.Reports) != 1 || r.Reports[0].LSP.PLSPID != 5 || len(r.Reports[0].ERO.Subobjects) != 1 {
				t.Fatalf("got %s", Describe(m))
			}
		})
	}
}

func TestDecodeAcceptsInitiateDeletionAndAdoptionWithoutERO(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"DeletionWithRFlag", msg(TypePCInitiate, okSRPR, okLSP)},
		{"DeletionOfAllLSPs", msg(TypePCInitiate, okSRPR, okLSP0)},
		{"AdoptionWithPLSPID", msg(TypePCInitiate, okSRP, okLSP)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if r := m.(*PCInitiate).Requests[0]; r.HasERO {
				t.Fatalf("HasERO set: %s", Describe(m))
			}
		})
	}
}

func TestDecodeAcceptsAttributesInAnyOrder(t *testing.T) {
	bw := obj(ClassBandwidth, 1, 0, be32(0x447a0000)) // 1000.0
	rro := obj(ClassRRO, 1, 0, srLabelSub(16001))
	in := msg(TypePCRpt, okSRP, okLSP, okERO, okMetric, bw, rro, okLSPA, okMetric, okSRP, okLSP, emptyERO)
	m, err := Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	r := m.(*PCRpt).Reports
	if len(r) != 2 || r[0].RRO == nil || r[0].Attributes == nil || r[0].Attributes.LSPA == nil || len(r[0].Attributes.Metrics) != 2 ||
		len(r[0].Attributes.Bandwidths) != 1 || r[0].Attributes.Bandwidths[0].Bandwidth != 1000 || !r[1].HasSRP || r[1].ERO.Subobjects != nil {
		t.Fatalf("got %s", Describe(m))
	}
}

func TestDecodeAcceptsAssociationsBeforeAndAfterERO(t *testing.T) {
	assoc := func(id uint16) []byte {
		return obj(ClassAssociation, 1, 0, be16(0), be16(0), be16(AssocPolicy), be16(id), ip("127.0.0.1"))
	}
	vendor := obj(ClassVendorInfo, 1, 0, be32(9))
	tests := []struct {
		name string
		in   []byte
	}{
		{"PCRpt", msg(TypePCRpt, okLSP, assoc(1), vendor, okERO, assoc(2))},
		{"PCUpd", msg(TypePCUpd, okSRP, okLSP, assoc(1), vendor, okERO, assoc(2))},
		{"PCInitiate", msg(TypePCInitiate, okSRP, okLSP0, okEndPts, assoc(1), vendor, okERO, assoc(2))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			var a *Attributes
			switch m := m.(type) {
			case *PCRpt:
				a = m.Reports[0].Attributes
			case *PCUpd:
				a = m.Updates[0].Attributes
			case *PCInitiate:
				a = m.Requests[0].Attributes
			}
			if a == nil || len(a.Associations) != 2 || a.Associations[0].ID != 1 || a.Associations[1].ID != 2 || len(a.VendorInfo) != 1 {
				t.Fatalf("got %s", Describe(m))
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name string
		m    Message
	}{
		{"PLSPIDWiderThan20Bits", &PCRpt{Reports: []Report{{LSP: LSP{PLSPID: MaxPLSPID + 1}}}}},
		{"LSPFlagsWiderThan12Bits", &PCRpt{Reports: []Report{{LSP: LSP{Flags: 0x1000}}}}},
		{"SymbolicNameTooLong", &PCRpt{Reports: []Report{{LSP: LSP{SymbolicName: string(make([]byte, 70000))}}}}},
		{"MessageTooLong", &PCRpt{Reports: make([]Report, 7000)}},
		{"EndPointsMixedFamilies", &PCReq{Requests: []Request{{EndPoints: EndPoints{Source: addr("127.0.0.1"), Destination: addr("::1")}}}}},
		{"EndPointsMissing", &PCReq{Requests: []Request{{}}}},
		{"LSPIdentifiersMixedFamilies", &PCRpt{Reports: []Report{{LSP: LSP{Identifiers: &LSPIdentifiers{Sender: addr("127.0.0.1"), Endpoint: addr("::1")}}}}}},
		{"AssociationWithoutSource", &PCUpd{Updates: []Update{{Attributes: &Attributes{Associations: []Association{{Type: AssocSRPolicy}}}}}}},
		{"SRNAIWrongFamily", &PCUpd{Updates: []Update{{ERO: ERO{Subobjects: []Subobject{{Type: SubSR, NT: NAIIPv4Node, NAI: &NAI{LocalAddr: addr("::1")}}}}}}}},
		{"RawSubobjectNotAligned", &PCUpd{Updates: []Update{{ERO: ERO{Subobjects: []Subobject{{Type: 99, NAI: &NAI{Raw: "\x01"}}}}}}}},
		{"ASNumberWiderThan16Bits", &PCUpd{Updates: []Update{{ERO: ERO{Subobjects: []Subobject{{Type: SubASNumber, NAI: &NAI{LocalNodeID: 70000}}}}}}}},
		{"EmptyPCRpt", &PCRpt{}},
		{"EmptyPCUpd", &PCUpd{}},
		{"EmptyPCInitiate", &PCInitiate{}},
		{"EmptyPCErr", &PCErr{}},
		{"NilMessage", nil},
		{"NilPointerMessage", (*PCRpt)(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte{1, 2, 3}
			out, err := Append(dst, tt.m)
			if err == nil {
				t.Fatal("Append succeeded")
			}
			var pe *Error
			if errors.As(err, &pe) {
				t.Fatalf("encoding error is a protocol *Error: %v", err)
			}
			if len(out) != 3 {
				t.Fatalf("Append extended dst on error to %d bytes", len(out))
			}
		})
	}
}
