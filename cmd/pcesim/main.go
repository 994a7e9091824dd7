// Command pcesim is a stateful PCE for demos, tests and benchmarks. It
// accepts PCC sessions, keeps their LSP databases and reads line commands on
// stdin (show, initiate, update, request-control, return, remove, close,
// help) so that a person can drive delegation and updates by hand. With
// --update-every it pushes a new label stack to every delegated LSP
// periodically, so that telemetry has something to show.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/pccagent/pccagent/pcep/pce"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "pcesim:", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	listen      string
	keepalive   uint
	deadTimer   uint
	msd         uint
	updateEvery time.Duration
	logLevel    string
	stdin       bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("pcesim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:4189", "PCEP listen address (ADDR:PORT; port 0 picks a free port)")
	fs.UintVar(&o.keepalive, "keepalive", 30, "keepalive advertised in the OPEN (seconds, 0-255; 0 = none)")
	fs.UintVar(&o.deadTimer, "dead-timer", 120, "dead timer advertised in the OPEN (seconds, 0-255)")
	fs.UintVar(&o.msd, "msd", 10, "maximum SID depth advertised (1-255; 0 = no segment routing capability)")
	fs.DurationVar(&o.updateEvery, "update-every", 0, "push a changed label stack to every delegated LSP this often (0 = never)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&o.stdin, "stdin", true, "read commands from stdin")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() != 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, v := range []struct {
		name string
		val  uint
	}{{"keepalive", o.keepalive}, {"dead-timer", o.deadTimer}, {"msd", o.msd}} {
		if v.val > 255 {
			return o, fmt.Errorf("--%s %d: must be 0-255", v.name, v.val)
		}
	}
	if o.updateEvery < 0 {
		return o, fmt.Errorf("--update-every %s: must not be negative", o.updateEvery)
	}
	return o, nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// syncWriter serialises whole writes of several goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	level, err := parseLevel(o.logLevel)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	srv := pce.New(
		pce.WithLogger(logger),
		pce.WithKeepalive(uint8(o.keepalive), uint8(o.deadTimer)),
		pce.WithSegmentRouting(uint8(o.msd)),
		// A long-running simulator must not keep every message forever.
		pce.WithRecording(false),
	)
	out := &syncWriter{w: stdout}
	fmt.Fprintf(out, "listening on %s\n", ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	sh := &shell{peers: func() []peer {
		ps := srv.PCCs()
		peers := make([]peer, len(ps))
		for i, p := range ps {
			peers[i] = p
		}
		return peers
	}}
	if o.stdin {
		go readCommands(ctx, stdin, out, sh)
	}
	if o.updateEvery > 0 {
		go updateLoop(ctx, srv, o.updateEvery, logger)
	}

	select {
	case <-ctx.Done():
		logger.Info("pcesim: stopping")
		srv.Close()
		return <-served
	case err := <-served:
		srv.Close()
		return err
	}
}

// readCommands runs each line of r as a command until r ends; the end of
// stdin does not stop the simulator.
func readCommands(ctx context.Context, r io.Reader, w io.Writer, sh *shell) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if ctx.Err() != nil {
			return
		}
		sh.run(w, sc.Text())
	}
}

// updateLoop pushes a changed label stack to every delegated LSP of every
// PCC every period.
func updateLoop(ctx context.Context, srv *pce.Server, period time.Duration, logger *slog.Logger) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, p := range srv.PCCs() {
			for _, l := range p.LSPs() {
				if !l.Delegated {
					continue
				}
				if _, err := p.Update(l.PLSPID, nextLabels(l)); err != nil {
					logger.Warn("pcesim: periodic update failed", "pcc", p.RemoteAddr(), "plsp-id", l.PLSPID, "err", err)
				}
			}
		}
	}
}

// nextLabels returns a label stack different from l's: the bottom label moves
// to the next one in the SRGB 16000-23999; an empty stack gets the node SID
// of the endpoint.
func nextLabels(l pce.LSP) []uint32 {
	if len(l.Labels) == 0 {
		last := uint32(0)
		if l.Endpoint.IsValid() {
			b := l.Endpoint.AsSlice()
			last = uint32(b[len(b)-1])
		}
		return []uint32{16000 + last}
	}
	out := append([]uint32(nil), l.Labels...)
	b := out[len(out)-1]
	if b < 16000 || b >= 23999 {
		b = 16000
	} else {
		b++
	}
	out[len(out)-1] = b
	return out
}
