package pcc

import (
	"context"
	"net/netip"
	"sync"
)

// Change is the latest state of one LSP or one server, or its removal.
// Exactly one of LSP and Server is set.
type Change struct {
	LSP    *LSPState    // an LSP change; with Removed, only LSP.Name is meaningful
	Server *ServerState // a server change; with Removed, only Server.Config.Address
	// Removed says the LSP or server no longer exists.
	Removed bool
}

type changeKey struct {
	lsp    string
	server netip.Addr
	isLSP  bool
}

func keyOf(c Change) changeKey {
	if c.LSP != nil {
		return changeKey{lsp: c.LSP.Name, isLSP: true}
	}
	return changeKey{server: c.Server.Config.Address}
}

// ChangeQueue hands state changes from the engine to one consumer (the
// agent's telemetry) without ever blocking the engine: a change to a key that
// is already queued replaces the queued value in place (latest state wins),
// so the queue holds at most one entry per LSP and server, and keys come out
// in the order they first became dirty.
type ChangeQueue struct {
	mu      sync.Mutex
	pending []Change
	index   map[changeKey]int
	signal  chan struct{}
}

// shrinkAbove is the number of queued keys above which Next releases the
// queue's memory instead of keeping it for reuse.
const shrinkAbove = 1024

// NewChangeQueue returns an empty queue.
func NewChangeQueue() *ChangeQueue {
	return &ChangeQueue{index: make(map[changeKey]int), signal: make(chan struct{}, 1)}
}

// Push queues c, replacing a queued change of the same key. It never blocks.
func (q *ChangeQueue) Push(c Change) {
	k := keyOf(c)
	q.mu.Lock()
	if i, ok := q.index[k]; ok {
		q.pending[i] = c
	} else {
		q.index[k] = len(q.pending)
		q.pending = append(q.pending, c)
	}
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// Next waits until changes are queued and returns all of them, emptying the
// queue; buf is reused for the result when it is large enough.
func (q *ChangeQueue) Next(ctx context.Context, buf []Change) ([]Change, error) {
	for {
		q.mu.Lock()
		if len(q.pending) > 0 {
			out := append(buf[:0], q.pending...)
			if len(q.pending) > shrinkAbove {
				// After a burst (a state sync, a failover) give the memory
				// back rather than keep room for every key.
				q.pending = nil
				q.index = make(map[changeKey]int)
			} else {
				clear(q.pending)
				q.pending = q.pending[:0]
				clear(q.index)
			}
			q.mu.Unlock()
			return out, nil
		}
		q.mu.Unlock()
		select {
		case <-q.signal:
		case <-ctx.Done():
			return buf[:0], ctx.Err()
		}
	}
}

// Len returns the number of queued keys.
func (q *ChangeQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending)
}
