package telemetry

import (
	"slices"
	"sort"
	"strings"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
)

// node is one element of the cache tree. A container (or a list entry) holds
// child containers in kids and its leaves in leaves, both sorted by name. A
// list node (list != nil) holds only its entries, indexed by their key text.
//
// An entity is a node whose changes travel as one notification: a list entry
// (its parent is a list node), or a top-level container (its parent is the
// tree's root). Every leaf belongs to the nearest entity above it.
type node struct {
	name     string // element name; the key text for a list entry
	parent   *node
	kids     []*node
	leaves   []leaf
	list     *listInfo
	ts       int64 // entities only: timestamp of the last update or delete in the entity
	detached bool  // removed from the tree
	// ver (entities only) is incremented by every Update that changes the
	// entity; it tells apart shared notifications of the entity (see
	// noteKey). 32 bits keep node at its size; a wrap could only matter if
	// one entity changed 2^32 times while a key of it waited in the
	// bounded shared cache.
	ver uint32
}

// listInfo is kept by a list node: the names of its keys and its entries.
type listInfo struct {
	keyNames []string // sorted
	entries  map[string]*node
}

func (n *node) kid(name string) *node {
	i, ok := slices.BinarySearchFunc(n.kids, name, func(k *node, name string) int { return strings.Compare(k.name, name) })
	if ok {
		return n.kids[i]
	}
	return nil
}

func (n *node) addKid(k *node) {
	i, _ := slices.BinarySearchFunc(n.kids, k.name, func(k *node, name string) int { return strings.Compare(k.name, name) })
	n.kids = slices.Insert(n.kids, i, k)
}

func (n *node) removeKid(k *node) {
	if n.list != nil {
		delete(n.list.entries, k.name)
		return
	}
	i, ok := slices.BinarySearchFunc(n.kids, k.name, func(k *node, name string) int { return strings.Compare(k.name, name) })
	if ok && n.kids[i] == k {
		n.kids = slices.Delete(n.kids, i, i+1)
		if len(n.kids) == 0 {
			n.kids = nil
		}
	}
}

func (n *node) leafIndex(name string) (int, bool) {
	return slices.BinarySearchFunc(n.leaves, name, func(l leaf, name string) int { return strings.Compare(l.name, name) })
}

func (n *node) empty() bool {
	if n.list != nil {
		return len(n.list.entries) == 0
	}
	return len(n.kids) == 0 && len(n.leaves) == 0
}

// isEntry says whether n is a list entry.
func (n *node) isEntry() bool { return n.parent != nil && n.parent.list != nil }

// keyText is the index of a list entry: the key value for a one-key list,
// else the values in key-name order separated by NUL.
func keyText(keys map[string]string) (text string, names []string) {
	if len(keys) == 1 {
		for k, v := range keys {
			return v, []string{k}
		}
	}
	names = make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, k := range names {
		if i > 0 {
			b.WriteByte(0)
		}
		b.WriteString(keys[k])
	}
	return b.String(), names
}

// keyValues returns the key values of entry e in key-name order.
func (e *node) keyValues() []string {
	names := e.parent.list.keyNames
	if len(names) == 1 {
		return []string{e.name}
	}
	vals := strings.Split(e.name, "\x00")
	if len(vals) != len(names) {
		vals = make([]string, len(names))
		vals[0] = e.name
	}
	return vals
}

// keyMap returns the keys of entry e as a gNMI path element key map.
func (e *node) keyMap() map[string]string {
	names := e.parent.list.keyNames
	if len(names) == 1 {
		return map[string]string{names[0]: e.name}
	}
	vals := e.keyValues()
	m := make(map[string]string, len(names))
	for i, k := range names {
		m[k] = vals[i]
	}
	return m
}

// sameKeyNames says whether keys has exactly the key names of list li.
func (li *listInfo) sameKeyNames(keys map[string]string) bool {
	if len(keys) != len(li.keyNames) {
		return false
	}
	for _, k := range li.keyNames {
		if _, ok := keys[k]; !ok {
			return false
		}
	}
	return true
}

// entity returns the entity n belongs to (n itself when n is one), or nil
// for the root.
func (n *node) entity() *node {
	for x := n; x != nil && x.parent != nil; x = x.parent {
		if x.parent.parent == nil || x.parent.list != nil {
			return x
		}
	}
	return nil
}

// isEntity says whether n is an entity.
func (n *node) isEntity() bool {
	return n.parent != nil && (n.parent.parent == nil || n.parent.list != nil)
}

// elems returns the path of n from the root: an element per container, and
// one per list entry (named after its list, with its keys).
func (n *node) elems() []celem {
	depth := 0
	for x := n; x.parent != nil; x = x.parent {
		if x.list == nil {
			depth++
		}
	}
	out := make([]celem, depth)
	for x := n; x.parent != nil; x = x.parent {
		if x.list != nil {
			continue
		}
		depth--
		if x.isEntry() {
			out[depth] = celem{name: x.parent.name, entry: x}
		} else {
			out[depth] = celem{name: x.name}
		}
	}
	return out
}

// key returns a text that names entity n uniquely within the tree, for the
// subscribers' coalescing queues.
func (n *node) key() string {
	var b strings.Builder
	for _, e := range n.elems() {
		b.WriteByte('/')
		b.WriteString(e.name)
		if e.entry != nil {
			b.WriteByte(0)
			b.WriteString(e.entry.name)
			b.WriteByte(0)
		}
	}
	return b.String()
}

// forEntities calls fn for every entity strictly below n.
func (n *node) forEntities(fn func(*node)) {
	if n.list != nil {
		for _, e := range n.list.entries {
			fn(e)
			e.forEntities(fn)
		}
		return
	}
	for _, k := range n.kids {
		if n.parent == nil {
			fn(k)
		}
		k.forEntities(fn)
	}
}

// hasOwnLeaves says whether the subtree at n holds leaves that belong to
// n's entity (leaves not under a list entry below n).
func (n *node) hasOwnLeaves() bool {
	if n.list != nil {
		return false
	}
	if len(n.leaves) > 0 {
		return true
	}
	for _, k := range n.kids {
		if k.hasOwnLeaves() {
			return true
		}
	}
	return false
}

// detachAll marks n and everything below it detached.
func (n *node) detachAll() {
	n.detached = true
	if n.list != nil {
		for _, e := range n.list.entries {
			e.detachAll()
		}
		return
	}
	for _, k := range n.kids {
		k.detachAll()
	}
}

// walkOwn calls fn for each leaf at or below n that belongs to n's entity
// (it does not enter list entries), with the container names from n down
// to the leaf's container appended to rel.
func (n *node) walkOwn(rel []string, fn func(rel []string, l *leaf)) {
	for i := range n.leaves {
		fn(rel, &n.leaves[i])
	}
	for _, k := range n.kids {
		if k.list != nil {
			continue
		}
		k.walkOwn(append(rel, k.name), fn)
	}
}

// toPathElems converts elements to gNMI path elements.
func toPathElems(es []celem) []*gpb.PathElem {
	out := make([]*gpb.PathElem, len(es))
	for i, e := range es {
		pe := &gpb.PathElem{Name: e.name}
		if e.entry != nil {
			pe.Key = e.entry.keyMap()
		}
		out[i] = pe
	}
	return out
}
