package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/openconfig/ygot/ygot"

	"github.com/pccagent/pccagent/gen/pccagentyang"
	"github.com/pccagent/pccagent/pcep/pcc"
)

// Short names for the generated types the datastore handles.
type (
	yDevice       = pccagentyang.Device
	yPceClient    = pccagentyang.PccAgent_PceClient
	yGlobalConfig = pccagentyang.PccAgent_PceClient_Config
	yServers      = pccagentyang.PccAgent_PceClient_Servers
	yServer       = pccagentyang.PccAgent_PceClient_Servers_Server
	yPolicies     = pccagentyang.PccAgent_PceClient_Policies
	yPolicy       = pccagentyang.PccAgent_PceClient_Policies_Policy
)

// store is the running configuration: the ygot tree (configuration only),
// the engine configuration made from it and the RFC 7951 encoding of each
// list entry, kept so that persisting after a one-leaf change costs a copy
// of bytes rather than a re-encoding of the whole tree. A Set changes only
// the parts it touches, in place, and keeps an undo log that puts them back
// if any step of the transaction fails; the store is only used under the
// agent's Set lock.
type store struct {
	root *yDevice
	cfg  pcc.Config // Servers sorted by their list key, Policies by name

	globalJSON []byte   // the pce-client/config container, nil if absent
	serverKeys []string // list keys, parallel to cfg.Servers
	serverJSON [][]byte // parallel to cfg.Servers
	policyJSON [][]byte // parallel to cfg.Policies
}

// emptyStore is the running configuration of a missing config file.
func emptyStore() *store {
	return &store{root: &yDevice{}, cfg: globalToPCC(nil, pcc.Config{})}
}

// globalToPCC returns base with the global settings of c (nil = all
// defaults) filled in; the YANG defaults come from the generated getters.
func globalToPCC(c *yGlobalConfig, base pcc.Config) pcc.Config {
	base.Enabled = c.GetEnabled()
	base.SegmentRouting = c.GetCapabilitySegmentRouting()
	base.MSD = c.GetMsd()
	base.LSRID = netip.Addr{}
	if c.GetLsrId() != "" {
		base.LSRID, _ = netip.ParseAddr(c.GetLsrId()) // checked by validation
	}
	base.SourceInterface = c.GetSourceInterface()
	base.Keepalive = c.GetKeepalive()
	base.DeadTimer = c.GetDeadTimer()
	base.DelegateHold = time.Duration(c.GetDelegateHold()) * time.Second
	base.StateTimeout = time.Duration(c.GetStateTimeout()) * time.Second
	base.PCEInitiated = c.GetPceInitiated()
	switch c.GetControlRequestPolicy() {
	case pccagentyang.PccAgent_ControlRequestPolicy_deny:
		base.ControlRequestPolicy = pcc.ControlDeny
	case pccagentyang.PccAgent_ControlRequestPolicy_ignore:
		base.ControlRequestPolicy = pcc.ControlIgnore
	default:
		base.ControlRequestPolicy = pcc.ControlGrant
	}
	return base
}

// checkGlobal makes the semantic checks YANG validation does not make on the
// global config container.
func checkGlobal(c *yGlobalConfig) error {
	if c.GetStateTimeout() < c.GetDelegateHold() {
		return fmt.Errorf("/pce-client/config: state-timeout (%d) must be greater than or equal to delegate-hold (%d)", c.GetStateTimeout(), c.GetDelegateHold())
	}
	if s := c.GetLsrId(); s != "" {
		if _, err := parseAddr(s); err != nil {
			return fmt.Errorf("/pce-client/config/lsr-id: %w", err)
		}
	}
	return nil
}

// parseAddr parses an ip-address leaf value; zones are not accepted.
func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", s)
	}
	if a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%q: zones are not accepted", s)
	}
	return a, nil
}

// serverToPCC checks one server entry and converts it.
func serverToPCC(key string, e *yServer) (pcc.ServerConfig, error) {
	where := fmt.Sprintf("/pce-client/servers/server[address=%s]", key)
	a, err := parseAddr(key)
	if err != nil {
		return pcc.ServerConfig{}, fmt.Errorf("%s: %w", where, err)
	}
	if c := a.String(); c != key {
		return pcc.ServerConfig{}, fmt.Errorf("%s: write the address in its canonical form %q", where, c)
	}
	if e.GetAddress() != key {
		return pcc.ServerConfig{}, fmt.Errorf("%s: key leaf address is %q", where, e.GetAddress())
	}
	c := e.GetConfig()
	if c.GetAddress() != key {
		return pcc.ServerConfig{}, fmt.Errorf("%s: config/address %q differs from the list key", where, c.GetAddress())
	}
	return pcc.ServerConfig{
		Address:     a,
		Port:        c.GetPort(),
		Preference:  c.GetPreference(),
		Description: c.GetDescription(),
	}, nil
}

// policyToPCC checks one policy entry and converts it.
func policyToPCC(key string, e *yPolicy) (pcc.PolicyConfig, error) {
	where := fmt.Sprintf("/pce-client/policies/policy[name=%s]", key)
	if e.GetName() != key {
		return pcc.PolicyConfig{}, fmt.Errorf("%s: key leaf name is %q", where, e.GetName())
	}
	c := e.GetConfig()
	if c.GetName() != key {
		return pcc.PolicyConfig{}, fmt.Errorf("%s: config/name %q differs from the list key", where, c.GetName())
	}
	if c.GetColor() == 0 && c.Color == nil {
		return pcc.PolicyConfig{}, fmt.Errorf("%s: config/color is mandatory", where)
	}
	if c.GetEndpoint() == "" {
		return pcc.PolicyConfig{}, fmt.Errorf("%s: config/endpoint is mandatory", where)
	}
	ep, err := parseAddr(c.GetEndpoint())
	if err != nil {
		return pcc.PolicyConfig{}, fmt.Errorf("%s/config/endpoint: %w", where, err)
	}
	return pcc.PolicyConfig{
		Name:       key,
		Color:      c.GetColor(),
		Endpoint:   ep,
		Preference: c.GetPreference(),
		Delegate:   c.GetDelegate(),
		Labels:     slices.Clone(c.Labels),
	}, nil
}

// fillKeys sets the config copy of a list entry's key when the request
// gave only the key (e.g. an update of one leaf of a new entry), so that
// operators need not repeat it.
func fillServerKey(key string, e *yServer) {
	if e.Address == nil {
		e.Address = ygot.String(key)
	}
	if c := e.GetOrCreateConfig(); c.Address == nil {
		c.Address = ygot.String(key)
	}
}

func fillPolicyKey(key string, e *yPolicy) {
	if e.Name == nil {
		e.Name = ygot.String(key)
	}
	if c := e.GetOrCreateConfig(); c.Name == nil {
		c.Name = ygot.String(key)
	}
}

// encodeJSON returns the compact RFC 7951 encoding of a subtree whose
// members all belong to the pcc-agent module (so none is qualified).
func encodeJSON(s ygot.GoStruct) ([]byte, error) {
	m, err := ygot.ConstructIETFJSON(s, nil)
	if err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

// build makes a store from a whole tree: it validates it against
// the YANG model, checks it and converts it. It is used at start and for
// changes that touch the whole tree.
//
// Validation runs per part (the global config container and each list
// entry): ygot's whole-tree validation resolves every leafref from the root
// and grows with the square of the number of entries.
func build(root *yDevice) (*store, error) {
	c := &store{root: root}
	pc := root.GetPceClient()
	if err := checkGlobal(pc.GetConfig()); err != nil {
		return nil, err
	}
	if g := pc.GetConfig(); g != nil {
		if err := g.Validate(); err != nil {
			return nil, fmt.Errorf("/pce-client/config: %s", cleanMsg(err))
		}
	}
	c.cfg = globalToPCC(pc.GetConfig(), pcc.Config{})
	if g := pc.GetConfig(); g != nil {
		b, err := encodeJSON(g)
		if err != nil {
			return nil, err
		}
		c.globalJSON = b
	}
	for _, k := range sortedMapKeys(serverMap(pc)) {
		e := serverMap(pc)[k]
		sc, err := serverToPCC(k, e)
		if err != nil {
			return nil, err
		}
		if err := e.Validate(); err != nil {
			return nil, fmt.Errorf("/pce-client/servers/server[address=%s]: %s", k, cleanMsg(err))
		}
		b, err := encodeJSON(e)
		if err != nil {
			return nil, err
		}
		c.cfg.Servers = append(c.cfg.Servers, sc)
		c.serverKeys = append(c.serverKeys, k)
		c.serverJSON = append(c.serverJSON, b)
	}
	pols := policyMap(pc)
	c.cfg.Policies = make([]pcc.PolicyConfig, 0, len(pols))
	c.policyJSON = make([][]byte, 0, len(pols))
	var arena jsonArena
	for _, k := range sortedMapKeys(pols) {
		e := pols[k]
		pcfg, err := policyToPCC(k, e)
		if err != nil {
			return nil, err
		}
		if err := e.Validate(); err != nil {
			return nil, fmt.Errorf("/pce-client/policies/policy[name=%s]: %s", k, cleanMsg(err))
		}
		b, err := encodeJSON(e)
		if err != nil {
			return nil, err
		}
		c.cfg.Policies = append(c.cfg.Policies, pcfg)
		c.policyJSON = append(c.policyJSON, arena.keep(b))
	}
	return c, nil
}

// jsonArenaChunk is the size of the blocks a jsonArena copies into.
const jsonArenaChunk = 256 << 10

// jsonArena keeps the encodings of many list entries in a few large blocks
// rather than one small allocation each: a configuration of 100,000
// policies holds as many encodings, and small objects kept among the
// garbage of their making leave much of their memory pages unusable.
type jsonArena struct {
	buf []byte
}

// keep returns a copy of b in the arena. The copy's capacity is its length,
// so that an append to it never writes into the arena.
func (a *jsonArena) keep(b []byte) []byte {
	if len(b) > cap(a.buf)-len(a.buf) {
		a.buf = make([]byte, 0, max(jsonArenaChunk, len(b)))
	}
	start := len(a.buf)
	a.buf = append(a.buf, b...)
	return a.buf[start:len(a.buf):len(a.buf)]
}

func sortedMapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendFile appends the configuration file to dst: RFC 7951 JSON with the
// module-qualified pce-client member, one list entry per line, entries
// sorted by key, so that the file diffs well and is the same for the same
// configuration. Reusing dst keeps a Set from allocating the whole file.
func (c *store) appendFile(dst []byte) []byte {
	if c.globalJSON == nil && len(c.serverJSON) == 0 && len(c.policyJSON) == 0 {
		if c.root.PceClient == nil {
			return append(dst, "{}\n"...)
		}
		return append(dst, "{\n  \""+Module+":pce-client\": {}\n}\n"...)
	}
	buf := bytes.NewBuffer(dst)
	buf.WriteString("{\n  \"" + Module + ":pce-client\": {")
	sep := "\n"
	if c.globalJSON != nil {
		buf.WriteString(sep + "    \"config\": ")
		buf.Write(c.globalJSON)
		sep = ",\n"
	}
	list := func(container, entry string, items [][]byte) {
		if len(items) == 0 {
			return
		}
		buf.WriteString(sep + "    \"" + container + "\": {\"" + entry + "\": [\n")
		for i, b := range items {
			buf.WriteString("      ")
			buf.Write(b)
			if i < len(items)-1 {
				buf.WriteByte(',')
			}
			buf.WriteByte('\n')
		}
		buf.WriteString("    ]}")
		sep = ",\n"
	}
	list("servers", "server", c.serverJSON)
	list("policies", "policy", c.policyJSON)
	buf.WriteString("\n  }\n}\n")
	return buf.Bytes()
}

// loadConfigFile reads the startup configuration. A missing file is an empty
// configuration; a file that is not valid RFC 7951 JSON of the pcc-agent
// model, or that breaks a semantic rule, is an error that names the problem.
func loadConfigFile(path string) (*store, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return emptyStore(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	c, err := parseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	return c, nil
}

// parseConfig parses RFC 7951 JSON of the pce-client tree. The server and
// policy lists are unmarshalled one entry at a time (see unmarshal.go), so
// that a file with 100,000 policies costs memory in proportion to its size.
func parseConfig(data []byte) (*store, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty file (write {} for an empty configuration)")
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	for k := range probe {
		if k != Module+":pce-client" && k != "pce-client" {
			return nil, fmt.Errorf("unknown top-level member %q (want %q)", k, Module+":pce-client")
		}
	}
	var tree any
	if err := json.Unmarshal(data, &tree); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	s, err := loadSchema()
	if err != nil {
		return nil, err
	}
	root := &yDevice{}
	if err := s.unmarshalDevice(root, tree); err != nil {
		return nil, fmt.Errorf("does not match the %s model: %s", Module, cleanMsg(err))
	}
	if err := checkNoState(root); err != nil {
		return nil, err
	}
	if pc := root.PceClient; pc != nil {
		for k, e := range serverMap(pc) {
			fillServerKey(k, e)
		}
		for k, e := range policyMap(pc) {
			fillPolicyKey(k, e)
		}
	}
	c, err := build(root)
	if err != nil {
		return nil, fmt.Errorf("invalid: %w", err)
	}
	return c, nil
}

// checkNoState rejects read-only data in a configuration tree.
func checkNoState(root *yDevice) error {
	pc := root.PceClient
	if pc == nil {
		return nil
	}
	if pc.State != nil {
		return errors.New("/pce-client/state is read-only")
	}
	if pc.Lsps != nil {
		return errors.New("/pce-client/lsps is read-only")
	}
	for k, e := range serverMap(pc) {
		if err := checkServerNoState(k, e); err != nil {
			return err
		}
	}
	for k, e := range policyMap(pc) {
		if err := checkPolicyNoState(k, e); err != nil {
			return err
		}
	}
	return nil
}

func checkServerNoState(k string, e *yServer) error {
	if e != nil && e.State != nil {
		return fmt.Errorf("/pce-client/servers/server[address=%s]/state is read-only", k)
	}
	return nil
}

func checkPolicyNoState(k string, e *yPolicy) error {
	if e != nil && e.State != nil {
		return fmt.Errorf("/pce-client/policies/policy[name=%s]/state is read-only", k)
	}
	return nil
}

// writeFileAtomic replaces path with data so that a crash leaves either the
// old or the new file: temp file in the same directory, fsync, rename, fsync
// of the directory.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("persist config: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("persist config: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("persist config: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("persist config: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("persist config: sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("persist config: sync directory: %w", err)
	}
	return nil
}
