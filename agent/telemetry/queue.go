package telemetry

import (
	"sync"
	"time"
)

// marker says what a subscriber still has to be told about one entity.
type marker struct {
	ent      *node  // the entity's node as of the latest change
	since    uint64 // send leaves whose value changed after this sequence number
	changed  bool
	deleted  bool
	delPaths []string
	gone     string // the entity's key while the marker is in its queue's gone index
}

// queue is a subscriber's coalescing queue: at most one marker per entity,
// markers leave in the order their entity first became dirty, and a later
// change of a queued entity is merged into its marker. Pushing never
// blocks, and memory is bounded by the number of entities.
//
// Markers are found through the entity's node, which holds the marker of
// every queue that has one (see entityMarks): no lookup by hash per change
// and subscriber. A removed entity that comes back is a new node: its changes are merged
// into the marker of the removed one, found by the entity's key in gone,
// which holds only the markers of removed entities (so keys are built only
// for those), so that create/delete churn cannot grow the queue beyond one
// marker per entity key.
type queue struct {
	mu    sync.Mutex
	slot  int // the queue's index in the entities' entityMarks, given by register
	gone  map[string]*marker
	order []*marker
	head  int
	free  []*marker     // markers given back by release, for reuse
	ready chan struct{} // has a value when markers may be queued
	// snapped holds, for the entities popped while a batch of Run was in
	// progress, the cache sequence number their notification was built at:
	// it may already hold changes of the batch that flush has not handed
	// to the queue yet, and those must not be sent twice.
	snapped map[*node]uint64
}

func newQueue() *queue {
	return &queue{gone: make(map[string]*marker), ready: make(chan struct{}, 1)}
}

// entityMarks is kept by an entity's node once a queue has held a marker
// for it: the marker of each queue that holds one, by queue slot. An
// element is written only with the queue's mu held and, for a marker, with
// Cache.mu held for writing (flush), for nil with Cache.mu held at least
// for reading (pop): queues of different slots write different elements,
// and the slice grows only with Cache.mu held for writing.
type entityMarks struct {
	m []*marker
}

// marker returns q's marker of entity ent, nil when it has none.
func (q *queue) marker(ent *node) *marker {
	if em := ent.marks; em != nil && q.slot < len(em.m) {
		return em.m[q.slot]
	}
	return nil
}

// setMarker records m as q's marker of entity ent (nil: none).
func (q *queue) setMarker(ent *node, m *marker) {
	em := ent.marks
	if em == nil {
		if m == nil {
			return
		}
		em = &entityMarks{}
		ent.marks = em
	}
	if q.slot >= len(em.m) {
		if m == nil {
			return
		}
		em.m = append(em.m, make([]*marker, q.slot+1-len(em.m))...)
	}
	em.m[q.slot] = m
}

// mark records event ev for its entity. base is the cache sequence number
// before the change; upd and del say whether the subscriber wants the
// event's updates and deletes.
func (q *queue) mark(ev *event, base uint64, upd, del bool) {
	q.mu.Lock()
	added := q.markLocked(ev, base, upd, del)
	q.mu.Unlock()
	if added {
		q.wake()
	}
}

// wake tells the subscriber that markers may be queued.
func (q *queue) wake() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// markLocked is mark with q.mu held, and says whether it queued a new
// marker (the subscriber is then to be woken: see wake).
func (q *queue) markLocked(ev *event, base uint64, upd, del bool) (added bool) {
	ent := ev.entity
	m := q.marker(ent)
	if m == nil && len(q.gone) > 0 && !ent.detached {
		if m = q.gone[ent.key()]; m != nil {
			// The entity was removed and has come back as ent.
			delete(q.gone, m.gone)
			q.setMarker(m.ent, nil)
			m.gone = ""
			q.setMarker(ent, m)
		}
	}
	if m == nil {
		if s, ok := q.snapped[ent]; ok && s > base {
			base = s // the leaves changed up to s have been sent
		}
		if n := len(q.free); n > 0 {
			m = q.free[n-1]
			q.free[n-1] = nil
			q.free = q.free[:n-1]
			m.since = base
		} else {
			m = &marker{since: base}
		}
		q.setMarker(ent, m)
		q.order = append(q.order, m)
		added = true
	}
	if m.ent != ent {
		m.ent = ent
	}
	if ent.detached && m.gone == "" {
		m.gone = ent.key()
		q.gone[m.gone] = m
	}
	if del {
		if ev.deleted {
			m.deleted, m.changed, m.delPaths = true, false, nil
		}
		for _, p := range ev.delPaths {
			if indexOf(m.delPaths, p) < 0 {
				m.delPaths = append(m.delPaths, p)
			}
		}
	}
	if upd && !m.changed {
		m.changed = true
	}
	return added
}

// pop removes up to max markers, oldest first, appending them to buf.
// seq is the cache sequence number their notifications are built at;
// batching says whether a batch of Run is in progress.
func (q *queue) pop(max int, buf []*marker, seq uint64, batching bool) []*marker {
	q.mu.Lock()
	defer q.mu.Unlock()
	if batching && q.snapped == nil {
		q.snapped = make(map[*node]uint64)
	}
	for q.head < len(q.order) && max > 0 {
		m := q.order[q.head]
		q.order[q.head] = nil
		q.head++
		q.setMarker(m.ent, nil)
		if m.gone != "" {
			delete(q.gone, m.gone)
		}
		if batching && m.changed && !m.ent.detached {
			// Its notification holds the entity's subscribed leaves as
			// they are at seq (a marker without changes sends none).
			q.snapped[m.ent] = seq
		}
		buf = append(buf, m)
		max--
	}
	switch {
	case q.head == len(q.order):
		q.order = q.order[:0]
		q.head = 0
	case q.head > 1024 && q.head > len(q.order)/2:
		n := copy(q.order, q.order[q.head:])
		clear(q.order[n:])
		q.order = q.order[:n]
		q.head = 0
	}
	return buf
}

// maxFreeMarkers bounds the markers a queue keeps for reuse.
const maxFreeMarkers = 1024

// release gives back popped markers the caller no longer uses, so that
// later changes reuse them rather than allocate.
func (q *queue) release(ms []*marker) {
	q.mu.Lock()
	for _, m := range ms {
		if len(q.free) >= maxFreeMarkers {
			break
		}
		*m = marker{} // delPaths may still be in a snap being sent: not reused
		q.free = append(q.free, m)
	}
	q.mu.Unlock()
}

// len returns the number of queued markers.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.order) - q.head
}

// fanState is the Cache's side of the STREAM subscribers: who they are,
// grouped by what they subscribe to, and the changes not yet handed to
// their queues. It is guarded by Cache.mu.
type fanState struct {
	holdDown time.Duration // ON_CHANGE hold-down (WithHoldDown), 0 for none
	groups   []*subGroup
	// While a batch of Run is in progress (batching), fanOut keeps the
	// events of each Update in pending and flush hands them all to the
	// queues at the end of the batch: one lock and one wake-up per
	// subscriber per batch rather than per change.
	batching bool
	pending  []pendingEvent
	marks    []pendingMark    // flush's scratch
	elemBuf  []celem          // flush's scratch: entity paths
	slots    map[int]struct{} // the queue slots in use
}

// takeSlot returns the lowest queue slot not in use and marks it used.
func (f *fanState) takeSlot() int {
	if f.slots == nil {
		f.slots = make(map[int]struct{})
	}
	for i := 0; ; i++ {
		if _, used := f.slots[i]; !used {
			f.slots[i] = struct{}{}
			return i
		}
	}
}

// subGroup is the subscribers whose subscription lists name the same paths
// (the same shape and the same patterns for deletes): whether an event
// concerns them is decided once for all of them.
type subGroup struct {
	shape    string // shapeKey of the ON_CHANGE patterns and prefix
	allShape string // shapeKey of all the patterns
	onChange []pattern
	all      []pattern
	subs     []*subscriber
	// dmu guards the members' parked and out (see drainWith). Taken after
	// Cache.mu, before a queue's mu.
	dmu sync.Mutex
}

// pendingEvent is an event of an Update of the batch in progress, with the
// cache sequence number before that Update.
type pendingEvent struct {
	ev   event
	base uint64
}

// pendingMark is one event a group's subscribers are to be told about.
type pendingMark struct {
	ev       *event
	base     uint64
	upd, del bool
}

// fanOut hands the events of the Update in progress to the subscribers, or
// keeps them for the end of Run's batch. base is the cache sequence number
// before the Update. Called with c.mu held for writing.
func (c *Cache) fanOut(base uint64) {
	f := &c.fan
	for i := range c.events {
		f.pending = append(f.pending, pendingEvent{ev: c.events[i], base: base})
	}
	if !f.batching {
		c.flushLocked()
	}
}

// flushLocked hands the pending events to the subscribers' queues, in the
// order they happened. Called with c.mu held for writing.
func (c *Cache) flushLocked() {
	f := &c.fan
	// The path of each pending event's entity, built at most once, in
	// one array reused from flush to flush.
	var ends []int
	if len(f.groups) > 1 {
		ends = make([]int, len(f.pending))
		for i := range f.pending {
			f.elemBuf = f.pending[i].ev.entity.appendElems(f.elemBuf)
			ends[i] = len(f.elemBuf)
		}
	}
	for _, g := range f.groups {
		marks := f.marks[:0]
		for i := range f.pending {
			pe := &f.pending[i]
			ev := &pe.ev
			var es []celem
			if ends != nil {
				from := 0
				if i > 0 {
					from = ends[i-1]
				}
				es = f.elemBuf[from:ends[i]]
			} else {
				f.elemBuf = ev.entity.appendElems(f.elemBuf[:0])
				es = f.elemBuf
			}
			upd := ev.changed && anyCompatible(g.onChange, es)
			del := (ev.deleted || len(ev.delPaths) > 0) && anyCompatible(g.all, es)
			if upd || del {
				marks = append(marks, pendingMark{ev: ev, base: pe.base, upd: upd, del: del})
			}
		}
		if len(marks) > 0 {
			for _, s := range g.subs {
				q := s.q
				added := false
				q.mu.Lock()
				for j := range marks {
					m := &marks[j]
					if q.markLocked(m.ev, m.base, m.upd, m.del) {
						added = true
					}
				}
				q.mu.Unlock()
				if added {
					q.wake()
				}
			}
		}
		clear(marks)
		f.marks = marks[:0]
	}
	clear(f.pending)
	f.pending = f.pending[:0]
	clear(f.elemBuf)
	f.elemBuf = f.elemBuf[:0]
	for _, g := range f.groups {
		for _, s := range g.subs {
			if s.q.snapped != nil {
				s.q.mu.Lock()
				s.q.snapped = nil
				s.q.mu.Unlock()
			}
		}
	}
}

// batch runs fn, an Update or several, handing their changes to the
// subscribers only when fn returns: used by Run around each batch of
// engine changes.
func (c *Cache) batch(fn func()) {
	c.mu.Lock()
	c.fan.batching = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.flushLocked()
		c.fan.batching = false
		c.mu.Unlock()
	}()
	fn()
}

// register adds s to the subscribers that Update feeds. Changes made
// before it are not handed to s.
func (c *Cache) register(s *subscriber) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
	c.subs[s] = struct{}{}
	s.q.slot = c.fan.takeSlot()
	all := shapeKey(s.all, nil)
	for _, g := range c.fan.groups {
		if g.shape == s.shape && g.allShape == all {
			g.subs = append(g.subs, s)
			s.group = g
			return
		}
	}
	s.group = &subGroup{
		shape: s.shape, allShape: all, onChange: s.onChange, all: s.all, subs: []*subscriber{s},
	}
	c.fan.groups = append(c.fan.groups, s.group)
}

// unregister removes s from the subscribers that Update feeds.
func (c *Cache) unregister(s *subscriber) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
	delete(c.subs, s)
	if _, ok := c.fan.slots[s.q.slot]; ok {
		// The entities forget the queue's markers, and the slot is free
		// for another subscriber.
		s.q.mu.Lock()
		for _, m := range s.q.order[s.q.head:] {
			s.q.setMarker(m.ent, nil)
		}
		s.q.mu.Unlock()
		delete(c.fan.slots, s.q.slot)
	}
	for i, g := range c.fan.groups {
		j := -1
		for k, x := range g.subs {
			if x == s {
				j = k
			}
		}
		if j < 0 {
			continue
		}
		g.subs = append(g.subs[:j], g.subs[j+1:]...)
		if len(g.subs) == 0 {
			c.fan.groups = append(c.fan.groups[:i], c.fan.groups[i+1:]...)
		}
		return
	}
}

// DefaultHoldDown is the ON_CHANGE hold-down of a Cache made without
// WithHoldDown: none. INTERFACE.md has every change reach ON_CHANGE
// subscribers, and a hold-down measured no faster PCEP round trips with 10
// subscribers while halving what one subscriber receives (BENCHMARKS.md);
// changes still coalesce per entity for a subscriber that falls behind.
const DefaultHoldDown time.Duration = 0

// WithHoldDown sets the ON_CHANGE hold-down d: a STREAM subscriber sends
// a change as soon as it is made when it has sent nothing for a while, but
// after a pass that sent changes it starts the next one no earlier than
// the first multiple of d (on the cache's clock, see WithClock) after the
// start of that pass. Changes made
// meanwhile coalesce per entity: the subscriber gets the latest value of
// every changed leaf and every delete, entities in the order they first
// changed, but not the values a leaf had for less than d. This bounds the
// notifications per entity and subscriber to one per d whatever the
// engine's change rate, and, the multiples of d being the same for all,
// lets subscribers of the same paths share each encoded notification.
// d <= 0 sends every change as soon as the subscriber can. Default
// DefaultHoldDown.
func WithHoldDown(d time.Duration) Option {
	return func(c *Cache) { c.fan.holdDown = max(d, 0) }
}

// holdDown returns the ON_CHANGE hold-down, 0 for none.
func (c *Cache) holdDown() time.Duration { return c.fan.holdDown }
