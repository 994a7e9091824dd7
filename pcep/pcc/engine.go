package pcc

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
)

// ErrStopped is returned by API calls made after Run has returned.
var ErrStopped = errors.New("pcc: engine stopped")

// ErrUnknownServer is returned by ClearSession and Resync for an address
// that is not a configured server.
var ErrUnknownServer = errors.New("pcc: no such server")

// ErrNoSession is returned by Resync when the server's session is not up.
var ErrNoSession = errors.New("pcc: session is not up")

// DefaultInitiateLimit is how many PCE-initiated LSPs the engine accepts
// before it answers PCInitiate with PCErr 19/6.
const DefaultInitiateLimit = 100000

// Snapshot is a consistent copy of the engine's operational state, taken in
// one step of the actor.
type Snapshot struct {
	Servers []ServerState
	LSPs    []LSPState
	// Selected is the server that holds the delegations, invalid if none.
	Selected netip.Addr
}

// Option configures an Engine.
type Option func(*Engine)

// WithClock sets the clock used for every engine timer (delegate-hold,
// state-timeout, reconnect backoff) and handed to the sessions.
func WithClock(c clock.Clock) Option { return func(e *Engine) { e.clock = c } }

// WithLogger sets the structured logger.
func WithLogger(l *slog.Logger) Option { return func(e *Engine) { e.log = l } }

// WithEventLogSize sets how many events Events() keeps for readers that resume.
func WithEventLogSize(n int) Option { return func(e *Engine) { e.eventSize = n } }

// WithInterfaceAddr replaces the lookup of source-interface's address (by
// default net.InterfaceByName and the interface's first address of the
// server's family). Tests use it to name interfaces that do not exist on the
// machine. The function is called with the interface name and returns the
// address to use; an error is recorded as the server's last error.
func WithInterfaceAddr(f func(name string) (netip.Addr, error)) Option {
	return func(e *Engine) {
		e.ifaceAddr = func(name string, v6 bool) (netip.Addr, error) {
			a, err := f(name)
			if err != nil {
				return netip.Addr{}, err
			}
			if a.Unmap().Is6() != v6 {
				return netip.Addr{}, fmt.Errorf("interface %s has no %s address", name, familyName(v6))
			}
			return a.Unmap(), nil
		}
	}
}

// WithInitiateLimit sets how many PCE-initiated LSPs are accepted (default
// DefaultInitiateLimit); beyond it PCInitiate is answered with PCErr 19/6.
func WithInitiateLimit(n int) Option { return func(e *Engine) { e.initLimit = n } }

// WithDialTimeout bounds the TCP connect of each attempt (default 30 s); the
// Open negotiation is bounded by the session's OpenWait and KeepWait.
func WithDialTimeout(d time.Duration) Option { return func(e *Engine) { e.dialTimeout = d } }

// Engine is the stateful PCC. Create it with New, start its actor loop with
// Run, then configure it with Apply (calls made before Run starts wait for
// it). All methods are safe for concurrent use.
type Engine struct {
	clock       clock.Clock
	log         *slog.Logger
	eventSize   int
	ifaceAddr   func(name string, v6 bool) (netip.Addr, error)
	initLimit   int
	dialTimeout time.Duration

	inbox   chan func()
	stopped chan struct{}
	runOnce sync.Once
	wg      sync.WaitGroup // goroutines the engine started (dials, session watchers)

	changes *ChangeQueue
	events  *EventLog

	// cfgMu guards cfgCopy, the applied configuration returned by Config.
	cfgMu   sync.Mutex
	cfgCopy Config

	// Everything below is owned by the actor goroutine.
	ctx       context.Context
	cfg       Config
	stopping  bool // Run is returning: sessions close without moving delegations
	servers   map[netip.Addr]*server
	srvList   []*server // sorted by rank, best first
	selected  *server
	lsps      []*lsp // every LSP; lsp.idx is its index
	byName    map[string]*lsp
	byID      map[uint32]*lsp
	nextPLSP  uint32
	pceCount  int
	routerID4 netip.Addr // source-interface or lsr-id address per family, when known
	routerID6 netip.Addr
	nextSess  uint8
	nextReqID uint32
	dirty     []*server // servers with queued reports
	scratch   []uint32  // labels of the update being checked
	epoch     uint32

	sweepTimer clock.Timer
	sweepAt    time.Time
	sweepGen   uint64
}

// New returns an engine with the default configuration and no servers.
func New(opts ...Option) *Engine {
	e := &Engine{
		clock:       clock.Real{},
		log:         slog.Default(),
		initLimit:   DefaultInitiateLimit,
		dialTimeout: 30 * time.Second,
		inbox:       make(chan func(), 1024),
		stopped:     make(chan struct{}),
		changes:     NewChangeQueue(),
		servers:     make(map[netip.Addr]*server),
		byName:      make(map[string]*lsp),
		byID:        make(map[uint32]*lsp),
		nextPLSP:    1,
		nextReqID:   1,
		cfg:         DefaultConfig(),
	}
	e.ifaceAddr = lookupInterfaceAddr
	for _, o := range opts {
		o(e)
	}
	e.events = NewEventLog(e.eventSize)
	e.cfgCopy = cloneConfig(e.cfg)
	return e
}

// Run is the actor loop: it owns the LSP database and the server table and
// processes messages from sessions, timers and API calls one at a time. It
// returns when ctx ends, after closing every session; it may be called once.
func (e *Engine) Run(ctx context.Context) error {
	first := false
	e.runOnce.Do(func() { first = true })
	if !first {
		return errors.New("pcc: Run called twice")
	}
	e.ctx = ctx
	defer func() {
		e.shutdown()
		close(e.stopped)
		e.wg.Wait()
	}()
	for {
		select {
		case f := <-e.inbox:
			f()
		case <-ctx.Done():
			return nil
		}
		// Reports are queued per server while messages keep coming and
		// written when the inbox is empty: several reports per PCRpt and
		// several PCRpt per write under load, no delay when idle.
		if len(e.inbox) == 0 && len(e.dirty) > 0 {
			e.flushAll()
		}
	}
}

// shutdown closes every session and stops every timer (actor, at exit).
func (e *Engine) shutdown() {
	e.stopping = true
	e.flushAll()
	for _, s := range e.servers {
		e.stop(s, "engine stopped", false)
	}
	if e.sweepTimer != nil {
		e.sweepTimer.Stop()
	}
}

// post hands f to the actor; it reports false when the engine has stopped.
func (e *Engine) post(f func()) bool {
	select {
	case e.inbox <- f:
		return true
	case <-e.stopped:
		return false
	}
}

// call runs f on the actor and returns its result. Once f is queued the
// caller waits for it even if ctx ends, so that a result is never reported
// for work that is still going to happen; f itself checks ctx first.
func (e *Engine) call(ctx context.Context, f func() error) error {
	done := make(chan error, 1)
	g := func() {
		if err := ctx.Err(); err != nil {
			done <- err
			return
		}
		done <- f()
	}
	select {
	case e.inbox <- g:
	case <-ctx.Done():
		return ctx.Err()
	case <-e.stopped:
		return ErrStopped
	}
	select {
	case err := <-done:
		return err
	case <-e.stopped:
		select {
		case err := <-done:
			return err
		default:
			return ErrStopped
		}
	}
}

// Apply validates cfg and, if it is valid, makes it the engine's
// configuration in one step: sessions are started, stopped or restarted,
// policies are added, changed or removed and reported, and delegations are
// recomputed. An invalid cfg returns a *ConfigError and changes nothing.
func (e *Engine) Apply(ctx context.Context, cfg Config) error {
	cfg = cloneConfig(cfg)
	return e.call(ctx, func() error {
		if err := e.validate(&cfg); err != nil {
			return err
		}
		e.apply(cfg)
		// cfg is never modified after this point (the engine and Config
		// only read it), so the engine and Config share it.
		e.cfgMu.Lock()
		e.cfgCopy = cfg
		e.cfgMu.Unlock()
		return nil
	})
}

// Config returns a copy of the configuration last applied.
func (e *Engine) Config() Config {
	e.cfgMu.Lock()
	defer e.cfgMu.Unlock()
	return cloneConfig(e.cfgCopy)
}

// Changes returns the queue of LSP and server state changes for telemetry.
func (e *Engine) Changes() *ChangeQueue { return e.changes }

// Events returns the log of typed delegation events.
func (e *Engine) Events() *EventLog { return e.events }

// Snapshot returns a copy of every server's and every LSP's state.
func (e *Engine) Snapshot(ctx context.Context) (Snapshot, error) {
	var snap Snapshot
	err := e.call(ctx, func() error {
		snap.Servers = make([]ServerState, 0, len(e.srvList))
		for _, s := range e.srvList {
			snap.Servers = append(snap.Servers, s.state(e))
		}
		snap.LSPs = make([]LSPState, 0, len(e.lsps))
		for _, l := range e.lsps {
			snap.LSPs = append(snap.LSPs, l.state())
		}
		if e.selected != nil {
			snap.Selected = e.selected.cfg.Address
		}
		return nil
	})
	return snap, err
}

// ClearSession closes the session to server (Close reason 1) and connects
// again at once.
func (e *Engine) ClearSession(ctx context.Context, server netip.Addr) error {
	return e.call(ctx, func() error {
		s := e.servers[server.Unmap()]
		if s == nil {
			return fmt.Errorf("%w: %s", ErrUnknownServer, server)
		}
		e.log.Info("pcep session cleared by operator", "server", s.cfg.Address)
		e.restart(s, "cleared by operator")
		return nil
	})
}

// Resync sends the full state synchronisation (every LSP with S=1, then the
// end marker) to server again.
func (e *Engine) Resync(ctx context.Context, server netip.Addr) error {
	return e.call(ctx, func() error {
		s := e.servers[server.Unmap()]
		if s == nil {
			return fmt.Errorf("%w: %s", ErrUnknownServer, server)
		}
		if s.sess == nil || !s.up {
			return fmt.Errorf("%w: %s", ErrNoSession, server)
		}
		e.stateSync(s)
		return nil
	})
}

// now returns the engine clock's time.
func (e *Engine) now() time.Time { return e.clock.Now() }

// emit appends an event to the log.
func (e *Engine) emit(kind EventKind, s *server, l *lsp, srpID uint32, detail string) {
	ev := Event{Time: e.now(), Kind: kind, SRPID: srpID, Detail: detail}
	if s != nil {
		ev.Server = s.cfg.Address
	}
	if l != nil {
		ev.LSP = l.name
		ev.PLSPID = l.plspID
	}
	e.events.Append(ev)
}

// cloneConfig returns a deep copy of c.
func cloneConfig(c Config) Config {
	c.Servers = append([]ServerConfig(nil), c.Servers...)
	pols := make([]PolicyConfig, len(c.Policies))
	for i, p := range c.Policies {
		if len(p.Labels) > 0 {
			p.Labels = append([]uint32(nil), p.Labels...)
		} else {
			p.Labels = nil
		}
		pols[i] = p
	}
	c.Policies = pols
	return c
}

// lookupInterfaceAddr returns the first address of interface name in the
// requested family.
func lookupInterfaceAddr(name string, v6 bool) (netip.Addr, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("source-interface %s: %w", name, err)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("source-interface %s: %w", name, err)
	}
	for _, a := range addrs {
		var ip net.IP
		switch v := a.(type) {
		case *net.IPNet:
			ip = v.IP
		case *net.IPAddr:
			ip = v.IP
		default:
			continue
		}
		addr, ok := netip.AddrFromSlice(ip)
		if !ok {
			continue
		}
		addr = addr.Unmap()
		if addr.Is6() != v6 || addr.IsLinkLocalUnicast() {
			continue
		}
		return addr, nil
	}
	return netip.Addr{}, fmt.Errorf("source-interface %s has no %s address", name, familyName(v6))
}

func familyName(v6 bool) string {
	if v6 {
		return "IPv6"
	}
	return "IPv4"
}
