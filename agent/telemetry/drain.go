package telemetry

import (
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A drain takes a batch of markers from a subscriber's queue and turns them
// into the encoded notifications the subscriber sends. Subscribers of the
// same paths (a subGroup) that wait for the same hold-down tick are drained
// together by the first of them to wake: their queues are taken at the same
// moment, so the notifications they are to send about an entity are
// snapshotted and encoded once for all of them, and each of the others
// finds its notifications in its outbox when it wakes (see streamLoop).

// drainScratch is the scratch state of one drain, reused by the
// subscriber that runs it.
type drainScratch struct {
	marks   []*marker
	snaps   []snap
	arena   snapArena // the elements and leaves of snaps
	notes   []plannedNote
	keys    []plannedKey
	local   map[noteKey]int // the keys of snaps planned by this drain: index in snaps
	enc     [][]byte        // the encoding of each of snaps
	members []*subscriber   // the members drained, the one that drains first
	ends    []int           // per member drained: the end of its notes
	taken   []int           // per member drained: the markers taken
	lefts   []int           // per member drained: the markers left in its queue
}

// plannedNote is one notification a drain hands to a member: bytes found
// in the shared cache, or snaps[snap] once encoded.
type plannedNote struct {
	b    []byte
	snap int // index in snaps, or -1 when b is set
}

// plannedKey is a key under which the encoding of snaps[snap] is shared.
type plannedKey struct {
	key  noteKey
	snap int
}

// outbox is what another member's drain took from a subscriber's queue,
// to be sent by the subscriber: notifications encoded at start, the number
// of markers they came from, the markers of the queue left behind by that
// drain's batch limit, and the error encoding them gave.
type outbox struct {
	notes []([]byte)
	taken int
	left  int
	start time.Time
	err   error
}

// drain sends up to one batch of queued entity changes and returns how
// many markers it took.
func (s *subscriber) drain() (int, error) {
	return s.drainWith(false)
}

// drainWith sends up to one batch of queued entity changes and returns
// how many markers it took. With group, the members of its group that
// wait for a hold-down tick already reached are drained at the same
// moment, their notifications left in their outbox.
func (s *subscriber) drainWith(group bool) (int, error) {
	c := s.c
	d := &s.drainer
	members := append(d.members[:0], s)
	g := s.group
	c.mu.RLock()
	locked := group && g != nil && len(g.subs) > 1
	if locked {
		g.dmu.Lock()
		now := c.clock.Now()
		for _, m := range g.subs {
			if m != s && !m.parked.IsZero() && !m.parked.After(now) && m.out == nil {
				members = append(members, m)
			}
		}
	}
	start := c.clock.Now()
	share := len(c.subs) > 1 // with one subscriber there is no one to share with
	if share && d.local == nil {
		d.local = make(map[noteKey]int)
	}
	for _, m := range members {
		d.marks = m.q.pop(c.batchEntities, d.marks[:0], c.seq, c.fan.batching)
		d.lefts = append(d.lefts, m.q.len())
		d.taken = append(d.taken, len(d.marks))
		for _, mk := range d.marks {
			d.plan(c, m, mk, share)
		}
		d.ends = append(d.ends, len(d.notes))
		m.q.release(d.marks)
		clear(d.marks)
	}
	c.mu.RUnlock()
	defer d.reset()

	// Each snapshot is encoded once, and shared under its keys. One that
	// cannot be encoded (nil) fails the members that were to send it.
	var encErr error
	for i := range d.snaps {
		b, err := d.snaps[i].appendResponse(nil, s.pre)
		if err != nil && encErr == nil {
			encErr = status.Errorf(codes.Internal, "encoding a notification: %v", err)
		}
		d.enc = append(d.enc, b)
	}
	for _, k := range d.keys {
		if b := d.enc[k.snap]; b != nil {
			c.shared.put(&k.key, b)
		}
	}
	from := 0
	var own []plannedNote
	var ownErr error
	for mi, m := range members {
		notes := d.notes[from:d.ends[mi]]
		from = d.ends[mi]
		var err error
		if encErr != nil {
			for _, p := range notes {
				if p.snap >= 0 && d.enc[p.snap] == nil {
					err = encErr
					break
				}
			}
		}
		if mi == 0 {
			own, ownErr = notes, err
			continue
		}
		if d.taken[mi] == 0 {
			continue
		}
		ob := &outbox{taken: d.taken[mi], left: d.lefts[mi], start: start, err: err}
		if err == nil {
			ob.notes = make([][]byte, len(notes))
			for j, p := range notes {
				ob.notes[j] = d.bytes(p)
			}
		}
		m.out = ob
	}
	if locked {
		g.dmu.Unlock()
	}
	clear(members)
	d.members = members[:0]
	if ownErr != nil {
		return d.taken[0], ownErr
	}
	for _, p := range own {
		if err := s.sendEncoded(d.bytes(p)); err != nil {
			return d.taken[0], err
		}
	}
	return d.taken[0], nil
}

// bytes returns the encoding of p.
func (d *drainScratch) bytes(p plannedNote) []byte {
	if p.snap >= 0 {
		return d.enc[p.snap]
	}
	return p.b
}

// reset empties d for the next drain, keeping its memory.
func (d *drainScratch) reset() {
	clear(d.snaps)
	d.snaps = d.snaps[:0]
	d.arena.reset()
	clear(d.notes)
	d.notes = d.notes[:0]
	clear(d.keys)
	d.keys = d.keys[:0]
	clear(d.local)
	clear(d.enc)
	d.enc = d.enc[:0]
	d.ends = d.ends[:0]
	d.taken = d.taken[:0]
	d.lefts = d.lefts[:0]
}

// plan notes what member m is to send for marker mk: a notification found
// in the shared cache or planned by this drain already, or a new snapshot
// to encode. Called with c.mu held for reading.
func (d *drainScratch) plan(c *Cache, m *subscriber, mk *marker, share bool) {
	if !share {
		if sn, ok := snapLocked(mk.ent, m.onChange, mk.since, mk.changed, mk.deleted, mk.delPaths, &d.arena); ok {
			d.snaps = append(d.snaps, sn)
			d.notes = append(d.notes, plannedNote{snap: len(d.snaps) - 1})
		}
		return
	}
	// What the notification says depends on the entity's state (ver, ts),
	// the subscription's shape, the deletes, and which of the subscribed
	// leaves changed after mk.since. The same marker gives the same
	// notification (raw key, looked up first: no copy of the entity is
	// needed for it); otherwise the subscribed leaves changed after
	// mk.since are all those from the lowest sequence number among them
	// on, so that number stands for them (exact key).
	raw := noteKey{ent: mk.ent, ver: mk.ent.ver, ts: mk.ent.ts,
		changed: mk.changed, deleted: mk.deleted, shape: m.shapeH, since: mk.since, raw: true}
	if len(mk.delPaths) > 0 {
		raw.delPaths = joinExact(mk.delPaths)
	}
	if i, found := d.local[raw]; found {
		d.add(i)
		return
	}
	if b, found := c.shared.get(&raw); found {
		if len(b) > 0 {
			d.notes = append(d.notes, plannedNote{b: b, snap: -1})
		}
		return
	}
	am := d.arena.mark()
	sn, ok := snapLocked(mk.ent, m.onChange, mk.since, mk.changed, mk.deleted, mk.delPaths, &d.arena)
	exact := raw
	exact.raw, exact.changed, exact.since = false, len(sn.leaves) > 0, lowestSeq(sn.leaves)
	if i, found := d.local[exact]; found {
		d.arena.truncate(am)
		d.local[raw] = i
		if i >= 0 {
			d.keys = append(d.keys, plannedKey{key: raw, snap: i})
		}
		d.add(i)
		return
	}
	if b, found := c.shared.get(&exact); found {
		d.arena.truncate(am)
		c.shared.put(&raw, b)
		if len(b) > 0 {
			d.notes = append(d.notes, plannedNote{b: b, snap: -1})
		}
		return
	}
	if !ok {
		d.arena.truncate(am)
		d.local[raw], d.local[exact] = -1, -1
		c.shared.put(&raw, []byte{})
		c.shared.put(&exact, []byte{})
		return
	}
	d.snaps = append(d.snaps, sn)
	i := len(d.snaps) - 1
	d.local[raw], d.local[exact] = i, i
	d.keys = append(d.keys, plannedKey{key: exact, snap: i}, plannedKey{key: raw, snap: i})
	d.add(i)
}

// add plans snapshot i (nothing for -1: a marker with nothing to say).
func (d *drainScratch) add(i int) {
	if i >= 0 {
		d.notes = append(d.notes, plannedNote{snap: i})
	}
}

// park records that s waits for hold-down tick t: from then on, another
// member's drain may take s's queue for it.
func (s *subscriber) park(t time.Time) {
	if g := s.group; g != nil {
		g.dmu.Lock()
		s.parked = t
		g.dmu.Unlock()
	}
}

// unpark records that s no longer waits and returns what another member's
// drain took for it meanwhile (nil for nothing).
func (s *subscriber) unpark() *outbox {
	g := s.group
	if g == nil {
		return nil
	}
	g.dmu.Lock()
	ob := s.out
	s.parked, s.out = time.Time{}, nil
	g.dmu.Unlock()
	return ob
}
