package telemetry

import (
	"context"
	"slices"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/pccagent/pccagent/pcep/clock"
)

// TestGroupDrainTakesTheQueuesOfMembersWaitingForTheTick drains one
// subscriber while others of the same paths wait for hold-down ticks: the
// members whose tick has come are drained at the same moment, each
// notification encoded once, and find in their outbox what their queue
// held then, in order, however the LSPs change afterwards; a member
// waiting for a later tick, one not waiting, and one of other paths keep
// their queue.
func TestGroupDrainTakesTheQueuesOfMembersWaitingForTheTick(t *testing.T) {
	const hold = 100 * time.Millisecond
	clk := clock.NewFake(time.Unix(1700000000, 0).Truncate(hold))
	c := seedCache(t)
	c.clock = clk
	path := "/pce-client/lsps/lsp[name=*]/state"
	drainer, drainerSt := manualSubscriber(t, c, path)
	due, dueSt := manualSubscriber(t, c, path)
	due2, _ := manualSubscriber(t, c, path)
	later, _ := manualSubscriber(t, c, path)
	awake, _ := manualSubscriber(t, c, path)
	other, _ := manualSubscriber(t, c, "/pce-client/lsps/lsp[name=*]/state/color")
	now := clk.Now()
	due.park(now)
	due2.park(now.Add(-hold))
	later.park(now.Add(hold))
	other.park(now)

	lspB := "/pce-client/lsps/lsp[name=b]/state/"
	c.Update(leafNote(t, 10, lspA+"color=1"))
	c.Update(leafNote(t, 11, lspB+"oper-status=up"))
	c.Update(leafNote(t, 12, lspA+"color=2"))
	if _, err := drainer.drainWith(true); err != nil {
		t.Fatal(err)
	}
	c.Update(leafNote(t, 13, lspA+"color=3")) // after the drain: for the next pass

	want := [][]string{{lspA + "color=2"}, {lspB + "oper-status=up"}}
	got, _ := sentNotes(drainerSt, 0)
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("drainer sent %q, want %q", got, want)
	}
	for name, s := range map[string]*subscriber{"due": due, "due earlier": due2} {
		ob := s.unpark()
		if ob == nil {
			t.Fatalf("%s: nothing in the outbox", name)
		}
		if ob.taken != 2 || ob.left != 0 || !ob.start.Equal(now) {
			t.Errorf("%s: outbox took %d markers, left %d, at %v; want 2, 0, %v", name, ob.taken, ob.left, ob.start, now)
		}
		for i, b := range ob.notes {
			if i < len(drainerSt.sent) && !slices.Equal(b, mustWire(t, drainerSt.sent[i])) {
				t.Errorf("%s: notification %d differs from the drainer's", name, i)
			}
		}
		if len(ob.notes) != len(want) {
			t.Errorf("%s: %d notifications in the outbox, want %d", name, len(ob.notes), len(want))
		}
	}
	if n, err := due.sendOutbox(context.Background(), &outbox{notes: [][]byte{mustWire(t, drainerSt.sent[0])}, taken: 1, left: 1}); err != nil || n != 2 {
		t.Errorf("sendOutbox: %d markers, %v; want 2 (the outbox's and the one left), nil", n, err)
	}
	got, _ = sentNotes(dueSt, 0)
	if want := [][]string{{lspA + "color=2"}, {lspA + "color=3"}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("due sent %q, want %q", got, want)
	}
	for name, s := range map[string]*subscriber{"waiting for a later tick": later, "not waiting": awake, "other paths": other} {
		if ob := s.unpark(); ob != nil {
			t.Errorf("%s: outbox filled", name)
		}
		if n := s.q.len(); n != 2 {
			t.Errorf("%s: %d markers queued, want 2", name, n)
		}
	}
}

// mustWire returns the wire form of a captured response, map keys sorted
// as the notification encoder sorts them.
func mustWire(t *testing.T, r *gpb.SubscribeResponse) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHoldDownWithSeveralSubscribersOfTheSamePaths runs STREAM subscribers
// of the same paths with a hold-down on a fake clock: whichever of them
// drains the others at the tick, each receives every LSP's latest values,
// LSPs in the order they first changed, pass after pass.
func TestHoldDownWithSeveralSubscribersOfTheSamePaths(t *testing.T) {
	const hold = 100 * time.Millisecond
	clk := clock.NewFake(time.Unix(1700000000, 0).Truncate(hold))
	c := NewCache(WithClock(clk), WithHoldDown(hold))
	c.Update(leafNote(t, 1, lspA+"color=1", "/pce-client/lsps/lsp[name=b]/state/color=1"))
	cl := startServer(t, c)
	var streams []*testStream
	for range 4 {
		s := subscribe(t, cl, subList(gpb.SubscriptionList_STREAM, sub(t, "/pce-client/lsps", gpb.SubscriptionMode_ON_CHANGE)))
		s.untilSync()
		streams = append(streams, s)
	}
	lspB := "/pce-client/lsps/lsp[name=b]/state/"
	expect := func(step string, want ...[]string) {
		t.Helper()
		for i, s := range streams {
			for _, w := range want {
				if got := flat(s.nextNote()); !slices.Equal(got, w) {
					t.Fatalf("%s: subscriber %d got %q, want %q", step, i, got, w)
				}
				if testing.Verbose() {
					t.Logf("%s: subscriber %d got %q", step, i, w)
				}
			}
		}
	}
	waitPending := func(n int) {
		t.Helper()
		deadline := time.Now().Add(waitLimit)
		for clk.Pending() != n {
			if time.Now().After(deadline) {
				t.Fatalf("%d timers pending, want %d", clk.Pending(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	c.Update(leafNote(t, 10, lspA+"color=2"))
	expect("first change", []string{lspA + "color=2"})
	for pass := range 3 {
		waitPending(len(streams))
		v := func(i int) string { return valueString(uintVal(uint64(100*(pass+1) + i))) }
		c.Update(leafNote(t, 11, lspB+"color="+v(1)))
		c.Update(leafNote(t, 12, lspA+"color="+v(2)))
		c.Update(leafNote(t, 13, lspB+"color="+v(3)))
		clk.Advance(hold)
		expect("end of a hold-down", []string{lspB + "color=" + v(3)}, []string{lspA + "color=" + v(2)})
	}
}

// TestGroupDrainHandsEncodingErrorsToTheMembersConcerned stores a value
// that protobuf cannot encode (a string that is not UTF-8): the drainer
// and the member drained with it both fail with Internal, as each would
// have alone.
func TestGroupDrainHandsEncodingErrorsToTheMembersConcerned(t *testing.T) {
	clk := clock.NewFake(time.Unix(1700000000, 0))
	c := seedCache(t)
	c.clock = clk
	path := "/pce-client/lsps/lsp[name=*]/state"
	drainer, _ := manualSubscriber(t, c, path)
	due, _ := manualSubscriber(t, c, path)
	due.park(clk.Now())
	c.Update(&gpb.Notification{Timestamp: 10, Update: []*gpb.Update{{Path: mustPath(t, lspA+"name"), Val: strVal("a\xffb")}}})
	if _, err := drainer.drainWith(true); status.Code(err) != codes.Internal {
		t.Errorf("drainer: error %v, want Internal", err)
	}
	ob := due.unpark()
	if ob == nil || status.Code(ob.err) != codes.Internal || ob.notes != nil {
		t.Fatalf("member drained with it: outbox %+v, want an Internal error and no notifications", ob)
	}
	if _, err := due.sendOutbox(context.Background(), ob); status.Code(err) != codes.Internal {
		t.Errorf("sendOutbox: error %v, want Internal", err)
	}
}
