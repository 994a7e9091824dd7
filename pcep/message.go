// Package pcep is the PCEP wire codec: the messages, objects and TLVs of
// RFC 5440 (PCEP), RFC 8231 (stateful PCE), RFC 8281 (PCE-initiated LSPs),
// RFC 8408 and RFC 8664 (segment routing), RFC 8697 and RFC 9862
// (associations, SR policies), RFC 8741 (control requests) and RFC 9863
// (COLOR TLV).
//
// Decoding is strict: every grammar or format error is returned as an *Error
// that carries the PCErr type and value (or the Close reason) the RFCs name,
// so a session can answer the peer without interpreting the failure again.
// Unknown TLVs are kept as raw bytes and re-encoded unchanged. Decoding never
// panics and never allocates more than the message length justifies.
//
// Encoding appends to a caller-owned buffer, so a session that reuses its
// write buffer encodes without allocating.
//
// Optional objects and TLVs on the hot path (PCRpt, PCUpd) are values with a
// presence flag rather than pointers, so that decoding a report costs a fixed,
// small number of allocations.
package pcep

// Version is the only PCEP version (RFC 5440, section 6.1).
const Version = 1

// HeaderLen is the length of the PCEP common header.
const HeaderLen = 4

// MaxMessageLen is the largest message the 16-bit length field can express.
const MaxMessageLen = 65535

// Port is the registered PCEP TCP port.
const Port = 4189

// MessageType is the message-type field of the common header.
type MessageType uint8

// Message types (RFC 5440, 8231, 8281, 8253).
const (
	TypeOpen       MessageType = 1
	TypeKeepalive  MessageType = 2
	TypePCReq      MessageType = 3
	TypePCRep      MessageType = 4
	TypePCNtf      MessageType = 5
	TypePCErr      MessageType = 6
	TypeClose      MessageType = 7
	TypePCRpt      MessageType = 10
	TypePCUpd      MessageType = 11
	TypePCInitiate MessageType = 12
	TypeStartTLS   MessageType = 13
)

// Message is one decoded PCEP message. The concrete types are the pointer
// types below (*Open, *Keepalive, ...).
type Message interface {
	MessageType() MessageType
}

// Open is the Open message: one OPEN object.
type Open struct {
	Open OpenObject
}

// Keepalive is the Keepalive message: a common header only.
type Keepalive struct{}

// PCReq is a path computation request (RFC 5440 section 6.4).
//
//	<PCReq> ::= <Common Header> [<svec-list>] <request-list>
type PCReq struct {
	SVECs    []SVEC
	Requests []Request
}

// Request is one request of a PCReq.
//
//	<request> ::= <RP> <END-POINTS> [<LSP>] [<LSPA>] [<BANDWIDTH>]
//	              [<metric-list>] [<RRO> [<BANDWIDTH>]] [<IRO>]
//	              [<association-list>]
type Request struct {
	RP        RP
	EndPoints EndPoints
	// LSP is present when HasLSP (RFC 8231 section 6.4).
	HasLSP bool
	LSP    LSP
	// RRO is the recorded route of an existing path, nil when absent.
	RRO          *ERO
	RROBandwidth *Bandwidth
	Attributes   *Attributes
}

// PCRep is a path computation reply (RFC 5440 section 6.5).
//
//	<PCRep> ::= <Common Header> <response-list>
type PCRep struct {
	Responses []Response
}

// Response is one response of a PCRep.
//
//	<response> ::= <RP> [<LSP>] [<NO-PATH>] [<attribute-list>] [<path-list>]
//	<path-list> ::= <path> [<path-list>]
//	<path> ::= <ERO> <attribute-list>
type Response struct {
	RP     RP
	HasLSP bool
	LSP    LSP
	// NoPath is non-nil when the PCE found no path.
	NoPath     *NoPath
	Attributes *Attributes
	Paths      []Path
}

// Path is an ERO with the attributes that apply to it.
type Path struct {
	ERO        ERO
	Attributes *Attributes
}

// PCNtf is a notification message (RFC 5440 section 6.6).
//
//	<PCNtf> ::= <Common Header> <notify-list>
//	<notify> ::= [<request-id-list>] <notification-list>
type PCNtf struct {
	Notifies []Notify
}

// Notify is one notify block of a PCNtf.
type Notify struct {
	RPs           []RP
	Notifications []Notification
}

// PCErr is an error message (RFC 5440 section 6.7, RFC 8231 section 6.3).
//
//	<PCErr> ::= <Common Header> ( <error-obj-list> [<Open>] ) | <error> [<error-list>]
//	<error> ::= [<request-id-list> | <stateful-request-id-list>] <error-obj-list>
type PCErr struct {
	Errors []ErrorBlock
	// Open carries acceptable session values with PCErr 1/4, nil otherwise.
	Open *OpenObject
}

// ErrorBlock is one <error>: the requests it is about and its PCEP-ERROR objects.
type ErrorBlock struct {
	RPs    []RP
	SRPs   []SRP
	Errors []PCEPError
}

// Close is the Close message: one CLOSE object.
type Close struct {
	Close CloseObject
}

// PCRpt is a state report (RFC 8231 section 6.1).
//
//	<PCRpt> ::= <Common Header> <state-report-list>
//	<state-report> ::= [<SRP>] <LSP> <path>
//	<path> ::= <intended-path> [<actual-attribute-list> <actual-path>] <intended-attribute-list>
type PCRpt struct {
	Reports []Report
}

// Report is one state report.
type Report struct {
	HasSRP bool
	SRP    SRP
	LSP    LSP
	// ERO is the intended path; it is mandatory in a report (it may be empty,
	// as in the end-of-synchronisation marker).
	ERO ERO
	// RRO is the actual path, nil when absent.
	RRO        *ERO
	Attributes *Attributes
}

// PCUpd is an update request (RFC 8231 section 6.2).
//
//	<PCUpd> ::= <Common Header> <update-request-list>
//	<update-request> ::= <SRP> <LSP> <path>
type PCUpd struct {
	Updates []Update
}

// Update is one update request.
type Update struct {
	SRP        SRP
	LSP        LSP
	ERO        ERO
	Attributes *Attributes
}

// PCInitiate is an LSP initiate request (RFC 8281 section 5.1).
//
//	<PCInitiate> ::= <Common Header> <PCE-initiated-lsp-list>
//	<PCE-initiated-lsp-instantiation> ::= <SRP> <LSP> [<END-POINTS>] <ERO> [<attribute-list>]
//	<PCE-initiated-lsp-deletion> ::= <SRP> <LSP>
type PCInitiate struct {
	Requests []Initiate
}

// Initiate is one instantiation or deletion (SRP R flag) request. An
// instantiation without an ERO and with a non-zero PLSP-ID is an adoption of
// an orphaned LSP; the decoder accepts it and leaves the decision to the PCC.
type Initiate struct {
	SRP          SRP
	LSP          LSP
	HasEndPoints bool
	EndPoints    EndPoints
	HasERO       bool
	ERO          ERO
	Attributes   *Attributes
}

// StartTLS is the StartTLS message of RFC 8253: a common header only.
type StartTLS struct{}

// Attributes is the RFC 5440/8231 <attribute-list>, extended with the
// association list of RFC 8697 and vendor information of RFC 7470. Messages
// hold it by pointer, nil when an entry has none of these objects: most
// PCUpd carry none, and the 128 bytes it would add to every decoded entry
// cost garbage-collector time at high message rates. The decoder allocates
// an Attributes that starts with an ASSOCIATION together with room for that
// association, so a report with its SR policy association costs one
// allocation for both.
type Attributes struct {
	LSPA         *LSPA
	Bandwidths   []Bandwidth
	Metrics      []Metric
	IRO          *ERO
	Associations []Association
	VendorInfo   []VendorInformation
}

// Assocs returns the association list of a, nil when a is nil (an entry
// without attribute objects).
func (a *Attributes) Assocs() []Association {
	if a == nil {
		return nil
	}
	return a.Associations
}

// MessageType implements Message.
func (*Open) MessageType() MessageType { return TypeOpen }

// MessageType implements Message.
func (*Keepalive) MessageType() MessageType { return TypeKeepalive }

// MessageType implements Message.
func (*PCReq) MessageType() MessageType { return TypePCReq }

// MessageType implements Message.
func (*PCRep) MessageType() MessageType { return TypePCRep }

// MessageType implements Message.
func (*PCNtf) MessageType() MessageType { return TypePCNtf }

// MessageType implements Message.
func (*PCErr) MessageType() MessageType { return TypePCErr }

// MessageType implements Message.
func (*Close) MessageType() MessageType { return TypeClose }

// MessageType implements Message.
func (*PCRpt) MessageType() MessageType { return TypePCRpt }

// MessageType implements Message.
func (*PCUpd) MessageType() MessageType { return TypePCUpd }

// MessageType implements Message.
func (*PCInitiate) MessageType() MessageType { return TypePCInitiate }

// MessageType implements Message.
func (*StartTLS) MessageType() MessageType { return TypeStartTLS }

// String returns the RFC name of the message type.
func (t MessageType) String() string {
	switch t {
	case TypeOpen:
		return "Open"
	case TypeKeepalive:
		return "Keepalive"
	case TypePCReq:
		return "PCReq"
	case TypePCRep:
		return "PCRep"
	case TypePCNtf:
		return "PCNtf"
	case TypePCErr:
		return "PCErr"
	case TypeClose:
		return "Close"
	case TypePCRpt:
		return "PCRpt"
	case TypePCUpd:
		return "PCUpd"
	case TypePCInitiate:
		return "PCInitiate"
	case TypeStartTLS:
		return "StartTLS"
	}
	return "Unknown(" + itoa(uint64(t)) + ")"
}

// itoa formats n in decimal without fmt, for String methods on hot paths.
func itoa(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return string(b[i:])
}
