package e2e

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/gnmic/pkg/api"
	"github.com/openconfig/gnmic/pkg/api/target"
	"google.golang.org/protobuf/encoding/prototext"
)

// newTarget connects the gnmic client library to the agent (plaintext).
func newTarget(t *testing.T, addr string) *target.Target {
	t.Helper()
	tg, err := api.NewTarget(api.Name("pccagent"), api.Address(addr), api.Insecure(true), api.Timeout(10*time.Second))
	if err != nil {
		t.Fatalf("gnmic NewTarget: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := tg.CreateGNMIClient(ctx); err != nil {
		t.Fatalf("gnmic CreateGNMIClient %s: %v", addr, err)
	}
	t.Cleanup(func() { tg.Close() })
	return tg
}

// rpcContext bounds one RPC.
func rpcContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

// pathString renders prefix+p as /a/b[k=v]/c, keys sorted, without origin,
// target or the pcc-agent: module prefix.
func pathString(prefix, p *gnmi.Path) string {
	var elems []*gnmi.PathElem
	elems = append(elems, prefix.GetElem()...)
	elems = append(elems, p.GetElem()...)
	var b strings.Builder
	for i, e := range elems {
		name := e.GetName()
		if i == 0 {
			name = strings.TrimPrefix(name, "pcc-agent:")
		}
		b.WriteString("/")
		b.WriteString(name)
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

// leaves returns the updated leaves of n by path string.
func leaves(n *gnmi.Notification) map[string]*gnmi.TypedValue {
	out := make(map[string]*gnmi.TypedValue, len(n.GetUpdate()))
	for _, u := range n.GetUpdate() {
		out[pathString(n.GetPrefix(), u.GetPath())] = u.GetVal()
	}
	return out
}

// deletes returns the deleted paths of n.
func deletes(n *gnmi.Notification) []string {
	var out []string
	for _, d := range n.GetDelete() {
		out = append(out, pathString(n.GetPrefix(), d))
	}
	return out
}

// uints returns a leaf-list of unsigned integers as a slice.
func uints(v *gnmi.TypedValue) []uint32 {
	var out []uint32
	for _, e := range v.GetLeaflistVal().GetElement() {
		out = append(out, uint32(e.GetUintVal()))
	}
	return out
}

// lspPath is the path of a state leaf of the LSP name.
func lspPath(name, leaf string) string {
	return "/pce-client/lsps/lsp[name=" + name + "]/state/" + leaf
}

// getLeaves runs a Get of path with PROTO encoding (scalar leaves) and
// returns every leaf by path string.
func getLeaves(t *testing.T, tg *target.Target, path string, opts ...api.GNMIOption) map[string]*gnmi.TypedValue {
	t.Helper()
	resp := get(t, tg, append([]api.GNMIOption{api.Path(path), api.EncodingPROTO()}, opts...)...)
	out := map[string]*gnmi.TypedValue{}
	for _, n := range resp.GetNotification() {
		for k, v := range leaves(n) {
			out[k] = v
		}
	}
	return out
}

// get runs a Get with the gnmic request helpers and fails the test on error.
func get(t *testing.T, tg *target.Target, opts ...api.GNMIOption) *gnmi.GetResponse {
	t.Helper()
	req, err := api.NewGetRequest(opts...)
	if err != nil {
		t.Fatalf("NewGetRequest: %v", err)
	}
	resp, err := tg.Get(rpcContext(t), req)
	if err != nil {
		t.Fatalf("Get %s: %v", prototext.Format(req), err)
	}
	return resp
}

// set runs a Set and returns its error.
func set(t *testing.T, tg *target.Target, opts ...api.GNMIOption) (*gnmi.SetResponse, error) {
	t.Helper()
	req, err := api.NewSetRequest(opts...)
	if err != nil {
		t.Fatalf("NewSetRequest: %v", err)
	}
	return tg.Set(rpcContext(t), req)
}

// mustSet runs a Set that must succeed.
func mustSet(t *testing.T, tg *target.Target, opts ...api.GNMIOption) *gnmi.SetResponse {
	t.Helper()
	resp, err := set(t, tg, opts...)
	if err != nil {
		t.Fatalf("Set: %v", err)
	}
	return resp
}

// updateValue is a Set update of path with a JSON_IETF value, as gnmic's
// --update-path/--update-value send it.
func updateValue(path, jsonValue string) api.GNMIOption {
	return api.Update(api.Path(path), api.Value(jsonValue, "json_ietf"))
}

// waitGet polls a PROTO Get of path until pred holds (bounded).
func waitGet(t *testing.T, tg *target.Target, what, path string, pred func(map[string]*gnmi.TypedValue) bool) map[string]*gnmi.TypedValue {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		got := getLeaves(t, tg, path)
		if pred(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen in Get %s within %v; last answer:\n%s", what, path, waitLimit, formatLeaves(got))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func formatLeaves(m map[string]*gnmi.TypedValue) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "  %s = %s\n", k, prototext.MarshalOptions{}.Format(m[k]))
	}
	return b.String()
}

// subscription is one Subscribe RPC of the gnmic target's gNMI client whose
// responses arrive on a channel.
type subscription struct {
	stream gnmi.GNMI_SubscribeClient
	resp   chan *gnmi.SubscribeResponse
	err    error // why the stream ended; valid once resp is closed
	cancel context.CancelFunc
}

// subscribe sends req on a new Subscribe stream of tg.
func subscribe(t *testing.T, tg *target.Target, req *gnmi.SubscribeRequest) *subscription {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := tg.Client.Subscribe(ctx)
	if err != nil {
		cancel()
		t.Fatalf("Subscribe: %v", err)
	}
	if err := stream.Send(req); err != nil {
		cancel()
		t.Fatalf("Subscribe send %s: %v", prototext.Format(req), err)
	}
	s := &subscription{stream: stream, resp: make(chan *gnmi.SubscribeResponse, 1024), cancel: cancel}
	receiveAll(t, ctx, cancel, stream.Recv, s.resp, &s.err)
	return s
}

// receiveAll moves every message of a server stream into out until the
// stream or ctx ends, then stores why in *errp and closes out (so *errp may
// be read once out is drained). The test's cleanup cancels the stream and
// waits for the receiver to stop.
func receiveAll[T any](t testing.TB, ctx context.Context, cancel context.CancelFunc, recv func() (T, error), out chan T, errp *error) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		for {
			m, err := recv()
			if err != nil {
				*errp = err
				return
			}
			select {
			case out <- m:
			case <-ctx.Done():
				*errp = ctx.Err()
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// newSubscribeRequest builds a SubscribeRequest with the gnmic helpers.
func newSubscribeRequest(t *testing.T, opts ...api.GNMIOption) *gnmi.SubscribeRequest {
	t.Helper()
	req, err := api.NewSubscribeRequest(opts...)
	if err != nil {
		t.Fatalf("NewSubscribeRequest: %v", err)
	}
	return req
}

// next returns the next response, failing the test when the stream ends or
// nothing comes within waitLimit.
func (s *subscription) next(t *testing.T) *gnmi.SubscribeResponse {
	t.Helper()
	timer := time.NewTimer(waitLimit)
	defer timer.Stop()
	select {
	case r, ok := <-s.resp:
		if !ok {
			t.Fatalf("subscription ended: %v", s.err)
		}
		return r
	case <-timer.C:
		t.Fatalf("no subscribe response within %v", waitLimit)
	}
	return nil
}

// waitFor reads responses until pred holds for one (bounded) and returns
// it with the responses read before it.
func (s *subscription) waitFor(t *testing.T, what string, pred func(*gnmi.SubscribeResponse) bool) (*gnmi.SubscribeResponse, []*gnmi.SubscribeResponse) {
	t.Helper()
	return s.waitForWithin(t, what, waitLimit, pred)
}

func (s *subscription) waitForWithin(t *testing.T, what string, limit time.Duration, pred func(*gnmi.SubscribeResponse) bool) (*gnmi.SubscribeResponse, []*gnmi.SubscribeResponse) {
	t.Helper()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	var seen []*gnmi.SubscribeResponse
	for {
		select {
		case r, ok := <-s.resp:
			if !ok {
				t.Fatalf("%s: subscription ended first: %v; responses:\n%s", what, s.err, formatResponses(seen))
			}
			if pred(r) {
				return r, seen
			}
			seen = append(seen, r)
		case <-timer.C:
			t.Fatalf("%s: not seen within %v; responses:\n%s", what, limit, formatResponses(seen))
		}
	}
}

// untilSync reads responses up to and including sync_response and returns
// the notifications before it.
func (s *subscription) untilSync(t *testing.T) []*gnmi.Notification {
	t.Helper()
	_, seen := s.waitFor(t, "sync_response", func(r *gnmi.SubscribeResponse) bool { return r.GetSyncResponse() })
	var out []*gnmi.Notification
	for _, r := range seen {
		if n := r.GetUpdate(); n != nil {
			out = append(out, n)
		}
	}
	return out
}

func formatResponses(rs []*gnmi.SubscribeResponse) string {
	var b strings.Builder
	for i, r := range rs {
		if i >= 50 {
			fmt.Fprintf(&b, "  ... %d more\n", len(rs)-i)
			break
		}
		fmt.Fprintf(&b, "  %s\n", prototext.MarshalOptions{}.Format(r))
	}
	return b.String()
}

// mergeLeaves folds the updates and deletes of notifications into state.
func mergeLeaves(state map[string]*gnmi.TypedValue, ns ...*gnmi.Notification) {
	for _, n := range ns {
		for _, d := range deletes(n) {
			for k := range state {
				if k == d || strings.HasPrefix(k, d+"/") {
					delete(state, k)
				}
			}
		}
		for k, v := range leaves(n) {
			state[k] = v
		}
	}
}

// hasLabels is a predicate on a notification: it sets the labels of the
// LSP name to want.
func hasLabels(name string, want []uint32) func(*gnmi.SubscribeResponse) bool {
	p := lspPath(name, "labels")
	return func(r *gnmi.SubscribeResponse) bool {
		v, ok := leaves(r.GetUpdate())[p]
		return ok && slices.Equal(uints(v), want)
	}
}
