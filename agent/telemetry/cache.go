// Package telemetry is the agent's read model: a cache of every leaf of the
// pce-client tree (config published by the agent core, state pumped from the
// PCEP engine) as gNMI leaves, and the gNMI Subscribe RPC served from it.
//
// The cache is a tree keyed by path elements, so one LSP's update costs the
// depth of its path, not the size of the tree, and leaves are stored in a
// compact form (a cache with 100,000 LSPs stays near 100 MB). Changes reach
// subscribers through per-subscriber coalescing queues keyed by entity (a
// list entry such as one LSP, or a top-level container): a slow subscriber
// loses intermediate values of an entity but never blocks Update, and its
// queue never holds more than one entry per entity.
package telemetry

import (
	"context"
	"log/slog"
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
	events  []event
	evIndex map[*node]int
	grown   []*node

	shared sharedNotes // encoded ON_CHANGE notifications shared by subscribers

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
		batchEntities:  256,
		queryBatchSize: 512,
	}
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
// queues before Update returns; Update never waits for a subscriber.
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
	for _, d := range n.GetDelete() {
		c.deleteLocked(toPattern(joinPath(n.GetPrefix(), d)), ts)
	}
	if ups := n.GetUpdate(); len(ups) > 0 {
		// The prefix is resolved once for all the updates.
		if at, ent, ok := c.walkCreate(c.root, nil, n.GetPrefix().GetElem()); ok {
			for i, u := range ups {
				c.setLocked(at, ent, u.GetPath().GetElem(), u.GetVal(), ts, len(ups)-i)
			}
			c.prune(at)
		}
	}
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

// walkCreate follows elems down from n, creating the nodes that are
// missing, and returns the node reached and its entity (ent when no entity
// is crossed). ok is false when an element does not fit the tree (keys on a
// container, a list without keys, or other key names than the list's).
func (c *Cache) walkCreate(n, ent *node, elems []*gpb.PathElem) (_, _ *node, ok bool) {
	for _, e := range elems {
		name := stripModule(e.GetName())
		kid := n.kid(name)
		if kid == nil {
			kid = &node{name: name, parent: n}
			if len(e.GetKey()) > 0 {
				_, names := keyText(e.GetKey())
				kid.list = &listInfo{keyNames: names, entries: make(map[string]*node)}
			}
			n.addKid(kid)
		}
		if len(e.GetKey()) > 0 {
			if kid.list == nil || !kid.list.sameKeyNames(e.GetKey()) {
				c.prune(kid)
				return nil, nil, false
			}
			var text string
			if len(kid.list.keyNames) == 1 {
				text = e.GetKey()[kid.list.keyNames[0]]
			} else {
				text, _ = keyText(e.GetKey())
			}
			en := kid.list.entries[text]
			if en == nil {
				en = &node{name: text, parent: kid}
				kid.list.entries[text] = en
			}
			n, ent = en, en
			continue
		}
		if kid.list != nil {
			c.prune(kid)
			return nil, nil, false
		}
		n = kid
		if n.parent == c.root {
			ent = n
		}
	}
	return n, ent, true
}

// maxLeafGrowth bounds how many leaf slots one growth step reserves in a node.
const maxLeafGrowth = 32

// setLocked stores one leaf at rel below n, whose entity is ent (nil for
// the root). remaining is the number of updates left in the notification
// (this one included), used to size a new leaf slice.
func (c *Cache) setLocked(n, ent *node, rel []*gpb.PathElem, v *gpb.TypedValue, ts int64, remaining int) {
	if len(rel) == 0 {
		return
	}
	last := rel[len(rel)-1]
	if len(last.GetKey()) > 0 {
		return
	}
	k, s, u, ok := encodeValue(v)
	if !ok {
		return
	}
	n, ent, ok = c.walkCreate(n, ent, rel[:len(rel)-1])
	if !ok {
		return
	}
	if ent == nil {
		c.prune(n)
		return
	}
	name := stripModule(last.GetName())
	ent.ts = ts
	i, found := n.leafIndex(name)
	if found {
		l := &n.leaves[i]
		if l.kind() == k && l.u == u && l.s == s {
			return
		}
		c.seq++
		l.s, l.u, l.meta = s, u, mkMeta(c.seq, k)
	} else {
		c.seq++
		if len(n.leaves) == cap(n.leaves) {
			// Grow by what this notification may still add, but never by
			// more than maxLeafGrowth: a notification that creates many list
			// entries must not reserve its whole length for every node.
			grown := make([]leaf, len(n.leaves), len(n.leaves)+min(remaining, maxLeafGrowth))
			copy(grown, n.leaves)
			n.leaves = grown
			c.grown = append(c.grown, n)
		}
		n.leaves = append(n.leaves, leaf{})
		copy(n.leaves[i+1:], n.leaves[i:])
		n.leaves[i] = leaf{name: name, s: s, u: u, meta: mkMeta(c.seq, k)}
	}
	c.eventFor(ent).changed = true
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
	type hit struct {
		n    *node
		leaf string
	}
	var hits []hit
	descend(c.root, p, func(n *node, i int) {
		if i >= 0 {
			hits = append(hits, hit{n, n.leaves[i].name})
		} else {
			hits = append(hits, hit{n: n})
		}
	})
	for _, h := range hits {
		n := h.n
		if n.detached {
			continue
		}
		if h.leaf != "" {
			i, ok := n.leafIndex(h.leaf)
			if !ok {
				continue
			}
			n.leaves = slices.Delete(n.leaves, i, i+1)
			ent := n.entity()
			ent.ts = ts
			ev := c.eventFor(ent)
			ev.addDelPath(relPath(ent, n, h.leaf))
			c.prune(n)
			continue
		}
		if n == c.root {
			for _, k := range append([]*node(nil), n.kids...) {
				c.removeNode(k, ts)
			}
			continue
		}
		c.removeNode(n, ts)
	}
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

// fanOut hands the events of the Update in progress to the subscribers.
// base is the cache sequence number before the Update.
func (c *Cache) fanOut(base uint64) {
	for i := range c.events {
		ev := &c.events[i]
		var elems []celem
		var key string
		for s := range c.subs {
			if elems == nil {
				elems = ev.entity.elems()
			}
			upd := ev.changed && anyCompatible(s.onChange, elems)
			del := (ev.deleted || len(ev.delPaths) > 0) && anyCompatible(s.all, elems)
			if !upd && !del {
				continue
			}
			if key == "" {
				key = ev.entity.key()
			}
			s.q.mark(key, ev, base, upd, del)
		}
	}
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
		descend(c.root, p, func(n *node, i int) {
			if e := n.entity(); e != nil {
				addContaining(e)
			}
			if i < 0 {
				n.forEntities(addBelow)
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
	rel []string // containers between the entity and the leaf
	l   leaf
}

// snapLocked records what to say about entity ent: deletes (the entity
// itself when deleted, then delPaths), then the entity's leaves whose value
// changed after since and that one of ps names (none when updates is false
// or the entity is gone). ok is false when there is nothing to say.
func snapLocked(ent *node, ps []pattern, since uint64, updates, deleted bool, delPaths []string) (sn snap, ok bool) {
	sn = snap{elems: ent.elems(), ts: ent.ts, deleted: deleted, delPaths: delPaths}
	if updates && !ent.detached {
		sn.leaves = make([]snapLeaf, 0, 16)
		path := make([]celem, len(sn.elems), len(sn.elems)+4)
		copy(path, sn.elems)
		var lastRel []string
		ent.walkOwn(nil, func(rel []string, l *leaf) {
			if l.seq() <= since {
				return
			}
			path = path[:len(sn.elems)]
			for _, r := range rel {
				path = append(path, celem{name: r})
			}
			path = append(path, celem{name: l.name})
			if !anyMatch(ps, path) {
				return
			}
			if !slicesEqual(lastRel, rel) {
				lastRel = append([]string(nil), rel...)
			}
			sn.leaves = append(sn.leaves, snapLeaf{rel: lastRel, l: *l})
		})
	}
	return sn, sn.deleted || len(sn.delPaths) > 0 || len(sn.leaves) > 0
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
// (which carries only origin and target, or is nil).
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
		le.Name = sl.l.name
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
	return c.sendEntities(ents, ps, 0, nil, fn)
}

// sendEntities builds the notifications of ents in batches under the read
// lock and hands them to fn outside it.
func (c *Cache) sendEntities(ents []*node, ps []pattern, since uint64, prefix *gpb.Path, fn func(*gpb.Notification) error) error {
	snaps := make([]snap, 0, c.queryBatchSize)
	for len(ents) > 0 {
		batch := ents[:min(len(ents), c.queryBatchSize)]
		ents = ents[len(batch):]
		snaps = snaps[:0]
		c.mu.RLock()
		for _, e := range batch {
			if sn, ok := snapLocked(e, ps, since, true, false, nil); ok {
				snaps = append(snaps, sn)
			}
		}
		c.mu.RUnlock()
		for i := range snaps {
			if err := fn(snaps[i].note(prefix)); err != nil {
				return err
			}
		}
		clear(snaps)
	}
	return nil
}

// register adds s to the subscribers that Update feeds.
func (c *Cache) register(s *subscriber) {
	c.mu.Lock()
	c.subs[s] = struct{}{}
	c.mu.Unlock()
}

func (c *Cache) unregister(s *subscriber) {
	c.mu.Lock()
	delete(c.subs, s)
	c.mu.Unlock()
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
