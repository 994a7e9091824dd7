// Package telemetry is the agent's read model: a cache of every leaf of the
// pce-client tree (config published by the agent core, state pumped from the
// PCEP engine) as gNMI leaves, and the gNMI Subscribe RPC served from it.
//
// The cache is a tree keyed by path elements, so one LSP's update costs the
// depth of its path, not the size of the tree, and leaves are stored in a
// compact form: 24 bytes a value, names shared by all the nodes of the same
// shape, state leaves that mirror config leaves stored once (a cache with
// 100,000 LSPs takes about 50 MB, the configuration of as many policies
// about 35 MB). Changes reach subscribers through per-subscriber coalescing
// queues keyed by entity (a list entry such as one LSP, or a top-level
// container): a slow subscriber loses intermediate values of an entity but
// never blocks Update, and its queue never holds more than one entry per
// entity.
package telemetry

import (
	"context"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/pccagent/pccagent/pcep/clock"
)

// Cache holds every leaf of the tree and serves Get (through Query) and
// Subscribe. Paths in the cache are rooted at pce-client (elem[0].Name ==
// "pce-client"), without module prefix or origin. It is safe for concurrent
// use.
type Cache struct {
	mu   sync.RWMutex
	root *node
	seq  uint64 // incremented on every leaf value change
	subs map[*subscriber]struct{}

	// scratch state of the Update in progress (guarded by mu)
	events     []event
	evIndex    map[*node]int
	grown      []*node
	prefixDirs []string // containers without node at the end of the prefix
	mirrorRel  []string // scratch of mirrorTarget
	hintNode   *node    // the node of the leaf set last by the Update in progress
	hint       int      // the index of that leaf
	updateBase uint64   // the sequence number before the Update in progress
	dirs       []string // containers without node on the path of the leaf being set
	pack       []byte   // encodeScratch's packed leaf-lists
	shapes     shapeTable

	shared sharedNotes // encoded ON_CHANGE notifications shared by subscribers
	fan    fanState    // the STREAM subscribers by subscription, and changes not yet handed to them

	validate       func(*gpb.Path) error
	clock          clock.Clock
	logger         *slog.Logger
	defaultSample  time.Duration
	minInterval    time.Duration
	batchEntities  int
	queryBatchSize int
}

// Option configures a Cache.
type Option func(*Cache)

// WithPathValidator makes Subscribe check every requested path with v, which
// is given the full path (prefix and path joined, module prefixes removed,
// no origin). v returns a gRPC status error (NotFound for a path that is not
// in the schema, InvalidArgument for a malformed one); any other error is
// reported as NotFound. Without this option a static description of the
// pcc-agent schema is used.
func WithPathValidator(v func(*gpb.Path) error) Option {
	return func(c *Cache) { c.validate = v }
}

// WithClock sets the clock that timestamps the notifications Run makes
// (default: the real clock).
func WithClock(clk clock.Clock) Option { return func(c *Cache) { c.clock = clk } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *Cache) { c.logger = l } }

// WithDefaultSampleInterval sets the interval of a SAMPLE subscription that
// asks for sample_interval 0, which the gNMI specification leaves to the
// target (default 1 s).
func WithDefaultSampleInterval(d time.Duration) Option {
	return func(c *Cache) { c.defaultSample = d }
}

// WithMinInterval sets the shortest sample and heartbeat interval a
// subscription may ask for; shorter ones are refused with InvalidArgument
// (default 10 ms).
func WithMinInterval(d time.Duration) Option { return func(c *Cache) { c.minInterval = d } }

// NewCache returns an empty cache.
func NewCache(opts ...Option) *Cache {
	c := &Cache{
		root:           &node{},
		subs:           make(map[*subscriber]struct{}),
		validate:       validateSchemaPath,
		clock:          clock.Real{},
		logger:         slog.Default(),
		defaultSample:  time.Second,
		minInterval:    10 * time.Millisecond,
		batchEntities:  1024,
		queryBatchSize: 512,
	}
	c.fan.holdDown = DefaultHoldDown
	for _, o := range opts {
		o(c)
	}
	return c
}

// event is what one Update did to one entity.
type event struct {
	entity   *node
	changed  bool     // a leaf value changed
	deleted  bool     // the entity was removed
	delPaths []string // leaves or containers removed inside the entity, relative, '/'-separated
}

// Update applies n to the cache in one atomic step: first its deletes (a
// delete path may name a subtree, or contain wildcards: everything under
// what it names is removed), then its updates, each path joined to n's
// prefix. An update whose value equals the cached one only refreshes the
// entity's timestamp. The resulting changes are handed to the subscribers'
// queues before Update returns, or, while Run applies a batch of engine
// changes, when that batch ends; Update never waits for a subscriber.
//
// Paths must have at least two elements (a top-level container and a leaf)
// and an update's own path must name at least the leaf; updates with
// shorter paths, a nil value or a list element whose keys do not fit the
// list already in the cache are ignored. The prefix's origin and target
// are ignored.
func (c *Cache) Update(n *gpb.Notification) {
	if n == nil {
		return
	}
	ts := n.GetTimestamp()
	c.mu.Lock()
	defer c.mu.Unlock()
	seq0 := c.seq
	c.updateBase = seq0
	for _, d := range n.GetDelete() {
		c.deleteLocked(toPattern(joinPath(n.GetPrefix(), d)), ts)
	}
	if ups := n.GetUpdate(); len(ups) > 0 {
		// The prefix is resolved once for all the updates.
		if at, ent, dirs, ok := c.walkCreate(c.root, nil, c.prefixDirs[:0], n.GetPrefix().GetElem()); ok {
			c.prefixDirs = dirs
			for i, u := range ups {
				if k, s, x, ok := encodeValue(u.GetVal()); ok {
					c.setLocked(at, ent, dirs, u.GetPath().GetElem(), k, s, x, ts, len(ups)-i)
				}
			}
			c.prune(at)
		}
	}
	c.endUpdateLocked(seq0)
}

// endUpdateLocked ends the Update in progress: it trims the leaf slices it
// grew, counts the change of every entity it changed, hands the changes to
// the subscribers and resets the scratch state. seq0 is the cache sequence
// number before the Update.
func (c *Cache) endUpdateLocked(seq0 uint64) {
	for _, g := range c.grown {
		if cap(g.leaves)-len(g.leaves) > 1 {
			g.leaves = append(make([]leaf, 0, len(g.leaves)), g.leaves...)
		}
	}
	for i := range c.events {
		c.events[i].entity.ver++
	}
	if len(c.subs) > 0 {
		c.fanOut(seq0)
	}
	clear(c.events)
	c.events = c.events[:0]
	c.evIndex = nil
	clear(c.grown)
	c.grown = c.grown[:0]
	c.hintNode = nil
}

// eventFor returns the event of entity ent in the Update in progress.
func (c *Cache) eventFor(ent *node) *event {
	if c.evIndex != nil {
		if i, ok := c.evIndex[ent]; ok {
			return &c.events[i]
		}
	} else {
		for i := range c.events {
			if c.events[i].entity == ent {
				return &c.events[i]
			}
		}
		if len(c.events) >= 8 {
			c.evIndex = make(map[*node]int, 2*len(c.events))
			for i := range c.events {
				c.evIndex[c.events[i].entity] = i
			}
		}
	}
	c.events = append(c.events, event{entity: ent})
	if c.evIndex != nil {
		c.evIndex[ent] = len(c.events) - 1
	}
	return &c.events[len(c.events)-1]
}

// walkCreate follows elems down from the place dirs inside n (containers
// below n that have no node of their own), creating the nodes that are
// missing, and returns the node reached, its entity (ent when no entity is
// crossed) and the containers without node below it that the path goes
// through, appended to dirs. Only the root's children (top-level
// containers), lists, list entries and the containers above a list get a
// node. ok is false when an element does not fit the tree (keys on a
// container, a list without keys, or other key names than the list's).
func (c *Cache) walkCreate(n, ent *node, dirs []string, elems []*gpb.PathElem) (_, _ *node, _ []string, ok bool) {
	// A container of dirs may have got a node since dirs was made (a list
	// was created below it): enter the nodes that exist.
	for len(dirs) > 0 {
		k := n.kid(dirs[0])
		if k == nil || k.list != nil {
			break
		}
		n, dirs = k, dirs[1:]
	}
	for _, e := range elems {
		name := stripModule(e.GetName())
		keyed := len(e.GetKey()) > 0
		var kid *node
		if len(dirs) == 0 {
			kid = n.kid(name)
		}
		if kid == nil {
			if !keyed && n != c.root {
				dirs = append(dirs, name)
				continue
			}
			for _, d := range dirs {
				if n = c.materialize(n, d); n.list != nil {
					// A list used as a container.
					c.prune(n)
					return nil, nil, nil, false
				}
			}
			dirs = dirs[:0]
			if n.group(nil, name) != nil {
				// A container of that name holds leaves: it is no list.
				c.prune(n)
				return nil, nil, nil, false
			}
			kid = &node{name: name, parent: n}
			if keyed {
				_, names := keyText(e.GetKey())
				kid.list = &listInfo{keyNames: names}
			}
			n.addKid(kid)
		}
		if keyed {
			if kid.list == nil || !kid.list.sameKeyNames(e.GetKey()) {
				c.prune(kid)
				return nil, nil, nil, false
			}
			var text string
			if len(kid.list.keyNames) == 1 {
				text = e.GetKey()[kid.list.keyNames[0]]
			} else {
				text, _ = keyText(e.GetKey())
			}
			en := kid.list.entries.get(text)
			if en == nil {
				en = &node{name: text, parent: kid}
				kid.list.entries.put(en)
			}
			n, ent = en, en
			continue
		}
		if kid.list != nil {
			c.prune(kid)
			return nil, nil, nil, false
		}
		n = kid
		if n.parent == c.root {
			ent = n
		}
	}
	return n, ent, dirs, true
}

// materialize gives container name below n a node (a list is being created
// in it) and moves into it the leaves n held for it.
func (c *Cache) materialize(n *node, name string) *node {
	if k := n.kid(name); k != nil {
		return k
	}
	kid := &node{name: name, parent: n}
	if n.shape != nil {
		for i := range n.shape.names {
			if n.shape.target(i) != i {
				c.unmirror(n, i)
			}
		}
		var keepNames, moveNames []*lname
		var keep, move []leaf
		for i, ln := range n.shape.names {
			if len(ln.elems) > 1 && ln.elems[0] == name {
				moveNames = append(moveNames, c.shapes.intern(ln.elems[1:]))
				move = append(move, n.leaves[i])
			} else {
				keepNames = append(keepNames, ln)
				keep = append(keep, n.leaves[i])
			}
		}
		if len(move) > 0 {
			n.shape, n.leaves = c.shapes.make(keepNames, nil), keep
			kid.shape, kid.leaves = c.shapes.make(moveNames, nil), move
		}
	}
	n.addKid(kid)
	return kid
}

// maxLeafGrowth bounds how many leaf slots one growth step reserves in a node.
const maxLeafGrowth = 32

// setLocked stores one leaf at rel below the place dirs inside n, whose
// entity is ent (nil for the root), with the value k, s, u (as
// encodeValue gives it; s is kept, so it must not be memory that is
// reused). remaining is the number of updates left in the notification
// (this one included), used to size a new leaf slice.
func (c *Cache) setLocked(n, ent *node, dirs []string, rel []*gpb.PathElem, k kind, s string, u uint64, ts int64, remaining int) {
	if len(rel) == 0 {
		return
	}
	last := rel[len(rel)-1]
	if len(last.GetKey()) > 0 {
		return
	}
	var ok bool
	c.dirs = append(c.dirs[:0], dirs...)
	n, ent, c.dirs, ok = c.walkCreate(n, ent, c.dirs, rel[:len(rel)-1])
	if !ok {
		return
	}
	if ent == nil {
		c.prune(n)
		return
	}
	c.dirs = append(c.dirs, stripModule(last.GetName()))
	ent.ts = ts
	var i int
	var found bool
	// The updates of a notification about a node usually come in the same
	// order every time (they are made from a template): try the leaf that
	// followed the one set last the previous time, before searching.
	sh := n.shape
	hinted := n == c.hintNode && sh != nil && c.hint < len(sh.names)
	if hinted && sh.after != nil {
		if h := int(sh.after[c.hint]); h < len(sh.names) && slices.Equal(sh.names[h].elems, c.dirs) {
			i, found = h, true
		}
	}
	if !found {
		i, found = n.findLeaf(c.dirs)
		if found && hinted {
			if sh.after == nil {
				sh.after = make([]uint16, len(sh.names))
			}
			if i <= math.MaxUint16 {
				sh.after[c.hint] = uint16(i)
			}
		}
	}
	c.hintNode, c.hint = n, i
	if found {
		if n.leaves[n.shape.slotOf(i)].sameValue(k, s, u) {
			return
		}
		// The leaves that showed the old value keep it.
		if n.shape.target(i) != i {
			c.unmirror(n, i)
		} else {
			c.unmirrorAll(n, i)
		}
		c.seq++
		if t, ok := c.mirrorTarget(n, c.dirs, k, s, u); ok {
			n.leaves = slices.Delete(n.leaves, n.shape.slotOf(i), n.shape.slotOf(i)+1)
			n.shape = c.shapes.move(shapeMove{from: n.shape, op: opToward, i: i, t: t})
		} else {
			n.leaves[n.shape.slotOf(i)] = makeLeaf(k, c.shareText(n, i, k, s), u, c.seq)
		}
	} else {
		c.seq++
		ln := c.shapes.intern(c.dirs)
		if t, ok := c.mirrorTarget(n, c.dirs, k, s, u); ok {
			n.shape = c.shapes.move(shapeMove{from: n.shape, op: opMirror, ln: ln, i: i, t: t})
		} else {
			n.shape = c.shapes.move(shapeMove{from: n.shape, op: opAdd, ln: ln, i: i})
			c.insertSlot(n, n.shape.slotOf(i), remaining)
			n.leaves[n.shape.slotOf(i)] = makeLeaf(k, c.shareText(n, i, k, s), u, c.seq)
		}
	}
	c.eventFor(ent).changed = true
}

// insertSlot inserts an empty leaf value at index slot of n's leaves.
// remaining is as for setLocked.
func (c *Cache) insertSlot(n *node, slot, remaining int) {
	if len(n.leaves) == cap(n.leaves) {
		// Grow by what this notification may still add, but never by
		// more than maxLeafGrowth: a notification that creates many list
		// entries must not reserve its whole length for every node.
		grown := make([]leaf, len(n.leaves), len(n.leaves)+min(max(remaining, 1), maxLeafGrowth))
		copy(grown, n.leaves)
		n.leaves = grown
		c.grown = append(c.grown, n)
	}
	n.leaves = slices.Insert(n.leaves, slot, leaf{})
}

// mirrorTarget returns the index of the leaf of n that a leaf at rel about
// to take the value k, s, u can mirror (see shape): rel is state/x, n has
// config/x with its own value, equal to that one, and changed by the
// Update in progress.
func (c *Cache) mirrorTarget(n *node, rel []string, k kind, s string, u uint64) (int, bool) {
	if len(rel) < 2 || rel[0] != "state" || n.shape == nil || !n.shape.config {
		return 0, false
	}
	c.mirrorRel = append(append(c.mirrorRel[:0], "config"), rel[1:]...)
	t, ok := n.findLeaf(c.mirrorRel)
	if !ok || n.shape.target(t) != t {
		return 0, false
	}
	l := &n.leaves[n.shape.slotOf(t)]
	if l.seq() <= c.updateBase || !l.sameValue(k, s, u) {
		return 0, false
	}
	return t, true
}

// unmirror gives mirror leaf i of n a value of its own: the one it shows.
func (c *Cache) unmirror(n *node, i int) {
	v := n.leaves[n.shape.slotOf(n.shape.target(i))]
	n.shape = c.shapes.move(shapeMove{from: n.shape, op: opOwn, i: i})
	c.insertSlot(n, n.shape.slotOf(i), 1)
	n.leaves[n.shape.slotOf(i)] = v
}

// unmirrorAll gives every mirror of leaf i of n a value of its own.
func (c *Cache) unmirrorAll(n *node, i int) {
	for n.shape.mirrors(i) {
		for j := range n.shape.names {
			if j != i && n.shape.target(j) == i {
				c.unmirror(n, j)
				break
			}
		}
	}
}

// removeLeaf removes leaf i of n.
func (c *Cache) removeLeaf(n *node, i int) {
	sh := n.shape
	if sh.target(i) == i {
		c.unmirrorAll(n, i)
		slot := n.shape.slotOf(i)
		n.leaves = slices.Delete(n.leaves, slot, slot+1)
	}
	n.shape = c.shapes.move(shapeMove{from: n.shape, op: opDel, i: i})
}

// maxSharedText is the longest value shareText remembers per shape slot.
const maxSharedText = 64

// shareText returns a string equal to s that the cache already holds when
// it finds one, else s, for a value of kind k about to be stored as leaf i
// of n, so that equal values share their memory: another leaf of n with the
// same value (the state mirror of a config leaf), or the value last stored
// at the same place of a node of the same shape (such as the address of
// the server every LSP is delegated to).
func (c *Cache) shareText(n *node, i int, k kind, s string) string {
	if !k.hasText() || s == "" {
		return s
	}
	own := n.shape.slotOf(i)
	for j := range n.leaves {
		if l := &n.leaves[j]; j != own && l.kind() == k && l.u == uint64(len(s)) && l.text() == s {
			return l.text()
		}
	}
	if len(s) > maxSharedText {
		return s
	}
	sh := n.shape
	if sh.texts == nil {
		sh.texts = make([]string, len(sh.names))
	}
	if sh.texts[i] == s {
		return sh.texts[i]
	}
	sh.texts[i] = s
	return s
}

// prune removes n and its ancestors while they are empty.
func (c *Cache) prune(n *node) {
	for n != c.root && n.empty() {
		p := n.parent
		n.detached = true
		p.removeKid(n)
		n = p
	}
}

// deleteLocked removes everything pattern p names.
func (c *Cache) deleteLocked(p pattern, ts int64) {
	// What is found is noted first (a leaf by its name: removals move the
	// others) and removed afterwards.
	type found struct {
		n    *node
		rel  []string // a leaf's path in n, or a container's without node
		leaf bool
	}
	var hits []found
	descend(c.root, p, func(h hit) {
		if h.leaf >= 0 {
			hits = append(hits, found{n: h.n, rel: h.n.leafName(h.leaf).elems, leaf: true})
		} else {
			hits = append(hits, found{n: h.n, rel: h.dirs})
		}
	})
	for _, h := range hits {
		n := h.n
		if n.detached {
			continue
		}
		switch {
		case h.leaf || len(h.rel) > 0:
			// A leaf, or a container without node: the leaves of n at or
			// below rel.
			rel := h.rel
			if !c.removeLeaves(n, rel, h.leaf) {
				continue
			}
			ent := n.entity()
			ent.ts = ts
			ev := c.eventFor(ent)
			ev.addDelPath(relPath(ent, n, strings.Join(rel, "/")))
			c.prune(n)
		case n == c.root:
			for _, k := range append([]*node(nil), n.kids...) {
				c.removeNode(k, ts)
			}
		default:
			c.removeNode(n, ts)
		}
	}
}

// removeLeaves removes the leaf at rel from n (exact), or every leaf whose
// path starts with the containers rel, and says whether there was one.
func (c *Cache) removeLeaves(n *node, rel []string, exact bool) bool {
	if exact {
		i, ok := n.findLeaf(rel)
		if !ok {
			return false
		}
		c.removeLeaf(n, i)
		return true
	}
	removed := false
	for i := 0; n.shape != nil && i < len(n.shape.names); {
		ln := n.shape.names[i]
		if len(ln.elems) > len(rel) && slices.Equal(ln.elems[:len(rel)], rel) {
			c.removeLeaf(n, i)
			removed = true
			continue
		}
		i++
	}
	return removed
}

// removeNode removes the subtree at n (a container or an entity).
func (c *Cache) removeNode(n *node, ts int64) {
	if n.isEntity() {
		n.ts = ts
		ev := c.eventFor(n)
		ev.deleted, ev.changed, ev.delPaths = true, false, nil
	} else if n.hasOwnLeaves() {
		ent := n.entity()
		ent.ts = ts
		c.eventFor(ent).addDelPath(relPath(ent, n, ""))
	}
	n.forEntities(func(e *node) {
		e.ts = ts
		ev := c.eventFor(e)
		ev.deleted, ev.changed, ev.delPaths = true, false, nil
	})
	n.detachAll()
	p := n.parent
	p.removeKid(n)
	c.prune(p)
}

func (ev *event) addDelPath(p string) {
	for _, x := range ev.delPaths {
		if x == p {
			return
		}
	}
	ev.delPaths = append(ev.delPaths, p)
}

// relPath returns the '/'-separated path from entity ent down to n, plus
// leaf when not empty.
func relPath(ent, n *node, leaf string) string {
	var parts []string
	if leaf != "" {
		parts = append(parts, leaf)
	}
	for x := n; x != ent && x != nil; x = x.parent {
		parts = append(parts, x.name)
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, "/")
}

func anyCompatible(ps []pattern, elems []celem) bool {
	for _, p := range ps {
		if p.compatible(elems) {
			return true
		}
	}
	return false
}

func anyMatch(ps []pattern, path []celem) bool {
	for _, p := range ps {
		if p.matchPath(path) {
			return true
		}
	}
	return false
}

// collectLocked returns the entities that hold leaves the patterns may
// name, each once.
func (c *Cache) collectLocked(ps []pattern) []*node {
	// With one pattern without "...", the nodes visited are disjoint
	// subtrees, so only the entities containing them (few) can come twice;
	// otherwise every entity is checked against all those seen.
	checkAll := len(ps) > 1
	for _, p := range ps {
		for i := range p {
			if p[i].hasMulti() {
				checkAll = true
			}
		}
	}
	var out []*node
	seen := make(map[*node]struct{})
	var last *node
	addContaining := func(e *node) {
		if e == last {
			return
		}
		last = e
		if _, ok := seen[e]; ok {
			return
		}
		seen[e] = struct{}{}
		out = append(out, e)
	}
	addBelow := func(e *node) {
		if _, ok := seen[e]; ok {
			return
		}
		if checkAll {
			seen[e] = struct{}{}
		}
		out = append(out, e)
	}
	for _, p := range ps {
		descend(c.root, p, func(h hit) {
			if e := h.n.entity(); e != nil {
				addContaining(e)
			}
			if h.leaf < 0 && len(h.dirs) == 0 {
				h.n.forEntities(addBelow)
			}
		})
	}
	return out
}

// snap is what a notification about one entity will say, copied from the
// tree under the read lock so that the protobuf is built without it.
type snap struct {
	elems    []celem
	ts       int64
	deleted  bool
	delPaths []string
	leaves   []snapLeaf
}

type snapLeaf struct {
	rel  []string // containers between the entity and the leaf
	name string
	l    leaf
}

// snapLocked records what to say about entity ent: deletes (the entity
// itself when deleted, then delPaths), then the entity's leaves whose value
// changed after since and that one of ps names (none when updates is false
// or the entity is gone). ok is false when there is nothing to say.
// With an arena, the snapshot's elements and leaves are kept in it.
func snapLocked(ent *node, ps []pattern, since uint64, updates, deleted bool, delPaths []string, a *snapArena) (sn snap, ok bool) {
	sn = snap{ts: ent.ts, deleted: deleted, delPaths: delPaths}
	if a != nil {
		start := len(a.elems)
		a.elems = ent.appendElems(a.elems)
		sn.elems = a.elems[start:len(a.elems):len(a.elems)]
	} else {
		sn.elems = ent.elems()
	}
	if updates && !ent.detached {
		m := newEntityMatcher(ps, sn.elems)
		var path []celem
		var leavesStart int
		if a != nil {
			leavesStart = len(a.leaves)
		}
		ent.walkOwn(nil, func(rel []string, name string, l *leaf) {
			if l.seq() <= since {
				return
			}
			if !m.all {
				path = path[:0]
				for _, r := range rel {
					path = append(path, celem{name: r})
				}
				path = append(path, celem{name: name})
				if !m.match(path) {
					return
				}
			}
			if a != nil {
				a.leaves = append(a.leaves, snapLeaf{rel: rel, name: name, l: *l})
				return
			}
			if sn.leaves == nil {
				// Sized on the first leaf: an ON_CHANGE notification
				// often holds one or a few leaves.
				sn.leaves = make([]snapLeaf, 0, 4)
			}
			sn.leaves = append(sn.leaves, snapLeaf{rel: rel, name: name, l: *l})
		})
		if a != nil && len(a.leaves) > leavesStart {
			sn.leaves = a.leaves[leavesStart:len(a.leaves):len(a.leaves)]
		}
	}
	return sn, sn.deleted || len(sn.delPaths) > 0 || len(sn.leaves) > 0
}

// snapArena holds the elements and leaves of the snapshots of a drain in
// arrays reused from drain to drain, rather than allocated per snapshot.
// A snapshot taken in it stays valid until it is truncated below the
// snapshot or reset.
type snapArena struct {
	elems  []celem
	leaves []snapLeaf
}

// arenaMark is the size of a snapArena at some point.
type arenaMark struct{ elems, leaves int }

func (a *snapArena) mark() arenaMark { return arenaMark{len(a.elems), len(a.leaves)} }

// truncate drops what was added after m.
func (a *snapArena) truncate(m arenaMark) {
	clear(a.elems[m.elems:])
	a.elems = a.elems[:m.elems]
	clear(a.leaves[m.leaves:])
	a.leaves = a.leaves[:m.leaves]
}

// reset empties a, keeping its memory.
func (a *snapArena) reset() { a.truncate(arenaMark{}) }

// entityMatcher says which leaves of one entity patterns name, given the
// leaves' paths relative to the entity: the patterns' elements that stand
// for the entity's own path are matched once, not once per leaf.
type entityMatcher struct {
	all   bool      // every leaf of the entity is named
	rests []pattern // what patterns ask of the path below the entity
	elems []celem   // the entity's path, for the patterns in full
	full  []pattern // patterns with "..." above the entity, matched in full
}

func newEntityMatcher(ps []pattern, elems []celem) entityMatcher {
	m := entityMatcher{elems: elems}
	for _, p := range ps {
		head := p[:min(len(p), len(elems))]
		multi := false
		for i := range head {
			if head[i].hasMulti() {
				multi = true
				break
			}
		}
		if multi {
			m.full = append(m.full, p)
			continue
		}
		matched := true
		for i := range head {
			if !elemMatch(&head[i], &elems[i]) {
				matched = false
				break
			}
		}
		if !matched {
			continue
		}
		if len(p) <= len(elems) {
			// The pattern names the entity or something above it.
			m.all = true
			return m
		}
		m.rests = append(m.rests, p[len(elems):])
	}
	return m
}

// match says whether a leaf at rel, its path below the entity, is named.
func (m *entityMatcher) match(rel []celem) bool {
	if m.all {
		return true
	}
	for _, r := range m.rests {
		if r.matchPath(rel) {
			return true
		}
	}
	if len(m.full) == 0 {
		return false
	}
	path := make([]celem, 0, len(m.elems)+len(rel))
	path = append(append(path, m.elems...), rel...)
	return anyMatch(m.full, path)
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) || (a == nil) != (b == nil) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// note builds the notification sn describes, with full paths and prefix
// (which carries only origin and target, or is nil). Query hands these
// objects out; subscribers send the wire form appendResponse writes
// straight from sn, which decodes to the same message.
func (sn *snap) note(prefix *gpb.Path) *gpb.Notification {
	pelems := toPathElems(sn.elems)
	note := &gpb.Notification{Timestamp: sn.ts, Prefix: prefix}
	if sn.deleted {
		note.Delete = append(note.Delete, &gpb.Path{Elem: pelems})
	}
	for _, dp := range sn.delPaths {
		pe := append([]*gpb.PathElem(nil), pelems...)
		for _, name := range strings.Split(dp, "/") {
			pe = append(pe, &gpb.PathElem{Name: name})
		}
		note.Delete = append(note.Delete, &gpb.Path{Elem: pe})
	}
	if len(sn.leaves) == 0 {
		return note
	}
	// The protobuf objects of the updates are allocated in a few arrays
	// rather than one by one, and the element objects of the entity and of
	// its containers are shared by all the paths of the notification.
	n := len(sn.leaves)
	total := 0
	for i := range sn.leaves {
		total += len(pelems) + len(sn.leaves[i].rel) + 1
	}
	ups := make([]gpb.Update, n)
	paths := make([]gpb.Path, n)
	leafElems := make([]gpb.PathElem, n)
	ptrs := make([]*gpb.PathElem, 0, total)
	var va valueArena
	va.reserve(sn.leaves)
	note.Update = make([]*gpb.Update, 0, n)
	var relKey []string
	var relElems []*gpb.PathElem
	for i := range sn.leaves {
		sl := &sn.leaves[i]
		v := va.value(&sl.l)
		if v == nil {
			continue
		}
		if !slicesEqual(relKey, sl.rel) || relElems == nil {
			relKey = sl.rel
			relElems = make([]*gpb.PathElem, len(sl.rel))
			for j, r := range sl.rel {
				relElems[j] = &gpb.PathElem{Name: r}
			}
		}
		start := len(ptrs)
		ptrs = append(ptrs, pelems...)
		ptrs = append(ptrs, relElems...)
		le := &leafElems[i]
		le.Name = sl.name
		ptrs = append(ptrs, le)
		p := &paths[i]
		p.Elem = ptrs[start:len(ptrs):len(ptrs)]
		u := &ups[i]
		u.Path, u.Val = p, v
		note.Update = append(note.Update, u)
	}
	return note
}

// Query calls fn with the current value of every leaf path names, one
// notification per entity (a list entry such as one LSP, or a top-level
// container), with full paths in the updates and no prefix. path may hold
// wildcards ("*" in names and key values, "..." for any number of
// elements); module prefixes are removed. When nothing matches, fn is not
// called. Query reads the cache in batches of entities, so notifications
// from different batches may reflect different moments; fn runs without
// any lock held. Query returns the first error fn returns.
func (c *Cache) Query(path *gpb.Path, fn func(*gpb.Notification) error) error {
	p := toPattern(joinPath(nil, path))
	ps := []pattern{p}
	c.mu.RLock()
	ents := c.collectLocked(ps)
	c.mu.RUnlock()
	return c.sendEntities(ents, ps, 0, func(sn *snap) error { return fn(sn.note(nil)) })
}

// sendEntities snapshots the entities ents in batches under the read lock
// and hands the snapshots to fn outside it.
func (c *Cache) sendEntities(ents []*node, ps []pattern, since uint64, fn func(*snap) error) error {
	snaps := make([]snap, 0, c.queryBatchSize)
	for len(ents) > 0 {
		batch := ents[:min(len(ents), c.queryBatchSize)]
		ents = ents[len(batch):]
		snaps = snaps[:0]
		c.mu.RLock()
		for _, e := range batch {
			if sn, ok := snapLocked(e, ps, since, true, false, nil, nil); ok {
				snaps = append(snaps, sn)
			}
		}
		c.mu.RUnlock()
		for i := range snaps {
			if err := fn(&snaps[i]); err != nil {
				return err
			}
		}
		clear(snaps)
	}
	return nil
}

func (c *Cache) now() time.Time { return c.clock.Now() }

// contextDone reports whether ctx has ended, without waiting.
func contextDone(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}
