package pcc

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pccagent/pccagent/pcep"
	"github.com/pccagent/pccagent/pcep/clock"
	"github.com/pccagent/pccagent/pcep/pce"
)

// testTimeout bounds every wait of a test; nothing is timed against it.
const testTimeout = 15 * time.Second

// quiet is the logger of the PCE role in tests and of benchmark engines;
// PCC_TEST_LOG=1 shows it (at debug level) on stderr.
var quiet = func() *slog.Logger {
	if os.Getenv("PCC_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}()

func testContext(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// testEngine is an engine running on a fake clock.
type testEngine struct {
	*Engine
	t   testing.TB
	clk *clock.Fake
}

// startEngine runs an engine until the test ends.
func startEngine(t testing.TB, opts ...Option) *testEngine {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("engine log:\n%s", logs.String())
		}
	})
	e := New(append([]Option{WithClock(clk), WithLogger(logger)}, opts...)...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return &testEngine{Engine: e, t: t, clk: clk}
}

// apply applies cfg and fails the test on an error.
func (te *testEngine) apply(cfg Config) {
	te.t.Helper()
	if err := te.Apply(testContext(te.t), cfg); err != nil {
		te.t.Fatalf("Apply: %v", err)
	}
}

// snapshot returns the engine's state.
func (te *testEngine) snapshot() Snapshot {
	te.t.Helper()
	s, err := te.Snapshot(testContext(te.t))
	if err != nil {
		te.t.Fatalf("Snapshot: %v", err)
	}
	return s
}

// waitState waits until pred holds for a snapshot. Every engine change
// appends an event, so it re-checks after each event (and at least every
// 20 ms for changes that come without one).
func (te *testEngine) waitState(what string, pred func(Snapshot) bool) Snapshot {
	te.t.Helper()
	ctx := testContext(te.t)
	for {
		next := te.Events().Next()
		s := te.snapshot()
		if pred(s) {
			return s
		}
		wctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		te.Events().Wait(wctx, next)
		cancel()
		if ctx.Err() != nil {
			te.t.Fatalf("waiting for %s: %v; state %+v", what, ctx.Err(), s)
		}
	}
}

// lspState returns the named LSP from s.
func lspState(s Snapshot, name string) (LSPState, bool) {
	for _, l := range s.LSPs {
		if l.Name == name {
			return l, true
		}
	}
	return LSPState{}, false
}

// serverState returns the server's state from s.
func serverState(s Snapshot, addr netip.Addr) (ServerState, bool) {
	for _, v := range s.Servers {
		if v.Config.Address == addr {
			return v, true
		}
	}
	return ServerState{}, false
}

// waitEvent waits for an event satisfying pred, looking at every event from
// the start, and returns it.
func (te *testEngine) waitEvent(pred func(Event) bool) Event {
	te.t.Helper()
	ctx := testContext(te.t)
	var from uint64
	for {
		evs, next, err := te.Events().Read(from, 0)
		if err != nil {
			te.t.Fatalf("events: %v", err)
		}
		for _, ev := range evs {
			if pred(ev) {
				return ev
			}
		}
		from = next
		if err := te.Events().Wait(ctx, from); err != nil {
			te.t.Fatalf("waiting for event: %v", err)
		}
	}
}

// events returns every event of kind so far.
func (te *testEngine) events(kind EventKind) []Event {
	evs, _, _ := te.Events().Read(0, 0)
	var out []Event
	for _, ev := range evs {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

// testPCE is a PCE role server listening on one loopback address.
type testPCE struct {
	*pce.Server
	t    testing.TB
	addr netip.AddrPort
	opts []pce.Option
	done chan error
}

// startPCE starts a PCE on ip (a loopback address) and a free port.
func startPCE(t testing.TB, ip string, opts ...pce.Option) *testPCE {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	p := &testPCE{t: t, addr: netip.MustParseAddrPort(ln.Addr().String()), opts: opts}
	p.serve(ln)
	t.Cleanup(p.stop)
	return p
}

func (p *testPCE) serve(ln net.Listener) {
	// Keepalive 0: the PCE asks for no dead timer, so that the engine's
	// sessions (on the fake clock) survive large clock advances.
	p.Server = pce.New(append([]pce.Option{pce.WithLogger(quiet), pce.WithSegmentRouting(10), pce.WithKeepalive(0, 0)}, p.opts...)...)
	p.done = make(chan error, 1)
	go func() { p.done <- p.Serve(ln) }()
}

// stop closes the PCE server (sessions and listener).
func (p *testPCE) stop() {
	if p.done == nil {
		return
	}
	p.Server.Close()
	if err := <-p.done; err != nil {
		p.t.Errorf("Serve: %v", err)
	}
	p.done = nil
}

// restart starts a fresh PCE server on the same address and port.
func (p *testPCE) restart() {
	p.t.Helper()
	p.stop()
	ln, err := net.Listen("tcp", p.addr.String())
	if err != nil {
		p.t.Fatal(err)
	}
	p.serve(ln)
}

// server returns the ServerConfig that points at p.
func (p *testPCE) server(pref uint8) ServerConfig {
	return ServerConfig{Address: p.addr.Addr(), Port: p.addr.Port(), Preference: pref}
}

// pcc waits for the engine's session and its state sync.
func (p *testPCE) pcc() *pce.PCC {
	p.t.Helper()
	ctx := testContext(p.t)
	c, err := p.WaitPCC(ctx, nil)
	if err != nil {
		p.t.Fatalf("PCE %s: no PCC: %v", p.addr, err)
	}
	if err := c.WaitSynced(ctx); err != nil {
		p.t.Fatalf("PCE %s: no state sync: %v", p.addr, err)
	}
	return c
}

// baseConfig is an SR-capable configuration with the given servers and
// policies.
func baseConfig(servers []ServerConfig, policies ...PolicyConfig) Config {
	c := DefaultConfig()
	c.SegmentRouting = true
	c.Servers = servers
	c.Policies = policies
	return c
}

// policy returns a delegated policy towards 192.0.2.<n> with labels.
func policy(name string, n byte, labels ...uint32) PolicyConfig {
	return PolicyConfig{
		Name:       name,
		Color:      100 + uint32(n),
		Endpoint:   netip.AddrFrom4([4]byte{192, 0, 2, n}),
		Preference: 100,
		Delegate:   true,
		Labels:     labels,
	}
}

// waitLSP waits until the PCE's view of the PCC has an LSP satisfying pred.
func waitLSP(t testing.TB, c *pce.PCC, what string, pred func(pce.LSP) bool) pce.LSP {
	t.Helper()
	l, err := c.WaitLSP(testContext(t), pred)
	if err != nil {
		t.Fatalf("PCE: waiting for %s: %v (LSPs %+v)", what, err, c.LSPs())
	}
	return l
}

// named returns a predicate on the LSP name plus a condition.
func named(name string, cond func(pce.LSP) bool) func(pce.LSP) bool {
	return func(l pce.LSP) bool { return l.Name == name && (cond == nil || cond(l)) }
}

func delegated(l pce.LSP) bool    { return l.Delegated }
func notDelegated(l pce.LSP) bool { return !l.Delegated }

// labelsAre returns a predicate on the labels.
func labelsAre(want ...uint32) func(pce.LSP) bool {
	return func(l pce.LSP) bool { return slices.Equal(l.Labels, want) }
}

// waitReport waits for a report from the PCC (In) that satisfies pred.
func waitReport(t testing.TB, c *pce.PCC, what string, pred func(*pcep.Report) bool) *pcep.Report {
	t.Helper()
	var found *pcep.Report
	_, err := c.WaitRecorded(testContext(t), func(r pce.Recorded) bool {
		m, ok := r.Msg.(*pcep.PCRpt)
		if !r.In || !ok {
			return false
		}
		for i := range m.Reports {
			if pred(&m.Reports[i]) {
				found = &m.Reports[i]
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("PCE: waiting for report %s: %v", what, err)
	}
	return found
}

// srpReport matches a report echoing srpID.
func srpReport(srpID uint32) func(*pcep.Report) bool {
	return func(r *pcep.Report) bool { return r.HasSRP && r.SRP.SRPID == srpID }
}

// waitPCErr waits for a PCErr from the PCC that carries srpID and returns
// its first error.
func waitPCErr(t testing.TB, c *pce.PCC, srpID uint32) pcep.PCEPError {
	t.Helper()
	var found pcep.PCEPError
	_, err := c.WaitRecorded(testContext(t), func(r pce.Recorded) bool {
		m, ok := r.Msg.(*pcep.PCErr)
		if !r.In || !ok {
			return false
		}
		for _, b := range m.Errors {
			for _, s := range b.SRPs {
				if s.SRPID == srpID && len(b.Errors) > 0 {
					found = b.Errors[0]
					return true
				}
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("PCE: waiting for PCErr with SRP-ID %d: %v", srpID, err)
	}
	return found
}

// noMessageAbout checks, after a later marker message was answered, that
// nothing from the PCC carried srpID (reports or PCErr).
func noMessageAbout(t testing.TB, c *pce.PCC, srpID uint32) {
	t.Helper()
	for _, r := range c.Recorded() {
		if !r.In {
			continue
		}
		switch m := r.Msg.(type) {
		case *pcep.PCRpt:
			for _, rep := range m.Reports {
				if rep.HasSRP && rep.SRP.SRPID == srpID {
					t.Errorf("PCC answered SRP-ID %d with a report: %+v", srpID, rep.LSP)
				}
			}
		case *pcep.PCErr:
			for _, b := range m.Errors {
				for _, s := range b.SRPs {
					if s.SRPID == srpID {
						t.Errorf("PCC answered SRP-ID %d with PCErr %+v", srpID, b.Errors)
					}
				}
			}
		}
	}
}

// barrier sends an update the PCC answers (an update of an unknown PLSP-ID
// gives PCErr 19/3) and waits for the answer: everything the PCC sent
// before it has been recorded.
func barrier(t testing.TB, c *pce.PCC) {
	t.Helper()
	id, err := c.Update(0xFFFFE, []uint32{16})
	if err != nil {
		t.Fatal(err)
	}
	waitPCErr(t, c, id)
}

// errIs compares a PCEP-ERROR type/value.
func errIs(e pcep.PCEPError, typ, val uint8) bool { return e.Type == typ && e.Value == val }

// lockedBuffer collects log output from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
