package telemetry

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pccagent/pccagent/pcep/pcc"
)

const lspA = "/pce-client/lsps/lsp[name=a]/state/"

func TestSubscribeOnceSendsCurrentValuesThenSyncAndEnds(t *testing.T) {
	tests := []struct {
		name        string
		updatesOnly bool
		want        []string
	}{
		{"current values", false, []string{lspA + "color=100", lspA + "oper-status=up"}},
		{"updates_only sends only the sync", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := startServer(t, seedCache(t))
			req := subList(gpb.SubscriptionList_ONCE, sub(t, "/pce-client/lsps/lsp[name=a]", gpb.SubscriptionMode_TARGET_DEFINED))
			req.GetSubscribe().UpdatesOnly = tt.updatesOnly
			s := subscribe(t, cl, req)
			if got := flatAll(s.untilSync()); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if err := s.waitErr(); err.Error() != "EOF" {
				t.Errorf("stream ended with %v, want EOF", err)
			}
		})
	}
}

func TestSubscribePollResendsOnEveryPoll(t *testing.T) {
	c := seedCache(t)
	cl := startServer(t, c)
	s := subscribe(t, cl, subList(gpb.SubscriptionList_POLL, sub(t, "/pce-client/lsps/lsp[name=a]/state/color", 0)))
	if got, want := flatAll(s.untilSync()), []string{lspA + "color=100"}; !slices.Equal(got, want) {
		t.Fatalf("initial: got %q, want %q", got, want)
	}
	for i, color := range []string{"101", "102"} {
		c.Update(leafNote(t, 5, lspA+"color="+color))
		if err := s.stream.Send(&gpb.SubscribeRequest{Request: &gpb.SubscribeRequest_Poll{Poll: &gpb.Poll{}}}); err != nil {
			t.Fatal(err)
		}
		if got, want := flatAll(s.untilSync()), []string{lspA + "color=" + color}; !slices.Equal(got, want) {
			t.Fatalf("poll %d: got %q, want %q", i, got, want)
		}
	}
	s.stream.CloseSend()
	if err := s.waitErr(); err.Error() != "EOF" {
		t.Errorf("stream ended with %v, want EOF", err)
	}
}

func TestSubscribeStreamOnChange(t *testing.T) {
	tests := []struct {
		name        string
		mode        gpb.SubscriptionMode
		updatesOnly bool
		wantInitial []string
	}{
		{"on_change", gpb.SubscriptionMode_ON_CHANGE, false, []string{lspA + "color=100", lspA + "oper-status=up"}},
		{"target_defined is on_change", gpb.SubscriptionMode_TARGET_DEFINED, false, []string{lspA + "color=100", lspA + "oper-status=up"}},
		{"updates_only skips the initial values", gpb.SubscriptionMode_ON_CHANGE, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := seedCache(t)
			cl := startServer(t, c)
			req := subList(gpb.SubscriptionList_STREAM, sub(t, "/pce-client/lsps/lsp[name=a]", tt.mode))
			req.GetSubscribe().UpdatesOnly = tt.updatesOnly
			s := subscribe(t, cl, req)
			if got := flatAll(s.untilSync()); !slices.Equal(got, tt.wantInitial) {
				t.Fatalf("initial: got %q, want %q", got, tt.wantInitial)
			}
			// Changes of another LSP are not sent; a value rewritten unchanged is not sent.
			c.Update(leafNote(t, 6, "/pce-client/lsps/lsp[name=b]/state/color=1"))
			c.Update(leafNote(t, 6, lspA+"color=100"))
			c.Update(leafNote(t, 7, lspA+"color=7", lspA+"oper-status=up"))
			n := s.nextNote()
			if got, want := flat(n), []string{lspA + "color=7"}; !slices.Equal(got, want) {
				t.Errorf("change: got %q, want %q", got, want)
			}
			if n.GetTimestamp() != 7 {
				t.Errorf("timestamp %d, want 7", n.GetTimestamp())
			}
		})
	}
}

func TestSubscribeStreamSendsDeletes(t *testing.T) {
	c := seedCache(t)
	cl := startServer(t, c)
	q := pcc.NewChangeQueue()
	runPump(t, c, q)
	s := subscribe(t, cl, subList(gpb.SubscriptionList_STREAM,
		sub(t, "/pce-client/lsps/lsp[name=*]/state/oper-status", gpb.SubscriptionMode_ON_CHANGE),
		sub(t, "/pce-client/servers", gpb.SubscriptionMode_ON_CHANGE)))
	s.untilSync()

	steps := []struct {
		name   string
		change pcc.Change
		want   []string
	}{
		{"lsp removed", pcc.Change{LSP: &pcc.LSPState{Name: "a"}, Removed: true}, []string{"-/pce-client/lsps/lsp[name=a]"}},
		{"server removed", pcc.Change{Server: &pcc.ServerState{Config: pcc.ServerConfig{Address: mustAddr("192.0.2.11")}}, Removed: true},
			[]string{"-/pce-client/servers/server[address=192.0.2.11]"}},
	}
	for _, st := range steps {
		q.Push(st.change)
		if got := flat(s.nextNote()); !slices.Equal(got, st.want) {
			t.Errorf("%s: got %q, want %q", st.name, got, st.want)
		}
	}
	// A leaf deleted inside an LSP is sent as a delete of that leaf.
	c.Update(&gpb.Notification{Timestamp: 9, Delete: []*gpb.Path{mustPath(t, "/pce-client/lsps/lsp[name=b]/state/oper-status")}})
	if got, want := flat(s.nextNote()), []string{"-/pce-client/lsps/lsp[name=b]/state/oper-status"}; !slices.Equal(got, want) {
		t.Errorf("leaf delete: got %q, want %q", got, want)
	}
}

func TestSubscribeOnChangeSendsOneNotificationPerLSPInOrder(t *testing.T) {
	c := NewCache()
	cl := startServer(t, c)
	q := pcc.NewChangeQueue()
	runPump(t, c, q)
	s := subscribe(t, cl, subList(gpb.SubscriptionList_STREAM, sub(t, "/pce-client/lsps", gpb.SubscriptionMode_ON_CHANGE)))
	s.untilSync()

	const n = 50
	var order []string
	for i := range n {
		l := testLSP(fmt.Sprintf("lsp-%02d", i), uint32(i+1))
		l.Delegated, l.DelegatedTo = true, mustAddr("192.0.2.10")
		q.Push(pcc.Change{LSP: l})
		order = append(order, l.Name)
	}
	for _, name := range order {
		note := s.nextNote()
		prefix := "/pce-client/lsps/lsp[name=" + name + "]/state/"
		got := flat(note)
		if len(got) != 13 {
			t.Fatalf("%s: notification has %d leaves, want all 13: %q", name, len(got), got)
		}
		for _, l := range got {
			if !strings.HasPrefix(l, prefix) {
				t.Fatalf("notification for %s holds %q", name, l)
			}
		}
	}
	// A delegation change reaches the subscriber as one notification with
	// exactly what changed.
	l := testLSP("lsp-03", 4)
	q.Push(pcc.Change{LSP: l})
	want := []string{"-/pce-client/lsps/lsp[name=lsp-03]/state/delegated-to", "/pce-client/lsps/lsp[name=lsp-03]/state/delegated=false"}
	if got := flat(s.nextNote()); !slices.Equal(got, want) {
		t.Errorf("delegation returned: got %q, want %q", got, want)
	}
}

func TestSubscribeHeartbeatResendsUnchangedValues(t *testing.T) {
	c := seedCache(t)
	cl := startServer(t, c)
	tests := []struct {
		name string
		sub  *gpb.Subscription
	}{
		{"on_change", &gpb.Subscription{Path: mustPath(t, lspA+"color"), Mode: gpb.SubscriptionMode_ON_CHANGE,
			HeartbeatInterval: uint64(50 * time.Millisecond)}},
		{"sample with suppress_redundant", &gpb.Subscription{Path: mustPath(t, lspA+"color"), Mode: gpb.SubscriptionMode_SAMPLE,
			SampleInterval: uint64(20 * time.Millisecond), SuppressRedundant: true, HeartbeatInterval: uint64(50 * time.Millisecond)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := subscribe(t, cl, subList(gpb.SubscriptionList_STREAM, tt.sub))
			s.untilSync()
			for i := range 2 {
				if got, want := flat(s.nextNote()), []string{lspA + "color=100"}; !slices.Equal(got, want) {
					t.Fatalf("heartbeat %d: got %q, want %q", i, got, want)
				}
			}
		})
	}
}

func TestSubscribeSampleSendsEveryInterval(t *testing.T) {
	c := seedCache(t)
	cl := startServer(t, c)
	s := subscribe(t, cl, subList(gpb.SubscriptionList_STREAM, &gpb.Subscription{
		Path: mustPath(t, lspA+"color"), Mode: gpb.SubscriptionMode_SAMPLE, SampleInterval: uint64(20 * time.Millisecond)}))
	if got, want := flatAll(s.untilSync()), []string{lspA + "color=100"}; !slices.Equal(got, want) {
		t.Fatalf("initial: got %q, want %q", got, want)
	}
	for i := range 3 {
		if got, want := flat(s.nextNote()), []string{lspA + "color=100"}; !slices.Equal(got, want) {
			t.Fatalf("sample %d: got %q, want %q", i, got, want)
		}
	}
	c.Update(leafNote(t, 8, lspA+"color=5"))
	for {
		got := flat(s.nextNote())
		if slices.Equal(got, []string{lspA + "color=5"}) {
			break
		}
		if !slices.Equal(got, []string{lspA + "color=100"}) {
			t.Fatalf("sample after change: got %q", got)
		}
	}
}

func TestSubscribeSampleIntervalZeroUsesTheDefault(t *testing.T) {
	c := seedCache(t)
	c.defaultSample = 20 * time.Millisecond
	cl := startServer(t, c)
	s := subscribe(t, cl, subList(gpb.SubscriptionList_STREAM, &gpb.Subscription{
		Path: mustPath(t, lspA+"color"), Mode: gpb.SubscriptionMode_SAMPLE}))
	s.untilSync()
	for i := range 2 {
		if got, want := flat(s.nextNote()), []string{lspA + "color=100"}; !slices.Equal(got, want) {
			t.Fatalf("sample %d: got %q, want %q", i, got, want)
		}
	}
}

func TestSubscribeSampleSuppressRedundantSendsOnlyChanges(t *testing.T) {
	c := seedCache(t)
	cl := startServer(t, c)
	s := subscribe(t, cl, subList(gpb.SubscriptionList_STREAM, &gpb.Subscription{
		Path: mustPath(t, "/pce-client/lsps"), Mode: gpb.SubscriptionMode_SAMPLE,
		SampleInterval: uint64(20 * time.Millisecond), SuppressRedundant: true}))
	if got := flatAll(s.untilSync()); len(got) != 4 {
		t.Fatalf("initial: got %q, want the 4 LSP leaves", got)
	}
	c.Update(leafNote(t, 8, lspA+"color=5", lspA+"oper-status=up"))
	if got, want := flat(s.nextNote()), []string{lspA + "color=5"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want only the changed leaf %q", got, want)
	}
	c.Update(leafNote(t, 9, "/pce-client/lsps/lsp[name=b]/state/oper-status=up"))
	if got, want := flat(s.nextNote()), []string{"/pce-client/lsps/lsp[name=b]/state/oper-status=up"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want only the changed leaf %q", got, want)
	}
}

func TestSubscribeWildcards(t *testing.T) {
	tests := []struct {
		name, path string
		want       []string
	}{
		{"key wildcard", "/pce-client/lsps/lsp[name=*]/state/color", []string{
			lspA + "color=100", "/pce-client/lsps/lsp[name=b]/state/color=200"}},
		{"name wildcard", "/pce-client/*/server[address=*]/state/session-state", []string{
			"/pce-client/servers/server[address=192.0.2.10]/state/session-state=up",
			"/pce-client/servers/server[address=192.0.2.11]/state/session-state=idle"}},
		{"any depth", "/pce-client/.../oper-status", []string{
			lspA + "oper-status=up", "/pce-client/lsps/lsp[name=b]/state/oper-status=down"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := seedCache(t)
			cl := startServer(t, c)
			s := subscribe(t, cl, subList(gpb.SubscriptionList_STREAM, sub(t, tt.path, gpb.SubscriptionMode_ON_CHANGE)))
			if got := flatAll(s.untilSync()); !slices.Equal(got, tt.want) {
				t.Fatalf("initial: got %q, want %q", got, tt.want)
			}
			// A change of a matching leaf arrives; a change of a leaf the
			// wildcard does not name does not.
			c.Update(leafNote(t, 9, "/pce-client/lsps/lsp[name=c]/state/plsp-id=3"))
			upd := tt.want[len(tt.want)-1][:strings.LastIndex(tt.want[len(tt.want)-1], "=")] + "=changed"
			c.Update(leafNote(t, 10, upd))
			if got := flat(s.nextNote()); !slices.Equal(got, []string{upd}) {
				t.Errorf("change: got %q, want %q", got, []string{upd})
			}
		})
	}
}

func TestSubscribeEchoesTargetAndOrigin(t *testing.T) {
	tests := []struct {
		name   string
		prefix *gpb.Path
		path   string
	}{
		{"no prefix", nil, "/pce-client/config"},
		{"empty origin with target", &gpb.Path{Target: "router1"}, "/pce-client/config"},
		{"pcc-agent origin", &gpb.Path{Origin: "pcc-agent", Target: "router1"}, "/pce-client/config"},
		{"module-prefixed first element", &gpb.Path{Origin: "pcc-agent"}, "/pcc-agent:pce-client/config"},
		{"prefix holds elements", &gpb.Path{Target: "t", Elem: []*gpb.PathElem{{Name: "pcc-agent:pce-client"}}}, "config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := startServer(t, seedCache(t))
			for _, mode := range []gpb.SubscriptionList_Mode{gpb.SubscriptionList_ONCE, gpb.SubscriptionList_STREAM} {
				req := subList(mode, sub(t, tt.path, gpb.SubscriptionMode_ON_CHANGE))
				req.GetSubscribe().Prefix = tt.prefix
				s := subscribe(t, cl, req)
				ns := s.untilSync()
				want := []string{"/pce-client/config/enabled=true", "/pce-client/config/keepalive=30"}
				if got := flatAll(ns); !slices.Equal(got, want) {
					t.Fatalf("%v: got %q, want %q", mode, got, want)
				}
				for _, n := range ns {
					if n.GetPrefix().GetTarget() != tt.prefix.GetTarget() || n.GetPrefix().GetOrigin() != tt.prefix.GetOrigin() {
						t.Errorf("%v: prefix %v, want target %q origin %q", mode, n.GetPrefix(), tt.prefix.GetTarget(), tt.prefix.GetOrigin())
					}
				}
				s.cancel()
			}
		})
	}
}

func TestSubscribeRejectsBadRequests(t *testing.T) {
	c := seedCache(t)
	cl := startServer(t, c)
	poll := &gpb.SubscribeRequest{Request: &gpb.SubscribeRequest_Poll{Poll: &gpb.Poll{}}}
	withList := func(f func(l *gpb.SubscriptionList)) *gpb.SubscribeRequest {
		r := subList(gpb.SubscriptionList_STREAM, sub(t, "/pce-client/config", gpb.SubscriptionMode_ON_CHANGE))
		f(r.GetSubscribe())
		return r
	}
	tests := []struct {
		name string
		reqs []*gpb.SubscribeRequest
		want codes.Code
	}{
		{"poll first", []*gpb.SubscribeRequest{poll}, codes.InvalidArgument},
		{"no subscription", []*gpb.SubscribeRequest{subList(gpb.SubscriptionList_STREAM)}, codes.InvalidArgument},
		{"unknown element", []*gpb.SubscribeRequest{subList(gpb.SubscriptionList_STREAM, sub(t, "/pce-client/nope", 0))}, codes.NotFound},
		{"unknown module prefix", []*gpb.SubscribeRequest{subList(gpb.SubscriptionList_ONCE, sub(t, "/other:pce-client", 0))}, codes.NotFound},
		{"key on a container", []*gpb.SubscribeRequest{subList(gpb.SubscriptionList_ONCE, sub(t, "/pce-client/config[x=1]", 0))}, codes.InvalidArgument},
		{"wrong key name", []*gpb.SubscribeRequest{subList(gpb.SubscriptionList_ONCE, sub(t, "/pce-client/lsps/lsp[id=1]", 0))}, codes.InvalidArgument},
		{"other origin", []*gpb.SubscribeRequest{withList(func(l *gpb.SubscriptionList) { l.Prefix = &gpb.Path{Origin: "openconfig"} })}, codes.InvalidArgument},
		{"unsupported encoding", []*gpb.SubscribeRequest{withList(func(l *gpb.SubscriptionList) { l.Encoding = gpb.Encoding_ASCII })}, codes.Unimplemented},
		{"sample interval too short", []*gpb.SubscribeRequest{withList(func(l *gpb.SubscriptionList) {
			l.Subscription[0].Mode = gpb.SubscriptionMode_SAMPLE
			l.Subscription[0].SampleInterval = 1000
		})}, codes.InvalidArgument},
		{"heartbeat too short", []*gpb.SubscribeRequest{withList(func(l *gpb.SubscriptionList) { l.Subscription[0].HeartbeatInterval = 1 })}, codes.InvalidArgument},
		{"unknown list mode", []*gpb.SubscribeRequest{withList(func(l *gpb.SubscriptionList) { l.Mode = 7 })}, codes.InvalidArgument},
		{"unknown subscription mode", []*gpb.SubscribeRequest{withList(func(l *gpb.SubscriptionList) { l.Subscription[0].Mode = 9 })}, codes.InvalidArgument},
		{"poll on a stream subscription", []*gpb.SubscribeRequest{withList(func(*gpb.SubscriptionList) {}), poll}, codes.InvalidArgument},
		{"second subscription list on poll", []*gpb.SubscribeRequest{
			subList(gpb.SubscriptionList_POLL, sub(t, "/pce-client/config", 0)),
			subList(gpb.SubscriptionList_POLL, sub(t, "/pce-client/config", 0))}, codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := subscribe(t, cl, tt.reqs[0])
			for _, r := range tt.reqs[1:] {
				if err := s.stream.Send(r); err != nil {
					t.Fatal(err)
				}
			}
			if got := status.Code(s.waitErr()); got != tt.want {
				t.Errorf("code %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSubscribeUsesThePathValidator(t *testing.T) {
	var seen []string
	c := NewCache(WithPathValidator(func(p *gpb.Path) error {
		seen = append(seen, pathString(p))
		if strings.Contains(pathString(p), "bad") {
			return fmt.Errorf("no such path")
		}
		return nil
	}))
	cl := startServer(t, c)
	req := subList(gpb.SubscriptionList_ONCE, sub(t, "/pcc-agent:pce-client/future-leaf", 0))
	subscribe(t, cl, req).untilSync()
	s := subscribe(t, cl, subList(gpb.SubscriptionList_ONCE, sub(t, "/pce-client/bad", 0)))
	if got := status.Code(s.waitErr()); got != codes.NotFound {
		t.Errorf("code %v, want NotFound", got)
	}
	if want := []string{"/pce-client/future-leaf", "/pce-client/bad"}; !slices.Equal(seen, want) {
		t.Errorf("validator saw %q, want %q", seen, want)
	}
}

// TestSlowSubscriberDoesNotBlockUpdate keeps a STREAM subscriber that never
// reads while 100,000 LSP changes go through Update: Update must not wait
// for it, and its queue holds at most one entry per LSP.
func TestSlowSubscriberDoesNotBlockUpdate(t *testing.T) {
	c := NewCache()
	cl := startServer(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := cl.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(subList(gpb.SubscriptionList_STREAM, sub(t, "/pce-client/lsps", gpb.SubscriptionMode_ON_CHANGE))); err != nil {
		t.Fatal(err)
	}
	// Wait until the subscriber is registered (it never reads, so only its
	// registration is observable).
	deadline := time.Now().Add(waitLimit)
	for {
		c.mu.RLock()
		n := len(c.subs)
		c.mu.RUnlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("subscriber not registered")
		}
		time.Sleep(time.Millisecond)
	}
	const lsps, changes = 1000, 100000
	p := newPump(c)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range changes {
			l := testLSP(fmt.Sprintf("lsp-%d", i%lsps), uint32(i%lsps))
			l.Updates = uint64(i)
			p.apply(&pcc.Change{LSP: l})
		}
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("Update loop blocked behind a subscriber that does not read")
	}
	var s *subscriber
	c.mu.RLock()
	for x := range c.subs {
		s = x
	}
	c.mu.RUnlock()
	if n := s.q.len(); n > lsps {
		t.Errorf("slow subscriber queue holds %d entries, want at most %d (one per LSP)", n, lsps)
	}

	// Once it reads, the subscriber gets the latest state of every LSP (it
	// may have lost intermediate ones).
	last := make(map[string]uint64, lsps)
	for i := changes - lsps; i < changes; i++ {
		last[fmt.Sprintf("lsp-%d", i%lsps)] = uint64(i)
	}
	readCtx, readCancel := context.WithTimeout(ctx, time.Minute)
	defer readCancel()
	go func() {
		<-readCtx.Done()
		cancel()
	}()
	latest := 0
	for latest < lsps {
		r, err := st.Recv()
		if err != nil {
			t.Fatalf("after %d LSPs at their latest state: %v", latest, err)
		}
		for _, u := range r.GetUpdate().GetUpdate() {
			el := u.GetPath().GetElem()
			if el[len(el)-1].GetName() != "updates" {
				continue
			}
			name := el[2].GetKey()["name"]
			if v := u.GetVal().GetUintVal(); v == last[name] {
				latest++
				last[name] = 1 << 63 // counted
			}
		}
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// TestSubscribeAcceptsPathsWithDeprecatedElementsBesideElem checks the paths
// gnmi_cli sends: elem and the deprecated element field both filled.
func TestSubscribeAcceptsPathsWithDeprecatedElementsBesideElem(t *testing.T) {
	cl := startServer(t, seedCache(t))
	s1 := sub(t, "/pce-client/lsps/lsp[name=a]", gpb.SubscriptionMode_TARGET_DEFINED)
	s1.Path.Element = []string{"pce-client", "lsps", "lsp[name=a]"}
	s := subscribe(t, cl, subList(gpb.SubscriptionList_ONCE, s1))
	want := []string{lspA + "color=100", lspA + "oper-status=up"}
	if got := flatAll(s.untilSync()); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
