package agent

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// BenchmarkLoad100kPolicies measures New loading a config file with 100,000
// policies (one server): the bytes allocated by the load (alloc-MB), the heap
// the runtime had to obtain for it (heapsys-MB, which does not shrink and so
// shows the peak) and the heap still live afterwards (live-MB).
func BenchmarkLoad100kPolicies(b *testing.B) {
	file := filepath.Join(b.TempDir(), "pccagent.json")
	if err := os.WriteFile(file, []byte(policiesConfig(100000)), 0o600); err != nil {
		b.Fatal(err)
	}
	var before, after runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		a := newBenchAgentFile(b, file)
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/1e6, "alloc-MB")
		b.ReportMetric(float64(after.HeapSys)/1e6, "heapsys-MB")
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc)/1e6, "live-MB")
		runtime.KeepAlive(a)
	}
}

// newBenchAgentFile starts an agent on an existing config file with a fake
// engine and a counting cache.
func newBenchAgentFile(b *testing.B, file string) *Agent {
	b.Helper()
	a, err := New(context.Background(), file, &nopEngine{}, &countingCache{}, WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	return a
}
