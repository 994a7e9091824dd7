package telemetry

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/pccagent/pccagent/pcep/clock"
	"github.com/pccagent/pccagent/pcep/pcc"
)

// runPump starts c.Run on q and returns a function that waits for a
// condition on the cache, failing after waitLimit.
func runPump(t *testing.T, c *Cache, q *pcc.ChangeQueue) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, q) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	})
}

// eventually polls a query until it returns want.
func eventually(t *testing.T, c *Cache, path string, want []string) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	var got []string
	for time.Now().Before(deadline) {
		if got = query(t, c, path); slices.Equal(got, want) {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("Query(%s)\n got %q\nwant %q", path, got, want)
}

func TestRunWritesEveryLSPLeaf(t *testing.T) {
	start := time.Unix(1800000000, 0)
	c := NewCache(WithClock(clock.NewFake(start)))
	q := pcc.NewChangeQueue()
	runPump(t, c, q)
	delegated := testLSP("to-pe3", 7)
	delegated.Delegated = true
	delegated.DelegatedTo = netip.MustParseAddr("192.0.2.10")
	delegated.Updates = 3
	delegated.LastSRPID = 9
	notDelegated := *delegated
	notDelegated.Delegated = false
	notDelegated.DelegatedTo = netip.Addr{}
	notDelegated.Origin = pcc.OriginPCE
	notDelegated.OperStatus = pcc.OperGoingDown
	notDelegated.Labels = nil

	const p = "/pce-client/lsps/lsp[name=to-pe3]/state/"
	tests := []struct {
		name string
		lsp  *pcc.LSPState
		want []string
	}{
		{"delegated", delegated, []string{
			p + "color=100", p + "delegated-to=192.0.2.10", p + "delegated=true", p + "endpoint=192.0.2.3",
			p + "labels=[16003,16004]", p + "last-change=1700000000000000000", p + "last-srp-id=9",
			p + "name=to-pe3", p + "oper-status=up", p + "origin=pcc", p + "plsp-id=7", p + "preference=100",
			p + "updates=3"}},
		{"delegation returned removes delegated-to", &notDelegated, []string{
			p + "color=100", p + "delegated=false", p + "endpoint=192.0.2.3",
			p + "labels=[]", p + "last-change=1700000000000000000", p + "last-srp-id=9",
			p + "name=to-pe3", p + "oper-status=going-down", p + "origin=pce", p + "plsp-id=7", p + "preference=100",
			p + "updates=3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q.Push(pcc.Change{LSP: tt.lsp})
			eventually(t, c, "/pce-client/lsps", tt.want)
		})
	}
}

func TestRunMaintainsCountsAndSelectedServer(t *testing.T) {
	c := NewCache()
	q := pcc.NewChangeQueue()
	runPump(t, c, q)
	eventually(t, c, "/pce-client/state", []string{
		"/pce-client/state/delegated-lsp-count=0", "/pce-client/state/lsp-count=0"})

	srv := &pcc.ServerState{
		Config:          pcc.ServerConfig{Address: netip.MustParseAddr("192.0.2.10"), Port: 4189, Preference: 7, Description: "pce1"},
		SessionState:    pcc.StateUp,
		Selected:        true,
		LocalAddress:    netip.MustParseAddr("192.0.2.1"),
		Keepalive:       30,
		DeadTimer:       120,
		Stateful:        true,
		LSPUpdate:       true,
		SegmentRouting:  true,
		LastStateChange: time.Unix(1, 0),
		Counters:        pcc.Counters{MessagesSent: 5, PCRptSent: 2},
	}
	a, b := testLSP("a", 1), testLSP("b", 2)
	a.Delegated, a.DelegatedTo = true, srv.Config.Address
	q.Push(pcc.Change{Server: srv})
	q.Push(pcc.Change{LSP: a})
	q.Push(pcc.Change{LSP: b})
	eventually(t, c, "/pce-client/state", []string{
		"/pce-client/state/delegated-lsp-count=1", "/pce-client/state/lsp-count=2",
		"/pce-client/state/selected-server=192.0.2.10"})
	const s = "/pce-client/servers/server[address=192.0.2.10]/state/"
	eventually(t, c, "/pce-client/servers", []string{
		s + "address=192.0.2.10", s + "counters/messages-received=0", s + "counters/messages-sent=5",
		s + "counters/pcerr-received=0", s + "counters/pcerr-sent=0", s + "counters/pcinitiate-received=0",
		s + "counters/pcrep-received=0", s + "counters/pcreq-sent=0", s + "counters/pcrpt-sent=2",
		s + "counters/pcupd-received=0", s + "dead-timer=120", s + "description=pce1", s + "keepalive=30",
		s + "last-error=", s + "last-state-change=1000000000", s + "local-address=192.0.2.1",
		s + "lsp-instantiation=false", s + "lsp-update=true", s + "port=4189", s + "preference=7",
		s + "segment-routing=true", s + "selected=true", s + "session-state=up", s + "stateful=true"})

	q.Push(pcc.Change{LSP: &pcc.LSPState{Name: "a"}, Removed: true})
	q.Push(pcc.Change{Server: &pcc.ServerState{Config: srv.Config}, Removed: true})
	eventually(t, c, "/pce-client/state", []string{
		"/pce-client/state/delegated-lsp-count=0", "/pce-client/state/lsp-count=1"})
	eventually(t, c, "/pce-client/servers", nil)
	eventually(t, c, "/pce-client/lsps/lsp[name=*]/state/name", []string{"/pce-client/lsps/lsp[name=b]/state/name=b"})
}

func TestRunStampsNotificationsWithTheClock(t *testing.T) {
	start := time.Unix(1800000000, 0)
	c := NewCache(WithClock(clock.NewFake(start)))
	q := pcc.NewChangeQueue()
	runPump(t, c, q)
	q.Push(pcc.Change{LSP: testLSP("a", 1)})
	eventually(t, c, "/pce-client/lsps/lsp[name=a]/state/name", []string{"/pce-client/lsps/lsp[name=a]/state/name=a"})
	var ts int64
	c.Query(mustPath(t, "/pce-client/lsps"), func(n *gpb.Notification) error {
		ts = n.GetTimestamp()
		return nil
	})
	if ts != start.UnixNano() {
		t.Errorf("timestamp %d, want %d", ts, start.UnixNano())
	}
}
