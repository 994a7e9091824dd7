package agent

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"

	"github.com/pccagent/pccagent/agent/telemetry"
	"github.com/pccagent/pccagent/pcep/pcc"
)

// policiesConfig returns a config file with n policies.
func policiesConfig(n int) string {
	var b strings.Builder
	b.WriteString(`{"pcc-agent:pce-client": {"servers": {"server": [{"address": "192.0.2.10", "config": {"address": "192.0.2.10"}}]}, "policies": {"policy": [`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name": "p%05d", "config": {"name": "p%05d", "color": %d, "endpoint": "198.51.100.%d", "labels": [16001, %d]}}`, i, i, i+1, i%250+1, 16002+i)
	}
	b.WriteString(`]}}}`)
	return b.String()
}

// reportMedian reports the median of the per-operation durations in ms.
func reportMedian(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, "ms-median")
}

// nopEngine accepts every configuration and keeps nothing, so that the
// benchmarks measure the agent's own work (the engine's Apply has its own
// benchmarks).
type nopEngine struct{ n int }

func (e *nopEngine) Apply(ctx context.Context, cfg pcc.Config) error { e.n++; return nil }

// countingCache counts what is published and serves no reads, so that the
// benchmarks measure the agent's own work (the cache has its own).
type countingCache struct{ updates, deletes int }

func (c *countingCache) Update(n *gnmi.Notification) {
	c.updates += len(n.GetUpdate())
	c.deletes += len(n.GetDelete())
}

func (c *countingCache) Query(*gnmi.Path, func(*gnmi.Notification) error) error { return nil }

func newBenchAgent(b *testing.B, content string) *Agent {
	b.Helper()
	file := filepath.Join(b.TempDir(), "pccagent.json")
	if content != "" {
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	a, err := New(context.Background(), file, &nopEngine{}, &countingCache{}, WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// BenchmarkSetOneLeaf10kPolicies measures a Set of one leaf of one policy
// with 10,000 policies configured: path checks, copy on write of the
// entry, validation, conversion, persistence of the whole file (with fsync
// of the file and its directory) and the telemetry diff.
func BenchmarkSetOneLeaf10kPolicies(b *testing.B) {
	ta := newBenchAgent(b, policiesConfig(10000))
	ctx := context.Background()
	benchSetOneLeaf(b, ctx, ta.Set)
}

// benchSetOneLeaf sets the color of one of the 10,000 policies per
// iteration, a different one each time, and reports the median Set time.
func benchSetOneLeaf(b *testing.B, ctx context.Context, set func(context.Context, *gnmi.SetRequest) (*gnmi.SetResponse, error)) {
	var d []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		req := update(b, fmt.Sprintf("/pce-client/policies/policy[name=p%05d]/config/color", i%10000), uintVal(uint64(100000+i)))
		start := time.Now()
		if _, err := set(ctx, req); err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(start))
	}
	reportMedian(b, d)
}

// BenchmarkSet10kPoliciesOneRequest measures one Set that replaces the
// whole policy list with 10,000 policies.
func BenchmarkSet10kPoliciesOneRequest(b *testing.B) {
	ta := newBenchAgent(b, "")
	ctx := context.Background()
	var sb strings.Builder
	mk := func(color int) *gnmi.SetRequest {
		sb.Reset()
		sb.WriteString(`{"policy": [`)
		for i := range 10000 {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `{"name": "p%05d", "config": {"name": "p%05d", "color": %d, "endpoint": "198.51.100.%d", "labels": [16001, %d]}}`, i, i, color+i, i%250+1, 16002+i)
		}
		sb.WriteString(`]}`)
		return &gnmi.SetRequest{Replace: []*gnmi.Update{{Path: mustPath(b, "/pce-client/policies"), Val: jsonVal(sb.String())}}}
	}
	reqs := []*gnmi.SetRequest{mk(1), mk(2)}
	var d []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if _, err := ta.Set(ctx, reqs[i%2]); err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(start))
	}
	reportMedian(b, d)
}

// BenchmarkSetOneLeaf10kPoliciesRealEngine is BenchmarkSetOneLeaf10kPolicies
// with the PCEP engine (no server configured, so no session) instead of a
// fake: the engine's Apply of the whole configuration is included.
func BenchmarkSetOneLeaf10kPoliciesRealEngine(b *testing.B) {
	content := strings.Replace(policiesConfig(10000), `"servers": {"server": [{"address": "192.0.2.10", "config": {"address": "192.0.2.10"}}]}, `, "", 1)
	file := filepath.Join(b.TempDir(), "pccagent.json")
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	quiet := slog.New(slog.DiscardHandler)
	e := pcc.New(pcc.WithLogger(quiet))
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	defer func() { cancel(); <-done }()
	a, err := New(ctx, file, e, &countingCache{}, WithLogger(quiet))
	if err != nil {
		b.Fatal(err)
	}
	benchSetOneLeaf(b, ctx, a.Set)
}

// BenchmarkSetOneLeaf10kPoliciesTelemetryCache is BenchmarkSetOneLeaf10kPolicies
// publishing into the telemetry cache (which then holds every config and
// config-state leaf of the 10,000 policies) instead of a counting fake.
func BenchmarkSetOneLeaf10kPoliciesTelemetryCache(b *testing.B) {
	file := filepath.Join(b.TempDir(), "pccagent.json")
	if err := os.WriteFile(file, []byte(policiesConfig(10000)), 0o600); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	a, err := New(ctx, file, &nopEngine{}, telemetry.NewCache(), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	benchSetOneLeaf(b, ctx, a.Set)
}
