// Package metrics exposes the agent's Prometheus metrics: the PCEP sessions,
// message counters and LSP counts of the PCC engine, and the agent's own gNMI
// Set and Subscribe activity.
//
// Engine metrics are read from an engine snapshot when Prometheus scrapes, not
// pushed by the engine, so the protocol pays nothing between scrapes; a scrape
// waits for the engine at most a bounded time, and scrapes that come close
// together share one snapshot. Agent metrics are updated by the gNMI server
// through ObserveSet, SubscribeStarted and SubscribeEnded.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc/status"

	"github.com/pccagent/pccagent/pcep/pcc"
)

// Source is what the metrics read from the PCC engine (*pcc.Engine
// implements it).
type Source interface {
	// Snapshot returns a copy of every server's and LSP's state.
	Snapshot(ctx context.Context) (pcc.Snapshot, error)
	// Events returns the engine's event log (its next sequence number counts
	// the events emitted).
	Events() *pcc.EventLog
}

// Defaults of the options.
const (
	// DefaultSnapshotTimeout bounds how long a scrape waits for the engine.
	DefaultSnapshotTimeout = 2 * time.Second
	// DefaultMinInterval is how long one engine snapshot serves scrapes that
	// come close together.
	DefaultMinInterval = time.Second
)

// Metrics is the agent's Prometheus registry and the instruments the agent
// core updates. A nil *Metrics is valid: its Observe and Subscribe methods do
// nothing, so callers need no check when metrics are disabled.
type Metrics struct {
	reg *prometheus.Registry

	setRequests     *prometheus.CounterVec
	setDuration     prometheus.Histogram
	subscribeActive prometheus.Gauge
	subscribeTotal  prometheus.Counter
}

// Option configures Metrics.
type Option func(*options)

type options struct {
	timeout     time.Duration
	minInterval time.Duration
	runtime     bool
}

// WithSnapshotTimeout bounds how long a scrape waits for the engine's
// snapshot (default DefaultSnapshotTimeout). When it expires the engine
// series are left out of that scrape and pccagent_engine_scrape_success is 0.
func WithSnapshotTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.timeout = d
		}
	}
}

// WithMinInterval sets how long one engine snapshot serves further scrapes
// (default DefaultMinInterval; 0 = a snapshot per scrape). It caps the load
// that many scrapers put on the engine.
func WithMinInterval(d time.Duration) Option {
	return func(o *options) {
		if d >= 0 {
			o.minInterval = d
		}
	}
}

// WithoutRuntimeMetrics leaves out the Go runtime and process collectors
// (go_*, process_*), which are included by default.
func WithoutRuntimeMetrics() Option { return func(o *options) { o.runtime = false } }

// New returns the agent's metrics, reading engine state from src (nil: no
// engine metrics).
func New(src Source, opts ...Option) *Metrics {
	o := options{timeout: DefaultSnapshotTimeout, minInterval: DefaultMinInterval, runtime: true}
	for _, f := range opts {
		f(&o)
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		setRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pccagent_gnmi_set_requests_total",
			Help: "gNMI Set requests answered, by gRPC status code.",
		}, []string{"code"}),
		setDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "pccagent_gnmi_set_duration_seconds",
			Help: "Time to answer a gNMI Set: validation, engine apply and persistence.",
			// 1 ms to about 16 s.
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}),
		subscribeActive: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pccagent_gnmi_subscribe_active",
			Help: "gNMI Subscribe RPCs in progress.",
		}),
		subscribeTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pccagent_gnmi_subscribe_total",
			Help: "gNMI Subscribe RPCs started.",
		}),
	}
	// The OK series exists from the start so that rates work before the first Set.
	m.setRequests.WithLabelValues("OK")
	m.reg.MustRegister(m.setRequests, m.setDuration, m.subscribeActive, m.subscribeTotal)
	if src != nil {
		m.reg.MustRegister(newEngineCollector(src, o.timeout, o.minInterval))
	}
	if o.runtime {
		m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return m
}

// Registerer returns the registry so that other parts of the agent can add
// their own collectors to the same /metrics page.
func (m *Metrics) Registerer() prometheus.Registerer { return m.reg }

// Gatherer returns the registry for reading the metrics without HTTP.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// ObserveSet records one answered gNMI Set that took d; err is the error
// returned to the client (nil for success), counted by its gRPC code.
func (m *Metrics) ObserveSet(d time.Duration, err error) {
	if m == nil {
		return
	}
	m.setRequests.WithLabelValues(status.Code(err).String()).Inc()
	m.setDuration.Observe(d.Seconds())
}

// SubscribeStarted records the start of a gNMI Subscribe RPC; call
// SubscribeEnded when it returns.
func (m *Metrics) SubscribeStarted() {
	if m == nil {
		return
	}
	m.subscribeActive.Inc()
	m.subscribeTotal.Inc()
}

// SubscribeEnded records the end of a gNMI Subscribe RPC.
func (m *Metrics) SubscribeEnded() {
	if m == nil {
		return
	}
	m.subscribeActive.Dec()
}

// Handler returns the HTTP handler of the metrics page (Prometheus text or
// OpenMetrics format, as the scraper asks).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling:     promhttp.ContinueOnError,
		Registry:          m.reg,
		EnableOpenMetrics: true,
	})
}

// Serve listens on addr and serves the metrics at /metrics until ctx ends.
// It returns at once with an error when it cannot listen (e.g. the port is
// in use), and nil after a clean shutdown.
func (m *Metrics) Serve(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	return m.ServeListener(ctx, ln)
}

// shutdownTimeout bounds how long Serve waits for scrapes in progress when
// ctx ends.
const shutdownTimeout = 5 * time.Second

// ServeListener serves the metrics at /metrics on ln until ctx ends, then
// closes ln. Use it to listen early (and fail the start on a port in use)
// and serve later.
func (m *Metrics) ServeListener(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	stopped := make(chan struct{})
	shutdown := make(chan error, 1)
	go func() {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			defer cancel()
			shutdown <- srv.Shutdown(sctx)
		case <-stopped:
			shutdown <- nil
		}
	}()
	err := srv.Serve(ln)
	close(stopped)
	serr := <-shutdown
	if errors.Is(err, http.ErrServerClosed) {
		return serr
	}
	return fmt.Errorf("metrics: serve on %s: %w", ln.Addr(), err)
}

// engineCollector turns engine snapshots into metrics at scrape time.
type engineCollector struct {
	src         Source
	timeout     time.Duration
	minInterval time.Duration

	mu      sync.Mutex // one snapshot at a time; guards the fields below
	last    summary
	lastOK  bool
	lastAt  time.Time
	hasLast bool
}

// summary is the part of a snapshot the metrics need (the LSP list itself is
// not kept between scrapes).
type summary struct {
	servers   []pcc.ServerState
	lsps      int
	delegated int
}

var (
	descScrapeSuccess = prometheus.NewDesc("pccagent_engine_scrape_success",
		"1 if the last engine snapshot for metrics succeeded within the timeout, else 0 (and engine series are missing).", nil, nil)
	descEvents = prometheus.NewDesc("pccagent_engine_events_total",
		"Delegation events emitted by the PCC engine (the last event sequence number).", nil, nil)
	descSessionState = prometheus.NewDesc("pccagent_pcep_session_state",
		"PCEP session state of a configured server: 0 idle, 1 connecting, 2 open-wait, 3 keep-wait, 4 up.", []string{"server"}, nil)
	descSessionUp = prometheus.NewDesc("pccagent_pcep_session_up",
		"1 if the PCEP session to the server is up, else 0.", []string{"server"}, nil)
	descSelected = prometheus.NewDesc("pccagent_pcep_server_selected",
		"1 if the server holds the delegations, else 0.", []string{"server"}, nil)
	descMessages = prometheus.NewDesc("pccagent_pcep_messages_total",
		"PCEP messages of every type exchanged with the server.", []string{"server", "direction"}, nil)
	descTypedMessages = prometheus.NewDesc("pccagent_pcep_messages_by_type_total",
		"PCEP messages of the types counted per server, exchanged with the server.", []string{"server", "type", "direction"}, nil)
	descLSPs = prometheus.NewDesc("pccagent_lsps",
		"LSPs known to the PCC engine (PCC- and PCE-initiated).", nil, nil)
	descDelegated = prometheus.NewDesc("pccagent_lsps_delegated",
		"LSPs currently delegated to a PCE.", nil, nil)
)

func newEngineCollector(src Source, timeout, minInterval time.Duration) *engineCollector {
	return &engineCollector{src: src, timeout: timeout, minInterval: minInterval}
}

// Describe implements prometheus.Collector.
func (c *engineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descScrapeSuccess, descEvents, descSessionState, descSessionUp,
		descSelected, descMessages, descTypedMessages, descLSPs, descDelegated} {
		ch <- d
	}
}

// snapshot returns the engine summary, reusing the last one when it is
// younger than minInterval.
func (c *engineCollector) snapshot() (summary, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.hasLast && now.Sub(c.lastAt) < c.minInterval {
		return c.last, c.lastOK
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	snap, err := c.src.Snapshot(ctx)
	c.last, c.lastOK, c.lastAt, c.hasLast = summary{}, err == nil, now, true
	if err == nil {
		c.last.servers = snap.Servers
		c.last.lsps = len(snap.LSPs)
		for i := range snap.LSPs {
			if snap.LSPs[i].Delegated {
				c.last.delegated++
			}
		}
	}
	return c.last, c.lastOK
}

// Collect implements prometheus.Collector.
func (c *engineCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descEvents, prometheus.CounterValue, float64(c.src.Events().Next()-1))
	s, ok := c.snapshot()
	if !ok {
		ch <- prometheus.MustNewConstMetric(descScrapeSuccess, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descScrapeSuccess, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(descLSPs, prometheus.GaugeValue, float64(s.lsps))
	ch <- prometheus.MustNewConstMetric(descDelegated, prometheus.GaugeValue, float64(s.delegated))
	for i := range s.servers {
		srv := &s.servers[i]
		addr := srv.Config.Address.String()
		ch <- prometheus.MustNewConstMetric(descSessionState, prometheus.GaugeValue, float64(srv.SessionState), addr)
		ch <- prometheus.MustNewConstMetric(descSessionUp, prometheus.GaugeValue, boolValue(srv.SessionState == pcc.StateUp), addr)
		ch <- prometheus.MustNewConstMetric(descSelected, prometheus.GaugeValue, boolValue(srv.Selected), addr)
		k := &srv.Counters
		ch <- prometheus.MustNewConstMetric(descMessages, prometheus.CounterValue, float64(k.MessagesSent), addr, "sent")
		ch <- prometheus.MustNewConstMetric(descMessages, prometheus.CounterValue, float64(k.MessagesReceived), addr, "received")
		for _, t := range []struct {
			typ, dir string
			n        uint64
		}{
			{"pcrpt", "sent", k.PCRptSent},
			{"pcupd", "received", k.PCUpdReceived},
			{"pcinitiate", "received", k.PCInitiateReceived},
			{"pcerr", "sent", k.PCErrSent},
			{"pcerr", "received", k.PCErrReceived},
			{"pcreq", "sent", k.PCReqSent},
			{"pcrep", "received", k.PCRepReceived},
		} {
			ch <- prometheus.MustNewConstMetric(descTypedMessages, prometheus.CounterValue, float64(t.n), addr, t.typ, t.dir)
		}
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
