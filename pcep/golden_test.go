package pcep

import (
	"bytes"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

// goldenCase pairs hand-written wire bytes (from the RFC layouts) with the
// decoded message. Decode must give the message and Encode must give the
// bytes, so the encoder is checked independently of the decoder.
type goldenCase struct {
	name string
	wire []byte
	m    Message
}

func labels(ls ...uint32) []Subobject {
	s := make([]Subobject, len(ls))
	for i, l := range ls {
		s[i] = SRLabel(l)
	}
	return s
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{
			name: "OpenWithStatefulSRAndPolicyCapabilities",
			wire: msg(TypeOpen, obj(ClassOpen, 1, 0,
				[]byte{0x20, 30, 120, 1},
				tlv(TLVStatefulCapability, 0, 0, 0x08, 0x05),
				tlv(TLVSpeakerEntityID, 'p', 'c', 'c', '1', '2'),
				tlv(TLVPSTCapability, 0, 0, 0, 2, 0, 1, 0, 0, 0, 26, 0, 4, 0, 0, 0x02, 10),
				tlv(TLVAssocTypeList, 0, 1, 0, 6),
				tlv(TLVSRPolicyCapability, 0, 0, 0, 1),
				tlv(900, 0xaa))),
			m: &Open{Open: OpenObject{Keepalive: 30, DeadTimer: 120, SessionID: 1,
				Stateful:        &StatefulCapability{Flags: StatefulUpdate | StatefulInstantiation | StatefulColor},
				SpeakerEntityID: []byte("pcc12"),
				PST:             &PSTCapability{PSTs: []uint8{PSTRSVPTE, PSTSRMPLS}, SR: &SRPCECapability{Flags: SRCapResolveNAI, MSD: 10}},
				AssocTypes:      []uint16{AssocPathProtection, AssocSRPolicy},
				SRPolicy:        &SRPolicyCapability{Flags: 1},
				Unknown:         []RawTLV{{Type: 900, Value: []byte{0xaa}}},
			}},
		},
		{name: "Keepalive", wire: []byte{0x20, 0x02, 0x00, 0x04}, m: &Keepalive{}},
		{name: "StartTLS", wire: []byte{0x20, 0x0d, 0x00, 0x04}, m: &StartTLS{}},
		{
			name: "CloseDeadTimer",
			wire: []byte{0x20, 0x07, 0x00, 0x0c, 15, 0x10, 0x00, 0x08, 0, 0, 0, 2},
			m:    &Close{Close: CloseObject{Reason: CloseDeadTimer}},
		},
		{
			name: "PCErrForSRP",
			wire: msg(TypePCErr, obj(ClassSRP, 1, 0, be32(0), be32(7)), obj(ClassPCEPError, 1, 0, []byte{0, 0, 19, 1})),
			m: &PCErr{Errors: []ErrorBlock{{SRPs: []SRP{{SRPID: 7}},
				Errors: []PCEPError{{Type: ErrInvalidOperation, Value: ValNonDelegatedUpdate}}}}},
		},
		{
			name: "PCErrNegotiableWithOpen",
			wire: msg(TypePCErr, obj(ClassPCEPError, 1, 0x02, []byte{0, 0, 1, 4}), obj(ClassOpen, 1, 0, []byte{0x20, 30, 120, 0})),
			m: &PCErr{Errors: []ErrorBlock{{Errors: []PCEPError{{ObjFlags: ObjFlags{P: true}, Type: 1, Value: 4}}}},
				Open: &OpenObject{Keepalive: 30, DeadTimer: 120}},
		},
		{
			name: "PCRptWithSRPNameIdentifiersColorAndLabels",
			wire: msg(TypePCRpt,
				obj(ClassSRP, 1, 0, be32(0), be32(7), tlv(TLVPathSetupType, 0, 0, 0, 1)),
				obj(ClassLSP, 1, 0x02, lspWord(42, 0x019),
					tlv(TLVSymbolicPathName, 'b', 'l', 'u', 'e', '1'),
					tlv(TLVIPv4LSPIdentifiers, cat(ip("127.0.0.1"), be16(3), be16(9), ip("127.0.0.1"), ip("127.0.0.3"))...),
					tlv(TLVColor, be32(100)...)),
				obj(ClassERO, 1, 0, srLabelSub(16001), srLabelSub(16002), srLabelSub(16003)),
				obj(ClassMetric, 1, 0, []byte{0, 0, 0x02, 2}, be32(0x41200000))),
			m: &PCRpt{Reports: []Report{{
				HasSRP: true, SRP: SRP{SRPID: 7, HasPST: true, PST: PSTSRMPLS},
				LSP: LSP{ObjFlags: ObjFlags{P: true}, PLSPID: 42, Flags: LSPDelegate | LSPAdmin | 1<<LSPOperShift,
					SymbolicName: "blue1",
					Identifiers: &LSPIdentifiers{Sender: addr("127.0.0.1"), LSPID: 3, TunnelID: 9,
						ExtendedTunnelID: addr("127.0.0.1"), Endpoint: addr("127.0.0.3")},
					HasColor: true, Color: 100},
				ERO:        ERO{Subobjects: labels(16001, 16002, 16003)},
				Attributes: &Attributes{Metrics: []Metric{{Flags: MetricComputed, Type: MetricTE, Value: 10}}},
			}}},
		},
		{
			name: "PCRptEndOfSync",
			wire: msg(TypePCRpt, obj(ClassLSP, 1, 0, lspWord(0, 0)), obj(ClassERO, 1, 0)),
			m:    &PCRpt{Reports: []Report{{}}},
		},
		{
			name: "PCRptKeepsUnknownTLVsAndRRO",
			wire: msg(TypePCRpt,
				obj(ClassLSP, 1, 0, lspWord(5, LSPSync), tlv(TLVLSPErrorCode, be32(LSPErrPreempted)...), tlv(TLVLSPDBVersion, 0, 0, 0, 0, 0, 0, 1, 2),
					tlv(TLVRSVPErrorSpec, 1, 2, 3, 4, 5), tlv(4000)),
				obj(ClassERO, 1, 0),
				obj(ClassRRO, 1, 0, cat([]byte{0x01, 8}, ip("127.0.0.9"), []byte{32, 0}), cat([]byte{0x03, 8, 0x80, 0x01}, be32(16)))),
			m: &PCRpt{Reports: []Report{{
				LSP: LSP{PLSPID: 5, Flags: LSPSync, ErrorCode: LSPErrPreempted, HasDBVersion: true, DBVersion: 0x0102,
					Unknown: []RawTLV{{Type: TLVRSVPErrorSpec, Value: []byte{1, 2, 3, 4, 5}}, {Type: 4000}}},
				RRO: &ERO{Subobjects: []Subobject{
					{Type: SubIPv4Prefix, NAI: &NAI{Prefix: netip.MustParsePrefix("127.0.0.9/32")}},
					{Type: SubLabel, NAI: &NAI{Raw: "\x80\x01\x00\x00\x00\x10"}},
				}},
			}}},
		},
		{
			name: "PCUpdWithNodeAndAdjacencySIDsAndBandwidth",
			wire: msg(TypePCUpd,
				obj(ClassSRP, 1, 0, be32(0), be32(8)),
				obj(ClassLSP, 1, 0, lspWord(42, LSPDelegate)),
				obj(ClassERO, 1, 0,
					cat([]byte{0x24, 12, 0x10, 0x01}, be32(16005<<12), ip("127.0.0.5")),
					cat([]byte{0xa4, 12, 0x30, 0x04}, ip("127.0.1.1"), ip("127.0.1.2")),
					cat([]byte{0x24, 24, 0x50, 0x00}, be32(77), be32(1), be32(2), be32(3), be32(4))),
				obj(ClassBandwidth, 1, 0, be32(0x447a0000))),
			m: &PCUpd{Updates: []Update{{
				SRP: SRP{SRPID: 8},
				LSP: LSP{PLSPID: 42, Flags: LSPDelegate},
				ERO: ERO{Subobjects: []Subobject{
					{Type: SubSR, NT: NAIIPv4Node, SRFlags: SRFlagM, SID: 16005 << 12, NAI: &NAI{LocalAddr: addr("127.0.0.5")}},
					{Loose: true, Type: SubSR, NT: NAIIPv4Adjacency, SRFlags: SRFlagS, NAI: &NAI{LocalAddr: addr("127.0.1.1"), RemoteAddr: addr("127.0.1.2")}},
					{Type: SubSR, NT: NAIUnnumberedIPv4, SID: 77, NAI: &NAI{LocalNodeID: 1, LocalIfID: 2, RemoteNodeID: 3, RemoteIfID: 4}},
				}},
				Attributes: &Attributes{Bandwidths: []Bandwidth{{Type: BandwidthRequested, Bandwidth: 1000}}},
			}}},
		},
		{
			name: "PCUpdWithAssociationBeforeERO",
			wire: msg(TypePCUpd,
				obj(ClassSRP, 1, 0, be32(0), be32(13)),
				obj(ClassLSP, 1, 0, lspWord(7, LSPDelegate)),
				obj(ClassAssociation, 1, 0, be16(0), be16(0), be16(AssocSRPolicy), be16(3), ip("127.0.0.1"),
					tlv(TLVExtendedAssocID, cat(be32(20), ip("::9"))...)),
				obj(ClassERO, 1, 0, srLabelSub(16009)),
				obj(ClassMetric, 1, 0, []byte{0, 0, 0, MetricIGP}, be32(0x41200000))),
			m: &PCUpd{Updates: []Update{{
				SRP: SRP{SRPID: 13},
				LSP: LSP{PLSPID: 7, Flags: LSPDelegate},
				ERO: ERO{Subobjects: labels(16009)},
				Attributes: &Attributes{
					Metrics:      []Metric{{Type: MetricIGP, Value: 10}},
					Associations: []Association{{Type: AssocSRPolicy, ID: 3, Source: addr("127.0.0.1"), Color: 20, Endpoint: addr("::9")}},
				},
			}}},
		},
		{
			name: "PCUpdWithIPv6SIDs",
			wire: msg(TypePCUpd,
				obj(ClassSRP, 1, 0, be32(SRPControl), be32(9)),
				obj(ClassLSP, 1, 0, lspWord(0, 0)),
				obj(ClassERO, 1, 0,
					cat([]byte{0x24, 20, 0x20, 0x04}, ip("::1")),
					cat([]byte{0x24, 40, 0x40, 0x00}, be32(5), ip("::1"), ip("::2")),
					cat([]byte{0x24, 44, 0x60, 0x04}, ip("::1"), be32(7), ip("::2"), be32(8)))),
			m: &PCUpd{Updates: []Update{{
				SRP: SRP{Flags: SRPControl, SRPID: 9},
				ERO: ERO{Subobjects: []Subobject{
					{Type: SubSR, NT: NAIIPv6Node, SRFlags: SRFlagS, NAI: &NAI{LocalAddr: addr("::1")}},
					{Type: SubSR, NT: NAIIPv6Adjacency, SID: 5, NAI: &NAI{LocalAddr: addr("::1"), RemoteAddr: addr("::2")}},
					{Type: SubSR, NT: NAIIPv6LinkLocal, SRFlags: SRFlagS, NAI: &NAI{LocalAddr: addr("::1"), LocalIfID: 7, RemoteAddr: addr("::2"), RemoteIfID: 8}},
				}},
			}}},
		},
		{
			name: "PCInitiateSRPolicy",
			wire: msg(TypePCInitiate,
				obj(ClassSRP, 1, 0, be32(0), be32(10), tlv(TLVPathSetupType, 0, 0, 0, 1)),
				obj(ClassLSP, 1, 0, lspWord(0, 0), tlv(TLVSymbolicPathName, 'g', 'r', 'e', 'e', 'n')),
				obj(ClassEndPoints, 1, 0, ip("127.0.0.1"), ip("127.0.0.3")),
				obj(ClassERO, 1, 0, srLabelSub(16003)),
				obj(ClassAssociation, 1, 0, be16(0), be16(0), be16(AssocSRPolicy), be16(1), ip("127.0.0.100"),
					tlv(TLVExtendedAssocID, cat(be32(100), ip("127.0.0.3"))...),
					tlv(TLVSRPolicyPolName, 'p', 'o', 'l'),
					tlv(TLVSRPolicyCPathID, cat([]byte{10, 0, 0, 0}, be32(65000), make([]byte, 12), ip("127.0.0.1"), be32(2))...),
					tlv(TLVSRPolicyCPathName, 'c', 'p'),
					tlv(TLVSRPolicyCPathPref, be32(200)...)),
				obj(ClassVendorInfo, 1, 0, be32(9), []byte{1, 2, 3, 4})),
			m: &PCInitiate{Requests: []Initiate{{
				SRP:          SRP{SRPID: 10, HasPST: true, PST: PSTSRMPLS},
				LSP:          LSP{SymbolicName: "green"},
				HasEndPoints: true, EndPoints: EndPoints{Source: addr("127.0.0.1"), Destination: addr("127.0.0.3")},
				HasERO: true, ERO: ERO{Subobjects: labels(16003)},
				Attributes: &Attributes{
					Associations: []Association{{Type: AssocSRPolicy, ID: 1, Source: addr("127.0.0.100"),
						Color: 100, Endpoint: addr("127.0.0.3"), PolicyName: "pol",
						HasCPathID: true, CPathID: CPathID{Origin: OriginPCEP, ASN: 65000, Originator: addr("127.0.0.1"), Discriminator: 2},
						CPathName: "cp", HasPreference: true, Preference: 200}},
					VendorInfo: []VendorInformation{{Enterprise: 9, Data: []byte{1, 2, 3, 4}}},
				},
			}}},
		},
		{
			name: "PCInitiateIPv6AssociationWithGenericExtendedID",
			wire: msg(TypePCInitiate,
				obj(ClassSRP, 1, 0, be32(0), be32(11)),
				obj(ClassLSP, 1, 0, lspWord(0, 0)),
				obj(ClassERO, 1, 0),
				obj(ClassAssociation, 2, 0, be16(0), be16(AssocRemove), be16(AssocPolicy), be16(2), ip("::1"),
					tlv(TLVExtendedAssocID, 1, 2, 3, 4, 5))),
			m: &PCInitiate{Requests: []Initiate{{
				SRP: SRP{SRPID: 11}, HasERO: true,
				Attributes: &Attributes{Associations: []Association{{Flags: AssocRemove, Type: AssocPolicy, ID: 2,
					Source: addr("::1"), ExtendedID: []byte{1, 2, 3, 4, 5}}}},
			}}},
		},
		{
			name: "PCInitiateDeletion",
			wire: msg(TypePCInitiate, obj(ClassSRP, 1, 0, be32(SRPRemove), be32(12)), obj(ClassLSP, 1, 0, lspWord(42, 0))),
			m:    &PCInitiate{Requests: []Initiate{{SRP: SRP{Flags: SRPRemove, SRPID: 12}, LSP: LSP{PLSPID: 42}}}},
		},
		{
			name: "PCReqIPv6WithLSPA",
			wire: msg(TypePCReq,
				obj(ClassSVEC, 1, 0, be32(1), be32(1), be32(2)),
				obj(ClassRP, 1, 0x02, be32(RPStrict|3), be32(1), tlv(TLVPathSetupType, 0, 0, 0, 1)),
				obj(ClassEndPoints, 2, 0x02, ip("::1"), ip("::2")),
				obj(ClassLSPA, 1, 0, be32(1), be32(2), be32(3), []byte{7, 6, 1, 0}),
				obj(ClassMetric, 1, 0, []byte{0, 0, 0x01, 11}, be32(0x40a00000)),
				obj(ClassRRO, 1, 0, cat([]byte{0x02, 20}, ip("::5"), []byte{128, 0})),
				obj(ClassBandwidth, 2, 0, be32(0x42c80000)),
				obj(ClassIRO, 1, 0, cat([]byte{0x20, 4}, be16(65001)), cat([]byte{0x04, 12, 0, 0}, be32(0x7f000001), be32(3)))),
			m: &PCReq{
				SVECs: []SVEC{{Flags: 1, RequestIDs: []uint32{1, 2}}},
				Requests: []Request{{
					RP:           RP{ObjFlags: ObjFlags{P: true}, Flags: RPStrict | 3, RequestID: 1, HasPST: true, PST: 1},
					EndPoints:    EndPoints{ObjFlags: ObjFlags{P: true}, Source: addr("::1"), Destination: addr("::2")},
					RRO:          &ERO{Subobjects: []Subobject{{Type: SubIPv6Prefix, NAI: &NAI{Prefix: netip.MustParsePrefix("::5/128")}}}},
					RROBandwidth: &Bandwidth{Type: BandwidthExisting, Bandwidth: 100},
					Attributes: &Attributes{
						LSPA:    &LSPA{ExcludeAny: 1, IncludeAny: 2, IncludeAll: 3, SetupPriority: 7, HoldingPriority: 6, Flags: 1},
						Metrics: []Metric{{Flags: MetricBound, Type: MetricSIDDepth, Value: 5}},
						IRO: &ERO{Subobjects: []Subobject{{Type: SubASNumber, NAI: &NAI{LocalNodeID: 65001}},
							{Type: SubUnnumbered, NAI: &NAI{LocalNodeID: 0x7f000001, LocalIfID: 3}}}},
					},
				}},
			},
		},
		{
			name: "PCRepNoPathThenPath",
			wire: msg(TypePCRep,
				obj(ClassRP, 1, 0, be32(0), be32(1)),
				obj(ClassNoPath, 1, 0, []byte{1, 0x80, 0, 0}),
				obj(ClassRP, 1, 0, be32(0), be32(2)),
				obj(ClassERO, 1, 0, srLabelSub(16001)),
				obj(ClassMetric, 1, 0, []byte{0, 0, 0, 1}, be32(0x41a00000))),
			m: &PCRep{Responses: []Response{
				{RP: RP{RequestID: 1}, NoPath: &NoPath{NatureOfIssue: 1, Flags: 0x8000}},
				{RP: RP{RequestID: 2}, Paths: []Path{{ERO: ERO{Subobjects: labels(16001)},
					Attributes: &Attributes{Metrics: []Metric{{Type: MetricIGP, Value: 20}}}}}},
			}},
		},
		{
			name: "PCRptIPv6IdentifiersDBVersionAndLoosePrefix",
			wire: msg(TypePCRpt,
				obj(ClassLSP, 1, 0x01, lspWord(MaxPLSPID-1, LSPCreate|LSPDelegate|4<<LSPOperShift),
					tlv(TLVIPv6LSPIdentifiers, cat(ip("::1"), be16(1), be16(2), ip("::3"), ip("::4"))...),
					tlv(TLVLSPDBVersion, 0, 0, 0, 0, 0, 0, 0, 9)),
				obj(ClassERO, 1, 0, cat([]byte{0x81, 8}, ip("127.0.0.0"), []byte{8, 1}))),
			m: &PCRpt{Reports: []Report{{
				LSP: LSP{ObjFlags: ObjFlags{I: true}, PLSPID: MaxPLSPID - 1, Flags: LSPCreate | LSPDelegate | 4<<LSPOperShift,
					Identifiers:  &LSPIdentifiers{Sender: addr("::1"), LSPID: 1, TunnelID: 2, ExtendedTunnelID: addr("::3"), Endpoint: addr("::4")},
					HasDBVersion: true, DBVersion: 9},
				ERO: ERO{Subobjects: []Subobject{{Loose: true, Type: SubIPv4Prefix, Attr: 1, NAI: &NAI{Prefix: netip.MustParsePrefix("127.0.0.0/8")}}}},
			}}},
		},
		{
			name: "OpenWithDBVersionAndEmptyLists",
			wire: msg(TypeOpen, obj(ClassOpen, 1, 0, []byte{0x21, 0, 0, 255},
				tlv(TLVLSPDBVersion, 0, 0, 0, 0, 0, 0, 0, 1),
				tlv(TLVSpeakerEntityID),
				tlv(TLVPSTCapability, 0, 0, 0, 0),
				tlv(TLVAssocTypeList))),
			m: &Open{Open: OpenObject{Flags: 1, SessionID: 255, HasDBVersion: true, DBVersion: 1,
				SpeakerEntityID: []byte{}, PST: &PSTCapability{}, AssocTypes: []uint16{}}},
		},
		{
			name: "PCNtf",
			wire: msg(TypePCNtf, obj(ClassRP, 1, 0, be32(0), be32(3)), obj(ClassNotification, 1, 0, []byte{0, 0, 1, 1})),
			m:    &PCNtf{Notifies: []Notify{{RPs: []RP{{RequestID: 3}}, Notifications: []Notification{{Type: 1, Value: 1}}}}},
		},
	}
}

func TestGoldenDecode(t *testing.T) {
	for _, tt := range goldenCases() {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.wire)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.m) {
				t.Fatalf("Decode:\n got %#v\nwant %#v", got, tt.m)
			}
		})
	}
}

func TestGoldenEncode(t *testing.T) {
	for _, tt := range goldenCases() {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Encode(tt.m)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.wire) {
				t.Fatalf("Encode:\n got % x\nwant % x", got, tt.wire)
			}
		})
	}
}

func TestParseHeader(t *testing.T) {
	typ, n, err := ParseHeader([]byte{0x20, 10, 0x01, 0x00, 0xff})
	if err != nil || typ != TypePCRpt || n != 256 {
		t.Fatalf("ParseHeader = %v, %d, %v; want PCRpt, 256, nil", typ, n, err)
	}
}

func TestAppendReusesBufferWithoutAllocating(t *testing.T) {
	m := goldenCases()[6].m
	buf := make([]byte, 0, 512)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if buf, err = Append(buf[:0], m); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Append allocated %v times per run", allocs)
	}
}

// TestDescribeNamesEveryMessage renders random messages of every type and
// checks that the rendering starts with the message type.
func TestDescribeNamesEveryMessage(t *testing.T) {
	g := newGen(3)
	for range 500 {
		m := g.message()
		if got := Describe(m); !strings.HasPrefix(got, m.MessageType().String()) {
			t.Fatalf("Describe = %q", got)
		}
	}
}

func TestSetOperKeepsOtherFlags(t *testing.T) {
	l := LSP{Flags: LSPDelegate | LSPCreate | LSPOperMask}
	l.SetOper(OperGoingUp)
	if l.Oper() != OperGoingUp || l.Flags != LSPDelegate|LSPCreate|uint16(OperGoingUp)<<LSPOperShift {
		t.Fatalf("flags = %#x", l.Flags)
	}
}

func TestErrorStrings(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{NewError(6, 9, "ERO object missing").Error(), "pcep: ERO object missing (PCErr 6/9)"},
		{NewCloseError(3, "truncated object header").Error(), "pcep: truncated object header (close reason 3)"},
		{(&UnknownMessageError{Type: 42}).Error(), "pcep: unknown message type 42"},
		{MessageType(99).String(), "Unknown(99)"},
		{TypePCInitiate.String(), "PCInitiate"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		m    Message
		want string
	}{
		{goldenCases()[6].m, `PCRpt SRP id=7 pst=1 LSP plsp=42 DA oper=1 name="blue1" color=100 ids=127.0.0.1/3/9->127.0.0.3 ERO[L16001 L16002 L16003] METRIC 2=10`},
		{&PCErr{Errors: []ErrorBlock{{SRPs: []SRP{{SRPID: 3}}, Errors: []PCEPError{{Type: 19, Value: 1}}}}}, "PCErr SRP id=3 PCEP-ERROR 19/1"},
		{&Keepalive{}, "Keepalive"},
		{nil, "<nil>"},
	}
	for _, tt := range tests {
		if got := Describe(tt.m); got != tt.want {
			t.Errorf("Describe =\n %s\nwant\n %s", got, tt.want)
		}
	}
}

// TestDecodedMessageDoesNotAliasInput lets a session reuse its read buffer:
// names, raw TLVs, raw subobjects and vendor data are copies.
func TestDecodedMessageDoesNotAliasInput(t *testing.T) {
	for _, tt := range goldenCases() {
		t.Run(tt.name, func(t *testing.T) {
			buf := append([]byte(nil), tt.wire...)
			m, err := Decode(buf)
			if err != nil {
				t.Fatal(err)
			}
			for i := range buf {
				buf[i] = 0xff
			}
			if !reflect.DeepEqual(m, tt.m) {
				t.Fatalf("message changed when the input buffer was overwritten:\n%#v", m)
			}
		})
	}
}
