package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pccagent/pccagent/pcep/pcc"
)

// testTimeout bounds every wait of a test; no test relies on it for timing.
const testTimeout = 20 * time.Second

// fakeSource answers Snapshot with snap or err; with block it waits for the
// caller's context to end.
type fakeSource struct {
	snap  pcc.Snapshot
	err   error
	block bool
	log   *pcc.EventLog
	calls atomic.Int32
}

func (f *fakeSource) Snapshot(ctx context.Context) (pcc.Snapshot, error) {
	f.calls.Add(1)
	if f.block {
		<-ctx.Done()
		return pcc.Snapshot{}, ctx.Err()
	}
	return f.snap, f.err
}

func (f *fakeSource) Events() *pcc.EventLog { return f.log }

// sampleSource is an engine with one server up and selected, one
// connecting, three LSPs of which two are delegated, and five events.
func sampleSource() *fakeSource {
	up := netip.MustParseAddr("192.0.2.10")
	f := &fakeSource{log: pcc.NewEventLog(16)}
	for range 5 {
		f.log.Append(pcc.Event{Kind: pcc.EventLSPReported})
	}
	f.snap = pcc.Snapshot{
		Selected: up,
		Servers: []pcc.ServerState{
			{
				Config:       pcc.ServerConfig{Address: up, Port: 4189, Preference: 7},
				SessionState: pcc.StateUp,
				Selected:     true,
				Counters: pcc.Counters{MessagesSent: 12, MessagesReceived: 9, PCRptSent: 6, PCUpdReceived: 3,
					PCInitiateReceived: 1, PCErrSent: 1, PCErrReceived: 2, PCReqSent: 4, PCRepReceived: 4},
			},
			{Config: pcc.ServerConfig{Address: netip.MustParseAddr("2001:db8::2"), Port: 4189}, SessionState: pcc.StateConnecting},
		},
		LSPs: []pcc.LSPState{
			{Name: "a", Delegated: true, DelegatedTo: up},
			{Name: "b", Delegated: true, DelegatedTo: up},
			{Name: "c"},
		},
	}
	return f
}

// serve serves m on 127.0.0.1:0 until the test ends and returns the
// metrics URL.
func serve(t *testing.T, m *Metrics) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.ServeListener(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeListener: %v", err)
		}
	})
	return "http://" + ln.Addr().String() + "/metrics"
}

// scrape fetches url and returns the body.
func scrape(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, body)
	}
	return string(body)
}

func TestScrapeContainsTheExpectedSeries(t *testing.T) {
	m := New(sampleSource())
	m.ObserveSet(3*time.Millisecond, nil)
	m.ObserveSet(time.Millisecond, status.Error(codes.InvalidArgument, "bad value"))
	m.SubscribeStarted()
	m.SubscribeStarted()
	m.SubscribeEnded()
	body := scrape(t, serve(t, m))

	tests := []struct {
		name string
		line string // a whole sample line, or a metric name prefix ending in "{" or " "
	}{
		{"EngineScrapeSucceeded", "pccagent_engine_scrape_success 1"},
		{"EventsCountTheLastSequence", "pccagent_engine_events_total 5"},
		{"SessionStateOfUpServerIsItsEnumNumber", `pccagent_pcep_session_state{server="192.0.2.10"} 4`},
		{"SessionStateOfConnectingServer", `pccagent_pcep_session_state{server="2001:db8::2"} 1`},
		{"UpServerIsUp", `pccagent_pcep_session_up{server="192.0.2.10"} 1`},
		{"ConnectingServerIsNotUp", `pccagent_pcep_session_up{server="2001:db8::2"} 0`},
		{"SelectedServer", `pccagent_pcep_server_selected{server="192.0.2.10"} 1`},
		{"OtherServerNotSelected", `pccagent_pcep_server_selected{server="2001:db8::2"} 0`},
		{"MessagesSent", `pccagent_pcep_messages_total{direction="sent",server="192.0.2.10"} 12`},
		{"MessagesReceived", `pccagent_pcep_messages_total{direction="received",server="192.0.2.10"} 9`},
		{"PCRptSent", `pccagent_pcep_messages_by_type_total{direction="sent",server="192.0.2.10",type="pcrpt"} 6`},
		{"PCUpdReceived", `pccagent_pcep_messages_by_type_total{direction="received",server="192.0.2.10",type="pcupd"} 3`},
		{"PCInitiateReceived", `pccagent_pcep_messages_by_type_total{direction="received",server="192.0.2.10",type="pcinitiate"} 1`},
		{"PCErrSent", `pccagent_pcep_messages_by_type_total{direction="sent",server="192.0.2.10",type="pcerr"} 1`},
		{"PCErrReceived", `pccagent_pcep_messages_by_type_total{direction="received",server="192.0.2.10",type="pcerr"} 2`},
		{"PCReqSent", `pccagent_pcep_messages_by_type_total{direction="sent",server="192.0.2.10",type="pcreq"} 4`},
		{"PCRepReceived", `pccagent_pcep_messages_by_type_total{direction="received",server="192.0.2.10",type="pcrep"} 4`},
		{"LSPCount", "pccagent_lsps 3"},
		{"DelegatedLSPCount", "pccagent_lsps_delegated 2"},
		{"SuccessfulSets", `pccagent_gnmi_set_requests_total{code="OK"} 1`},
		{"FailedSetsByCode", `pccagent_gnmi_set_requests_total{code="InvalidArgument"} 1`},
		{"SetLatencyHistogramCount", "pccagent_gnmi_set_duration_seconds_count 2"},
		{"SetLatencyHistogramBuckets", `pccagent_gnmi_set_duration_seconds_bucket{le="0.004"} 2`},
		{"ActiveSubscribes", "pccagent_gnmi_subscribe_active 1"},
		{"TotalSubscribes", "pccagent_gnmi_subscribe_total 2"},
		{"GoRuntime", "go_goroutines "},
		{"Process", "process_open_fds "},
	}
	lines := strings.Split(body, "\n")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, l := range lines {
				if l == tt.line || (strings.HasSuffix(tt.line, " ") && strings.HasPrefix(l, tt.line)) {
					return
				}
			}
			t.Errorf("scrape has no line %q:\n%s", tt.line, body)
		})
	}
}

func TestEngineSnapshotFailureLeavesOutEngineSeriesButNotAgentSeries(t *testing.T) {
	tests := []struct {
		name string
		src  *fakeSource
	}{
		{name: "SnapshotError", src: &fakeSource{err: errors.New("pcc: engine stopped")}},
		{name: "SnapshotTimesOut", src: &fakeSource{block: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.src.log = pcc.NewEventLog(4)
			m := New(tt.src, WithSnapshotTimeout(time.Millisecond), WithoutRuntimeMetrics())
			body := scrape(t, serve(t, m))
			for _, want := range []string{"pccagent_engine_scrape_success 0", "pccagent_gnmi_subscribe_active 0",
				"pccagent_engine_events_total 0"} {
				if !strings.Contains(body, want+"\n") {
					t.Errorf("scrape has no line %q:\n%s", want, body)
				}
			}
			for _, absent := range []string{"pccagent_pcep_session_state", "pccagent_lsps "} {
				if strings.Contains(body, absent) {
					t.Errorf("scrape has %q after a failed snapshot:\n%s", absent, body)
				}
			}
		})
	}
}

func TestScrapesWithinTheMinimumIntervalShareOneSnapshot(t *testing.T) {
	tests := []struct {
		name        string
		minInterval time.Duration
		scrapes     int
		wantCalls   int32
	}{
		{name: "LongIntervalOneSnapshot", minInterval: time.Hour, scrapes: 3, wantCalls: 1},
		{name: "ZeroIntervalSnapshotPerScrape", minInterval: 0, scrapes: 3, wantCalls: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := sampleSource()
			m := New(src, WithMinInterval(tt.minInterval), WithoutRuntimeMetrics())
			for range tt.scrapes {
				n, err := testutil.GatherAndCount(m.Gatherer(), "pccagent_lsps")
				if err != nil || n != 1 {
					t.Fatalf("pccagent_lsps series = %d, %v; want 1", n, err)
				}
			}
			if got := src.calls.Load(); got != tt.wantCalls {
				t.Errorf("Snapshot called %d times, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestObserveSetCountsByGRPCCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code string
	}{
		{name: "SuccessIsOK", err: nil, code: "OK"},
		{name: "StatusErrorKeepsItsCode", err: status.Error(codes.Aborted, "engine refused"), code: "Aborted"},
		{name: "WrappedStatusErrorKeepsItsCode", err: fmt.Errorf("set: %w", status.Error(codes.NotFound, "no such path")), code: "NotFound"},
		{name: "PlainErrorIsUnknown", err: errors.New("disk full"), code: "Unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(nil, WithoutRuntimeMetrics())
			m.ObserveSet(time.Millisecond, tt.err)
			if got := testutil.ToFloat64(m.setRequests.WithLabelValues(tt.code)); got != 1 {
				t.Errorf("set requests with code %s = %v, want 1", tt.code, got)
			}
		})
	}
}

func TestNilMetricsIgnoresObservations(t *testing.T) {
	var m *Metrics
	m.ObserveSet(time.Second, nil)
	m.SubscribeStarted()
	m.SubscribeEnded()
}

func TestServeReturnsAnErrorWhenThePortIsInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	err = New(nil, WithoutRuntimeMetrics()).Serve(ctx, busy.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "listen on "+busy.Addr().String()) {
		t.Fatalf("Serve on a port in use = %v, want a listen error naming the address", err)
	}
}

func TestServeStopsCleanlyWhenTheContextEnds(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(nil, WithoutRuntimeMetrics()).ServeListener(ctx, ln) }()
	body := scrape(t, "http://"+ln.Addr().String()+"/metrics")
	if !strings.Contains(body, "pccagent_gnmi_subscribe_total 0") {
		t.Errorf("scrape without engine lacks agent series:\n%s", body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ServeListener after cancel = %v, want nil", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("ServeListener did not return after cancel")
	}
}

// The engine satisfies the interface the metrics are written against.
var _ Source = (*pcc.Engine)(nil)

func TestScrapeOfARealEngineHasItsServers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens: the session stays down
	eng := pcc.New(pcc.WithDialTimeout(time.Second), pcc.WithLogger(slog.New(slog.DiscardHandler)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	cfg := pcc.DefaultConfig()
	cfg.Servers = []pcc.ServerConfig{{Address: netip.MustParseAddr("127.0.0.1"), Port: uint16(port)}}
	actx, acancel := context.WithTimeout(ctx, testTimeout)
	defer acancel()
	if err := eng.Apply(actx, cfg); err != nil {
		t.Fatal(err)
	}
	body := scrape(t, serve(t, New(eng, WithoutRuntimeMetrics())))
	for _, want := range []string{
		"pccagent_engine_scrape_success 1\n",
		`pccagent_pcep_session_up{server="127.0.0.1"} 0` + "\n",
		`pccagent_pcep_session_state{server="127.0.0.1"} `,
		"pccagent_lsps 0\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q:\n%s", want, body)
		}
	}
}
