package telemetry

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/pccagent/pccagent/pcep/pcc"
)

// waitLimit bounds every wait in the tests.
const waitLimit = 5 * time.Second

// mustPath parses "/a/b[k=v]/c" into a gNMI path. Key values may not contain
// '/' or ']'.
func mustPath(t testing.TB, s string) *gpb.Path {
	t.Helper()
	p := &gpb.Path{}
	s = strings.Trim(s, "/")
	if s == "" {
		return p
	}
	for _, part := range strings.Split(s, "/") {
		name, rest, hasKeys := strings.Cut(part, "[")
		e := &gpb.PathElem{Name: name}
		if hasKeys {
			e.Key = map[string]string{}
			for _, kv := range strings.Split(strings.TrimSuffix(rest, "]"), "][") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("bad key %q in %q", kv, s)
				}
				e.Key[k] = v
			}
		}
		p.Elem = append(p.Elem, e)
	}
	return p
}

// pathString renders a path as "/a/b[k=v]/c" (keys sorted).
func pathString(p *gpb.Path) string {
	var b strings.Builder
	for _, e := range p.GetElem() {
		b.WriteByte('/')
		b.WriteString(e.GetName())
		keys := make([]string, 0, len(e.GetKey()))
		for k := range e.GetKey() {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "[%s=%s]", k, e.GetKey()[k])
		}
	}
	return b.String()
}

// joined returns prefix+path as a string.
func joined(prefix, p *gpb.Path) string {
	return pathString(&gpb.Path{Elem: append(append([]*gpb.PathElem(nil), prefix.GetElem()...), p.GetElem()...)})
}

// valueString renders a value compactly for comparisons.
func valueString(v *gpb.TypedValue) string {
	switch x := v.GetValue().(type) {
	case *gpb.TypedValue_StringVal:
		return x.StringVal
	case *gpb.TypedValue_UintVal:
		return fmt.Sprint(x.UintVal)
	case *gpb.TypedValue_IntVal:
		return fmt.Sprint(x.IntVal)
	case *gpb.TypedValue_BoolVal:
		return fmt.Sprint(x.BoolVal)
	case *gpb.TypedValue_LeaflistVal:
		var parts []string
		for _, e := range x.LeaflistVal.GetElement() {
			parts = append(parts, valueString(e))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return v.String()
}

// flat turns a notification into "path=value" lines and "-path" for
// deletes, sorted, deletes first.
func flat(n *gpb.Notification) []string {
	var dels, ups []string
	for _, d := range n.GetDelete() {
		dels = append(dels, "-"+joined(n.GetPrefix(), d))
	}
	for _, u := range n.GetUpdate() {
		ups = append(ups, joined(n.GetPrefix(), u.GetPath())+"="+valueString(u.GetVal()))
	}
	sort.Strings(dels)
	sort.Strings(ups)
	return append(dels, ups...)
}

// leafNote is a notification with one update per "path=value" pair; values
// are uints when they parse as one, booleans for true/false, else strings.
func leafNote(t testing.TB, ts int64, pairs ...string) *gpb.Notification {
	t.Helper()
	n := &gpb.Notification{Timestamp: ts}
	for _, pv := range pairs {
		i := strings.LastIndex(pv, "=")
		p, v := pv[:i], pv[i+1:]
		var tv *gpb.TypedValue
		var u uint64
		if _, err := fmt.Sscanf(v, "%d", &u); err == nil && fmt.Sprint(u) == v {
			tv = uintVal(u)
		} else if v == "true" || v == "false" {
			tv = boolVal(v == "true")
		} else {
			tv = strVal(v)
		}
		n.Update = append(n.Update, &gpb.Update{Path: mustPath(t, p), Val: tv})
	}
	return n
}

func testLSP(name string, plsp uint32) *pcc.LSPState {
	return &pcc.LSPState{
		Name:       name,
		PLSPID:     plsp,
		Origin:     pcc.OriginPCC,
		Color:      100,
		Endpoint:   netip.MustParseAddr("192.0.2.3"),
		Preference: 100,
		OperStatus: pcc.OperUp,
		Labels:     []uint32{16003, 16004},
		LastChange: time.Unix(1700000000, 0),
	}
}

// gnmiServer serves a cache's Subscribe over gRPC.
type gnmiServer struct {
	gpb.UnimplementedGNMIServer
	c *Cache
}

func (s *gnmiServer) Subscribe(stream gpb.GNMI_SubscribeServer) error { return s.c.Subscribe(stream) }

// startServer serves c over an in-process connection and returns a client.
func startServer(t testing.TB, c *Cache) gpb.GNMIClient {
	t.Helper()
	ln := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	gpb.RegisterGNMIServer(srv, &gnmiServer{c: c})
	go srv.Serve(ln)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
	})
	return gpb.NewGNMIClient(conn)
}

// subscription is an open Subscribe stream with its responses on a channel.
type testStream struct {
	t      testing.TB
	stream gpb.GNMI_SubscribeClient
	resp   chan *gpb.SubscribeResponse
	err    chan error
	cancel context.CancelFunc
}

func subscribe(t testing.TB, cl gpb.GNMIClient, req *gpb.SubscribeRequest) *testStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := cl.Subscribe(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := st.Send(req); err != nil {
		cancel()
		t.Fatal(err)
	}
	ts := &testStream{t: t, stream: st, resp: make(chan *gpb.SubscribeResponse, 1<<16), err: make(chan error, 1), cancel: cancel}
	go func() {
		for {
			r, err := st.Recv()
			if err != nil {
				ts.err <- err
				close(ts.resp)
				return
			}
			ts.resp <- r
		}
	}()
	t.Cleanup(cancel)
	return ts
}

// next returns the next response, failing the test after waitLimit.
func (s *testStream) next() *gpb.SubscribeResponse {
	s.t.Helper()
	select {
	case r, ok := <-s.resp:
		if !ok {
			s.t.Fatalf("stream ended: %v", <-s.err)
		}
		return r
	case <-time.After(waitLimit):
		s.t.Fatal("no response within the wait limit")
	}
	return nil
}

// nextNote returns the next notification, failing on a sync_response.
func (s *testStream) nextNote() *gpb.Notification {
	s.t.Helper()
	r := s.next()
	if r.GetSyncResponse() {
		s.t.Fatal("got sync_response, want a notification")
	}
	return r.GetUpdate()
}

// untilSync collects the notifications before the next sync_response.
func (s *testStream) untilSync() []*gpb.Notification {
	s.t.Helper()
	var out []*gpb.Notification
	for {
		r := s.next()
		if r.GetSyncResponse() {
			return out
		}
		out = append(out, r.GetUpdate())
	}
}

// waitErr waits for the stream to end and returns its error.
func (s *testStream) waitErr() error {
	s.t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case _, ok := <-s.resp:
			if !ok {
				return <-s.err
			}
		case <-deadline:
			s.t.Fatal("stream did not end within the wait limit")
			return nil
		}
	}
}

func flatAll(ns []*gpb.Notification) []string {
	var out []string
	for _, n := range ns {
		out = append(out, flat(n)...)
	}
	sort.Strings(out)
	return out
}

func subList(mode gpb.SubscriptionList_Mode, subs ...*gpb.Subscription) *gpb.SubscribeRequest {
	return &gpb.SubscribeRequest{Request: &gpb.SubscribeRequest_Subscribe{Subscribe: &gpb.SubscriptionList{
		Mode: mode, Subscription: subs, Encoding: gpb.Encoding_PROTO,
	}}}
}

func sub(t testing.TB, path string, mode gpb.SubscriptionMode) *gpb.Subscription {
	return &gpb.Subscription{Path: mustPath(t, path), Mode: mode}
}
