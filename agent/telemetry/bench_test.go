package telemetry

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"

	"github.com/pccagent/pccagent/pcep/pcc"
)

// discardStream is a Subscribe server stream whose client sends one
// request and reads everything instantly.
type discardStream struct {
	grpc.ServerStream
	ctx    context.Context
	first  *gpb.SubscribeRequest
	taken  bool
	sent   atomic.Int64
	synced atomic.Bool
	stuck  bool // reads nothing after the sync_response
}

func (d *discardStream) Context() context.Context { return d.ctx }

func (d *discardStream) Send(r *gpb.SubscribeResponse) error {
	if d.stuck && d.synced.Load() {
		// A client that reads nothing more: gRPC flow control holds the
		// stream until it ends.
		<-d.ctx.Done()
		return d.ctx.Err()
	}
	if r.GetSyncResponse() {
		d.synced.Store(true)
	}
	d.sent.Add(1)
	return nil
}

func (d *discardStream) Recv() (*gpb.SubscribeRequest, error) {
	if !d.taken {
		d.taken = true
		return d.first, nil
	}
	<-d.ctx.Done()
	return nil, d.ctx.Err()
}

// benchLSP is an LSP state typical of an SR policy delegated to a PCE.
func benchLSP(i int) *pcc.LSPState {
	return &pcc.LSPState{
		Name:        fmt.Sprintf("policy-%06d", i),
		PLSPID:      uint32(i + 1),
		Origin:      pcc.OriginPCC,
		Color:       uint32(100 + i%50),
		Endpoint:    netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}),
		Preference:  100,
		OperStatus:  pcc.OperActive,
		Delegated:   true,
		DelegatedTo: netip.MustParseAddr("192.0.2.10"),
		Labels:      []uint32{16001 + uint32(i%100), 16100, 16200},
		LastSRPID:   uint32(i),
		LastChange:  time.Unix(1700000000, int64(i)),
	}
}

// fillLSPs puts LSPs benchLSP(0) to benchLSP(lsps-1) into c through a pump
// of its own, and returns that pump.
func fillLSPs(c *Cache, lsps int) *pump {
	p := newPump(c)
	for i := range lsps {
		p.apply(&pcc.Change{LSP: benchLSP(i)})
	}
	return p
}

// BenchmarkPumpLSPChanges measures LSP changes per second through Run into
// the cache, with 0, 1 and 10 STREAM ON_CHANGE subscribers to every LSP
// (subscribers whose client reads instantly), and with 10 stuck ones (whose
// client reads nothing after the sync_response: what handing the changes
// to the queues costs).
func BenchmarkPumpLSPChanges(b *testing.B) {
	const lsps, batch = 10000, 2000
	cases := []struct {
		name        string
		subscribers int
		stuck       bool
	}{
		{"subscribers=0", 0, false},
		{"subscribers=1", 1, false},
		{"subscribers=10", 10, false},
		{"stuck-subscribers=10", 10, true},
	}
	for _, tc := range cases {
		subscribers := tc.subscribers
		b.Run(tc.name, func(b *testing.B) {
			c := NewCache()
			q := pcc.NewChangeQueue()
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			defer func() {
				cancel()
				wg.Wait()
			}()
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.Run(ctx, q)
			}()
			fillLSPs(c, lsps)
			streams := make([]*discardStream, subscribers)
			for i := range streams {
				streams[i] = &discardStream{ctx: ctx, stuck: tc.stuck, first: subList(gpb.SubscriptionList_STREAM,
					sub(b, "/pce-client/lsps", gpb.SubscriptionMode_ON_CHANGE))}
				wg.Add(1)
				go func() {
					defer wg.Done()
					c.Subscribe(streams[i])
				}()
			}
			for _, s := range streams {
				for !s.synced.Load() {
					time.Sleep(time.Millisecond)
				}
			}
			states := make([]*pcc.LSPState, lsps)
			for i := range states {
				states[i] = benchLSP(i)
			}
			b.ResetTimer()
			start := time.Now()
			for done := 0; done < b.N; {
				n := min(batch, b.N-done)
				var last *pcc.LSPState
				for j := range n {
					l := *states[(done+j)%lsps]
					l.Updates = uint64(done + j + 1)
					q.Push(pcc.Change{LSP: &l})
					last = &l
				}
				done += n
				waitApplied(b, c, last)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "changes/s")
			var sent int64
			for _, s := range streams {
				sent += s.sent.Load() - lsps - 1
			}
			if subscribers > 0 && !tc.stuck {
				b.ReportMetric(float64(sent)/elapsed.Seconds(), "notifications-sent/s")
			}
		})
	}
}

// waitApplied waits until the cache shows l's updates counter.
func waitApplied(b *testing.B, c *Cache, l *pcc.LSPState) {
	p := &gpb.Path{Elem: []*gpb.PathElem{{Name: "pce-client"}, {Name: "lsps"},
		{Name: "lsp", Key: map[string]string{"name": l.Name}}, {Name: "state"}, {Name: "updates"}}}
	deadline := time.Now().Add(time.Minute)
	for {
		var got uint64
		c.Query(p, func(n *gpb.Notification) error {
			got = n.GetUpdate()[0].GetVal().GetUintVal()
			return nil
		})
		if got == l.Updates {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("change of %s not applied within a minute", l.Name)
		}
		time.Sleep(20 * time.Microsecond)
	}
}

// BenchmarkCacheMemory100kLSPs reports the heap a cache holding 100,000
// LSPs (13 state leaves each, delegated, three labels) uses per LSP. The
// cache is built once per run whatever b.N is.
func BenchmarkCacheMemory100kLSPs(b *testing.B) {
	const lsps = 100000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c := NewCache()
	fillLSPs(c, lsps) // the pump is garbage by the GC below: only the cache counts
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/lsps, "heap-B/LSP")
	runtime.KeepAlive(c)
}

// BenchmarkUpdateOneLSP measures one LSP notification applied to a cache
// holding 100,000 LSPs, without subscribers, as the pump applies it.
func BenchmarkUpdateOneLSP(b *testing.B) {
	const lsps = 100000
	c := NewCache()
	p := fillLSPs(c, lsps)
	l := benchLSP(4242)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		l.Updates = uint64(i)
		c.updateTemplate(p.lsp.fill(l, int64(i)), &p.lsp.index)
	}
}

// policyNote is the notification the agent publishes for one policy: four
// config leaves, their state mirrors and two state leaves with defaults.
func policyNote(i int, color uint64) *gpb.Notification {
	name := fmt.Sprintf("policy-%06d", i)
	endpoint := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String()
	labels := &gpb.TypedValue{Value: &gpb.TypedValue_LeaflistVal{LeaflistVal: &gpb.ScalarArray{Element: []*gpb.TypedValue{
		uintVal(16001), uintVal(uint64(16002 + i%1000))}}}}
	n := &gpb.Notification{Timestamp: 1, Prefix: &gpb.Path{Elem: []*gpb.PathElem{
		{Name: "pce-client"}, {Name: "policies"}, {Name: "policy", Key: map[string]string{"name": name}}}}}
	for _, dir := range []string{"config", "state"} {
		n.Update = append(n.Update,
			&gpb.Update{Path: &gpb.Path{Elem: []*gpb.PathElem{{Name: dir}, {Name: "color"}}}, Val: uintVal(color)},
			&gpb.Update{Path: &gpb.Path{Elem: []*gpb.PathElem{{Name: dir}, {Name: "endpoint"}}}, Val: strVal(endpoint)},
			&gpb.Update{Path: &gpb.Path{Elem: []*gpb.PathElem{{Name: dir}, {Name: "labels"}}}, Val: labels},
			&gpb.Update{Path: &gpb.Path{Elem: []*gpb.PathElem{{Name: dir}, {Name: "name"}}}, Val: strVal(name)},
		)
	}
	n.Update = append(n.Update,
		&gpb.Update{Path: &gpb.Path{Elem: []*gpb.PathElem{{Name: "state"}, {Name: "delegate"}}}, Val: boolVal(true)},
		&gpb.Update{Path: &gpb.Path{Elem: []*gpb.PathElem{{Name: "state"}, {Name: "preference"}}}, Val: uintVal(100)},
	)
	return n
}

// BenchmarkUpdateOnePolicyColor measures the notification of a Set that
// changes one policy's color (config/color and its state mirror) applied
// to a cache holding 10,000 policies, without subscribers.
func BenchmarkUpdateOnePolicyColor(b *testing.B) {
	const policies = 10000
	c := NewCache()
	for i := range policies {
		c.Update(policyNote(i, uint64(i+1)))
	}
	prefix := policyNote(4242, 0).GetPrefix()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		c.Update(&gpb.Notification{Timestamp: int64(i), Prefix: prefix, Update: []*gpb.Update{
			{Path: &gpb.Path{Elem: []*gpb.PathElem{{Name: "config"}, {Name: "color"}}}, Val: uintVal(uint64(i))},
			{Path: &gpb.Path{Elem: []*gpb.PathElem{{Name: "state"}, {Name: "color"}}}, Val: uintVal(uint64(i))},
		}})
	}
}

// BenchmarkCacheMemory100kPolicies reports the heap a cache holding the
// configuration of 100,000 policies uses per policy: four config leaves
// and their state mirrors plus two state leaves with default values, each
// policy published in one notification as the agent does. The cache is
// built once per run whatever b.N is.
func BenchmarkCacheMemory100kPolicies(b *testing.B) {
	const policies = 100000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c := NewCache()
	for i := range policies {
		c.Update(policyNote(i, uint64(i+1)))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/policies, "heap-B/policy")
	runtime.KeepAlive(c)
}

// BenchmarkQuery10kLSPs measures a Get-style Query of every LSP's state
// with 10,000 LSPs in the cache.
func BenchmarkQuery10kLSPs(b *testing.B) {
	const lsps = 10000
	c := NewCache()
	fillLSPs(c, lsps)
	path := &gpb.Path{Elem: []*gpb.PathElem{{Name: "pce-client"}, {Name: "lsps"}, {Name: "lsp", Key: map[string]string{"name": "*"}}, {Name: "state"}}}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if err := c.Query(path, func(*gpb.Notification) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != lsps {
			b.Fatalf("%d notifications, want %d", n, lsps)
		}
	}
}
