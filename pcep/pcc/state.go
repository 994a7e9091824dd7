package pcc

import (
	"net/netip"
	"time"
)

// SessionState is the RFC 5440 state of a server's session.
type SessionState uint8

// Session states, as named in the YANG model.
const (
	StateIdle SessionState = iota
	StateConnecting
	StateOpenWait
	StateKeepWait
	StateUp
)

// String returns the YANG enum name.
func (s SessionState) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateConnecting:
		return "connecting"
	case StateOpenWait:
		return "open-wait"
	case StateKeepWait:
		return "keep-wait"
	case StateUp:
		return "up"
	}
	return "unknown"
}

// Counters are a server session's message counters.
type Counters struct {
	MessagesSent, MessagesReceived uint64
	PCRptSent, PCUpdReceived       uint64
	PCInitiateReceived             uint64
	PCErrSent, PCErrReceived       uint64
	PCReqSent, PCRepReceived       uint64
}

// ServerState is the operational state of one configured server.
type ServerState struct {
	Config           ServerConfig
	SessionState     SessionState
	Selected         bool
	LocalAddress     netip.Addr // invalid when no session
	Keepalive        uint8      // the peer's values from its Open
	DeadTimer        uint8
	Stateful         bool // peer capabilities
	LSPUpdate        bool
	LSPInstantiation bool
	SegmentRouting   bool
	LastError        string
	LastStateChange  time.Time
	Counters         Counters
}

// Origin says who created an LSP.
type Origin uint8

// LSP origins.
const (
	OriginPCC Origin = iota // locally configured policy
	OriginPCE               // PCE-initiated (RFC 8281)
)

// String returns the YANG enum name.
func (o Origin) String() string {
	if o == OriginPCE {
		return "pce"
	}
	return "pcc"
}

// OperStatus is the LSP operational status (the LSP object O field).
type OperStatus uint8

// Operational statuses, numbered as on the wire.
const (
	OperDown OperStatus = iota
	OperUp
	OperActive
	OperGoingDown
	OperGoingUp
)

// String returns the YANG enum name.
func (o OperStatus) String() string {
	switch o {
	case OperDown:
		return "down"
	case OperUp:
		return "up"
	case OperActive:
		return "active"
	case OperGoingDown:
		return "going-down"
	case OperGoingUp:
		return "going-up"
	}
	return "unknown"
}

// LSPState is the operational state of one LSP, as telemetry shows it.
// Values handed out by the engine are copies; Labels is never shared with
// the engine's own state.
type LSPState struct {
	Name        string
	PLSPID      uint32
	Origin      Origin
	Color       uint32
	Endpoint    netip.Addr
	Preference  uint32
	OperStatus  OperStatus
	Delegated   bool
	DelegatedTo netip.Addr // invalid when not delegated
	Labels      []uint32   // segment list in force, top first
	Updates     uint64     // PCUpd applied
	LastSRPID   uint32
	LastChange  time.Time
}
