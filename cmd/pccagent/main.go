// Command pccagent is a router-side PCEP client (PCC) driven over gNMI: it
// serves the pcc-agent YANG model (Capabilities, Get, Set, Subscribe) and the
// Operations service on one gRPC port, applies every Set to its embedded
// PCEP engine in one transaction, persists the configuration to an RFC 7951
// JSON file, and streams LSP delegation state as telemetry.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"

	"github.com/pccagent/pccagent/agent"
	"github.com/pccagent/pccagent/agent/demo"
	"github.com/pccagent/pccagent/agent/metrics"
	"github.com/pccagent/pccagent/agent/operations"
	"github.com/pccagent/pccagent/agent/telemetry"
	"github.com/pccagent/pccagent/pcep/pcc"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "pccagent:", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	config        string
	gnmiListen    string
	insecure      bool
	tlsCert       string
	tlsKey        string
	tlsCA         string
	demo          bool
	logLevel      slog.Level
	metricsListen string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	var level string
	fs := flag.NewFlagSet("pccagent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.config, "config", "pccagent.json", "startup configuration: RFC 7951 JSON of the pce-client tree, rewritten by every gNMI Set")
	fs.StringVar(&o.gnmiListen, "gnmi-listen", "127.0.0.1:9339", "gNMI and Operations service listen address")
	fs.BoolVar(&o.insecure, "insecure", false, "serve gRPC without TLS (plaintext)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "server certificate (PEM); without it a self-signed one is made at start")
	fs.StringVar(&o.tlsKey, "tls-key", "", "server private key (PEM)")
	fs.StringVar(&o.tlsCA, "tls-ca", "", "CA certificates (PEM) that client certificates must be signed by (mutual TLS)")
	fs.BoolVar(&o.demo, "demo", false, "also start a PCE on loopback and, if no server is configured, add it with sample policies")
	fs.StringVar(&level, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.metricsListen, "metrics-listen", "", "serve Prometheus metrics at http://ADDR/metrics (off when empty)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, fmt.Errorf("bad flag: %w", err)
	}
	if fs.NArg() != 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch level {
	case "debug":
		o.logLevel = slog.LevelDebug
	case "info":
		o.logLevel = slog.LevelInfo
	case "warn":
		o.logLevel = slog.LevelWarn
	case "error":
		o.logLevel = slog.LevelError
	default:
		return o, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	if o.config == "" {
		return o, errors.New("--config: a file name is required")
	}
	if err := checkHostPort("--gnmi-listen", o.gnmiListen); err != nil {
		return o, err
	}
	if o.metricsListen != "" {
		if err := checkHostPort("--metrics-listen", o.metricsListen); err != nil {
			return o, err
		}
	}
	if err := o.tlsOptions().Check(); err != nil {
		return o, err
	}
	return o, nil
}

func checkHostPort(flagName, addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%s %q: want HOST:PORT: %v", flagName, addr, err)
	}
	return nil
}

func (o options) tlsOptions() agent.TLSOptions {
	host, _, _ := net.SplitHostPort(o.gnmiListen)
	return agent.TLSOptions{Insecure: o.insecure, CertFile: o.tlsCert, KeyFile: o.tlsKey, CAFile: o.tlsCA, Hosts: []string{host}}
}

// run starts the agent and serves until ctx ends. Every error that stops
// the start is returned as one line.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: o.logLevel}))

	tlsCfg, fingerprint, err := agent.ServerTLS(o.tlsOptions())
	if err != nil {
		return err
	}
	// Listen first, so that a port in use stops the start before anything
	// else happens.
	gnmiLn, err := net.Listen("tcp", o.gnmiListen)
	if err != nil {
		return fmt.Errorf("--gnmi-listen: %w", err)
	}
	defer gnmiLn.Close()
	var metricsLn net.Listener
	if o.metricsListen != "" {
		if metricsLn, err = net.Listen("tcp", o.metricsListen); err != nil {
			return fmt.Errorf("--metrics-listen: %w", err)
		}
		defer metricsLn.Close()
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	engine := pcc.New(pcc.WithLogger(log.With("part", "pcc")))
	engineDone := make(chan error, 1)
	go func() { engineDone <- engine.Run(ctx) }()

	cache := telemetry.NewCache(telemetry.WithLogger(log.With("part", "telemetry")), telemetry.WithPathValidator(agent.ValidatePath))
	cacheDone := make(chan error, 1)
	go func() { cacheDone <- cache.Run(ctx, engine.Changes()) }()

	var m *metrics.Metrics // nil when metrics are off: its methods do nothing
	if metricsLn != nil {
		m = metrics.New(engine)
	}
	// With --demo an embedded PCE runs on loopback, and while the
	// configuration has no server the engine gets a sample one pointing at
	// it (never saved to the config file).
	var eng agent.Engine = engine
	if o.demo {
		d, err := demo.Start(ctx, log.With("part", "demo"), demo.WithGNMI(gnmiLn.Addr().String(), o.insecure))
		if err != nil {
			return fmt.Errorf("--demo: %w", err)
		}
		defer d.Close()
		eng = d.WrapEngine(engine)
	}
	subscribe := func(stream gnmi.GNMI_SubscribeServer) error {
		m.SubscribeStarted()
		defer m.SubscribeEnded()
		return cache.Subscribe(stream)
	}
	a, err := agent.New(ctx, o.config, eng, cache,
		agent.WithLogger(log.With("part", "gnmi")),
		agent.WithSubscribe(subscribe),
		agent.WithSetObserver(m.ObserveSet))
	if err != nil {
		if ctx.Err() != nil { // stopped while starting: not a failure
			return nil
		}
		return err
	}

	gs := agent.NewGRPCServer(a, tlsCfg, []func(*grpc.Server){
		func(gs *grpc.Server) { operations.Register(gs, engine) },
	})
	serveDone := make(chan error, 1)
	go func() { serveDone <- gs.Serve(gnmiLn) }()
	metricsDone := make(chan error, 1)
	if metricsLn != nil {
		go func() { metricsDone <- m.ServeListener(ctx, metricsLn) }()
		log.Info("serving metrics", "addr", metricsLn.Addr().String())
	}
	switch {
	case o.insecure:
		log.Warn("serving gNMI without TLS", "addr", gnmiLn.Addr().String())
	case fingerprint != "":
		log.Info("serving gNMI with a self-signed certificate", "addr", gnmiLn.Addr().String(), "sha256", fingerprint)
	default:
		log.Info("serving gNMI with TLS", "addr", gnmiLn.Addr().String(), "mutual", o.tlsCA != "")
	}

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveDone:
		runErr = fmt.Errorf("gNMI server: %w", err)
	case err := <-metricsDone:
		if err != nil {
			runErr = err
		}
	case err := <-engineDone:
		runErr = fmt.Errorf("PCEP engine stopped: %w", err)
	case err := <-cacheDone:
		runErr = fmt.Errorf("telemetry stopped: %w", err)
	}
	log.Info("shutting down")
	cancel()
	stopped := make(chan struct{})
	go func() { gs.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		gs.Stop()
	}
	return runErr
}
