package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/pccagent/pccagent/gen/operationspb"
	"github.com/pccagent/pccagent/pcep"
	"github.com/pccagent/pccagent/pcep/pce"
)

// operations is a client of the agent's Operations service.
type operations struct {
	operationspb.OperationsClient
}

func newOperations(t *testing.T, addr string) *operations {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient %s: %v", addr, err)
	}
	t.Cleanup(func() { cc.Close() })
	return &operations{operationspb.NewOperationsClient(cc)}
}

// eventStream is one WatchEvents call whose events arrive on a channel.
type eventStream struct {
	events chan *operationspb.Event
	err    error // valid once events is closed
	cancel context.CancelFunc
}

func (o *operations) watch(t *testing.T, from uint64) *eventStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := o.WatchEvents(ctx, &operationspb.WatchEventsRequest{FromSequence: from})
	if err != nil {
		cancel()
		t.Fatalf("WatchEvents(%d): %v", from, err)
	}
	s := &eventStream{events: make(chan *operationspb.Event, 4096), cancel: cancel}
	receiveAll(t, ctx, cancel, stream.Recv, s.events, &s.err)
	return s
}

// readUntil reads events from seq on until pred holds for what has been read
// (bounded) and returns them.
func (o *operations) readUntil(t *testing.T, from uint64, what string, pred func([]*operationspb.Event) bool) []*operationspb.Event {
	t.Helper()
	s := o.watch(t, from)
	defer s.cancel()
	return s.readUntil(t, what, pred)
}

func (s *eventStream) readUntil(t *testing.T, what string, pred func([]*operationspb.Event) bool) []*operationspb.Event {
	t.Helper()
	timer := time.NewTimer(waitLimit)
	defer timer.Stop()
	var seen []*operationspb.Event
	for !pred(seen) {
		select {
		case e, ok := <-s.events:
			if !ok {
				t.Fatalf("%s: event stream ended first: %v\n%s", what, s.err, formatEvents(seen))
			}
			seen = append(seen, e)
		case <-timer.C:
			t.Fatalf("%s: not seen within %v; events:\n%s", what, waitLimit, formatEvents(seen))
		}
	}
	return seen
}

func formatEvents(es []*operationspb.Event) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "  %d %v server=%s lsp=%s plsp=%d srp=%d %s\n", e.GetSequence(), e.GetKind(), e.GetServer(), e.GetLsp(), e.GetPlspId(), e.GetSrpId(), e.GetDetail())
	}
	return b.String()
}

// nextSequence returns the sequence number of the next event: it reads the
// whole log from the start and returns the last sequence + 1.
func (o *operations) nextSequence(t *testing.T) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	stream, err := o.WatchEvents(ctx, &operationspb.WatchEventsRequest{})
	if err != nil {
		t.Fatalf("WatchEvents: %v", err)
	}
	// The log is read as it stands: stop at the first pause of 500 ms.
	last := uint64(0)
	got := make(chan *operationspb.Event)
	go func() {
		defer close(got)
		for {
			e, err := stream.Recv()
			if err != nil {
				return
			}
			select {
			case got <- e:
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		select {
		case e, ok := <-got:
			if !ok {
				return last + 1
			}
			last = e.GetSequence()
		case <-time.After(500 * time.Millisecond):
			cancel()
			for range got {
			}
			return last + 1
		}
	}
}

// checkContiguous fails the test unless the sequence numbers of es run from
// first without a gap or a duplicate.
func checkContiguous(t *testing.T, first uint64, es []*operationspb.Event) {
	t.Helper()
	for i, e := range es {
		if want := first + uint64(i); e.GetSequence() != want {
			t.Fatalf("event %d has sequence %d, want %d (gap or duplicate):\n%s", i, e.GetSequence(), want, formatEvents(es))
		}
	}
}

func TestWatchEventsResumesWithoutGapOrDuplicate(t *testing.T) {
	f := newFixture(t)
	ops := newOperations(t, f.agent.addr)

	// First connection: from the oldest event up to the delegation of every policy.
	first := ops.readUntil(t, 0, "a delegation event per policy", func(seen []*operationspb.Event) bool {
		n := 0
		for _, e := range seen {
			if e.GetKind() == operationspb.Event_LSP_DELEGATED {
				n++
			}
		}
		return n >= len(samplePolicies)
	})
	checkContiguous(t, 1, first)
	for _, e := range first {
		if e.GetTimestamp() == 0 {
			t.Errorf("event %d has no timestamp", e.GetSequence())
		}
	}
	last := first[len(first)-1].GetSequence()

	// Events happen while no collector is connected.
	id := f.plspID(t, "to-pe2")
	for _, l := range []string{"16031 16002", "16032 16002", "16002"} {
		f.sim.mustRun(t, fmt.Sprintf("update %d %s", id, l))
	}

	// Second connection resumes at last+1 and sees the updates.
	second := ops.readUntil(t, last+1, "three LSP_UPDATED events of to-pe2", func(seen []*operationspb.Event) bool {
		n := 0
		for _, e := range seen {
			if e.GetKind() == operationspb.Event_LSP_UPDATED && e.GetLsp() == "to-pe2" {
				n++
			}
		}
		return n >= 3
	})
	checkContiguous(t, last+1, second)
	for _, e := range second {
		if e.GetKind() == operationspb.Event_LSP_UPDATED && e.GetSrpId() == 0 {
			t.Errorf("LSP_UPDATED event %d has no SRP-ID", e.GetSequence())
		}
	}

	// A resume from beyond the log is refused, not silently empty.
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	stream, err := ops.WatchEvents(ctx, &operationspb.WatchEventsRequest{FromSequence: 1 << 40})
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.OutOfRange {
		t.Errorf("WatchEvents(from 2^40): %v, want OutOfRange", err)
	}
}

func TestClearSessionDropsAndRestoresSession(t *testing.T) {
	f := newFixture(t)
	ops := newOperations(t, f.agent.addr)
	before := f.sim.show(t)
	oldPCC := before[0].PCC
	from := ops.nextSequence(t)

	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if _, err := ops.ClearSession(ctx, &operationspb.ClearSessionRequest{Server: f.serverAddr().String()}); err != nil {
		t.Fatalf("ClearSession: %v", err)
	}
	names := policyNames(samplePolicies)
	f.sim.waitShow(t, "a new session with every LSP delegated again", func(rows []simRow) bool {
		for _, r := range rows {
			if r.PCC == oldPCC {
				return false
			}
		}
		return allDelegated(names...)(rows)
	})
	events := ops.readUntil(t, from, "SESSION_DOWN then SESSION_UP", func(seen []*operationspb.Event) bool {
		down := false
		for _, e := range seen {
			if e.GetKind() == operationspb.Event_SESSION_DOWN {
				down = true
			}
			if down && e.GetKind() == operationspb.Event_SESSION_UP {
				return true
			}
		}
		return false
	})
	checkContiguous(t, from, events)

	tests := []struct {
		server string
		want   codes.Code
	}{
		{"192.0.2.99", codes.NotFound},
		{"not-an-address", codes.InvalidArgument},
	}
	for _, tt := range tests {
		_, err := ops.ClearSession(ctx, &operationspb.ClearSessionRequest{Server: tt.server})
		if status.Code(err) != tt.want {
			t.Errorf("ClearSession(%q): %v, want %v", tt.server, err, tt.want)
		}
		_, err = ops.Resync(ctx, &operationspb.ResyncRequest{Server: tt.server})
		if status.Code(err) != tt.want {
			t.Errorf("Resync(%q): %v, want %v", tt.server, err, tt.want)
		}
	}
}

// endOfSync reports whether m is a PCRpt carrying the end-of-sync marker
// (PLSP-ID 0, S=0).
func endOfSync(m pcep.Message) bool {
	r, ok := m.(*pcep.PCRpt)
	if !ok {
		return false
	}
	for _, rep := range r.Reports {
		if rep.LSP.PLSPID == 0 && rep.LSP.Flags&pcep.LSPSync == 0 {
			return true
		}
	}
	return false
}

// The PCE for this test is the pcep/pce library in-process, so that every
// message of the resync can be checked.
func TestResyncSendsFullStateSyncAgain(t *testing.T) {
	ln, err := netListenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	srv := pce.New(pce.WithLogger(testLogger(t)))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		<-served
	})
	addr := addrPortOf(ln)
	ag := startAgent(t, t.TempDir(), configJSON(nil, []serverConf{{addr: addr, pref: 7}}, samplePolicies))
	ops := newOperations(t, ag.addr)

	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	p, err := srv.WaitPCC(ctx, func(p *pce.PCC) bool {
		n := 0
		for _, l := range p.LSPs() {
			if l.Delegated {
				n++
			}
		}
		return p.Synced() && n == len(samplePolicies)
	})
	if err != nil {
		t.Fatalf("waiting for the agent to sync and delegate: %v", err)
	}
	start := len(p.Recorded())
	t0 := time.Now()

	if _, err := ops.Resync(ctx, &operationspb.ResyncRequest{Server: addr.Addr().String()}); err != nil {
		t.Fatalf("Resync: %v", err)
	}
	if _, err := p.WaitRecorded(ctx, func(r pce.Recorded) bool { return r.In && !r.Time.Before(t0) && endOfSync(r.Msg) }); err != nil {
		t.Fatalf("no end-of-sync marker after Resync: %v", err)
	}
	recs := p.Recorded()[start:]
	synced := map[string]bool{}
	for _, r := range recs {
		if !r.In {
			continue
		}
		if rpt, ok := r.Msg.(*pcep.PCRpt); ok {
			for _, rep := range rpt.Reports {
				if rep.LSP.Flags&pcep.LSPSync != 0 {
					synced[rep.LSP.SymbolicName] = true
					if rep.LSP.Flags&pcep.LSPDelegate == 0 {
						t.Errorf("resync report of %s has D=0, want the delegation kept", rep.LSP.SymbolicName)
					}
				}
			}
		}
		if endOfSync(r.Msg) {
			break
		}
	}
	for _, pol := range samplePolicies {
		if !synced[pol.name] {
			t.Errorf("resync did not report %s with S=1 before the end-of-sync marker", pol.name)
		}
	}
	if s := p.Session(); s == nil {
		t.Errorf("the session ended during the resync")
	} else {
		select {
		case <-s.Done():
			t.Errorf("the session ended during the resync: %v", s.Err())
		default:
		}
	}
}

// netListenLoopback listens on a free port of 127.0.0.1.
func netListenLoopback() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// addrPortOf returns a listener's address.
func addrPortOf(ln net.Listener) netip.AddrPort {
	ap := ln.Addr().(*net.TCPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// testLogger logs at warning level and above into the test's output.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}
