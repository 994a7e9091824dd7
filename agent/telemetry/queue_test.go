package telemetry

import (
	"context"
	"slices"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/pccagent/pccagent/pcep/clock"
)

// manualSubscriber returns a STREAM subscriber of path registered with c
// whose drains the test calls itself, and the stream that records what it
// sends.
func manualSubscriber(t *testing.T, c *Cache, path string) (*subscriber, *captureStream) {
	t.Helper()
	st := &captureStream{ctx: context.Background()}
	s, err := c.newSubscriber(st, subList(gpb.SubscriptionList_STREAM, sub(t, path, gpb.SubscriptionMode_ON_CHANGE)))
	if err != nil {
		t.Fatal(err)
	}
	c.register(s)
	t.Cleanup(func() { c.unregister(s) })
	return s, st
}

// sentNotes returns what st was sent since the call that returned from,
// one flat list per notification, and the new mark.
func sentNotes(st *captureStream, from int) ([][]string, int) {
	var out [][]string
	for _, r := range st.sent[from:] {
		out = append(out, flat(r.GetUpdate()))
	}
	return out, len(st.sent)
}

func drainOnce(t *testing.T, s *subscriber) {
	t.Helper()
	if _, err := s.drain(); err != nil {
		t.Fatal(err)
	}
}

// TestBatchHandsChangesToSubscribersAtItsEnd runs Updates inside a batch
// (as Run does for each batch of engine changes): the subscriber's queue
// gets them only when the batch ends, in the order they happened, and a
// change that a drain during the batch already sent is not sent twice.
func TestBatchHandsChangesToSubscribersAtItsEnd(t *testing.T) {
	c := seedCache(t)
	s, st := manualSubscriber(t, c, "/pce-client/lsps/lsp[name=*]/state")
	lspB := "/pce-client/lsps/lsp[name=b]/state/"

	c.Update(leafNote(t, 10, lspA+"color=1")) // outside a batch: queued at once
	if n := s.q.len(); n != 1 {
		t.Fatalf("queue holds %d markers after an Update outside a batch, want 1", n)
	}
	mark := 0
	c.batch(func() {
		c.Update(leafNote(t, 11, lspB+"color=2"))
		c.Update(leafNote(t, 12, lspA+"color=3"))
		if n := s.q.len(); n != 1 {
			t.Errorf("queue holds %d markers inside the batch, want 1 (the change made before it)", n)
		}
		// This drain sends a as it is now: color=3 already.
		drainOnce(t, s)
		var got [][]string
		got, mark = sentNotes(st, mark)
		if want := [][]string{{lspA + "color=3"}}; !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("drain inside the batch sent %q, want %q", got, want)
		}
	})
	if n := s.q.len(); n != 2 {
		t.Fatalf("queue holds %d markers after the batch, want 2", n)
	}
	drainOnce(t, s)
	got, _ := sentNotes(st, mark)
	// b first (first changed); a again only with what the earlier drain
	// had not sent: nothing, so no notification for a.
	if want := [][]string{{lspB + "color=2"}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("after the batch sent %q, want %q", got, want)
	}
}

// TestBatchDrainOfADeleteKeepsTheBatchsChange drains, inside a batch, an
// LSP whose queued marker holds only a delete while the batch has changed
// a leaf of it: the change is sent after the batch.
func TestBatchDrainOfADeleteKeepsTheBatchsChange(t *testing.T) {
	c := seedCache(t)
	s, st := manualSubscriber(t, c, "/pce-client/lsps/lsp[name=*]/state")
	c.Update(&gpb.Notification{Timestamp: 10, Delete: []*gpb.Path{mustPath(t, lspA+"oper-status")}})
	mark := 0
	c.batch(func() {
		c.Update(leafNote(t, 11, lspA+"color=9"))
		drainOnce(t, s)
		var got [][]string
		got, mark = sentNotes(st, mark)
		if want := [][]string{{"-" + lspA + "oper-status"}}; !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("drain inside the batch sent %q, want %q", got, want)
		}
	})
	drainOnce(t, s)
	got, _ := sentNotes(st, mark)
	if want := [][]string{{lspA + "color=9"}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("after the batch sent %q, want %q", got, want)
	}
}

// TestRegisterDuringBatchGetsOnlyLaterChanges registers a subscriber while
// a batch is in progress: the changes made before it registered are not
// queued for it.
func TestRegisterDuringBatchGetsOnlyLaterChanges(t *testing.T) {
	c := seedCache(t)
	var s *subscriber
	c.batch(func() {
		c.Update(leafNote(t, 10, lspA+"color=1"))
		s, _ = manualSubscriber(t, c, "/pce-client/lsps/lsp[name=*]/state")
		c.Update(leafNote(t, 11, "/pce-client/lsps/lsp[name=b]/state/color=2"))
	})
	ms := s.q.pop(10, nil, 0, false)
	if len(ms) != 1 || ms[0].ent.name != "b" {
		var names []string
		for _, m := range ms {
			names = append(names, m.ent.name)
		}
		t.Errorf("queued %q, want only b", names)
	}
}

// TestRecreatedEntityKeepsOneMarker deletes an LSP and creates it again
// while a subscriber has not drained: its queue holds one marker for the
// name, and the subscriber is sent the delete and then the new values, in
// one notification.
func TestRecreatedEntityKeepsOneMarker(t *testing.T) {
	c := seedCache(t)
	s, st := manualSubscriber(t, c, "/pce-client/lsps/lsp[name=*]/state")
	for i := range 3 {
		c.Update(&gpb.Notification{Timestamp: int64(10 + 2*i), Delete: []*gpb.Path{mustPath(t, "/pce-client/lsps/lsp[name=a]")}})
		c.Update(leafNote(t, int64(11+2*i), lspA+"color=7"))
	}
	if n := s.q.len(); n != 1 {
		t.Fatalf("queue holds %d markers, want 1", n)
	}
	drainOnce(t, s)
	got, _ := sentNotes(st, 0)
	want := [][]string{{"-/pce-client/lsps/lsp[name=a]", lspA + "color=7"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("sent %q, want %q", got, want)
	}
}

// TestSubscribersOfOneShapeShareWhatTheySend drains subscribers of the same
// paths that last heard of an LSP at different moments, but are to be sent
// the same leaves: the notification is encoded once, and each receives it.
func TestSubscribersOfOneShapeShareWhatTheySend(t *testing.T) {
	c := seedCache(t)
	path := "/pce-client/lsps/lsp[name=*]/state/color"
	s1, st1 := manualSubscriber(t, c, path)
	s2, st2 := manualSubscriber(t, c, path)
	c.Update(leafNote(t, 10, lspA+"oper-status=down")) // not subscribed
	drainOnce(t, s1)
	c.Update(leafNote(t, 11, lspA+"color=7"))
	drainOnce(t, s1) // since: after oper-status changed
	drainOnce(t, s2) // since: before oper-status changed
	for i, st := range []*captureStream{st1, st2} {
		got, _ := sentNotes(st, 0)
		if want := [][]string{{lspA + "color=7"}}; !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("subscriber %d: sent %q, want %q", i+1, got, want)
		}
	}
	c.shared.mu.Lock()
	encoded := make(map[*byte]bool)
	for _, m := range []map[noteKey][]byte{c.shared.m, c.shared.old} {
		for _, b := range m {
			if len(b) > 0 {
				encoded[&b[0]] = true
			}
		}
	}
	c.shared.mu.Unlock()
	if len(encoded) != 1 {
		t.Errorf("%d distinct encodings in the shared cache, want 1", len(encoded))
	}
}

// TestHoldDownCoalescesToTheLatestValuesInOrder runs a STREAM subscriber
// with a hold-down on a fake clock: the first change after a quiet time is
// sent at once; changes made during the hold-down that follows are sent at
// its end, coalesced per LSP to the latest values, LSPs in the order they
// first changed, deletes included; after a hold-down with nothing to send
// the next change is sent at once again.
func TestHoldDownCoalescesToTheLatestValuesInOrder(t *testing.T) {
	const hold = 100 * time.Millisecond
	clk := clock.NewFake(time.Unix(1700000000, 0).Truncate(hold))
	c := NewCache(WithClock(clk), WithHoldDown(hold))
	c.Update(leafNote(t, 1,
		lspA+"color=1",
		"/pce-client/lsps/lsp[name=b]/state/color=1",
		"/pce-client/lsps/lsp[name=c]/state/color=1",
	))
	cl := startServer(t, c)
	s := subscribe(t, cl, subList(gpb.SubscriptionList_STREAM, sub(t, "/pce-client/lsps", gpb.SubscriptionMode_ON_CHANGE)))
	s.untilSync()
	lspB, lspC := "/pce-client/lsps/lsp[name=b]/state/", "/pce-client/lsps/lsp[name=c]/state/"

	expect := func(step string, want ...[]string) {
		t.Helper()
		for _, w := range want {
			if got := flat(s.nextNote()); !slices.Equal(got, w) {
				t.Fatalf("%s: got %q, want %q", step, got, w)
			}
		}
	}
	// waitHolding waits until the subscriber has started its hold-down
	// (its timer is on the fake clock) or, with want false, ended it.
	waitHolding := func(want bool) {
		t.Helper()
		deadline := time.Now().Add(waitLimit)
		for (clk.Pending() > 0) != want {
			if time.Now().After(deadline) {
				t.Fatalf("hold-down timer pending: %v, want %v", !want, want)
			}
			time.Sleep(time.Millisecond)
		}
	}

	c.Update(leafNote(t, 10, lspA+"color=2"))
	expect("first change after a quiet time", []string{lspA + "color=2"})
	waitHolding(true)

	c.Update(leafNote(t, 11, lspB+"color=3"))
	c.Update(leafNote(t, 12, lspA+"color=4"))
	c.Update(&gpb.Notification{Timestamp: 13, Delete: []*gpb.Path{mustPath(t, "/pce-client/lsps/lsp[name=c]")}})
	c.Update(leafNote(t, 14, lspB+"color=5"))
	clk.Advance(hold)
	expect("end of the hold-down",
		[]string{lspB + "color=5"},
		[]string{lspA + "color=4"},
		[]string{"-/pce-client/lsps/lsp[name=c]"},
	)
	// That pass sent changes: another hold-down, with nothing to send.
	waitHolding(true)
	clk.Advance(hold)
	waitHolding(false)
	c.Update(leafNote(t, 20, lspC+"color=9"))
	expect("first change after an empty hold-down", []string{lspC + "color=9"})
}

// TestHoldDownZeroSendsEveryChange turns the hold-down off: changes a
// subscriber has time to send are all sent, without the clock moving.
func TestHoldDownZeroSendsEveryChange(t *testing.T) {
	clk := clock.NewFake(time.Unix(1700000000, 0))
	c := NewCache(WithClock(clk), WithHoldDown(0))
	c.Update(leafNote(t, 1, lspA+"color=1"))
	cl := startServer(t, c)
	s := subscribe(t, cl, subList(gpb.SubscriptionList_STREAM, sub(t, "/pce-client/lsps", gpb.SubscriptionMode_ON_CHANGE)))
	s.untilSync()
	for i := range 3 {
		v := uintVal(uint64(10 + i))
		c.Update(&gpb.Notification{Timestamp: int64(10 + i), Update: []*gpb.Update{{Path: mustPath(t, lspA+"color"), Val: v}}})
		want := []string{lspA + "color=" + valueString(v)}
		if got := flat(s.nextNote()); !slices.Equal(got, want) {
			t.Fatalf("change %d: got %q, want %q", i, got, want)
		}
	}
	if n := clk.Pending(); n != 0 {
		t.Errorf("%d timers on the clock, want none", n)
	}
}

// TestHoldDownDefault checks the option's values.
func TestHoldDownDefault(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want time.Duration
	}{
		{"default", nil, DefaultHoldDown},
		{"set", []Option{WithHoldDown(50 * time.Millisecond)}, 50 * time.Millisecond},
		{"off", []Option{WithHoldDown(0)}, 0},
		{"negative is off", []Option{WithHoldDown(-time.Second)}, 0},
	}
	for _, tt := range tests {
		if got := NewCache(tt.opts...).holdDown(); got != tt.want {
			t.Errorf("%s: hold-down %v, want %v", tt.name, got, tt.want)
		}
	}
}
