package pcc

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/pccagent/pccagent/pcep"
)

// ConfigError says why Apply refused a configuration. The engine state is
// unchanged when Apply returns one. Path names the offending leaf in the
// YANG model's terms (for example "policies/policy[to-pe3]/labels").
type ConfigError struct {
	Path   string
	Reason string
}

// Error implements error.
func (e *ConfigError) Error() string {
	if e.Path == "" {
		return "pcc: invalid config: " + e.Reason
	}
	return "pcc: invalid config: " + e.Path + ": " + e.Reason
}

func cfgErr(path, format string, args ...any) *ConfigError {
	return &ConfigError{Path: path, Reason: fmt.Sprintf(format, args...)}
}

// Label range of an MPLS label a segment list may carry (0..15 are reserved).
const (
	MinLabel uint32 = 16
	MaxLabel uint32 = 1048575
)

// maxHoldSeconds is the largest delegate-hold and state-timeout (uint16 seconds).
const maxHoldSeconds = 65535

// validate checks every rule of a configuration (actor: it also checks names
// against PCE-initiated LSPs and the PLSP-ID space). It normalises addresses
// (IPv4-mapped IPv6 to IPv4) and the default port in place.
func (e *Engine) validate(c *Config) error {
	if c.MSD < 1 {
		return cfgErr("config/msd", "must be at least 1")
	}
	if c.Keepalive != 0 && c.DeadTimer < c.Keepalive {
		return cfgErr("config/dead-timer", "%d is less than keepalive %d", c.DeadTimer, c.Keepalive)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"config/delegate-hold", c.DelegateHold}, {"config/state-timeout", c.StateTimeout}} {
		if d.v < 0 || d.v > maxHoldSeconds*time.Second {
			return cfgErr(d.name, "%v is out of range 0..%ds", d.v, maxHoldSeconds)
		}
	}
	if c.StateTimeout < c.DelegateHold {
		return cfgErr("config/state-timeout", "%v is less than delegate-hold %v", c.StateTimeout, c.DelegateHold)
	}
	if c.ControlRequestPolicy > ControlIgnore {
		return cfgErr("config/control-request-policy", "unknown policy %d", c.ControlRequestPolicy)
	}
	if c.LSRID.IsValid() {
		c.LSRID = c.LSRID.Unmap()
		if c.LSRID.IsUnspecified() || c.LSRID.IsMulticast() || c.LSRID.Zone() != "" {
			return cfgErr("config/lsr-id", "%s is not a usable address", c.LSRID)
		}
	}
	seenSrv := make(map[netip.Addr]bool, len(c.Servers))
	for i := range c.Servers {
		s := &c.Servers[i]
		if !s.Address.IsValid() {
			return cfgErr("servers/server", "server %d has no address", i)
		}
		s.Address = s.Address.Unmap()
		path := "servers/server[" + s.Address.String() + "]"
		if s.Address.IsUnspecified() || s.Address.IsMulticast() || s.Address.Zone() != "" {
			return cfgErr(path+"/address", "%s is not a usable address", s.Address)
		}
		if seenSrv[s.Address] {
			return cfgErr(path, "configured twice")
		}
		seenSrv[s.Address] = true
		if s.Preference > 7 {
			return cfgErr(path+"/preference", "%d is out of range 0..7", s.Preference)
		}
		if s.Port == 0 {
			s.Port = pcep.Port
		}
	}
	seenPol := make(map[string]bool, len(c.Policies))
	for i := range c.Policies {
		p := &c.Policies[i]
		if p.Name == "" {
			return cfgErr("policies/policy", "policy %d has no name", i)
		}
		if len(p.Name) > 255 {
			return cfgErr(policyPath(p.Name)+"/name", "longer than 255 bytes")
		}
		if seenPol[p.Name] {
			return cfgErr(policyPath(p.Name), "configured twice")
		}
		seenPol[p.Name] = true
		if l := e.byName[p.Name]; l != nil && l.origin == OriginPCE {
			return cfgErr(policyPath(p.Name)+"/name", "in use by a PCE-initiated LSP (PLSP-ID %d)", l.plspID)
		}
		if !p.Endpoint.IsValid() {
			return cfgErr(policyPath(p.Name)+"/endpoint", "missing")
		}
		p.Endpoint = p.Endpoint.Unmap()
		if p.Endpoint.IsUnspecified() || p.Endpoint.IsMulticast() || p.Endpoint.Zone() != "" {
			return cfgErr(policyPath(p.Name)+"/endpoint", "%s is not a usable address", p.Endpoint)
		}
		if err := checkLabels(p.Labels, c.MSD); err != nil {
			return cfgErr(policyPath(p.Name)+"/labels", "%s", err)
		}
	}
	if len(c.Policies)+e.pceCount > int(pcep.MaxPLSPID)-1 {
		return cfgErr("policies", "%d policies and %d PCE-initiated LSPs exceed the PLSP-ID space", len(c.Policies), e.pceCount)
	}
	return nil
}

// policyPath names a policy in an error. It is built only when there is an
// error: Apply validates every policy on every change, and at 10,000
// policies a path string per policy would cost more than the checks.
func policyPath(name string) string { return "policies/policy[" + name + "]" }

// checkLabels checks a segment list: every label in 16..1048575 and no
// deeper than msd.
func checkLabels(labels []uint32, msd uint8) error {
	if len(labels) > int(msd) {
		return fmt.Errorf("%d labels exceed the maximum SID depth %d", len(labels), msd)
	}
	for _, l := range labels {
		if l < MinLabel || l > MaxLabel {
			return fmt.Errorf("label %d is out of range %d..%d", l, MinLabel, MaxLabel)
		}
	}
	return nil
}
