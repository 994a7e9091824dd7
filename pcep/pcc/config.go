// Package pcc is the stateful PCEP client (PCC) engine a router agent embeds:
// it keeps a session to every candidate PCE server, owns the LSP database,
// reports LSPs to every server, delegates them to the selected one, applies
// path updates, answers control requests (RFC 8741) and PCE-initiated LSPs
// (RFC 8281), and emits an event for every change of a session or an LSP.
//
// The engine is an actor: one goroutine owns the LSP database and the server
// table; sessions, timers and API calls send it messages.
package pcc

import (
	"net/netip"
	"time"
)

// ControlPolicy says how the engine answers an RFC 8741 control request for
// an LSP that is not delegated.
type ControlPolicy uint8

// Control request policies.
const (
	// ControlGrant delegates the LSP to the requesting server (PCRpt D=1).
	ControlGrant ControlPolicy = iota
	// ControlDeny answers with a PCRpt D=0.
	ControlDeny
	// ControlIgnore sends nothing.
	ControlIgnore
)

// String returns the YANG enum name of the policy.
func (p ControlPolicy) String() string {
	switch p {
	case ControlGrant:
		return "grant"
	case ControlDeny:
		return "deny"
	case ControlIgnore:
		return "ignore"
	}
	return "unknown"
}

// Config is the whole engine configuration; Apply takes it as one value.
// Its zero value is not useful: start from DefaultConfig.
type Config struct {
	Enabled              bool
	SegmentRouting       bool
	MSD                  uint8
	LSRID                netip.Addr // invalid = not set
	SourceInterface      string     // "" = not set
	Keepalive            uint8      // seconds, 0 = none
	DeadTimer            uint8      // seconds
	DelegateHold         time.Duration
	StateTimeout         time.Duration
	PCEInitiated         bool
	ControlRequestPolicy ControlPolicy
	Servers              []ServerConfig
	Policies             []PolicyConfig
}

// ServerConfig is one candidate PCE server.
type ServerConfig struct {
	Address     netip.Addr
	Port        uint16
	Preference  uint8 // 0..7, higher wins; ties to the smallest address
	Description string
}

// PolicyConfig is one locally configured SR-MPLS TE policy (a PCC-initiated LSP).
type PolicyConfig struct {
	Name       string // symbolic path name, unique
	Color      uint32
	Endpoint   netip.Addr
	Preference uint32
	Delegate   bool
	Labels     []uint32 // explicit segment list, top first; empty = compute via PCReq
}

// DefaultConfig returns the configuration defaults of the YANG model.
func DefaultConfig() Config {
	return Config{
		Enabled:              true,
		MSD:                  10,
		Keepalive:            30,
		DeadTimer:            120,
		DelegateHold:         30 * time.Second,
		StateTimeout:         60 * time.Second,
		PCEInitiated:         true,
		ControlRequestPolicy: ControlGrant,
	}
}
