// Package demo is the demo mode of pccagent (--demo): an embedded PCE on
// loopback, a sample configuration that points the agent at it, and a PCE
// that keeps changing the paths of the LSPs delegated to it, so that
// delegation, path updates and telemetry are visible as soon as the agent
// starts, with nothing else installed.
//
// Use:
//
//	d, err := demo.Start(ctx, logger, demo.WithGNMI("127.0.0.1:9339", true))
//	...
//	defer d.Close()
//	a, err := agent.New(ctx, configPath, d.WrapEngine(engine), cache, ...)
//
// WrapEngine adds the sample (SampleConfig) to every configuration the agent
// applies while that configuration has no servers; the sample itself is
// never saved, so the config file stays valid without the demo (the
// embedded PCE's port changes from run to run). SampleConfig().AddTo does
// the same for one configuration, and SampleConfig().SetRequest gives the
// sample as a gNMI SetRequest for an agent that wants it in its running
// configuration (and config file) instead.
//
// Start listens on 127.0.0.1 (a free port unless WithListen names one) and
// serves PCEP with the PCE role of pcep/pce. Every few seconds (default 3 s,
// WithUpdateInterval) the PCE sends a PCUpd with a changed label stack to
// every LSP delegated to it. Start logs the gnmic command line that watches
// the LSPs when the agent has told it its gNMI address (WithGNMI).
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pccagent/pccagent/pcep/clock"
	"github.com/pccagent/pccagent/pcep/pce"
)

// DefaultUpdateInterval is how often the embedded PCE changes the path of
// each delegated LSP.
const DefaultUpdateInterval = 3 * time.Second

// ServerPreference is the preference of the embedded PCE in the sample
// configuration: the highest, so that it holds the delegations.
const ServerPreference = 7

// Option configures Start.
type Option func(*options)

type options struct {
	listen       string
	interval     time.Duration
	clock        clock.Clock
	gnmiAddr     string
	gnmiInsecure bool
}

// WithListen sets the PCEP listen address of the embedded PCE. It must be a
// loopback address; the default is 127.0.0.1 with a free port.
func WithListen(addr string) Option { return func(o *options) { o.listen = addr } }

// WithUpdateInterval sets how often the embedded PCE pushes a changed label
// stack to every delegated LSP (default DefaultUpdateInterval); 0 or less
// turns the periodic updates off.
func WithUpdateInterval(d time.Duration) Option { return func(o *options) { o.interval = d } }

// WithClock sets the clock that paces the periodic updates (default the real
// clock), so that tests can step them.
func WithClock(c clock.Clock) Option {
	return func(o *options) {
		if c != nil {
			o.clock = c
		}
	}
}

// WithGNMI tells the demo the agent's gNMI address and whether it serves
// plaintext (insecure) or TLS, so that the gnmic command it logs connects as
// is. Without it no command is logged.
func WithGNMI(addr string, insecure bool) Option {
	return func(o *options) { o.gnmiAddr, o.gnmiInsecure = addr, insecure }
}

// Demo is a running demo: the embedded PCE and its periodic updates.
type Demo struct {
	logger *slog.Logger
	srv    *pce.Server
	addr   netip.AddrPort
	opts   options

	served chan error
	stop   context.CancelFunc
	done   chan struct{} // closed when the update loop has ended

	closeOnce sync.Once
	closeErr  error
}

// Start starts the embedded PCE and its periodic updates. The demo runs
// until ctx ends or Close is called. logger may be nil (slog.Default()).
func Start(ctx context.Context, logger *slog.Logger, opts ...Option) (*Demo, error) {
	if logger == nil {
		logger = slog.Default()
	}
	o := options{listen: "127.0.0.1:0", interval: DefaultUpdateInterval, clock: clock.Real{}}
	for _, f := range opts {
		f(&o)
	}
	ap, err := netip.ParseAddrPort(o.listen)
	if err != nil {
		return nil, fmt.Errorf("demo: listen address %q: %w", o.listen, err)
	}
	if !ap.Addr().IsLoopback() {
		return nil, fmt.Errorf("demo: listen address %s is not a loopback address", ap)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", ap.String())
	if err != nil {
		return nil, fmt.Errorf("demo: embedded PCE: %w", err)
	}
	logger = logger.With("component", "demo-pce")
	srv := pce.New(
		pce.WithLogger(logger),
		// The demo runs for as long as the agent: keep no message history.
		pce.WithRecording(false),
	)
	tcp := ln.Addr().(*net.TCPAddr).AddrPort()
	d := &Demo{
		logger: logger,
		srv:    srv,
		addr:   netip.AddrPortFrom(tcp.Addr().Unmap(), tcp.Port()),
		opts:   o,
		served: make(chan error, 1),
		done:   make(chan struct{}),
	}
	go func() { d.served <- srv.Serve(ln) }()

	loopCtx, stop := context.WithCancel(ctx)
	d.stop = stop
	go d.updateLoop(loopCtx)
	go func() {
		<-loopCtx.Done()
		d.Close()
	}()

	logger.Info("demo: embedded PCE listening", "addr", d.addr.String(), "update-interval", o.interval.String())
	if o.gnmiAddr != "" {
		logger.Info("demo: watch the LSPs with gnmic", "command", d.gnmicCommand())
	}
	return d, nil
}

// gnmicCommand is the gnmic command line that streams LSP state changes.
func (d *Demo) gnmicCommand() string {
	tls := "--insecure"
	if !d.opts.gnmiInsecure {
		tls = "--skip-verify"
	}
	return fmt.Sprintf("gnmic -a %s %s subscribe --path /pce-client/lsps --mode stream --stream-mode on_change", d.opts.gnmiAddr, tls)
}

// Addr returns the address the embedded PCE listens on.
func (d *Demo) Addr() netip.AddrPort { return d.addr }

// PCE returns the embedded PCE, for callers that want to drive it further
// (initiate LSPs, request control).
func (d *Demo) PCE() *pce.Server { return d.srv }

// Close stops the periodic updates and the embedded PCE (its sessions are
// closed with Close reason 1) and waits for them. It is safe to call more
// than once.
func (d *Demo) Close() error {
	d.closeOnce.Do(func() {
		d.stop()
		<-d.done
		d.srv.Close()
		if err := <-d.served; err != nil && !errors.Is(err, net.ErrClosed) {
			d.closeErr = fmt.Errorf("demo: embedded PCE: %w", err)
		}
		d.logger.Info("demo: embedded PCE stopped")
	})
	return d.closeErr
}

// updateLoop pushes a changed path to every delegated LSP every interval.
func (d *Demo) updateLoop(ctx context.Context) {
	defer close(d.done)
	if d.opts.interval <= 0 {
		<-ctx.Done()
		return
	}
	tick := make(chan struct{}, 1)
	t := d.opts.clock.AfterFunc(d.opts.interval, func() {
		select {
		case tick <- struct{}{}:
		default:
		}
	})
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		d.UpdateAll()
		t.Reset(d.opts.interval)
	}
}

// UpdateAll sends, at once, a PCUpd with the next label stack to every LSP
// delegated to the embedded PCE by a PCC that has finished its state
// synchronisation. It returns how many updates it sent. The periodic updates
// call it; callers may too.
func (d *Demo) UpdateAll() int {
	n := 0
	for _, p := range d.srv.PCCs() {
		if !p.Synced() {
			continue
		}
		for _, l := range p.LSPs() {
			if !l.Delegated {
				continue
			}
			if _, err := p.Update(l.PLSPID, NextLabels(l.Endpoint, l.Labels)); err != nil {
				d.logger.Warn("demo: update failed", "pcc", p.RemoteAddr().String(), "plsp-id", l.PLSPID, "name", l.Name, "err", err)
				continue
			}
			n++
		}
	}
	return n
}

// Transit node SIDs the demo paths go through, in turn.
var viaLabels = []uint32{16011, 16012, 16013}

// NextLabels returns the label stack that follows labels in the demo's
// rotation towards endpoint: the direct path [node SID of the endpoint],
// then through each transit node SID 16011, 16012, 16013 in turn, then
// direct again. The endpoint's node SID is 16000 plus the last octet of its
// address (the bottom label of labels when the endpoint is unknown). The
// result always differs from labels.
func NextLabels(endpoint netip.Addr, labels []uint32) []uint32 {
	var node uint32
	switch {
	case endpoint.IsValid():
		b := endpoint.AsSlice()
		node = 16000 + uint32(b[len(b)-1])
	case len(labels) > 0:
		node = labels[len(labels)-1]
	default:
		node = 16000
	}
	if len(labels) == 2 && labels[1] == node {
		for i, v := range viaLabels {
			if labels[0] == v {
				if i+1 < len(viaLabels) {
					return []uint32{viaLabels[i+1], node}
				}
				return []uint32{node}
			}
		}
	}
	if len(labels) == 1 && labels[0] == node {
		return []uint32{viaLabels[0], node}
	}
	// Any other stack (not one of the rotation): start over with the direct path.
	return []uint32{node}
}
