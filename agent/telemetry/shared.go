package telemetry

import (
	"encoding/binary"
	"slices"
	"sync"
	"unique"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// maxSharedNotes bounds the number of encoded notifications the shared
// cache holds (see sharedNotes for what it forgets first). A burst of changes
// is normally sent to every subscriber well before that many other
// notifications have been encoded.
const maxSharedNotes = 16384

// noteKey names one notification a subscriber's drain may send: what is
// to be said about the entity (since, changed, deleted, delPaths), the
// state of the entity (its version and timestamp), and the subscription's
// shape (its ON_CHANGE patterns and the prefix it echoes). Two subscribers
// whose keys are equal send the same bytes. A raw key holds what was
// queued (since: send the subscribed leaves changed after it; changed: the
// entity changed); an exact key what the notification holds (since: the
// lowest sequence number of the subscribed leaves it sends, which are all
// those changed from there on; changed: it sends leaves), so that
// subscribers that last heard of the entity at different moments but are
// to be sent the same leaves share it.
type noteKey struct {
	ent      *node
	ver      uint32
	raw      bool
	ts       int64
	since    uint64
	changed  bool
	deleted  bool
	delPaths string
	shape    unique.Handle[string] // of the subscriber's shape (see shapeKey)
}

// sharedNotes holds encoded SubscribeResponses of ON_CHANGE notifications
// so that one change is built and encoded once for all the subscribers
// that would send it, rather than once per subscriber. It keeps two
// generations: when the current one holds half of maxSharedNotes, it
// becomes the old one and the old one, emptied, the current one, so that
// the memory of the maps is reused and what was put last is always found.
type sharedNotes struct {
	mu  sync.Mutex
	m   map[noteKey][]byte // the current generation
	old map[noteKey][]byte
}

func (sh *sharedNotes) get(k *noteKey) ([]byte, bool) {
	sh.mu.Lock()
	b, ok := sh.m[*k]
	if !ok {
		b, ok = sh.old[*k]
	}
	sh.mu.Unlock()
	return b, ok
}

func (sh *sharedNotes) put(k *noteKey, b []byte) {
	sh.mu.Lock()
	switch {
	case sh.m == nil:
		sh.m = make(map[noteKey][]byte, 256)
	case len(sh.m) >= maxSharedNotes/2:
		clear(sh.old)
		if sh.old == nil {
			sh.old = make(map[noteKey][]byte, len(sh.m))
		}
		sh.m, sh.old = sh.old, sh.m
	}
	sh.m[*k] = b
	sh.mu.Unlock()
}

// len returns the number of notifications held.
func (sh *sharedNotes) len() int {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return len(sh.m) + len(sh.old)
}

// sendEncoded sends b, the wire form of a SubscribeResponse, on s's stream.
// The response sent holds b as its unknown fields, which protobuf writes
// out unchanged: the client receives exactly the response b encodes, and
// the stream only copies bytes instead of marshalling a notification.
func (s *subscriber) sendEncoded(b []byte) error {
	if s.wire == nil {
		s.wire = &gpb.SubscribeResponse{}
	}
	s.wire.ProtoReflect().SetUnknown(protoreflect.RawFields(b))
	err := s.stream.Send(s.wire)
	s.wire.ProtoReflect().SetUnknown(nil)
	return err
}

// shapeKey returns a text that is the same for two subscribers whose
// ON_CHANGE notifications about one change are the same: the prefix's
// target and origin and every pattern, each string length-prefixed so that
// different shapes never give the same text.
func shapeKey(ps []pattern, prefix *gpb.Path) string {
	var b []byte
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	if prefix != nil {
		b = append(b, 1)
		str(prefix.GetTarget())
		str(prefix.GetOrigin())
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(ps)))
	for _, p := range ps {
		b = binary.AppendUvarint(b, uint64(len(p)))
		for _, e := range p {
			str(e.name)
			keys := make([]string, 0, len(e.keys))
			for k := range e.keys {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			b = binary.AppendUvarint(b, uint64(len(keys)))
			for _, k := range keys {
				str(k)
				str(e.keys[k])
			}
		}
	}
	return string(b)
}

// lowestSeq returns the lowest sequence number of leaves (0 for none).
func lowestSeq(leaves []snapLeaf) uint64 {
	var low uint64
	for i := range leaves {
		if s := leaves[i].l.seq(); low == 0 || s < low {
			low = s
		}
	}
	return low
}

// joinExact joins ss into one text from which ss can be read back, so that
// different lists never give the same text.
func joinExact(ss []string) string {
	var b []byte
	for _, s := range ss {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return string(b)
}
