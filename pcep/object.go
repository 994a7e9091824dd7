package pcep

import "net/netip"

// Object classes (RFC 5440 and later; see PCEP-CODEPOINTS).
const (
	ClassOpen          uint8 = 1
	ClassRP            uint8 = 2
	ClassNoPath        uint8 = 3
	ClassEndPoints     uint8 = 4
	ClassBandwidth     uint8 = 5
	ClassMetric        uint8 = 6
	ClassERO           uint8 = 7
	ClassRRO           uint8 = 8
	ClassLSPA          uint8 = 9
	ClassIRO           uint8 = 10
	ClassSVEC          uint8 = 11
	ClassNotification  uint8 = 12
	ClassPCEPError     uint8 = 13
	ClassLoadBalancing uint8 = 14
	ClassClose         uint8 = 15
	ClassPathKey       uint8 = 16
	ClassXRO           uint8 = 17
	ClassOF            uint8 = 21
	ClassLSP           uint8 = 32
	ClassSRP           uint8 = 33
	ClassVendorInfo    uint8 = 34
	ClassAssociation   uint8 = 40
)

// ObjFlags are the P (processing rule) and I (ignore) flags of an object's
// common header (RFC 5440 section 7.2).
type ObjFlags struct {
	P bool
	I bool
}

// OpenObject is the OPEN object (class 1) with the TLVs a PCEP speaker
// advertises in it. Version is always 1 and is not stored.
type OpenObject struct {
	ObjFlags
	Flags     uint8 // 5 bits, unassigned
	Keepalive uint8 // seconds, 0 = no keepalives
	DeadTimer uint8 // seconds
	SessionID uint8

	// Stateful is the STATEFUL-PCE-CAPABILITY TLV (16), nil when absent.
	Stateful *StatefulCapability
	// PST is the PATH-SETUP-TYPE-CAPABILITY TLV (34), nil when absent.
	PST *PSTCapability
	// AssocTypes is the ASSOC-TYPE-LIST TLV (35), nil when absent.
	AssocTypes []uint16
	// SRPolicy is the SR-POLICY-CAPABILITY TLV (71), nil when absent.
	SRPolicy *SRPolicyCapability
	// SpeakerEntityID is the SPEAKER-ENTITY-ID TLV (24), nil when absent.
	SpeakerEntityID []byte
	// HasDBVersion marks the LSP-DB-VERSION TLV (23).
	HasDBVersion bool
	DBVersion    uint64
	// Unknown holds TLVs this codec does not know, in arrival order.
	Unknown []RawTLV
}

// STATEFUL-PCE-CAPABILITY flags (RFC 8231, 8281, 8232, 9863).
const (
	StatefulUpdate          uint32 = 0x01  // U: LSP update capability
	StatefulIncludeDBVer    uint32 = 0x02  // S
	StatefulInstantiation   uint32 = 0x04  // I (RFC 8281)
	StatefulTriggeredResync uint32 = 0x08  // T (RFC 8232)
	StatefulDeltaSync       uint32 = 0x10  // D (RFC 8232)
	StatefulTriggeredInit   uint32 = 0x20  // F (RFC 8232)
	StatefulColor           uint32 = 0x800 // color capability (RFC 9863)
)

// StatefulCapability is the STATEFUL-PCE-CAPABILITY TLV.
type StatefulCapability struct {
	Flags uint32
}

// Path setup types (RFC 8408, 8664, 9603).
const (
	PSTRSVPTE uint8 = 0
	PSTSRMPLS uint8 = 1
	PSTSRv6   uint8 = 3
)

// PSTCapability is the PATH-SETUP-TYPE-CAPABILITY TLV with its sub-TLVs.
type PSTCapability struct {
	PSTs []uint8
	// SR is the SR-PCE-CAPABILITY sub-TLV (26), nil when absent.
	SR *SRPCECapability
	// Unknown holds unknown sub-TLVs.
	Unknown []RawTLV
}

// SR-PCE-CAPABILITY flags (RFC 8664).
const (
	SRCapNoMSDLimit uint8 = 0x01 // X
	SRCapResolveNAI uint8 = 0x02 // N
)

// SRPCECapability is the SR-PCE-CAPABILITY sub-TLV.
type SRPCECapability struct {
	Flags uint8
	MSD   uint8
}

// SRPolicyCapability is the SR-POLICY-CAPABILITY TLV (RFC 9862).
type SRPolicyCapability struct {
	Flags uint32
}

// RawTLV is a TLV kept as bytes: its value, unpadded.
type RawTLV struct {
	Type  uint16
	Value []byte
}

// RP flags (RFC 5440 section 7.4, with later additions as raw bits).
const (
	RPPriorityMask uint32 = 0x07
	RPReoptimize   uint32 = 0x08 // R
	RPBidirection  uint32 = 0x10 // B
	RPStrict       uint32 = 0x20 // O
)

// RP is the request parameters object (class 2).
type RP struct {
	ObjFlags
	Flags     uint32
	RequestID uint32
	HasPST    bool
	PST       uint8
	Unknown   []RawTLV
}

// NoPath is the NO-PATH object (class 3).
type NoPath struct {
	ObjFlags
	NatureOfIssue uint8
	Flags         uint16 // C = 0x8000
	Unknown       []RawTLV
}

// EndPoints is the END-POINTS object (class 4, type 1 for IPv4, 2 for IPv6:
// the type follows the address family of Source).
type EndPoints struct {
	ObjFlags
	Source      netip.Addr
	Destination netip.Addr
}

// Bandwidth object types.
const (
	BandwidthRequested uint8 = 1
	BandwidthExisting  uint8 = 2
)

// Bandwidth is the BANDWIDTH object (class 5), in bytes per second.
type Bandwidth struct {
	ObjFlags
	Type      uint8
	Bandwidth float32
}

// Metric types used by this project.
const (
	MetricIGP      uint8 = 1
	MetricTE       uint8 = 2
	MetricHopCount uint8 = 3
	MetricSIDDepth uint8 = 11
)

// Metric flags.
const (
	MetricBound    uint8 = 0x01 // B
	MetricComputed uint8 = 0x02 // C
)

// Metric is the METRIC object (class 6).
type Metric struct {
	ObjFlags
	Flags uint8
	Type  uint8
	Value float32
}

// ERO is an explicit route (class 7); the same shape carries the RRO
// (class 8) and IRO (class 10).
type ERO struct {
	ObjFlags
	Subobjects []Subobject
}

// Subobject types.
const (
	SubIPv4Prefix uint8 = 1
	SubIPv6Prefix uint8 = 2
	SubLabel      uint8 = 3
	SubUnnumbered uint8 = 4
	SubASNumber   uint8 = 32
	SubSR         uint8 = 36
)

// NAI types of an SR subobject (RFC 8664 section 4.3.1).
const (
	NAIAbsent         uint8 = 0
	NAIIPv4Node       uint8 = 1
	NAIIPv6Node       uint8 = 2
	NAIIPv4Adjacency  uint8 = 3
	NAIIPv6Adjacency  uint8 = 4 // global IPv6 addresses
	NAIUnnumberedIPv4 uint8 = 5
	NAIIPv6LinkLocal  uint8 = 6
)

// SR subobject flags (RFC 8664 section 4.3.1).
const (
	SRFlagM uint16 = 0x001 // SID is an MPLS label stack entry
	SRFlagC uint16 = 0x002 // TC, S and TTL are set by the PCE
	SRFlagS uint16 = 0x004 // SID absent
	SRFlagF uint16 = 0x008 // NAI absent
)

// Subobject is one ERO/RRO/IRO subobject. It is a flat value rather than an
// interface so that a decoded route is a single allocation (for the ERO of a
// PCRpt or PCUpd with one entry, part of the message's own allocation). The
// common subobject of an SR-MPLS path, a label without NAI, fits in its 24
// bytes; addresses and identifiers live in NAI, allocated only for the
// subobjects that carry them, because the garbage collector's cost of a
// decode grows with every byte allocated.
//
// Type selects which fields are meaningful:
//   - SubSR: NT, SRFlags, SID (when SRFlagS is clear), and NAI when the
//     subobject carries one (SRFlagF clear and NT not NAIAbsent).
//   - SubIPv4Prefix, SubIPv6Prefix: Attr (the flags/reserved byte) and
//     NAI.Prefix.
//   - SubUnnumbered: NAI.LocalNodeID (router ID), NAI.LocalIfID.
//   - SubASNumber: NAI.LocalNodeID holds the 16-bit AS number.
//   - any other type: NAI.Raw holds the subobject body after the 2-byte
//     header.
//
// The decoder sets NAI for every subobject that is not SubSR, and for a
// SubSR one exactly when it carries a NAI.
type Subobject struct {
	Loose   bool
	Type    uint8
	NT      uint8
	Attr    uint8
	SRFlags uint16
	SID     uint32

	NAI *NAI
}

// NAI holds what a subobject says about a node, an adjacency, a prefix or an
// interface, beyond the SR fields of Subobject (see Subobject for which
// fields each type uses):
//   - SR NT 1, 2: LocalAddr; NT 3, 4: LocalAddr, RemoteAddr;
//     NT 5: LocalNodeID, LocalIfID, RemoteNodeID, RemoteIfID;
//     NT 6: LocalAddr, LocalIfID, RemoteAddr, RemoteIfID.
//   - Raw is the body of a subobject of an unknown type (a string:
//     immutable, and 8 bytes smaller than a slice).
type NAI struct {
	Prefix netip.Prefix

	LocalAddr, RemoteAddr     netip.Addr
	LocalNodeID, RemoteNodeID uint32
	LocalIfID, RemoteIfID     uint32

	Raw string
}

// SRLabel returns the SR subobject for an MPLS label with no NAI (NT 0, F
// and M set), the form a PCC uses for an explicit label stack.
func SRLabel(label uint32) Subobject {
	return Subobject{Type: SubSR, NT: NAIAbsent, SRFlags: SRFlagF | SRFlagM, SID: label << 12}
}

// Label returns the MPLS label of an SR subobject whose SID is a label stack
// entry (M set, S clear), and false otherwise.
func (s Subobject) Label() (uint32, bool) {
	if s.Type != SubSR || s.SRFlags&SRFlagM == 0 || s.SRFlags&SRFlagS != 0 {
		return 0, false
	}
	return s.SID >> 12, true
}

// LSPA is the LSP attributes object (class 9).
type LSPA struct {
	ObjFlags
	ExcludeAny, IncludeAny, IncludeAll uint32
	SetupPriority, HoldingPriority     uint8
	Flags                              uint8 // L = 0x01
	Unknown                            []RawTLV
}

// SVEC is the synchronisation vector object (class 11).
type SVEC struct {
	ObjFlags
	Flags      uint32 // 24 bits
	RequestIDs []uint32
}

// Notification is the NOTIFICATION object (class 12).
type Notification struct {
	ObjFlags
	Flags   uint8
	Type    uint8
	Value   uint8
	Unknown []RawTLV
}

// PCEPError is the PCEP-ERROR object (class 13).
type PCEPError struct {
	ObjFlags
	Flags   uint8
	Type    uint8
	Value   uint8
	Unknown []RawTLV
}

// Close reasons (RFC 5440 section 7.17).
const (
	CloseNoReason          uint8 = 1
	CloseDeadTimer         uint8 = 2
	CloseMalformed         uint8 = 3
	CloseTooManyUnknownReq uint8 = 4
	CloseTooManyUnknownMsg uint8 = 5
)

// CloseObject is the CLOSE object (class 15).
type CloseObject struct {
	ObjFlags
	Flags   uint8
	Reason  uint8
	Unknown []RawTLV
}

// LSP object flags (RFC 8231 section 7.3, RFC 8281). The operational
// status is the 3-bit field under LSPOperMask.
const (
	LSPDelegate  uint16 = 0x001 // D
	LSPSync      uint16 = 0x002 // S
	LSPRemove    uint16 = 0x004 // R
	LSPAdmin     uint16 = 0x008 // A
	LSPOperMask  uint16 = 0x070 // O
	LSPOperShift        = 4
	LSPCreate    uint16 = 0x080 // C: PCE-initiated (RFC 8281)
)

// Operational status values of the LSP object O field.
const (
	OperDown      uint8 = 0
	OperUp        uint8 = 1
	OperActive    uint8 = 2
	OperGoingDown uint8 = 3
	OperGoingUp   uint8 = 4
)

// Largest PLSP-ID (20 bits). PLSP-ID 0 and 0xFFFFF are reserved.
const MaxPLSPID uint32 = 0xFFFFF

// LSP is the LSP object (class 32) with its TLVs.
//
// The fields are ordered to keep padding small (152 bytes): the LSP is part of
// every report and update, and a decoded PCRpt or PCUpd is allocated in one
// block whose size class this decides.
type LSP struct {
	ObjFlags
	PLSPID uint32 // 20 bits
	Flags  uint16 // 12 bits, see LSPDelegate etc.

	// HasColor marks the COLOR TLV (67, RFC 9863).
	HasColor bool
	Color    uint32
	// SymbolicName is the SYMBOLIC-PATH-NAME TLV (17), "" when absent.
	SymbolicName string
	// Identifiers is the IPV4- or IPV6-LSP-IDENTIFIERS TLV (18/19), nil when
	// absent. A pointer: the TLV is 72 bytes of addresses that a PCUpd never
	// carries.
	Identifiers *LSPIdentifiers
	// ErrorCode is the LSP-ERROR-CODE TLV (20), 0 when absent.
	ErrorCode uint32
	// HasDBVersion marks the LSP-DB-VERSION TLV (23).
	HasDBVersion bool
	DBVersion    uint64
	// Unknown holds unknown TLVs, and RSVP-ERROR-SPEC (21) as received.
	Unknown []RawTLV
}

// Oper returns the operational status of the LSP.
func (l *LSP) Oper() uint8 { return uint8((l.Flags & LSPOperMask) >> LSPOperShift) }

// SetOper sets the operational status of the LSP.
func (l *LSP) SetOper(o uint8) {
	l.Flags = l.Flags&^LSPOperMask | uint16(o&7)<<LSPOperShift
}

// LSP-ERROR-CODE values (RFC 8231 section 7.3.3).
const (
	LSPErrUnknown        uint32 = 1
	LSPErrLimitReached   uint32 = 2
	LSPErrTooManyPending uint32 = 3
	LSPErrUnacceptable   uint32 = 4
	LSPErrInternal       uint32 = 5
	LSPErrAdminDown      uint32 = 6
	LSPErrPreempted      uint32 = 7
	LSPErrRSVPSignalling uint32 = 8
)

// LSPIdentifiers is the IPV4-LSP-IDENTIFIERS (all addresses IPv4) or
// IPV6-LSP-IDENTIFIERS (all IPv6) TLV.
type LSPIdentifiers struct {
	Sender           netip.Addr
	LSPID            uint16
	TunnelID         uint16
	ExtendedTunnelID netip.Addr
	Endpoint         netip.Addr
}

// SRP flags (RFC 8281, RFC 8741).
const (
	SRPRemove  uint32 = 0x00000001 // R
	SRPControl uint32 = 0x00000002 // C: LSP control request (RFC 8741)
)

// SRP is the stateful request parameters object (class 33).
type SRP struct {
	ObjFlags
	Flags   uint32
	SRPID   uint32
	HasPST  bool
	PST     uint8
	Unknown []RawTLV
}

// VendorInformation is the VENDOR-INFORMATION object (class 34).
type VendorInformation struct {
	ObjFlags
	Enterprise uint32
	Data       []byte
}

// Association types (RFC 8697, 9862).
const (
	AssocPathProtection uint16 = 1
	AssocPolicy         uint16 = 3
	AssocSRPolicy       uint16 = 6
)

// Association flags.
const (
	AssocRemove uint16 = 0x0001 // R
)

// CPath protocol origins (RFC 9862).
const (
	OriginPCEP   uint8 = 10
	OriginBGP    uint8 = 20
	OriginConfig uint8 = 30
)

// Association is the ASSOCIATION object (class 40, type 1 for an IPv4
// source, 2 for IPv6). For SR policy associations (type 6) the
// EXTENDED-ASSOCIATION-ID is decoded into Color and Endpoint; for other types
// it is kept in ExtendedID.
type Association struct {
	ObjFlags
	Flags  uint16
	Type   uint16
	ID     uint16
	Source netip.Addr

	// Color and Endpoint form the EXTENDED-ASSOCIATION-ID of an SR policy;
	// present when Endpoint is valid.
	Color    uint32
	Endpoint netip.Addr
	// ExtendedID is the raw EXTENDED-ASSOCIATION-ID (31) of other types.
	ExtendedID []byte

	// PolicyName is SRPOLICY-POL-NAME (56), "" when absent.
	PolicyName string
	// HasCPathID marks SRPOLICY-CPATH-ID (57).
	HasCPathID bool
	CPathID    CPathID
	// CPathName is SRPOLICY-CPATH-NAME (58), "" when absent.
	CPathName string
	// HasPreference marks SRPOLICY-CPATH-PREFERENCE (59).
	HasPreference bool
	Preference    uint32

	Unknown []RawTLV
}

// CPathID is the SRPOLICY-CPATH-ID TLV.
type CPathID struct {
	Origin uint8
	ASN    uint32
	// Originator is the 128-bit originator address; an IPv4 address is
	// carried in the low 32 bits.
	Originator    netip.Addr
	Discriminator uint32
}

// TLV types (see PCEP-CODEPOINTS).
const (
	TLVStatefulCapability uint16 = 16
	TLVSymbolicPathName   uint16 = 17
	TLVIPv4LSPIdentifiers uint16 = 18
	TLVIPv6LSPIdentifiers uint16 = 19
	TLVLSPErrorCode       uint16 = 20
	TLVRSVPErrorSpec      uint16 = 21
	TLVLSPDBVersion       uint16 = 23
	TLVSpeakerEntityID    uint16 = 24
	TLVSRPCECapability    uint16 = 26
	TLVPathSetupType      uint16 = 28
	TLVExtendedAssocID    uint16 = 31
	TLVPSTCapability      uint16 = 34
	TLVAssocTypeList      uint16 = 35
	TLVSRPolicyPolName    uint16 = 56
	TLVSRPolicyCPathID    uint16 = 57
	TLVSRPolicyCPathName  uint16 = 58
	TLVSRPolicyCPathPref  uint16 = 59
	TLVColor              uint16 = 67
	TLVSRPolicyCapability uint16 = 71
)
