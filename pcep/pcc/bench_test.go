package pcc

import (
	"context"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pccagent/pccagent/pcep"
	"github.com/pccagent/pccagent/pcep/pce"
	"github.com/pccagent/pccagent/pcep/session"
)

// manyPolicies returns n delegated policies with two labels each.
func manyPolicies(n int) []PolicyConfig {
	out := make([]PolicyConfig, n)
	for i := range out {
		out[i] = PolicyConfig{
			Name:       "policy-" + itoa(i),
			Color:      uint32(i),
			Endpoint:   netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}),
			Preference: 100,
			Delegate:   true,
			Labels:     []uint32{16000 + uint32(i%1000), 17000 + uint32(i%1000)},
		}
	}
	return out
}

// benchEngine runs an engine on the real clock until the benchmark ends.
func benchEngine(b *testing.B) *Engine {
	b.Helper()
	e, stop := runEngine()
	b.Cleanup(stop)
	return e
}

// runEngine runs an engine on the real clock until stop is called.
func runEngine() (*Engine, func()) {
	e := New(WithLogger(quiet))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	return e, func() {
		cancel()
		<-done
	}
}

// drainChanges consumes the engine's change queue as telemetry would.
func drainChanges(b *testing.B, e *Engine) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		var buf []Change
		for {
			var err error
			if buf, err = e.Changes().Next(ctx, buf); err != nil {
				return
			}
			clear(buf)
		}
	}()
	b.Cleanup(func() {
		cancel()
		<-done
	})
}

// rawPCE is a minimal stateful PCE on a bare session: it counts reports and
// hands every report that echoes an SRP-ID to onEcho, so that benchmarks
// measure the engine rather than a PCE's database.
type rawPCE struct {
	addr    netip.AddrPort
	sess    chan *session.Session
	markers atomic.Int64 // end-of-sync markers seen
	reports atomic.Int64
	onEcho  atomic.Pointer[func(srpID uint32)]
	plsp    sync.Map // name -> PLSP-ID, filled from reports while wantIDs is set
	wantIDs atomic.Bool
}

func startRawPCE(b *testing.B) *rawPCE {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	p := &rawPCE{addr: netip.MustParseAddrPort(ln.Addr().String()), sess: make(chan *session.Session, 4)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := session.Establish(ctx, conn, session.Config{
					Role: session.RolePCE,
					Local: pcep.OpenObject{
						Keepalive: 30, DeadTimer: 120, SessionID: 1,
						Stateful:   &pcep.StatefulCapability{Flags: pcep.StatefulUpdate | pcep.StatefulInstantiation},
						PST:        &pcep.PSTCapability{PSTs: []uint8{pcep.PSTSRMPLS}, SR: &pcep.SRPCECapability{MSD: 10}},
						AssocTypes: []uint16{pcep.AssocSRPolicy},
					},
					Handler: p.handle,
					Logger:  quiet,
				})
				if err != nil {
					return
				}
				p.sess <- s
				<-s.Done()
			}()
		}
	}()
	b.Cleanup(func() {
		cancel()
		ln.Close()
		for {
			select {
			case s := <-p.sess:
				s.Close(pcep.CloseNoReason)
				continue
			default:
			}
			break
		}
		wg.Wait()
	})
	return p
}

func (p *rawPCE) handle(_ *session.Session, m pcep.Message) {
	rpt, ok := m.(*pcep.PCRpt)
	if !ok {
		return
	}
	p.reports.Add(int64(len(rpt.Reports)))
	f := p.onEcho.Load()
	for i := range rpt.Reports {
		r := &rpt.Reports[i]
		if r.LSP.PLSPID == 0 {
			p.markers.Add(1)
			continue
		}
		if p.wantIDs.Load() {
			p.plsp.Store(r.LSP.SymbolicName, r.LSP.PLSPID)
		}
		if f != nil && r.HasSRP && r.SRP.SRPID != 0 {
			(*f)(r.SRP.SRPID)
		}
	}
}

// waitMarkers waits until n end-of-sync markers have arrived.
func (p *rawPCE) waitMarkers(b *testing.B, n int64) {
	b.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for p.markers.Load() < n {
		if time.Now().After(deadline) {
			b.Fatalf("state sync did not finish: %d markers, %d reports", p.markers.Load(), p.reports.Load())
		}
		time.Sleep(time.Millisecond)
	}
}

// updateMsg returns a PCUpd of plsp with one label.
func updateMsg(srpID, plsp, label uint32) *pcep.PCUpd {
	return &pcep.PCUpd{Updates: []pcep.Update{{
		SRP: pcep.SRP{SRPID: srpID, HasPST: true, PST: pcep.PSTSRMPLS},
		LSP: pcep.LSP{PLSPID: plsp, Flags: pcep.LSPDelegate},
		ERO: pcep.ERO{Subobjects: []pcep.Subobject{pcep.SRLabel(label)}},
	}}}
}

// BenchmarkStateSync100k measures the full state synchronisation of 100,000
// LSPs to the PCE role (pcep/pce) over loopback: each iteration clears the
// session and waits until the PCE has the end-of-sync marker of the new one.
func BenchmarkStateSync100k(b *testing.B) {
	const n = 100000
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := pce.New(pce.WithLogger(quiet), pce.WithRecording(false))
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	addr := netip.MustParseAddrPort(ln.Addr().String())
	e := benchEngine(b)
	drainChanges(b, e)
	cfg := baseConfig([]ServerConfig{{Address: addr.Addr(), Port: addr.Port()}}, manyPolicies(n)...)
	ctx := context.Background()
	if err := e.Apply(ctx, cfg); err != nil {
		b.Fatal(err)
	}
	prev, err := srv.WaitPCC(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := prev.WaitSynced(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if err := e.ClearSession(ctx, addr.Addr()); err != nil {
			b.Fatal(err)
		}
		old := prev
		c, err := srv.WaitPCC(ctx, func(p *pce.PCC) bool { return p != old })
		if err != nil {
			b.Fatal(err)
		}
		if err := c.WaitSynced(ctx); err != nil {
			b.Fatal(err)
		}
		if got := c.LSPCount(); got != n {
			b.Fatalf("PCE has %d LSPs, want %d", got, n)
		}
		prev = c
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(n)*float64(b.N)/elapsed.Seconds(), "reports/s")
	b.ReportMetric(elapsed.Seconds()/float64(b.N), "s/sync")
}

// BenchmarkStateSyncEngine100k measures the engine's side of a state
// synchronisation of 100,000 LSPs (Resync on an established session) to a
// PCE that only decodes and counts the reports.
func BenchmarkStateSyncEngine100k(b *testing.B) {
	const n = 100000
	p := startRawPCE(b)
	e := benchEngine(b)
	drainChanges(b, e)
	ctx := context.Background()
	if err := e.Apply(ctx, baseConfig([]ServerConfig{{Address: p.addr.Addr(), Port: p.addr.Port()}}, manyPolicies(n)...)); err != nil {
		b.Fatal(err)
	}
	p.waitMarkers(b, 1)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := e.Resync(ctx, p.addr.Addr()); err != nil {
			b.Fatal(err)
		}
		p.waitMarkers(b, int64(i+2))
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(n)*float64(b.N)/elapsed.Seconds(), "reports/s")
	b.ReportMetric(elapsed.Seconds()/float64(b.N), "s/sync")
}

// updateSetup starts an engine with n delegated policies and a raw PCE, and
// returns the PCE's session and the PLSP-IDs.
func updateSetup(b *testing.B, n int) (*rawPCE, *session.Session, []uint32) {
	b.Helper()
	p := startRawPCE(b)
	p.wantIDs.Store(true)
	e := benchEngine(b)
	drainChanges(b, e)
	if err := e.Apply(context.Background(), baseConfig([]ServerConfig{{Address: p.addr.Addr(), Port: p.addr.Port()}}, manyPolicies(n)...)); err != nil {
		b.Fatal(err)
	}
	sess := <-p.sess
	p.waitMarkers(b, 1)
	// Delegation follows the sync in the same engine step; wait for the
	// engine to say so.
	deadline := time.Now().Add(time.Minute)
	for {
		s, err := e.Snapshot(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if s.Selected.IsValid() && s.LSPs[len(s.LSPs)-1].Delegated {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("no delegation")
		}
		time.Sleep(time.Millisecond)
	}
	p.wantIDs.Store(false)
	var ids []uint32
	p.plsp.Range(func(_, v any) bool { ids = append(ids, v.(uint32)); return true })
	slices.Sort(ids)
	return p, sess, ids
}

// BenchmarkUpdateRoundTrip measures PCUpd -> PCRpt round trips with up to
// 512 updates in flight over one session.
func BenchmarkUpdateRoundTrip(b *testing.B) {
	const window = 512
	p, sess, ids := updateSetup(b, 1000)
	sem := make(chan struct{}, window)
	var got atomic.Int64
	done := make(chan struct{})
	total := int64(b.N)
	echo := func(uint32) {
		<-sem
		if got.Add(1) == total {
			close(done)
		}
	}
	p.onEcho.Store(&echo)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		sem <- struct{}{}
		if err := sess.Send(updateMsg(uint32(i+1), ids[i%len(ids)], 16000+uint32(i%100000))); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		b.Fatalf("%d of %d echoes", got.Load(), b.N)
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "updates/s")
}

// BenchmarkUpdateLatency measures the PCUpd -> PCRpt latency of one update
// at a time (no pipelining) and reports the median.
func BenchmarkUpdateLatency(b *testing.B) {
	p, sess, ids := updateSetup(b, 1000)
	echoed := make(chan uint32, 1)
	echo := func(id uint32) { echoed <- id }
	p.onEcho.Store(&echo)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := sess.Send(updateMsg(uint32(i+1), ids[i%len(ids)], 16000+uint32(i%1000))); err != nil {
			b.Fatal(err)
		}
		select {
		case id := <-echoed:
			if id != uint32(i+1) {
				b.Fatalf("echo of SRP-ID %d, want %d", id, i+1)
			}
		case <-time.After(time.Minute):
			b.Fatal("no echo")
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "median-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// BenchmarkHeapPerLSP measures the engine's heap per LSP with 100,000
// delegated policies synchronised to one server (the PCE here keeps nothing,
// and the change queue is drained as telemetry would).
func BenchmarkHeapPerLSP(b *testing.B) {
	const n = 100000
	p := startRawPCE(b)
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		pols := manyPolicies(n) // freed below: the engine keeps its own copy
		e, stop := runEngine()
		ctx, cancel := context.WithCancel(context.Background())
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			var buf []Change
			for {
				var err error
				if buf, err = e.Changes().Next(ctx, buf); err != nil {
					return
				}
				clear(buf)
			}
		}()
		markers := p.markers.Load()
		if err := e.Apply(context.Background(), baseConfig([]ServerConfig{{Address: p.addr.Addr(), Port: p.addr.Port()}}, pols...)); err != nil {
			b.Fatal(err)
		}
		p.waitMarkers(b, markers+1)
		pols = nil
		for e.Changes().Len() > 0 {
			time.Sleep(time.Millisecond)
		}
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/n, "bytes/LSP")
		runtime.KeepAlive(e)
		cancel()
		<-drained
		stop()
		<-p.sess // the session of this engine (closed by stop)
	}
}
