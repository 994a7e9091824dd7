package telemetry

import (
	"encoding/binary"
	"hash/maphash"
	"slices"
	"sort"
	"strings"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
)

// node is one element of the cache tree: the root, a top-level container,
// a list, a list entry, or a container that has a list below it. Other
// containers (such as the config and state containers of a list entry) have
// no node of their own: their leaves are held by the nearest node above
// them, named by their path relative to it (see lname). A node holds its
// child nodes in kids, sorted by name, and the values of its leaves in
// leaves: leaf shape.names[i] has the value leaves[shape.slotOf(i)] (see
// shape). A list node (list != nil) holds only its entries, indexed by
// their key text.
//
// So a leaf is always held by the deepest node on its path. A container
// gets a node when a list is created below it (see materialize); the
// leaves its parent held for it move into it.
//
// An entity is a node whose changes travel as one notification: a list entry
// (its parent is a list node), or a top-level container (its parent is the
// tree's root). Every leaf belongs to the nearest entity above it.
type node struct {
	name     string // element name; the key text for a list entry
	parent   *node
	kids     []*node
	leaves   []leaf
	shape    *shape // the names of leaves; nil when there are none
	list     *listInfo
	ts       int64 // entities only: timestamp of the last update or delete in the entity
	detached bool  // removed from the tree
	// ver (entities only) is incremented by every Update that changes the
	// entity; it tells apart shared notifications of the entity (see
	// noteKey). 32 bits keep node at its size; a wrap could only matter if
	// one entity changed 2^32 times while a key of it waited in the
	// bounded shared cache.
	ver uint32
	// marks (entities only) holds the subscriber queues' markers of the
	// entity; nil until a queue holds one.
	marks *entityMarks
}

// listInfo is kept by a list node: the names of its keys and its entries.
type listInfo struct {
	keyNames []string // sorted
	entries  entryTable
}

// entryTable is the set of a list's entries indexed by their key text
// (their node's name): an open-addressing hash table of node pointers with
// linear probing. At 8 bytes a slot and at most three slots in four used,
// it costs 11 to 16 bytes an entry where a map of key text to node costs
// about 40: a list of 100,000 LSPs is the largest thing the cache indexes.
type entryTable struct {
	slots []*node // len is 0 or a power of two
	n     int
	seed  maphash.Seed
}

// minEntrySlots is the size of a table's first slot array.
const minEntrySlots = 8

func (t *entryTable) len() int { return t.n }

func (t *entryTable) home(key string) int {
	return int(maphash.String(t.seed, key) & uint64(len(t.slots)-1))
}

// get returns the entry whose key text is key, or nil.
func (t *entryTable) get(key string) *node {
	if t.n == 0 {
		return nil
	}
	mask := len(t.slots) - 1
	for i := t.home(key); ; i = (i + 1) & mask {
		e := t.slots[i]
		if e == nil {
			return nil
		}
		if e.name == key {
			return e
		}
	}
}

// put adds entry e, whose key text is not in the table.
func (t *entryTable) put(e *node) {
	if (t.n+1)*4 > len(t.slots)*3 {
		t.resize(max(minEntrySlots, 2*len(t.slots)))
	}
	t.insert(e)
	t.n++
}

func (t *entryTable) insert(e *node) {
	mask := len(t.slots) - 1
	i := t.home(e.name)
	for t.slots[i] != nil {
		i = (i + 1) & mask
	}
	t.slots[i] = e
}

func (t *entryTable) resize(size int) {
	old := t.slots
	if t.slots == nil {
		t.seed = maphash.MakeSeed()
	}
	t.slots = make([]*node, size)
	for _, e := range old {
		if e != nil {
			t.insert(e)
		}
	}
}

// del removes entry e if it is in the table.
func (t *entryTable) del(e *node) {
	if t.n == 0 {
		return
	}
	mask := len(t.slots) - 1
	i := t.home(e.name)
	for t.slots[i] != e {
		if t.slots[i] == nil {
			return
		}
		i = (i + 1) & mask
	}
	// Shift back the entries after i that probing would no longer find.
	for j := (i + 1) & mask; t.slots[j] != nil; j = (j + 1) & mask {
		h := t.home(t.slots[j].name)
		// The entry at j may move to i when its home is not in (i, j].
		if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = nil
	t.n--
	if len(t.slots) > minEntrySlots && t.n*8 < len(t.slots) {
		t.resize(len(t.slots) / 2)
	}
}

// all calls fn for every entry, in no particular order. fn must not
// change the table.
func (t *entryTable) all(fn func(*node)) {
	for _, e := range t.slots {
		if e != nil {
			fn(e)
		}
	}
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
		n.list.entries.del(k)
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

// leafName returns the name of leaf i of n.
func (n *node) leafName(i int) *lname { return n.shape.names[i] }

// findLeaf returns the index of the leaf at rel (containers then leaf name,
// relative to n), or where it would go.
func (n *node) findLeaf(rel []string) (int, bool) {
	if n.shape == nil {
		return 0, false
	}
	return slices.BinarySearchFunc(n.shape.names, rel, func(ln *lname, rel []string) int { return cmpRel(ln.elems, rel) })
}

// group returns the path relative to n of the container name at the place
// dirs inside n, when n holds leaves in it (it has no node of its own), or
// nil. The slice returned is never changed.
func (n *node) group(dirs []string, name string) []string {
	if n.shape == nil {
		return nil
	}
	d := len(dirs)
	for _, ln := range n.shape.names {
		if len(ln.elems) > d+1 && ln.elems[d] == name && slices.Equal(ln.elems[:d], dirs) {
			return ln.elems[: d+1 : d+1]
		}
	}
	return nil
}

// eachChild calls fn, in name order, for each container below the place
// dirs inside n (dirs are containers without node of their own below n):
// with the container's path relative to n (kid nil) when it has no node of
// its own, else (dirs empty only) with its node. List nodes are included.
func (n *node) eachChild(dirs []string, fn func(kid *node, sub []string)) {
	d := len(dirs)
	k := 0
	if n.shape != nil {
		last, seen := "", false
		for _, ln := range n.shape.names {
			if len(ln.elems) <= d+1 || !slices.Equal(ln.elems[:d], dirs) {
				continue
			}
			c := ln.elems[d]
			if seen && c == last {
				continue
			}
			if d == 0 {
				for ; k < len(n.kids) && n.kids[k].name < c; k++ {
					fn(n.kids[k], nil)
				}
			}
			fn(nil, ln.elems[:d+1:d+1])
			last, seen = c, true
		}
	}
	if d == 0 {
		for ; k < len(n.kids); k++ {
			fn(n.kids[k], nil)
		}
	}
}

func (n *node) empty() bool {
	if n.list != nil {
		return n.list.entries.len() == 0
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
func (n *node) elems() []celem { return n.appendElems(nil) }

// appendElems appends the path of n from the root (see elems) to dst.
func (n *node) appendElems(dst []celem) []celem {
	depth := 0
	for x := n; x.parent != nil; x = x.parent {
		if x.list == nil {
			depth++
		}
	}
	start := len(dst)
	dst = slices.Grow(dst, depth)[:start+depth]
	out := dst[start:]
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
	return dst
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
		n.list.entries.all(func(e *node) {
			fn(e)
			e.forEntities(fn)
		})
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
		n.list.entries.all((*node).detachAll)
		return
	}
	for _, k := range n.kids {
		k.detachAll()
	}
}

// walkOwn calls fn for each leaf at or below n that belongs to n's entity
// (it does not enter list entries), with the container names from n's
// entity down to the leaf's container (rel, the containers from the
// entity down to n, followed by the leaf's own) and the leaf's name. The
// order is that of a walk of the tree with the leaves of a container
// before its containers, each sorted by name. The rel slices fn is given
// are never changed afterwards: fn may keep them.
func (n *node) walkOwn(rel []string, fn func(rel []string, name string, l *leaf)) {
	k := 0
	kidsBefore := func(limit string, all bool) {
		for ; k < len(n.kids); k++ {
			kid := n.kids[k]
			if !all && kid.name >= limit {
				return
			}
			if kid.list != nil {
				continue
			}
			kid.walkOwn(append(rel[:len(rel):len(rel)], kid.name), fn)
		}
	}
	if n.shape != nil {
		for i, ln := range n.shape.names {
			if len(ln.elems) > 1 {
				kidsBefore(ln.elems[0], false)
			}
			r := ln.dirs()
			if len(rel) > 0 {
				r = append(rel[:len(rel):len(rel)], r...)
			}
			fn(r, ln.name(), &n.leaves[n.shape.slotOf(i)])
		}
	}
	kidsBefore("", true)
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

// lname is the path of a leaf relative to the node that holds it: the
// containers in between (which have no node of their own), then the
// leaf's name. lnames are interned by the cache's shapeTable and never
// changed, so nodes holding the same leaves share them.
type lname struct {
	elems []string // at least one element: the containers, then the leaf's name
}

func (ln *lname) name() string { return ln.elems[len(ln.elems)-1] }

// dirs returns the containers of ln (a slice that must not be appended to).
func (ln *lname) dirs() []string { return ln.elems[: len(ln.elems)-1 : len(ln.elems)-1] }

// cmpRel orders leaf paths relative to one node as a walk of the tree
// does: at each level the leaves (sorted by name) before the containers
// (sorted by name, each with everything in it).
func cmpRel(a, b []string) int {
	for i := 0; ; i++ {
		aLeaf, bLeaf := i == len(a)-1, i == len(b)-1
		if aLeaf != bLeaf {
			if aLeaf {
				return -1
			}
			return 1
		}
		if c := strings.Compare(a[i], b[i]); c != 0 {
			return c
		}
		if aLeaf {
			return 0
		}
	}
}

// shape is the ordered list of the leaf names (in cmpRel order) of a node,
// and which of them share their value with another. Nodes with the same
// leaves share one shape, so that a leaf costs only its value: the 100,000
// state containers of LSPs share a couple of shapes. A shape is never
// changed: adding or removing a leaf moves the node to another shape.
//
// A leaf of a state container that mirrors the config leaf of the same
// name (config/x and state/x below the same node, set to the same value by
// the same Update, as the agent publishes every configured leaf) is a
// mirror: it has no value of its own in the node's leaves but reads its
// config leaf's, value and sequence number alike. Within one Update both
// changed, and nothing reads the cache between the two, so that the
// config leaf's sequence number is as good as the mirror's own. A mirror
// gets its own value again (the one it shows) before its config leaf
// changes or goes (see Cache.unmirror).
type shape struct {
	names []*lname
	// of[i] is the index of the leaf whose value leaf i reads (i itself
	// when it has its own value); slot[i] is the index of that value in
	// the node's leaves. Both are nil when no leaf is a mirror (slot[i] ==
	// of[i] == i).
	of, slot []int
	config   bool // a leaf is in a container named config (see Cache.mirrorTarget)
	// after (made when first needed) holds, for each leaf, the leaf set
	// after it the last time an Update set it in a node of this shape and
	// went on with another leaf of the node (see Cache.setLocked). It is
	// guarded by the cache's write lock.
	after []uint16
	// texts (made when first needed) holds, for each leaf, the last string
	// value stored there in a node of this shape (see Cache.shareText).
	// It is guarded by the cache's write lock.
	texts []string
}

// slotOf returns the index in the node's leaves of the value of leaf i.
func (s *shape) slotOf(i int) int {
	if s.slot == nil {
		return i
	}
	return s.slot[i]
}

// target returns the index of the leaf whose value leaf i reads.
func (s *shape) target(i int) int {
	if s.of == nil {
		return i
	}
	return s.of[i]
}

// mirrors says whether another leaf reads the value of leaf i.
func (s *shape) mirrors(i int) bool {
	for j, t := range s.of {
		if t == i && j != i {
			return true
		}
	}
	return false
}

// shapeTable interns the leaf names and shapes of one cache and remembers
// the moves from shape to shape (a leaf added or removed) already made. It
// is guarded by the cache's write lock. So that arbitrary leaf names cannot
// grow it without bound, it starts again empty when one of its maps reaches
// maxShapes entries: nodes keep the shapes they have, and the shapes made
// afterwards are merely not shared with them (equal names are compared by
// value, never by identity).
type shapeTable struct {
	names  map[string]*lname
	shapes map[string]*shape
	moves  map[shapeMove]*shape
	buf    []byte
}

// shapeMove is a move from shape from (nil: no leaves).
type shapeMove struct {
	from *shape
	op   moveOp
	ln   *lname // the leaf added
	i, t int    // the index of the leaf concerned, the index of its target
}

type moveOp uint8

const (
	opAdd    moveOp = iota // add ln at index i with its own value
	opMirror               // add ln at index i, reading the value of leaf t (index in from)
	opDel                  // remove leaf i (no other leaf reads its value)
	opOwn                  // give mirror i its own value
	opToward               // make leaf i, which has its own value, read leaf t's
)

// maxShapes bounds each map of a shapeTable.
const maxShapes = 4096

func (t *shapeTable) check() {
	if t.names == nil || len(t.names) >= maxShapes || len(t.shapes) >= maxShapes || len(t.moves) >= maxShapes {
		t.names = make(map[string]*lname)
		t.shapes = make(map[string]*shape)
		t.moves = make(map[shapeMove]*shape)
	}
}

// appendRelKey appends an unambiguous encoding of rel to b.
func appendRelKey(b []byte, rel []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(rel)))
	for _, e := range rel {
		b = binary.AppendUvarint(b, uint64(len(e)))
		b = append(b, e...)
	}
	return b
}

// intern returns the lname of rel (a copy of rel when new).
func (t *shapeTable) intern(rel []string) *lname {
	t.check()
	t.buf = appendRelKey(t.buf[:0], rel)
	if ln := t.names[string(t.buf)]; ln != nil {
		return ln
	}
	ln := &lname{elems: slices.Clone(rel)}
	t.names[string(t.buf)] = ln
	return ln
}

// make returns the shape of names whose leaf i reads the value of leaf
// of[i] (of nil: each its own), nil when names is empty. names and of must
// not be changed afterwards.
func (t *shapeTable) make(names []*lname, of []int) *shape {
	if len(names) == 0 {
		return nil
	}
	t.check()
	if of != nil {
		mirror := false
		for i, x := range of {
			if x != i {
				mirror = true
			}
		}
		if !mirror {
			of = nil
		}
	}
	b := t.buf[:0]
	for i, ln := range names {
		b = appendRelKey(b, ln.elems)
		if of != nil {
			b = binary.AppendUvarint(b, uint64(of[i]))
		}
	}
	t.buf = b
	if s := t.shapes[string(b)]; s != nil {
		return s
	}
	s := &shape{names: names, of: of}
	for _, ln := range names {
		if len(ln.elems) > 1 && ln.elems[0] == "config" {
			s.config = true
		}
	}
	if of != nil {
		s.slot = make([]int, len(of))
		own := 0
		for i, x := range of {
			if x == i {
				s.slot[i] = own
				own++
			}
		}
		for i, x := range of {
			s.slot[i] = s.slot[x]
		}
	}
	t.shapes[string(b)] = s
	return s
}

// move returns the shape m leads to.
func (t *shapeTable) move(m shapeMove) *shape {
	t.check()
	if s := t.moves[m]; s != nil {
		return s
	}
	from := m.from
	var names []*lname
	var of []int
	if from != nil {
		names = slices.Clone(from.names)
		if from.of != nil {
			of = slices.Clone(from.of)
		}
	}
	if of == nil {
		of = make([]int, len(names))
		for i := range of {
			of[i] = i
		}
	}
	switch m.op {
	case opAdd, opMirror:
		for k, x := range of {
			if x >= m.i {
				of[k] = x + 1
			}
		}
		names = slices.Insert(names, m.i, m.ln)
		tgt := m.i
		if m.op == opMirror {
			tgt = m.t
			if tgt >= m.i {
				tgt++
			}
		}
		of = slices.Insert(of, m.i, tgt)
	case opDel:
		names = slices.Delete(names, m.i, m.i+1)
		of = slices.Delete(of, m.i, m.i+1)
		for k, x := range of {
			if x > m.i {
				of[k] = x - 1
			}
		}
	case opOwn:
		of[m.i] = m.i
	case opToward:
		of[m.i] = m.t
	}
	s := t.make(names, of)
	t.moves[m] = s
	return s
}
