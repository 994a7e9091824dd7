package pcc

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"
)

// EventKind is the kind of a delegation event.
type EventKind uint8

// Event kinds.
const (
	EventSessionUp EventKind = iota + 1
	EventSessionDown
	EventLSPReported
	EventLSPDelegated
	EventLSPRevoked
	EventLSPUpdated
	EventControlRequested
	EventControlGranted
	EventControlDenied
	EventControlIgnored
	EventLSPInitiated
	EventLSPRemoved
)

var eventNames = [...]string{
	EventSessionUp:        "session-up",
	EventSessionDown:      "session-down",
	EventLSPReported:      "lsp-reported",
	EventLSPDelegated:     "lsp-delegated",
	EventLSPRevoked:       "lsp-revoked",
	EventLSPUpdated:       "lsp-updated",
	EventControlRequested: "control-requested",
	EventControlGranted:   "control-granted",
	EventControlDenied:    "control-denied",
	EventControlIgnored:   "control-ignored",
	EventLSPInitiated:     "lsp-initiated",
	EventLSPRemoved:       "lsp-removed",
}

// String returns the event kind's name.
func (k EventKind) String() string {
	if int(k) < len(eventNames) && eventNames[k] != "" {
		return eventNames[k]
	}
	return "unknown"
}

// Event is one typed delegation event. Seq numbers start at 1 and have no gaps.
type Event struct {
	Seq    uint64
	Time   time.Time
	Kind   EventKind
	Server netip.Addr // the server concerned, invalid if none
	LSP    string     // symbolic name, "" for session events
	PLSPID uint32
	SRPID  uint32
	Detail string
}

// ErrEventsDropped is returned by EventLog.Read for a sequence number that is
// older than the oldest event still kept.
var ErrEventsDropped = errors.New("pcc: requested events have been dropped")

// DefaultEventLogSize is how many events the engine keeps for readers that resume.
const DefaultEventLogSize = 100000

// EventLog keeps the last N events in a ring so that a reader that falls
// behind or reconnects resumes from its last sequence number without a gap,
// and learns it when the events it asks for are gone. Appending never blocks.
type EventLog struct {
	mu   sync.Mutex
	ring []Event
	next uint64 // sequence number of the next event
	// notify is closed by the next Append; it is made only when a reader
	// waits, so that appending costs no allocation when nobody does.
	notify chan struct{}
}

// NewEventLog returns a log that keeps the last size events.
func NewEventLog(size int) *EventLog {
	if size <= 0 {
		size = DefaultEventLogSize
	}
	return &EventLog{ring: make([]Event, 0, size), next: 1}
}

// Append assigns e the next sequence number and stores it, dropping the oldest
// event when the log is full.
func (l *EventLog) Append(e Event) uint64 {
	l.mu.Lock()
	e.Seq = l.next
	l.next++
	if len(l.ring) < cap(l.ring) {
		l.ring = append(l.ring, e)
	} else {
		l.ring[int((e.Seq-1)%uint64(cap(l.ring)))] = e
	}
	ch := l.notify
	l.notify = nil
	l.mu.Unlock()
	if ch != nil {
		close(ch)
	}
	return e.Seq
}

// Read returns up to max events with Seq >= from, and the sequence number to
// read next. from 0 means the oldest kept event. It returns ErrEventsDropped
// when from is older than the oldest kept event.
func (l *EventLog) Read(from uint64, max int) ([]Event, uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	oldest := l.next - uint64(len(l.ring))
	if from == 0 {
		from = oldest
	}
	if from < oldest {
		return nil, from, ErrEventsDropped
	}
	if from >= l.next {
		return nil, from, nil
	}
	n := l.next - from
	if max > 0 && n > uint64(max) {
		n = uint64(max)
	}
	out := make([]Event, 0, n)
	c := uint64(cap(l.ring))
	for s := from; s < from+n; s++ {
		out = append(out, l.ring[int((s-1)%c)])
	}
	return out, from + n, nil
}

// Wait blocks until an event with Seq >= seq exists or ctx ends.
func (l *EventLog) Wait(ctx context.Context, seq uint64) error {
	for {
		l.mu.Lock()
		if l.next > seq {
			l.mu.Unlock()
			return nil
		}
		if l.notify == nil {
			l.notify = make(chan struct{})
		}
		ch := l.notify
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Next returns the sequence number the next event will get.
func (l *EventLog) Next() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next
}
