package agent

import (
	"fmt"

	"github.com/openconfig/ygot/ygot"
	"github.com/openconfig/ygot/ytypes"
)

// The functions of this file unmarshal decoded RFC 7951 JSON into the ygot
// tree with the policy and server lists taken one entry at a time. ygot's
// unmarshal builds debug strings that are never printed (pretty-printed
// values of the list and of every container above it, after each insertion
// into a list), so one call on a list of n entries allocates in proportion
// to n times the size of the list: gigabytes for 100,000 policies. Given a
// one-entry list, ygot does the same checks and reports the same errors, and
// its work stays proportional to the entry.

// listSpec names a large list: the container member that holds it, the
// list member and its key leaf.
type listSpec struct {
	container, list, key string
}

var (
	policiesList = listSpec{"policies", "policy", "name"}
	serversList  = listSpec{"servers", "server", "address"}
)

// takeList removes the JSON array of list l from the decoded container
// object tree and returns it; ok is false (and tree is unchanged) when the
// member is absent or is not an array, so that ygot reports what is wrong
// with it. Only unqualified member names are taken: the list belongs to the
// same module as its container, and a qualified name is left to ygot.
func takeList(tree map[string]any, member string) ([]any, bool) {
	v, ok := tree[member]
	if !ok {
		return nil, false
	}
	items, ok := v.([]any)
	if !ok {
		return nil, false
	}
	delete(tree, member)
	return items, true
}

// unmarshalDevice unmarshals the decoded JSON of the whole tree (the value
// of the root, with the module-qualified pce-client member) into root.
func (s *schemaIndex) unmarshalDevice(root *yDevice, tree any) error {
	top, ok := tree.(map[string]any)
	if !ok {
		return ytypes.Unmarshal(s.root.entry, root, tree)
	}
	var member string
	for _, m := range []string{Module + ":pce-client", "pce-client"} {
		if _, ok := top[m]; ok {
			if member != "" { // both spellings: leave it all to ygot
				return ytypes.Unmarshal(s.root.entry, root, tree)
			}
			member = m
		}
	}
	pcTree, ok := top[member].(map[string]any)
	if member == "" || !ok {
		return ytypes.Unmarshal(s.root.entry, root, tree)
	}
	lists := s.takeLists(pcTree)
	if err := ytypes.Unmarshal(s.root.entry, root, tree); err != nil {
		return err
	}
	return s.unmarshalLists(root.GetOrCreatePceClient(), lists)
}

// unmarshalPceClient unmarshals the decoded JSON of the pce-client
// container into pc.
func (s *schemaIndex) unmarshalPceClient(pc *yPceClient, tree any) error {
	entry := s.byPath["pce-client"].entry
	pcTree, ok := tree.(map[string]any)
	if !ok {
		return ytypes.Unmarshal(entry, pc, tree)
	}
	lists := s.takeLists(pcTree)
	if err := ytypes.Unmarshal(entry, pc, tree); err != nil {
		return err
	}
	return s.unmarshalLists(pc, lists)
}

// takenLists are the lists taken out of a decoded pce-client object.
type takenLists struct {
	servers, policies       []any
	hasServers, hasPolicies bool
}

func (s *schemaIndex) takeLists(pcTree map[string]any) takenLists {
	var t takenLists
	if c, ok := pcTree[serversList.container].(map[string]any); ok {
		t.servers, t.hasServers = takeList(c, serversList.list)
	}
	if c, ok := pcTree[policiesList.container].(map[string]any); ok {
		t.policies, t.hasPolicies = takeList(c, policiesList.list)
	}
	return t
}

func (s *schemaIndex) unmarshalLists(pc *yPceClient, t takenLists) error {
	if t.hasServers {
		if err := s.unmarshalServers(pc.GetOrCreateServers(), t.servers); err != nil {
			return err
		}
	}
	if t.hasPolicies {
		if err := s.unmarshalPolicies(pc.GetOrCreatePolicies(), t.policies); err != nil {
			return err
		}
	}
	return nil
}

// unmarshalServersContainer unmarshals the decoded JSON of the servers
// container into c.
func (s *schemaIndex) unmarshalServersContainer(c *yServers, tree any) error {
	entry := s.byPath["pce-client/servers"].entry
	obj, ok := tree.(map[string]any)
	if !ok {
		return ytypes.Unmarshal(entry, c, tree)
	}
	items, ok := takeList(obj, serversList.list)
	if err := ytypes.Unmarshal(entry, c, tree); err != nil {
		return err
	}
	if !ok {
		return nil
	}
	return s.unmarshalServers(c, items)
}

// unmarshalPoliciesContainer unmarshals the decoded JSON of the policies
// container into c.
func (s *schemaIndex) unmarshalPoliciesContainer(c *yPolicies, tree any) error {
	entry := s.byPath["pce-client/policies"].entry
	obj, ok := tree.(map[string]any)
	if !ok {
		return ytypes.Unmarshal(entry, c, tree)
	}
	items, ok := takeList(obj, policiesList.list)
	if err := ytypes.Unmarshal(entry, c, tree); err != nil {
		return err
	}
	if !ok {
		return nil
	}
	return s.unmarshalPolicies(c, items)
}

// unmarshalServers adds the server entries items (decoded JSON list
// entries) to c, one at a time.
func (s *schemaIndex) unmarshalServers(c *yServers, items []any) error {
	if c.Server == nil {
		c.Server = make(map[string]*yServer, len(items))
	}
	return unmarshalEntries(s, serversList, c.Server, items,
		func() *yServer { return &yServer{} },
		func(e *yServer) *string { return e.Address },
		func(m map[string]*yServer) ygot.GoStruct { return &yServers{Server: m} })
}

// unmarshalPolicies adds the policy entries items (decoded JSON list
// entries) to c, one at a time.
func (s *schemaIndex) unmarshalPolicies(c *yPolicies, items []any) error {
	if c.Policy == nil {
		c.Policy = make(map[string]*yPolicy, len(items))
	}
	return unmarshalEntries(s, policiesList, c.Policy, items,
		func() *yPolicy { return &yPolicy{} },
		func(e *yPolicy) *string { return e.Name },
		func(m map[string]*yPolicy) ygot.GoStruct { return &yPolicies{Policy: m} })
}

// unmarshalEntries unmarshals each decoded list entry of items on its own,
// with the list's schema, into a new element (newEntry) and adds it to dst
// under its key (keyOf). An entry whose key is already in dst is merged
// into it, as ygot does for a list given whole. An entry that is not an
// object or has no key is given to ygot as a one-entry list of the
// container (wrap makes the container around a map), so that the error is
// ygot's. Each entry of items is cleared once done, so that the decoded
// JSON can be collected while the rest is read.
func unmarshalEntries[E ygot.GoStruct](s *schemaIndex, l listSpec, dst map[string]E, items []any,
	newEntry func() E, keyOf func(E) *string, wrap func(map[string]E) ygot.GoStruct) error {
	container := s.byPath["pce-client/"+l.container].entry
	list := s.byPath["pce-client/"+l.container+"/"+l.list].entry
	for i, it := range items {
		if obj, ok := it.(map[string]any); ok {
			e := newEntry()
			if err := ytypes.Unmarshal(list, e, obj); err != nil {
				return entryError(l, it, err)
			}
			if k := keyOf(e); k != nil {
				if old, ok := dst[*k]; ok {
					if err := ytypes.Unmarshal(list, old, obj); err != nil {
						return entryError(l, it, err)
					}
				} else {
					dst[*k] = e
				}
				items[i] = nil
				continue
			}
		}
		tmp := make(map[string]E, 1)
		if err := ytypes.Unmarshal(container, wrap(tmp), map[string]any{l.list: []any{it}}); err != nil {
			return entryError(l, it, err)
		}
		for k, e := range tmp {
			if old, ok := dst[k]; ok {
				if err := ytypes.Unmarshal(list, old, it); err != nil {
					return entryError(l, it, err)
				}
				continue
			}
			dst[k] = e
		}
		items[i] = nil
	}
	return nil
}

// entryError names the list entry an unmarshal error is about, when the
// entry has its key.
func entryError(l listSpec, item any, err error) error {
	obj, _ := item.(map[string]any)
	k, ok := obj[l.key].(string)
	if !ok {
		return err
	}
	return fmt.Errorf("/pce-client/%s/%s[%s=%s]: %s", l.container, l.list, l.key, k, cleanMsg(err))
}
