package telemetry

import "sync"

// marker says what a subscriber still has to be told about one entity.
type marker struct {
	key      string
	ent      *node  // the entity's node as of the latest change
	since    uint64 // send leaves whose value changed after this sequence number
	changed  bool
	deleted  bool
	delPaths []string
}

// queue is a subscriber's coalescing queue: at most one marker per entity,
// markers leave in the order their entity first became dirty, and a later
// change of a queued entity is merged into its marker. Pushing never
// blocks, and memory is bounded by the number of entities.
type queue struct {
	mu    sync.Mutex
	idx   map[string]*marker
	order []*marker
	head  int
	free  []*marker     // markers given back by release, for reuse
	ready chan struct{} // has a value when markers may be queued
}

func newQueue() *queue {
	return &queue{idx: make(map[string]*marker), ready: make(chan struct{}, 1)}
}

// mark records event ev for the entity named key. base is the cache
// sequence number before the change; upd and del say whether the
// subscriber wants the event's updates and deletes.
func (q *queue) mark(key string, ev *event, base uint64, upd, del bool) {
	q.mu.Lock()
	m := q.idx[key]
	if m == nil {
		if n := len(q.free); n > 0 {
			m = q.free[n-1]
			q.free[n-1] = nil
			q.free = q.free[:n-1]
			m.key, m.since = key, base
		} else {
			m = &marker{key: key, since: base}
		}
		q.idx[key] = m
		q.order = append(q.order, m)
		select {
		case q.ready <- struct{}{}:
		default:
		}
	}
	m.ent = ev.entity
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
	if upd {
		m.changed = true
	}
	q.mu.Unlock()
}

// pop removes up to max markers, oldest first, appending them to buf.
func (q *queue) pop(max int, buf []*marker) []*marker {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.head < len(q.order) && max > 0 {
		m := q.order[q.head]
		q.order[q.head] = nil
		q.head++
		delete(q.idx, m.key)
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
