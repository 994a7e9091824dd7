package agent_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/pccagent/pccagent/agent"
	"github.com/pccagent/pccagent/agent/telemetry"
	"github.com/pccagent/pccagent/pcep/pcc"
	"github.com/pccagent/pccagent/pcep/pce"
)

// The benchmarks of this file run the whole agent pipeline as
// cmd/pccagent wires it: the PCEP engine delegating its policies to the PCE
// role (pcep/pce) over loopback TCP, the telemetry cache fed by its Run pump
// from the engine's change queue, the agent's gRPC server with the cache's
// Subscribe, and real gNMI clients subscribed over loopback.

const (
	// pipeLSPs is the number of delegated policies of the pipeline
	// benchmarks.
	pipeLSPs = 1000
	// pipeWindow is the number of PCUpd in flight (sent, not yet echoed in
	// a PCRpt), as in pcep/pcc's BenchmarkUpdateRoundTrip; pipeChunk is how
	// many are sent between two checks of the window.
	pipeWindow = 512
	pipeChunk  = 64
	// pipeWait bounds every wait of the benchmarks.
	pipeWait = 2 * time.Minute
	// pipeLabelsPath is what the subscribers subscribe to.
	pipeLabelsPath = "/pce-client/lsps/lsp[name=*]/state/labels"
)

var pipeQuiet = slog.New(slog.DiscardHandler)

// pipeName is the name of policy j.
func pipeName(j int) string { return fmt.Sprintf("pipe%04d", j) }

// pipeIndex returns j for the name of policy j, -1 for any other name.
func pipeIndex(name string) int {
	s, ok := strings.CutPrefix(name, "pipe")
	if !ok {
		return -1
	}
	j, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return j
}

// pipeLabels returns the label stack of the i-th update: distinct for
// every i below 2^20 * 10^6, and never equal to a configured stack (whose
// top label is 16001).
func pipeLabels(i int) []uint32 {
	return []uint32{16 + uint32(i/1000000), 16 + uint32(i%1000000)}
}

// pipeKey packs a two-label stack into one comparable value.
func pipeKey(top, bottom uint64) uint64 { return top<<32 | bottom }

// pipeConfig returns the agent's config file (RFC 7951 JSON) with one server
// and n delegated policies with explicit labels.
func pipeConfig(server net.Addr, n int, name func(int) string) string {
	host, port, _ := net.SplitHostPort(server.String())
	var b strings.Builder
	fmt.Fprintf(&b, `{"pcc-agent:pce-client": {"config": {"capability-segment-routing": true},`+
		` "servers": {"server": [{"address": %q, "config": {"address": %q, "port": %s}}]}, "policies": {"policy": [`, host, host, port)
	for j := range n {
		if j > 0 {
			b.WriteByte(',')
		}
		nm := name(j)
		fmt.Fprintf(&b, "\n"+`{"name": %q, "config": {"name": %q, "color": %d, "endpoint": "10.%d.%d.%d", "labels": [16001, %d]}}`,
			nm, nm, j+1, j>>16&255, j>>8&255, j&255, 16002+j%1000)
	}
	b.WriteString("\n]}}}\n")
	return b.String()
}

// pipeHarness is the running pipeline: engine, telemetry, gNMI server and
// the PCE that holds every delegation.
type pipeHarness struct {
	pcc   *pce.PCC         // the PCE's view of the engine's session
	ids   []uint32         // PLSP-ID of policy j
	gnmi  string           // gNMI server address
	cache *telemetry.Cache // the agent's cache
	srps  []uint32         // SRP-ID of each update sent
}

// pipeStart starts the pipeline with n policies and waits until the PCE
// holds every delegation and the cache says so.
func pipeStart(b *testing.B, n int) *pipeHarness {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stops []func()
	b.Cleanup(func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
		cancel()
	})

	pceLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := pce.New(pce.WithLogger(pipeQuiet), pce.WithRecording(false))
	go srv.Serve(pceLn)
	stops = append(stops, func() { srv.Close() })

	engine := pcc.New(pcc.WithLogger(pipeQuiet))
	engineDone := make(chan error, 1)
	go func() { engineDone <- engine.Run(ctx) }()
	cache := telemetry.NewCache(telemetry.WithLogger(pipeQuiet), telemetry.WithPathValidator(agent.ValidatePath))
	cacheDone := make(chan error, 1)
	go func() { cacheDone <- cache.Run(ctx, engine.Changes()) }()
	// Stopped after the gRPC server and the PCE (cleanups run in reverse).
	stops = append([]func(){func() { cancel(); <-engineDone; <-cacheDone }}, stops...)

	file := filepath.Join(b.TempDir(), "pccagent.json")
	if err := os.WriteFile(file, []byte(pipeConfig(pceLn.Addr(), n, pipeName)), 0o600); err != nil {
		b.Fatal(err)
	}
	a, err := agent.New(ctx, file, engine, cache, agent.WithLogger(pipeQuiet), agent.WithSubscribe(cache.Subscribe))
	if err != nil {
		b.Fatal(err)
	}
	gLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	gs := agent.NewGRPCServer(a, nil, nil)
	go gs.Serve(gLn)
	stops = append(stops, gs.Stop)

	wctx, wcancel := context.WithTimeout(ctx, pipeWait)
	defer wcancel()
	p, err := srv.WaitPCC(wctx, nil)
	if err != nil {
		b.Fatalf("no PCEP session: %v", err)
	}
	if err := p.WaitSynced(wctx); err != nil {
		b.Fatalf("no state synchronisation: %v", err)
	}
	h := &pipeHarness{pcc: p, ids: make([]uint32, n), gnmi: gLn.Addr().String(), cache: cache}
	for {
		lsps := p.LSPs()
		delegated := 0
		for _, l := range lsps {
			if j := pipeIndex(l.Name); j >= 0 && j < n && l.Delegated {
				h.ids[j] = l.PLSPID
				delegated++
			}
		}
		if delegated == n && pipeCacheCount(b, cache, "delegated-lsp-count") == n {
			break
		}
		if wctx.Err() != nil {
			b.Fatalf("%d of %d LSPs delegated", delegated, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return h
}

// pipeCacheCount reads /pce-client/state/<leaf> from the cache (-1 when
// absent).
func pipeCacheCount(b *testing.B, c *telemetry.Cache, leaf string) int {
	got := -1
	path := &gnmi.Path{Elem: []*gnmi.PathElem{{Name: "pce-client"}, {Name: "state"}, {Name: leaf}}}
	if err := c.Query(path, func(n *gnmi.Notification) error {
		for _, u := range n.GetUpdate() {
			got = int(u.GetVal().GetUintVal())
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	return got
}

// push sends n PCUpd, update i to policy i mod len(ids) with pipeLabels(i),
// at most pipeWindow in flight, and returns when the last one is echoed.
func (h *pipeHarness) push(b *testing.B, n int) {
	b.Helper()
	h.srps = make([]uint32, n)
	for i := range n {
		if i%pipeChunk == 0 {
			if k := i + pipeChunk - 1 - pipeWindow; k >= 0 {
				h.waitEcho(b, k)
			}
		}
		srp, err := h.pcc.Update(h.ids[i%len(h.ids)], pipeLabels(i))
		if err != nil {
			b.Fatal(err)
		}
		h.srps[i] = srp
	}
	h.waitEcho(b, n-1)
}

// waitEcho waits until the PCC has echoed the SRP-ID of update k in a
// report. The engine handles a session's messages in order, so every
// earlier update has been echoed too.
func (h *pipeHarness) waitEcho(b *testing.B, k int) {
	ctx, cancel := context.WithTimeout(context.Background(), pipeWait)
	defer cancel()
	id, srp := h.ids[k%len(h.ids)], h.srps[k]
	if _, err := h.pcc.WaitLSP(ctx, func(l pce.LSP) bool { return l.PLSPID == id && l.LastSRPID >= srp }); err != nil {
		b.Fatalf("update %d (SRP-ID %d) not echoed: %v", k, srp, err)
	}
}

// checkEchoes fails unless every LSP reports the SRP-ID and labels of the
// last update sent to it (n updates in all).
func (h *pipeHarness) checkEchoes(b *testing.B, n int) {
	b.Helper()
	byID := make(map[uint32]pce.LSP, len(h.ids))
	for _, l := range h.pcc.LSPs() {
		byID[l.PLSPID] = l
	}
	for j, id := range h.ids {
		if j >= n {
			break
		}
		last := j + (n-1-j)/len(h.ids)*len(h.ids)
		l := byID[id]
		want := pipeLabels(last)
		if l.LastSRPID != h.srps[last] || len(l.Labels) != 2 || l.Labels[0] != want[0] || l.Labels[1] != want[1] {
			b.Fatalf("LSP %d: SRP-ID %d labels %v, want %d %v", id, l.LastSRPID, l.Labels, h.srps[last], want)
		}
	}
}

// pipeSubscriber is one gNMI client subscribed STREAM ON_CHANGE to the
// labels of every LSP. After the sync_response it counts the label
// notifications of pushed updates and notes when the last pushed value of
// every LSP has arrived.
type pipeSubscriber struct {
	delivered atomic.Int64 // label notifications with a pushed label stack
	other     atomic.Int64 // label notifications with any other stack
	want      []uint64     // the last stack pushed to policy j (0: none)
	remaining atomic.Int64 // policies whose last stack has not arrived
	synced    chan struct{}
	done      chan struct{} // closed when remaining reaches 0
	doneAt    time.Time
	err       error // why the stream ended early; read after recvDone
	recvDone  chan struct{}
	stop      func() // ends the subscription (subscriber process only)
	// stuck makes the subscriber read nothing after the sync_response, as
	// a collector that hangs: the agent's flow control then holds back
	// what it would send.
	stuck bool
}

// pipeSubscribe connects a new gNMI client to addr, subscribes and waits
// for the sync_response. want is the last label stack (pipeKey) each policy
// will be given.
func pipeSubscribe(b *testing.B, addr string, want []uint64) *pipeSubscriber {
	b.Helper()
	s, stop, err := pipeDial(addr, want, false)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(stop)
	if err := s.waitSynced(); err != nil {
		b.Fatal(err)
	}
	return s
}

// pipeDial connects a new gNMI client to addr and subscribes it (stuck:
// see pipeSubscriber); stop ends the subscription and waits for its
// receiver. It needs no testing.B, so that the subscriber process of
// BenchmarkPCEPRoundTripWithSubscribers can use it too.
func pipeDial(addr string, want []uint64, stuck bool) (s *pipeSubscriber, stop func(), err error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s = &pipeSubscriber{want: want, synced: make(chan struct{}), done: make(chan struct{}), recvDone: make(chan struct{}), stuck: stuck}
	for _, w := range want {
		if w != 0 {
			s.remaining.Add(1)
		}
	}
	if s.remaining.Load() == 0 {
		s.doneAt = time.Now()
		close(s.done)
	}
	elems := []*gnmi.PathElem{{Name: "pce-client"}, {Name: "lsps"}, {Name: "lsp", Key: map[string]string{"name": "*"}}, {Name: "state"}, {Name: "labels"}}
	stream, err := gnmi.NewGNMIClient(conn).Subscribe(ctx)
	if err == nil {
		err = stream.Send(&gnmi.SubscribeRequest{Request: &gnmi.SubscribeRequest_Subscribe{Subscribe: &gnmi.SubscriptionList{
			Mode:         gnmi.SubscriptionList_STREAM,
			Encoding:     gnmi.Encoding_PROTO,
			Subscription: []*gnmi.Subscription{{Path: &gnmi.Path{Elem: elems}, Mode: gnmi.SubscriptionMode_ON_CHANGE}},
		}}})
	}
	if err != nil {
		cancel()
		conn.Close()
		return nil, nil, err
	}
	go s.recv(stream)
	return s, func() {
		cancel()
		conn.Close()
		<-s.recvDone
	}, nil
}

// waitSynced waits for the subscription's sync_response.
func (s *pipeSubscriber) waitSynced() error {
	select {
	case <-s.synced:
		return nil
	case <-s.recvDone:
		return fmt.Errorf("subscription %s ended before sync_response: %v", pipeLabelsPath, s.err)
	case <-time.After(pipeWait):
		return fmt.Errorf("subscription %s: no sync_response within %v", pipeLabelsPath, pipeWait)
	}
}

func (s *pipeSubscriber) recv(stream gnmi.GNMI_SubscribeClient) {
	defer close(s.recvDone)
	synced := false
	for {
		resp, err := stream.Recv()
		if err != nil {
			s.err = err
			return
		}
		if resp.GetSyncResponse() {
			synced = true
			close(s.synced)
			if s.stuck {
				<-stream.Context().Done()
				s.err = stream.Context().Err()
				return
			}
			continue
		}
		if !synced {
			continue
		}
		for _, u := range resp.GetUpdate().GetUpdate() {
			s.note(u)
		}
	}
}

// note counts one update of a labels leaf.
func (s *pipeSubscriber) note(u *gnmi.Update) {
	elems := u.GetPath().GetElem()
	if len(elems) != 5 || elems[4].GetName() != "labels" {
		return
	}
	el := u.GetVal().GetLeaflistVal().GetElement()
	if len(el) != 2 || el[0].GetUintVal() >= 16001 {
		s.other.Add(1)
		return
	}
	s.delivered.Add(1)
	j := pipeIndex(elems[2].GetKey()["name"])
	if j < 0 || j >= len(s.want) || s.want[j] == 0 {
		return
	}
	if k := pipeKey(el[0].GetUintVal(), el[1].GetUintVal()); k == s.want[j] {
		s.want[j] = 0 // arrived: a later duplicate is not counted twice
		if s.remaining.Add(-1) == 0 {
			s.doneAt = time.Now()
			close(s.done)
		}
	}
}

// pipeWant returns the last stack (pipeKey) n updates give each of lsps
// policies.
func pipeWant(lsps, n int) []uint64 {
	want := make([]uint64, lsps)
	for i := max(0, n-lsps); i < n; i++ {
		l := pipeLabels(i)
		want[i%lsps] = pipeKey(uint64(l[0]), uint64(l[1]))
	}
	return want
}

// BenchmarkPCUpdToOnChangeSubscriber measures LSP updates delivered to gNMI
// ON_CHANGE subscribers of every LSP's labels: the PCE pushes b.N PCUpd
// (pipelined, 512 in flight) round-robin to 1,000 delegated LSPs, each with
// a new label stack; the engine applies them and reports them, telemetry
// turns each change into a cache update, and each subscriber receives them
// over gRPC. A subscriber's time ends when the last stack of every LSP has
// arrived. updates/s is the mean rate of label notifications received per
// subscriber (min-updates/s the slowest one); a subscriber that falls
// behind may miss intermediate stacks (coalescing), which delivered-% (of
// the updates pushed) shows. pushed/s is the PCUpd -> PCRpt rate at the
// PCE; converged/s is the updates pushed per second until every subscriber
// had the last stack of every LSP (the rate at which subscribers' views
// follow the network, intermediate values coalesced or not).
func BenchmarkPCUpdToOnChangeSubscriber(b *testing.B) {
	for _, subs := range []int{1, 10} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			h := pipeStart(b, pipeLSPs)
			ss := make([]*pipeSubscriber, subs)
			for i := range ss {
				ss[i] = pipeSubscribe(b, h.gnmi, pipeWant(pipeLSPs, b.N))
			}
			b.ResetTimer()
			start := time.Now()
			h.push(b, b.N)
			echoed := time.Since(start)
			timeout := time.After(pipeWait)
			for _, s := range ss {
				select {
				case <-s.done:
				case <-s.recvDone:
					b.Fatalf("subscription ended: %v", s.err)
				case <-timeout:
					b.Fatalf("subscriber: %d LSPs without their last labels after %v (%d notifications)", s.remaining.Load(), pipeWait, s.delivered.Load())
				}
			}
			b.StopTimer()
			h.checkEchoes(b, b.N)
			var sum, minRate float64
			var last time.Duration
			var delivered, other int64
			for i, s := range ss {
				d := s.delivered.Load()
				rate := float64(d) / s.doneAt.Sub(start).Seconds()
				last = max(last, s.doneAt.Sub(start))
				sum += rate
				if i == 0 || rate < minRate {
					minRate = rate
				}
				delivered += d
				other += s.other.Load()
			}
			if other != 0 {
				b.Fatalf("%d notifications with a label stack that was not pushed", other)
			}
			b.ReportMetric(sum/float64(subs), "updates/s")
			b.ReportMetric(minRate, "min-updates/s")
			b.ReportMetric(float64(b.N)/echoed.Seconds(), "pushed/s")
			b.ReportMetric(100*float64(delivered)/float64(subs)/float64(b.N), "delivered-%")
			b.ReportMetric(float64(b.N)/last.Seconds(), "converged/s")
		})
	}
}

// BenchmarkPCEPRoundTripWithSubscribers measures the PCUpd -> PCRpt round
// trip rate at the PCE (512 in flight, round-robin over 1,000 delegated
// LSPs) while the telemetry pipeline runs with 0, 1 or 10 gNMI ON_CHANGE
// subscribers of every LSP's labels: telemetry must not slow the protocol.
//
// The figure is the agent's own cost. In production collectors run on
// other machines, so the subscribers' gNMI clients do not run in the
// benchmark process: the test binary starts itself again as a subscriber
// process (TestMain, environment variable PCCAGENT_BENCH_SUBSCRIBERS),
// under `nice -n 19` when nice is installed and, in any case, with every
// thread put in the SCHED_IDLE policy by the process itself (see
// pipeLowestPriority), so that on a machine with few cores the clients
// take only CPU the agent leaves idle. The clients
// read as fast as that CPU allows, and the agent's gRPC flow control holds
// back what they have not read yet, as with a slow collector; the agent's
// work for them (building and sending what they read) is part of the
// figure. The timer starts once every subscriber has had its
// sync_response. cpu-ns/update is the CPU time the benchmark process used
// per update (user and system, all threads: agent, PCE role and harness,
// not the subscriber process), less sensitive than the rate to what else
// the machine runs. delivered-% is what the subscribers had received
// (mean, of the updates pushed) when the last update was echoed, as the
// subscriber process reports it on its stdout.
//
// The stuck-subscribers=10 case has 10 subscribers that read nothing after
// their sync_response (hung collectors): the agent sends them nothing more
// once flow control holds it back, so the case measures what handing the
// changes to subscribers costs, without building and sending notifications.
// The idle-load case has no subscriber, but a process that spins on every
// core in the SCHED_IDLE policy, as the subscriber process would if it
// had unbounded work: it measures what merely sharing the machine with the
// clients costs the agent, a cost collectors on other machines do not have.
func BenchmarkPCEPRoundTripWithSubscribers(b *testing.B) {
	cases := []struct {
		name string
		subs int
		mode string // the subscriber process's mode (pipeChildEnv)
	}{
		{"subscribers=0", 0, ""},
		{"subscribers=1", 1, ""},
		{"subscribers=10", 10, ""},
		{"stuck-subscribers=10", 10, "stuck"},
		{"idle-load", 0, "spin"},
	}
	for _, tc := range cases {
		subs := tc.subs
		b.Run(tc.name, func(b *testing.B) {
			h := pipeStart(b, pipeLSPs)
			var child *pipeChild
			if subs > 0 || tc.mode != "" {
				child = pipeStartChild(b, h.gnmi, subs, tc.mode)
			}
			b.ResetTimer()
			cpu0 := pipeCPU(b)
			start := time.Now()
			h.push(b, b.N)
			elapsed := time.Since(start)
			cpu := pipeCPU(b) - cpu0
			b.StopTimer()
			var delivered, other int64
			if child != nil {
				delivered, other = child.report(b)
			}
			h.checkEchoes(b, b.N)
			if other != 0 {
				b.Fatalf("%d notifications with a label stack that was not pushed", other)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "updates/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/update")
			if subs > 0 && tc.mode == "" {
				b.ReportMetric(100*float64(delivered)/float64(subs)/float64(b.N), "delivered-%")
			}
		})
	}
}

// pipeCPU returns the CPU time (user and system) the benchmark process has
// used so far: the agent, the PCE role and the harness, not the subscriber
// process.
func pipeCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pipeChildEnv names the environment variable that makes the test binary
// the subscriber process of BenchmarkPCEPRoundTripWithSubscribers. Its
// value is "COUNT@ADDR": COUNT subscribers of pipeLabelsPath on the gNMI
// server at ADDR, or "COUNT@ADDR stuck" for subscribers that read nothing
// after their sync_response, or "COUNT@ADDR spin" for a process that also
// keeps every core busy with its lowest-priority threads.
const pipeChildEnv = "PCCAGENT_BENCH_SUBSCRIBERS"

// TestMain runs the subscriber process when pipeChildEnv is set, and the
// tests and benchmarks otherwise.
func TestMain(m *testing.M) {
	if v := os.Getenv(pipeChildEnv); v != "" {
		if err := pipeChildMain(v, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "subscriber process:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// pipeChildMain is the subscriber process: it lowers its CPU priority,
// subscribes, prints "synced" once every subscriber has had its
// sync_response, then answers every "report" line read from in with
// "delivered D other O" (totals over its subscribers, see pipeSubscriber),
// and returns when in is closed.
func pipeChildMain(spec string, in io.Reader, out io.Writer) error {
	if err := pipeLowestPriority(); err != nil {
		return fmt.Errorf("lowering the priority: %w", err)
	}
	spec, mode, _ := strings.Cut(spec, " ")
	if mode != "" && mode != "stuck" && mode != "spin" {
		return fmt.Errorf("%s: unknown mode %q", pipeChildEnv, mode)
	}
	count, addr, ok := strings.Cut(spec, "@")
	n, err := strconv.Atoi(count)
	if !ok || err != nil || n < 0 {
		return fmt.Errorf("%s=%q: want COUNT@ADDR", pipeChildEnv, spec)
	}
	if mode == "spin" {
		// Until the parent closes in (at most pipeWait after the
		// benchmark ends), one spinning goroutine per core.
		var stop atomic.Bool
		defer stop.Store(true)
		for range runtime.GOMAXPROCS(0) {
			go func() {
				for !stop.Load() {
				}
			}()
		}
	}
	ss := make([]*pipeSubscriber, 0, n)
	defer func() {
		for _, s := range ss {
			s.stop()
		}
	}()
	for range n {
		s, stop, err := pipeDial(addr, nil, mode == "stuck")
		if err != nil {
			return err
		}
		s.stop = stop
		ss = append(ss, s)
	}
	for _, s := range ss {
		if err := s.waitSynced(); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "synced")
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		if sc.Text() != "report" {
			return fmt.Errorf("unknown request %q", sc.Text())
		}
		var delivered, other int64
		for _, s := range ss {
			delivered += s.delivered.Load()
			other += s.other.Load()
		}
		fmt.Fprintf(out, "delivered %d other %d\n", delivered, other)
	}
	return sc.Err()
}

// schedIdle is Linux's SCHED_IDLE scheduling policy: a thread that runs
// only on a CPU no other thread wants, and that a waking thread of the
// normal policy preempts at once.
const schedIdle = 5

// pipeLowestPriority puts every thread of the process in the SCHED_IDLE
// policy (at nice 19 too, which is all that is left where SCHED_IDLE is
// refused). At nice 19 the clients still take turns with the agent's
// threads: measured, the 10-subscriber round trip ran 15% slower with
// clients at nice 19 than with clients in SCHED_IDLE, which comes closer
// to collectors on other machines. Linux keeps the policy and the nice
// value per thread and a new thread inherits its creator's, so once all
// the threads that exist are set, the threads the Go runtime starts later
// are set too; the list is read twice to catch a thread started while it
// was being read.
func pipeLowestPriority() error {
	for range 2 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, 19); err != nil {
				return fmt.Errorf("thread %d: %w", tid, err)
			}
			var param struct{ priority int32 } // struct sched_param
			syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(tid), schedIdle, uintptr(unsafe.Pointer(&param)))
		}
	}
	return nil
}

// pipeChild is a running subscriber process.
type pipeChild struct {
	stdin io.WriteCloser
	lines chan string
	done  chan struct{}
	err   error
}

// pipeStartChild starts a subscriber process with subs subscribers of the
// gNMI server at addr, in mode ("", "stuck" or "spin": see pipeChildEnv),
// and waits until all have had their sync_response. The process ends at
// cleanup.
func pipeStartChild(b *testing.B, addr string, subs int, mode string) *pipeChild {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	var cmd *exec.Cmd
	if nice, err := exec.LookPath("nice"); err == nil {
		cmd = exec.Command(nice, "-n", "19", exe)
	} else {
		cmd = exec.Command(exe)
	}
	spec := fmt.Sprintf("%d@%s", subs, addr)
	if mode != "" {
		spec += " " + mode
	}
	cmd.Env = append(os.Environ(), pipeChildEnv+"="+spec)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	c := &pipeChild{stdin: stdin, lines: make(chan string, 4), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		io.Copy(io.Discard, stdout)
		c.err = cmd.Wait()
		close(c.done)
	}()
	b.Cleanup(func() {
		stdin.Close() // the process unsubscribes and exits
		select {
		case <-c.done:
		case <-time.After(pipeWait):
			cmd.Process.Kill()
			<-c.done
			b.Errorf("the subscriber process did not exit within %v", pipeWait)
		}
	})
	if l := c.line(b); l != "synced" {
		b.Fatalf("subscriber process: %q, want synced", l)
	}
	return c
}

// line returns the next line the subscriber process prints.
func (c *pipeChild) line(b *testing.B) string {
	b.Helper()
	select {
	case l := <-c.lines:
		return l
	case <-c.done:
		b.Fatalf("the subscriber process exited: %v", c.err)
	case <-time.After(pipeWait):
		b.Fatalf("the subscriber process printed nothing within %v", pipeWait)
	}
	return ""
}

// report asks the subscriber process what its subscribers have received.
func (c *pipeChild) report(b *testing.B) (delivered, other int64) {
	b.Helper()
	if _, err := io.WriteString(c.stdin, "report\n"); err != nil {
		b.Fatalf("asking the subscriber process: %v", err)
	}
	l := c.line(b)
	if _, err := fmt.Sscanf(l, "delivered %d other %d", &delivered, &other); err != nil {
		b.Fatalf("subscriber process: %q: %v", l, err)
	}
	return delivered, other
}

// pipeProc is a process started by a benchmark, killed at cleanup.
type pipeProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// pipeRun starts bin with args; its stdout and stderr lines go to lines
// (dropped when lines is full) and the process is killed at cleanup.
func pipeRun(b *testing.B, lines chan<- string, bin string, args ...string) *pipeProc {
	b.Helper()
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p := &pipeProc{cmd: cmd, done: make(chan struct{})}
	readers := make(chan struct{}, 2)
	for _, r := range []io.Reader{stdout, stderr} {
		go func() {
			defer func() { readers <- struct{}{} }()
			sc := bufio.NewScanner(r)
			sc.Buffer(make([]byte, 64*1024), 1024*1024)
			for sc.Scan() {
				select {
				case lines <- sc.Text():
				default:
				}
			}
			io.Copy(io.Discard, r)
		}()
	}
	go func() {
		<-readers
		<-readers
		p.err = cmd.Wait()
		close(p.done)
	}()
	b.Cleanup(func() {
		cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			b.Errorf("%s did not exit after kill", filepath.Base(bin))
		}
	})
	return p
}

// pipeWaitLine waits for the first line of lines that re matches and returns
// its first submatch.
func pipeWaitLine(b *testing.B, p *pipeProc, lines <-chan string, re *regexp.Regexp) string {
	b.Helper()
	timeout := time.After(pipeWait)
	for {
		select {
		case l := <-lines:
			if m := re.FindStringSubmatch(l); m != nil {
				return m[1]
			}
		case <-p.done:
			b.Fatalf("%s exited: %v", p.cmd.Path, p.err)
		case <-timeout:
			b.Fatalf("%s printed no line matching %s", p.cmd.Path, re)
		}
	}
}

// pipeBuild builds the main package pkg into dir and returns the binary.
func pipeBuild(b *testing.B, dir, pkg string) string {
	b.Helper()
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
	return out
}

// pipeRSS returns the resident set size (VmRSS) and its peak (VmHWM) of
// process pid in MB (2^20 bytes).
func pipeRSS(b *testing.B, pid int) (rss, hwm float64) {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[2] != "kB" {
			continue
		}
		kb, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			hwm = kb / 1024
		}
	}
	if rss == 0 {
		b.Fatalf("no VmRSS in /proc/%d/status", pid)
	}
	return rss, hwm
}

// pipeDelegatedCount reads /pce-client/state/delegated-lsp-count with a gNMI
// Get (-1 when absent).
func pipeDelegatedCount(ctx context.Context, c gnmi.GNMIClient) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := c.Get(ctx, &gnmi.GetRequest{
		Path:     []*gnmi.Path{{Elem: []*gnmi.PathElem{{Name: "pce-client"}, {Name: "state"}, {Name: "delegated-lsp-count"}}}},
		Type:     gnmi.GetRequest_STATE,
		Encoding: gnmi.Encoding_PROTO,
	})
	if err != nil {
		return -1, err
	}
	for _, n := range resp.GetNotification() {
		for _, u := range n.GetUpdate() {
			return int(u.GetVal().GetUintVal()), nil
		}
	}
	return -1, nil
}

// BenchmarkAgentRSS100kLSPs measures the resident memory of the pccagent
// process with 100,000 configured policies (explicit labels) synchronised
// and delegated to a pcesim over loopback: the binaries are built, the
// agent is started on a config file, gNMI Get polls delegated-lsp-count
// until it reaches 100,000, then VmRSS is read from /proc. MB-peak is the
// high-water mark (VmHWM); s-to-delegate the time from start to the last
// delegation. Run with -benchtime 1x.
func BenchmarkAgentRSS100kLSPs(b *testing.B) {
	const n = 100000
	dir := b.TempDir()
	agentBin := pipeBuild(b, dir, "github.com/pccagent/pccagent/cmd/pccagent")
	simBin := pipeBuild(b, dir, "github.com/pccagent/pccagent/cmd/pcesim")
	name := func(j int) string { return fmt.Sprintf("rss%06d", j) }
	for b.Loop() {
		simLines := make(chan string, 64)
		sim := pipeRun(b, simLines, simBin, "--listen", "127.0.0.1:0", "--stdin=false", "--log-level", "warn")
		simAddr := pipeWaitLine(b, sim, simLines, regexp.MustCompile(`listening on (\S+)`))
		tcp, err := net.ResolveTCPAddr("tcp", simAddr)
		if err != nil {
			b.Fatal(err)
		}
		cfg := filepath.Join(b.TempDir(), "pccagent.json")
		if err := os.WriteFile(cfg, []byte(pipeConfig(tcp, n, name)), 0o600); err != nil {
			b.Fatal(err)
		}
		agentLines := make(chan string, 64)
		start := time.Now()
		ag := pipeRun(b, agentLines, agentBin, "--insecure", "--gnmi-listen", "127.0.0.1:0", "--config", cfg, "--log-level", "warn")
		gAddr := pipeWaitLine(b, ag, agentLines, regexp.MustCompile(`serving gNMI.* addr=(\S+)`))
		conn, err := grpc.NewClient(gAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatal(err)
		}
		client := gnmi.NewGNMIClient(conn)
		deadline := time.Now().Add(pipeWait)
		var got int
		for {
			got, err = pipeDelegatedCount(context.Background(), client)
			if err == nil && got == n {
				break
			}
			select {
			case <-ag.done:
				b.Fatalf("pccagent exited: %v", ag.err)
			default:
			}
			if time.Now().After(deadline) {
				b.Fatalf("delegated-lsp-count %d after %v (last error %v), want %d", got, pipeWait, err, n)
			}
			time.Sleep(200 * time.Millisecond)
		}
		toDelegate := time.Since(start)
		conn.Close()
		rss, hwm := pipeRSS(b, ag.cmd.Process.Pid)
		b.ReportMetric(rss, "MB-RSS")
		b.ReportMetric(hwm, "MB-peak")
		b.ReportMetric(toDelegate.Seconds(), "s-to-delegate")
	}
}
