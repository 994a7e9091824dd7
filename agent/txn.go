package agent

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/ygot/ygot"
	"github.com/openconfig/ygot/ytypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pccagent/pccagent/pcep/pcc"
)

// opKind is a Set operation.
type opKind int

const (
	opDelete opKind = iota
	opReplace
	opUpdate
)

// txn is one Set transaction on the running store. It changes the store in
// place, but only the parts the request touches, and it never modifies a
// ygot node it has not copied first: the global config container and each
// touched list entry are replaced by a deep copy before the first change, so
// the values before the transaction stay intact for the diff. Every in-place
// change of a shared map or slice is recorded in an undo log; rollback runs
// it backwards. Only the touched parts are validated, converted, re-encoded
// and diffed, so the cost of a Set does not grow with the number of
// policies (except for writing the file).
type txn struct {
	s     *schemaIndex
	st    *store
	saved store // the store's fields before the transaction
	undo  []func()

	oldPC *yPceClient // running pce-client before the transaction

	pcOwned, globalOwned         bool
	serversOwned, policiesOwned  bool // container struct copied
	allServersOwned, allPolOwned bool // every entry is the transaction's own
	serverOwned, policyOwned     map[string]bool

	// values before the transaction of the entries changed in the running
	// maps in place (nil: the entry did not exist)
	oldServer map[string]*yServer
	oldPolicy map[string]*yPolicy
	// the running maps at the start (entries not in oldServer/oldPolicy are
	// unchanged in them)
	origServers  map[string]*yServer
	origPolicies map[string]*yPolicy

	everything  bool // the whole tree was replaced, deleted or merged
	globalDirty bool
	allServers  bool
	allPolicies bool
	servers     map[string]bool
	policies    map[string]bool
}

func newTxn(s *schemaIndex, st *store) *txn {
	pc := st.root.PceClient
	return &txn{
		s: s, st: st, saved: *st, oldPC: pc,
		serverOwned: map[string]bool{}, policyOwned: map[string]bool{},
		oldServer: map[string]*yServer{}, oldPolicy: map[string]*yPolicy{},
		origServers: serverMap(pc), origPolicies: policyMap(pc),
		servers: map[string]bool{}, policies: map[string]bool{},
	}
}

// rollback puts the store back as it was before the transaction.
func (t *txn) rollback() {
	for i := len(t.undo) - 1; i >= 0; i-- {
		t.undo[i]()
	}
	t.undo = nil
	*t.st = t.saved
}

func (t *txn) ownPC() *yPceClient {
	if !t.pcOwned {
		root := t.st.root
		old := root.PceClient
		if old != nil {
			c := *old
			root.PceClient = &c
		}
		t.undo = append(t.undo, func() { root.PceClient = old })
		t.pcOwned = true
	}
	return t.st.root.PceClient
}

func (t *txn) ownGlobal() error {
	pc := t.ownPC()
	if !t.globalOwned && pc != nil && pc.Config != nil {
		c, err := ygot.DeepCopy(pc.Config)
		if err != nil {
			return status.Errorf(codes.Internal, "copy configuration: %v", err)
		}
		pc.Config = c.(*yGlobalConfig)
	}
	t.globalOwned = true
	t.globalDirty = true
	return nil
}

func (t *txn) ownServers() *yServers {
	pc := t.ownPC()
	if !t.serversOwned && pc != nil && pc.Servers != nil {
		c := *pc.Servers // shares the map: entries are changed with undo
		pc.Servers = &c
	}
	t.serversOwned = true
	if pc == nil {
		return nil
	}
	return pc.Servers
}

func (t *txn) ownPolicies() *yPolicies {
	pc := t.ownPC()
	if !t.policiesOwned && pc != nil && pc.Policies != nil {
		c := *pc.Policies // shares the map: entries are changed with undo
		pc.Policies = &c
	}
	t.policiesOwned = true
	if pc == nil {
		return nil
	}
	return pc.Policies
}

// ownEntry makes entry k of the shared map m the transaction's own: it
// records its value before the transaction, replaces it by a deep copy and
// logs how to put it back.
func ownEntry[E ygot.GoStruct](t *txn, m map[string]E, k string, old map[string]E) error {
	prev, had := m[k]
	if _, seen := old[k]; !seen {
		old[k] = prev
	}
	t.undo = append(t.undo, func() {
		if had {
			m[k] = prev
		} else {
			delete(m, k)
		}
	})
	if had {
		c, err := ygot.DeepCopy(prev)
		if err != nil {
			return status.Errorf(codes.Internal, "copy configuration: %v", err)
		}
		m[k] = c.(E)
	}
	return nil
}

// ownAll gives a list container a map of its own: deep copies of the
// entries the transaction does not own yet.
func ownAll[E ygot.GoStruct](m map[string]E, owned map[string]bool) (map[string]E, error) {
	nm := make(map[string]E, len(m))
	for k, e := range m {
		if owned[k] {
			nm[k] = e
			continue
		}
		c, err := ygot.DeepCopy(e)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "copy configuration: %v", err)
		}
		nm[k] = c.(E)
	}
	return nm, nil
}

// own prepares the store for an operation on r: it copies what the
// operation may modify and records what it touches.
func (t *txn) own(kind opKind, r *resolvedPath) error {
	if len(r.elems) <= 1 {
		t.everything, t.globalDirty, t.allServers, t.allPolicies = true, true, true, true
		pc := t.ownPC()
		if kind == opUpdate && pc != nil && !t.everythingOwned() {
			c, err := ygot.DeepCopy(pc)
			if err != nil {
				return status.Errorf(codes.Internal, "copy configuration: %v", err)
			}
			t.st.root.PceClient = c.(*yPceClient)
		}
		t.globalOwned, t.serversOwned, t.policiesOwned = true, true, true
		t.allServersOwned, t.allPolOwned = true, true
		return nil
	}
	switch r.elems[1].GetName() {
	case "config":
		return t.ownGlobal()
	case "servers":
		c := t.ownServers()
		whole := len(r.elems) == 2 || len(r.elems[2].GetKey()) == 0
		if whole {
			t.allServers = true
			if kind == opUpdate && c != nil && !t.allServersOwned {
				m, err := ownAll(c.Server, t.serverOwned)
				if err != nil {
					return err
				}
				c.Server = m
			}
			t.allServersOwned = true
			return nil
		}
		k := r.elems[2].GetKey()["address"]
		t.servers[k] = true
		if !t.allServersOwned && !t.serverOwned[k] && c != nil && c.Server != nil {
			if err := ownEntry(t, c.Server, k, t.oldServer); err != nil {
				return err
			}
		}
		t.serverOwned[k] = true
	case "policies":
		c := t.ownPolicies()
		whole := len(r.elems) == 2 || len(r.elems[2].GetKey()) == 0
		if whole {
			t.allPolicies = true
			if kind == opUpdate && c != nil && !t.allPolOwned {
				m, err := ownAll(c.Policy, t.policyOwned)
				if err != nil {
					return err
				}
				c.Policy = m
			}
			t.allPolOwned = true
			return nil
		}
		k := r.elems[2].GetKey()["name"]
		t.policies[k] = true
		if !t.allPolOwned && !t.policyOwned[k] && c != nil && c.Policy != nil {
			if err := ownEntry(t, c.Policy, k, t.oldPolicy); err != nil {
				return err
			}
		}
		t.policyOwned[k] = true
	default:
		return status.Errorf(codes.InvalidArgument, "%s is read-only", pathString(r.elems))
	}
	return nil
}

func (t *txn) everythingOwned() bool {
	return t.globalOwned && t.allServersOwned && t.allPolOwned
}

// apply runs one operation.
func (t *txn) apply(kind opKind, r *resolvedPath, val *gnmi.TypedValue) error {
	if err := t.own(kind, r); err != nil {
		return err
	}
	if kind == opDelete || kind == opReplace {
		if err := t.delete(r); err != nil {
			return err
		}
	}
	if kind == opDelete {
		return nil
	}
	n := r.last(t.s)
	val, err := normalizeValue(n, val)
	if err != nil {
		return err
	}
	if len(r.elems) == 0 {
		var tree any
		if err := json.Unmarshal(val.GetJsonIetfVal(), &tree); err != nil {
			return status.Errorf(codes.InvalidArgument, "/: value is not valid JSON: %v", err)
		}
		if err := t.s.unmarshalDevice(t.st.root, tree); err != nil {
			return status.Errorf(codes.InvalidArgument, "/: %s", cleanMsg(err))
		}
		return nil
	}
	if done, err := t.applyContainer(r, val); done || err != nil {
		return err
	}
	path := &gnmi.Path{Elem: r.elems}
	if err := ytypes.SetNode(t.s.root.entry, t.st.root, path, val, &ytypes.InitMissingElements{}); err != nil {
		return status.Errorf(codes.InvalidArgument, "%s: %s", pathString(r.elems), cleanMsg(err))
	}
	return nil
}

// applyContainer merges a JSON value into the pce-client, servers or
// policies container, the containers that hold the large lists, taking the
// lists one entry at a time (see unmarshal.go). It reports false for any
// other path or a value that is not JSON, which SetNode handles.
func (t *txn) applyContainer(r *resolvedPath, val *gnmi.TypedValue) (bool, error) {
	js := val.GetJsonIetfVal()
	if js == nil || len(r.elems) > 2 || (len(r.elems) == 2 && r.elems[1].GetName() != serversList.container && r.elems[1].GetName() != policiesList.container) {
		return false, nil
	}
	var tree any
	if err := json.Unmarshal(js, &tree); err != nil {
		return true, status.Errorf(codes.InvalidArgument, "%s: value is not valid JSON: %v", pathString(r.elems), err)
	}
	pc := t.st.root.GetOrCreatePceClient()
	var err error
	switch {
	case len(r.elems) == 1:
		err = t.s.unmarshalPceClient(pc, tree)
	case r.elems[1].GetName() == serversList.container:
		err = t.s.unmarshalServersContainer(pc.GetOrCreateServers(), tree)
	default:
		err = t.s.unmarshalPoliciesContainer(pc.GetOrCreatePolicies(), tree)
	}
	if err != nil {
		return true, status.Errorf(codes.InvalidArgument, "%s: %s", pathString(r.elems), cleanMsg(err))
	}
	return true, nil
}

// delete removes the node at r; deleting what does not exist is not an
// error.
func (t *txn) delete(r *resolvedPath) error {
	pc := t.st.root.PceClient
	switch {
	case len(r.elems) <= 1:
		t.st.root.PceClient = nil
		return nil
	case pc == nil:
		return nil
	case len(r.elems) == 2:
		switch r.elems[1].GetName() {
		case "config":
			pc.Config = nil
		case "servers":
			pc.Servers = nil
		case "policies":
			pc.Policies = nil
		}
		return nil
	case r.elems[1].GetName() != "config" && len(r.elems[2].GetKey()) == 0: // a whole list
		switch r.elems[1].GetName() {
		case "servers":
			if pc.Servers != nil {
				pc.Servers.Server = nil
			}
		case "policies":
			if pc.Policies != nil {
				pc.Policies.Policy = nil
			}
		}
		return nil
	}
	path := &gnmi.Path{Elem: r.elems}
	if err := ytypes.DeleteNode(t.s.root.entry, t.st.root, path); err != nil {
		return status.Errorf(codes.InvalidArgument, "delete %s: %s", pathString(r.elems), cleanMsg(err))
	}
	return nil
}

// normalizeValue checks that the value's encoding suits the node and turns
// JSON into JSON_IETF (the two are read the same way).
func normalizeValue(n *node, v *gnmi.TypedValue) (*gnmi.TypedValue, error) {
	if v == nil || v.GetValue() == nil {
		return nil, status.Errorf(codes.InvalidArgument, "/%s: missing value", n.path)
	}
	switch x := v.GetValue().(type) {
	case *gnmi.TypedValue_JsonVal:
		return &gnmi.TypedValue{Value: &gnmi.TypedValue_JsonIetfVal{JsonIetfVal: x.JsonVal}}, nil
	case *gnmi.TypedValue_JsonIetfVal:
		return v, nil
	case *gnmi.TypedValue_StringVal, *gnmi.TypedValue_IntVal, *gnmi.TypedValue_UintVal,
		*gnmi.TypedValue_BoolVal, *gnmi.TypedValue_LeaflistVal, *gnmi.TypedValue_DoubleVal:
		if n.entry != nil && (n.isLeaf() || n.isLeafList()) {
			return v, nil
		}
		return nil, status.Errorf(codes.InvalidArgument, "/%s is not a leaf: send a JSON or JSON_IETF value", n.path)
	default:
		return nil, status.Errorf(codes.Unimplemented, "/%s: value encoding %T is not supported (use JSON_IETF, JSON or a scalar)", n.path, v.GetValue())
	}
}

// commit validates the touched parts, updates the rest of the store (engine
// configuration, JSON encodings) and returns the notification that
// publishes the change of config and config-state leaves.
func (t *txn) commit() (*gnmi.Notification, error) {
	root := t.st.root
	if t.everything {
		if err := checkNoState(root); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		if pc := root.PceClient; pc != nil {
			for k, e := range serverMap(pc) {
				fillServerKey(k, e)
			}
			for k, e := range policyMap(pc) {
				fillPolicyKey(k, e)
			}
		}
		next, err := build(root)
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, cleanMsg(err))
		}
		*t.st = *next
		return t.notification()
	}
	pc := root.PceClient
	if t.globalDirty {
		g := pc.GetConfig()
		if err := checkGlobal(g); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		if g != nil {
			if err := g.Validate(); err != nil {
				return nil, status.Errorf(codes.InvalidArgument, "/pce-client/config: %s", cleanMsg(err))
			}
		}
		t.st.cfg = globalToPCC(g, t.st.cfg)
		t.st.globalJSON = nil
		if g != nil {
			b, err := encodeJSON(g)
			if err != nil {
				return nil, status.Errorf(codes.Internal, "encode /pce-client/config: %v", err)
			}
			t.st.globalJSON = b
		}
	}
	if t.allServers || len(t.servers) > 0 {
		if err := t.commitServers(pc); err != nil {
			return nil, err
		}
	}
	if t.allPolicies || len(t.policies) > 0 {
		if err := t.commitPolicies(pc); err != nil {
			return nil, err
		}
	}
	return t.notification()
}

// splice changes element i of the parallel slices of a list in the store:
// set (found), insert (!found) or delete (v == nil), with undo.
type splicer[V any] struct {
	t    *txn
	vals *[]V
	keys *[]string // nil when the key is in V
	json *[][]byte
}

func (s splicer[V]) set(i int, v V, b []byte) {
	ov, ob := (*s.vals)[i], (*s.json)[i]
	(*s.vals)[i], (*s.json)[i] = v, b
	vals, js := s.vals, s.json
	s.t.undo = append(s.t.undo, func() { (*vals)[i], (*js)[i] = ov, ob })
}

func (s splicer[V]) insert(i int, k string, v V, b []byte) {
	*s.vals = slices.Insert(*s.vals, i, v)
	*s.json = slices.Insert(*s.json, i, b)
	if s.keys != nil {
		*s.keys = slices.Insert(*s.keys, i, k)
	}
	vals, js, keys := s.vals, s.json, s.keys
	s.t.undo = append(s.t.undo, func() {
		*vals = slices.Delete(*vals, i, i+1)
		*js = slices.Delete(*js, i, i+1)
		if keys != nil {
			*keys = slices.Delete(*keys, i, i+1)
		}
	})
}

func (s splicer[V]) remove(i int) {
	ov, ob := (*s.vals)[i], (*s.json)[i]
	var ok string
	if s.keys != nil {
		ok = (*s.keys)[i]
		*s.keys = slices.Delete(*s.keys, i, i+1)
	}
	*s.vals = slices.Delete(*s.vals, i, i+1)
	*s.json = slices.Delete(*s.json, i, i+1)
	vals, js, keys := s.vals, s.json, s.keys
	s.t.undo = append(s.t.undo, func() {
		*vals = slices.Insert(*vals, i, ov)
		*js = slices.Insert(*js, i, ob)
		if keys != nil {
			*keys = slices.Insert(*keys, i, ok)
		}
	})
}

func (t *txn) commitServers(pc *yPceClient) error {
	m := serverMap(pc)
	var keys []string
	if t.allServers {
		// fresh slices: the old ones stay as they were (rollback restores them)
		t.st.cfg.Servers, t.st.serverKeys, t.st.serverJSON = nil, nil, nil
		keys = sortedMapKeys(m)
	} else {
		keys = sortedMapKeys(t.servers)
	}
	sp := splicer[pcc.ServerConfig]{t: t, vals: &t.st.cfg.Servers, keys: &t.st.serverKeys, json: &t.st.serverJSON}
	for _, k := range keys {
		i, found := slices.BinarySearch(t.st.serverKeys, k)
		e := m[k]
		if e == nil {
			if found {
				sp.remove(i)
			}
			continue
		}
		if err := checkServerNoState(k, e); err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
		fillServerKey(k, e)
		sc, err := serverToPCC(k, e)
		if err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
		if err := e.Validate(); err != nil {
			return status.Errorf(codes.InvalidArgument, "/pce-client/servers/server[address=%s]: %s", k, cleanMsg(err))
		}
		b, err := encodeJSON(e)
		if err != nil {
			return status.Errorf(codes.Internal, "encode server %s: %v", k, err)
		}
		if found {
			sp.set(i, sc, b)
		} else {
			sp.insert(i, k, sc, b)
		}
	}
	return nil
}

func (t *txn) commitPolicies(pc *yPceClient) error {
	m := policyMap(pc)
	var keys []string
	if t.allPolicies {
		keys = sortedMapKeys(m)
		t.st.cfg.Policies = make([]pcc.PolicyConfig, 0, len(keys))
		t.st.policyJSON = make([][]byte, 0, len(keys))
	} else {
		keys = sortedMapKeys(t.policies)
	}
	sp := splicer[pcc.PolicyConfig]{t: t, vals: &t.st.cfg.Policies, json: &t.st.policyJSON}
	for _, k := range keys {
		i, found := slices.BinarySearchFunc(t.st.cfg.Policies, k, func(p pcc.PolicyConfig, k string) int {
			switch {
			case p.Name < k:
				return -1
			case p.Name > k:
				return 1
			}
			return 0
		})
		e := m[k]
		if e == nil {
			if found {
				sp.remove(i)
			}
			continue
		}
		if err := checkPolicyNoState(k, e); err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
		fillPolicyKey(k, e)
		p, err := policyToPCC(k, e)
		if err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
		if err := e.Validate(); err != nil {
			return status.Errorf(codes.InvalidArgument, "/pce-client/policies/policy[name=%s]: %s", k, cleanMsg(err))
		}
		b, err := encodeJSON(e)
		if err != nil {
			return status.Errorf(codes.Internal, "encode policy %s: %v", k, err)
		}
		if found {
			sp.set(i, p, b)
		} else {
			sp.insert(i, k, p, b)
		}
	}
	return nil
}

// oldServerOf returns server k as it was before the transaction.
func (t *txn) oldServerOf(k string) *yServer {
	if v, ok := t.oldServer[k]; ok {
		return v
	}
	return t.origServers[k]
}

// oldPolicyOf returns policy k as it was before the transaction.
func (t *txn) oldPolicyOf(k string) *yPolicy {
	if v, ok := t.oldPolicy[k]; ok {
		return v
	}
	return t.origPolicies[k]
}

// notification returns the config and config-state leaves that the
// transaction changed, as one telemetry notification.
func (t *txn) notification() (*gnmi.Notification, error) {
	n := &gnmi.Notification{}
	add := func(old, new []leaf) {
		u, d := diffLeaves(old, new)
		n.Update = append(n.Update, u...)
		n.Delete = append(n.Delete, d...)
	}
	newPC := t.st.root.PceClient
	if t.globalDirty {
		o, err := t.s.globalLeaves(t.oldPC.GetConfig())
		if err != nil {
			return nil, err
		}
		nw, err := t.s.globalLeaves(newPC.GetConfig())
		if err != nil {
			return nil, err
		}
		add(o, nw)
	}
	serverKeys := t.servers
	if t.allServers {
		serverKeys = map[string]bool{}
		for _, m := range []map[string]*yServer{t.origServers, t.oldServer, serverMap(newPC)} {
			for k := range m {
				serverKeys[k] = true
			}
		}
	}
	for _, k := range sortedMapKeys(serverKeys) {
		var o, nw *yServer = t.oldServerOf(k), serverMap(newPC)[k]
		var oc, nc ygot.GoStruct
		if o != nil {
			oc = serverConfigOf(o)
		}
		if nw != nil {
			nc = serverConfigOf(nw)
		}
		if err := t.s.entryDiff(n, "servers", "server", "address", k, o != nil, nw != nil, o == nw, oc, nc, add); err != nil {
			return nil, err
		}
	}
	policyKeys := t.policies
	if t.allPolicies {
		policyKeys = map[string]bool{}
		for _, m := range []map[string]*yPolicy{t.origPolicies, t.oldPolicy, policyMap(newPC)} {
			for k := range m {
				policyKeys[k] = true
			}
		}
	}
	for _, k := range sortedMapKeys(policyKeys) {
		var o, nw *yPolicy = t.oldPolicyOf(k), policyMap(newPC)[k]
		var oc, nc ygot.GoStruct
		if o != nil {
			oc = configOf(o)
		}
		if nw != nil {
			nc = configOf(nw)
		}
		if err := t.s.entryDiff(n, "policies", "policy", "name", k, o != nil, nw != nil, o == nw, oc, nc, add); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// serverConfigOf returns the config container of a server as a GoStruct
// (nil when absent).
func serverConfigOf(e *yServer) ygot.GoStruct {
	if e.Config == nil {
		return nil
	}
	return e.Config
}

// configOf returns the config container of a policy as a GoStruct (nil
// when absent).
func configOf(p *yPolicy) ygot.GoStruct {
	if p.Config == nil {
		return nil
	}
	return p.Config
}

// entryDiff adds the change of one list entry to n: a delete of the whole
// entry when it is gone, else the changed leaves.
func (s *schemaIndex) entryDiff(n *gnmi.Notification, container, list, key, k string, hadOld, hasNew, same bool, oc, nc ygot.GoStruct, add func(old, new []leaf)) error {
	if (!hadOld && !hasNew) || same {
		return nil
	}
	base := []*gnmi.PathElem{{Name: "pce-client"}, {Name: container}, {Name: list, Key: map[string]string{key: k}}}
	if !hasNew {
		n.Delete = append(n.Delete, &gnmi.Path{Elem: base})
		return nil
	}
	cfgNode := s.byPath["pce-client/"+container+"/"+list+"/config"]
	var ol, nl []leaf
	var err error
	if hadOld {
		if ol, err = s.containerLeaves(base, cfgNode, oc); err != nil {
			return err
		}
	}
	if nl, err = s.containerLeaves(base, cfgNode, nc); err != nil {
		return err
	}
	add(ol, nl)
	return nil
}

// globalLeaves returns the global config leaves and their state mirrors.
func (s *schemaIndex) globalLeaves(g *yGlobalConfig) ([]leaf, error) {
	base := []*gnmi.PathElem{{Name: "pce-client"}}
	var gs ygot.GoStruct
	if g != nil {
		gs = g
	}
	return s.containerLeaves(base, s.byPath["pce-client/config"], gs)
}

// eachEntityLeaves calls fn with the config and config-state leaves of
// st, one entity at a time (the global containers, then each server and
// each policy, in key order), for the first publication at start: the
// leaves of a whole configuration are never held at once.
func (s *schemaIndex) eachEntityLeaves(st *store, fn func([]leaf)) error {
	pc := st.root.GetPceClient()
	g, err := s.globalLeaves(pc.GetConfig())
	if err != nil {
		return err
	}
	fn(g)
	collect := func(_, new []leaf) { fn(new) }
	n := &gnmi.Notification{}
	servers := serverMap(pc)
	for _, k := range st.serverKeys {
		if err := s.entryDiff(n, "servers", "server", "address", k, false, true, false, nil, serverConfigOf(servers[k]), collect); err != nil {
			return err
		}
	}
	policies := policyMap(pc)
	for _, p := range st.cfg.Policies {
		if err := s.entryDiff(n, "policies", "policy", "name", p.Name, false, true, false, nil, configOf(policies[p.Name]), collect); err != nil {
			return err
		}
	}
	return nil
}

// serverMap returns the server list of pc (nil-safe).
func serverMap(pc *yPceClient) map[string]*yServer {
	if pc == nil || pc.Servers == nil {
		return nil
	}
	return pc.Servers.Server
}

// policyMap returns the policy list of pc (nil-safe).
func policyMap(pc *yPceClient) map[string]*yPolicy {
	if pc == nil || pc.Policies == nil {
		return nil
	}
	return pc.Policies.Policy
}

// cleanMsg returns the message of a ygot error without the gRPC wrapping
// and with paths relative to the data tree.
func cleanMsg(err error) string {
	msg := status.Convert(err).Message()
	msg = strings.ReplaceAll(msg, "/device/", "/")
	return strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", "; ")), " ")
}
