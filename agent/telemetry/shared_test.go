package telemetry

import (
	"context"
	"slices"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// TestSubscribersWithSharedNotificationsGetTheirOwnView runs subscribers
// of the same shape, of another target and of another path set side by
// side: each receives exactly the notifications its own subscription
// yields, whether they were encoded for it or shared.
func TestSubscribersWithSharedNotificationsGetTheirOwnView(t *testing.T) {
	c := seedCache(t)
	cl := startServer(t, c)
	type client struct {
		name   string
		target string
		path   string
		s      *testStream
	}
	clients := []*client{
		{name: "state 1", path: "/pce-client/lsps/lsp[name=*]/state"},
		{name: "state 2", path: "/pce-client/lsps/lsp[name=*]/state"},
		{name: "state with target", target: "router1", path: "/pce-client/lsps/lsp[name=*]/state"},
		{name: "color only", path: "/pce-client/lsps/lsp[name=*]/state/color"},
	}
	for _, cc := range clients {
		req := subList(gpb.SubscriptionList_STREAM, sub(t, cc.path, gpb.SubscriptionMode_ON_CHANGE))
		if cc.target != "" {
			req.GetSubscribe().Prefix = &gpb.Path{Target: cc.target}
		}
		cc.s = subscribe(t, cl, req)
		cc.s.untilSync()
	}
	steps := []struct {
		name   string
		update *gpb.Notification
		want   map[string][]string // by client; absent: nothing for that client
	}{
		{"color changed", leafNote(t, 10, lspA+"color=7"), map[string][]string{
			"state 1": {lspA + "color=7"}, "state 2": {lspA + "color=7"},
			"state with target": {lspA + "color=7"}, "color only": {lspA + "color=7"},
		}},
		{"oper-status changed", leafNote(t, 11, lspA+"oper-status=down"), map[string][]string{
			"state 1": {lspA + "oper-status=down"}, "state 2": {lspA + "oper-status=down"},
			"state with target": {lspA + "oper-status=down"},
		}},
		{"color deleted", &gpb.Notification{Timestamp: 12, Delete: []*gpb.Path{mustPath(t, lspA+"color")}}, map[string][]string{
			"state 1": {"-" + lspA + "color"}, "state 2": {"-" + lspA + "color"},
			"state with target": {"-" + lspA + "color"}, "color only": {"-" + lspA + "color"},
		}},
		{"lsp deleted", &gpb.Notification{Timestamp: 13, Delete: []*gpb.Path{mustPath(t, "/pce-client/lsps/lsp[name=a]")}}, map[string][]string{
			"state 1": {"-/pce-client/lsps/lsp[name=a]"}, "state 2": {"-/pce-client/lsps/lsp[name=a]"},
			"state with target": {"-/pce-client/lsps/lsp[name=a]"}, "color only": {"-/pce-client/lsps/lsp[name=a]"},
		}},
	}
	for _, st := range steps {
		c.Update(st.update)
		for _, cc := range clients {
			want, ok := st.want[cc.name]
			if !ok {
				continue
			}
			n := cc.s.nextNote()
			if got := flat(n); !slices.Equal(got, want) {
				t.Errorf("%s: %s got %q, want %q", st.name, cc.name, got, want)
			}
			if n.GetPrefix().GetTarget() != cc.target || n.GetTimestamp() != st.update.GetTimestamp() {
				t.Errorf("%s: %s got prefix %v timestamp %d, want target %q timestamp %d",
					st.name, cc.name, n.GetPrefix(), n.GetTimestamp(), cc.target, st.update.GetTimestamp())
			}
		}
	}
}

// captureStream is a Subscribe server stream that keeps a copy of every
// response sent, decoded from its wire form.
type captureStream struct {
	grpc.ServerStream
	ctx  context.Context
	sent []*gpb.SubscribeResponse
}

func (s *captureStream) Context() context.Context { return s.ctx }

func (s *captureStream) Recv() (*gpb.SubscribeRequest, error) {
	<-s.ctx.Done()
	return nil, s.ctx.Err()
}

func (s *captureStream) Send(r *gpb.SubscribeResponse) error {
	b, err := proto.Marshal(r)
	if err != nil {
		return err
	}
	out := &gpb.SubscribeResponse{}
	if err := proto.Unmarshal(b, out); err != nil {
		return err
	}
	s.sent = append(s.sent, out)
	return nil
}

// TestLaggingSubscriberDoesNotReuseAnotherSubscribersNotification drains
// two subscribers of the same shape at different moments: the one that
// drained in between is sent only the later change, the one that lagged
// both changes of the LSP, in one notification.
func TestLaggingSubscriberDoesNotReuseAnotherSubscribersNotification(t *testing.T) {
	c := seedCache(t)
	req := subList(gpb.SubscriptionList_STREAM, sub(t, "/pce-client/lsps/lsp[name=*]/state", gpb.SubscriptionMode_ON_CHANGE))
	var subs []*subscriber
	var streams []*captureStream
	for range 3 {
		st := &captureStream{ctx: context.Background()}
		s, err := c.newSubscriber(st, req)
		if err != nil {
			t.Fatal(err)
		}
		c.register(s)
		subs, streams = append(subs, s), append(streams, st)
	}
	drain := func(s *subscriber) {
		t.Helper()
		if _, err := s.drain(); err != nil {
			t.Fatal(err)
		}
	}
	c.Update(leafNote(t, 10, lspA+"color=7"))
	drain(subs[0])
	c.Update(leafNote(t, 11, lspA+"oper-status=down"))
	for _, s := range subs {
		drain(s)
	}
	want := [][]string{
		{lspA + "color=7"},
		{lspA + "oper-status=down"},
	}
	lagging := []string{lspA + "color=7", lspA + "oper-status=down"}
	tests := []struct {
		name string
		got  []*gpb.SubscribeResponse
		want [][]string
	}{
		{"drained in between", streams[0].sent, want},
		{"lagging", streams[1].sent, [][]string{lagging}},
		{"lagging, shared with the other lagging one", streams[2].sent, [][]string{lagging}},
	}
	for _, tt := range tests {
		var got [][]string
		for _, r := range tt.got {
			got = append(got, flat(r.GetUpdate()))
		}
		if !slices.EqualFunc(got, tt.want, slices.Equal) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestSharedNotesKeepTheLatestWithinTheirBound puts more notifications
// than the shared cache holds: it never holds more than maxSharedNotes,
// and always finds the last maxSharedNotes/2 put.
func TestSharedNotesKeepTheLatestWithinTheirBound(t *testing.T) {
	var sh sharedNotes
	ent := &node{}
	key := func(i int) *noteKey { return &noteKey{ent: ent, since: uint64(i)} }
	const n = 3*maxSharedNotes + 7
	for i := range n {
		sh.put(key(i), []byte{byte(i)})
		if got := sh.len(); got > maxSharedNotes {
			t.Fatalf("after %d puts the cache holds %d, want at most %d", i+1, got, maxSharedNotes)
		}
	}
	for i := n - maxSharedNotes/2; i < n; i++ {
		if b, ok := sh.get(key(i)); !ok || b[0] != byte(i) {
			t.Fatalf("notification %d of the last %d: %v, %v", i, maxSharedNotes/2, b, ok)
		}
	}
}
