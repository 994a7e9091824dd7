// Package agent is the gNMI face of pccagent: the configuration datastore
// (a ygot tree of the pcc-agent YANG model holding configuration only, loaded
// from and persisted to an RFC 7951 JSON file), Set transactions that apply a
// validated configuration to the PCEP engine all or nothing, Get served from
// the telemetry cache, Capabilities, and the wiring of the gRPC server.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/pccagent/pccagent/pcep/pcc"
)

// Engine is what the agent needs of the PCEP engine (*pcc.Engine): Apply
// validates and applies a whole configuration, all or nothing. Apply must
// not keep cfg's slices after it returns (the agent reuses them; the engine
// copies the configuration it is given).
type Engine interface {
	Apply(ctx context.Context, cfg pcc.Config) error
}

// Cache is the telemetry read model (*telemetry.Cache): every config and
// state leaf as gNMI leaves, paths rooted at pce-client without module
// prefix. The agent publishes config leaves and their state mirrors into it
// and serves Get from it.
type Cache interface {
	// Update applies the updates and deletes (deletes may be subtrees) of n
	// in one atomic step.
	Update(n *gnmi.Notification)
	// Query calls fn with the leaves under path (wildcards allowed).
	Query(path *gnmi.Path, fn func(*gnmi.Notification) error) error
}

// SubscribeFunc serves the whole gNMI Subscribe RPC (telemetry.Cache.Subscribe).
type SubscribeFunc func(stream gnmi.GNMI_SubscribeServer) error

// Agent is the gNMI server of pccagent and owner of the running
// configuration. Sets are serialised; Get and Subscribe read the cache.
type Agent struct {
	gnmi.UnimplementedGNMIServer

	schema     *schemaIndex
	engine     Engine
	cache      Cache
	subscribe  SubscribeFunc
	observeSet func(time.Duration, error)
	configPath string
	log        *slog.Logger
	now        func() time.Time

	mu      sync.Mutex // serialises Set; guards st and fileBuf
	st      *store
	fileBuf []byte // the config file of the last Set, reused
}

// Option configures an Agent.
type Option func(*Agent)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(a *Agent) { a.log = l } }

// WithSubscribe sets the function that serves Subscribe; without it
// Subscribe answers Unimplemented.
func WithSubscribe(f SubscribeFunc) Option { return func(a *Agent) { a.subscribe = f } }

// WithSetObserver makes every Set report its duration and result to f
// (metrics).
func WithSetObserver(f func(d time.Duration, err error)) Option {
	return func(a *Agent) { a.observeSet = f }
}

// WithClock sets the source of notification timestamps (default time.Now).
func WithClock(now func() time.Time) Option { return func(a *Agent) { a.now = now } }

// New loads the configuration file at configPath (missing = empty config),
// applies it to the engine and publishes its config and config-state leaves
// into the cache. An invalid file is an error that names the problem; the
// file is never written by New.
func New(ctx context.Context, configPath string, engine Engine, cache Cache, opts ...Option) (*Agent, error) {
	s, err := loadSchema()
	if err != nil {
		return nil, err
	}
	a := &Agent{schema: s, engine: engine, cache: cache, configPath: configPath, log: slog.Default(), now: time.Now}
	for _, o := range opts {
		o(a)
	}
	c, err := loadConfigFile(configPath)
	if err != nil {
		return nil, err
	}
	if err := engine.Apply(ctx, c.cfg); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("start interrupted: %w", ctx.Err())
		}
		return nil, fmt.Errorf("config file %s: refused by the PCEP engine: %w", configPath, err)
	}
	// One notification per entity (the global containers, each list
	// entry): nothing subscribes yet, so the start need not be one atomic
	// step, and small notifications keep the cache's work per update small.
	ts := a.now().UnixNano()
	err = s.eachEntityLeaves(c, func(leaves []leaf) {
		if len(leaves) == 0 {
			return
		}
		n := &gnmi.Notification{Timestamp: ts, Update: make([]*gnmi.Update, len(leaves))}
		for i, l := range leaves {
			n.Update[i] = &gnmi.Update{Path: l.path, Val: l.val}
		}
		cache.Update(n)
	})
	if err != nil {
		return nil, fmt.Errorf("publish configuration: %w", err)
	}
	a.st = c
	// Loading allocates several times the heap the running configuration
	// keeps (the decoded JSON, ygot's unmarshal and validation, the
	// encodings and leaves published): with 100,000 policies a peak of
	// hundreds of MB for a live heap a fraction of that. The runtime hands
	// freed pages back to the OS only gradually, so without this the agent
	// would show the peak as its RSS for minutes after the start. One forced
	// collection, once, before any client is served, returns it at once.
	debug.FreeOSMemory()
	a.log.Info("configuration loaded", "file", configPath, "servers", len(c.cfg.Servers), "policies", len(c.cfg.Policies))
	return a, nil
}

// Config returns a copy of the engine configuration made from the running
// configuration.
func (a *Agent) Config() pcc.Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.st.cfg
	c.Servers = slices.Clone(c.Servers)
	c.Policies = slices.Clone(c.Policies)
	for i := range c.Policies {
		c.Policies[i].Labels = slices.Clone(c.Policies[i].Labels)
	}
	return c
}

// Capabilities announces the pcc-agent model, the JSON, JSON_IETF and PROTO
// encodings and the gNMI version of the proto the server is built with.
func (a *Agent) Capabilities(ctx context.Context, req *gnmi.CapabilityRequest) (*gnmi.CapabilityResponse, error) {
	return &gnmi.CapabilityResponse{
		SupportedModels: []*gnmi.ModelData{{
			Name:         Module,
			Organization: ModelOrganization,
			Version:      ModelRevision,
		}},
		SupportedEncodings: []gnmi.Encoding{gnmi.Encoding_JSON, gnmi.Encoding_JSON_IETF, gnmi.Encoding_PROTO},
		GNMIVersion:        GNMIVersion(),
	}, nil
}

// GNMIVersion returns the gNMI service version declared by the gnmi.proto
// the server is built with.
func GNMIVersion() string {
	v, _ := proto.GetExtension(gnmi.File_github_com_openconfig_gnmi_proto_gnmi_gnmi_proto.Options(), gnmi.E_GnmiService).(string)
	return v
}

// Subscribe serves the Subscribe RPC with the telemetry cache.
func (a *Agent) Subscribe(stream gnmi.GNMI_SubscribeServer) error {
	if a.subscribe == nil {
		return status.Error(codes.Unimplemented, "Subscribe is not available")
	}
	return a.subscribe(stream)
}

// engineError maps an engine refusal to a gRPC status: a configuration the
// engine judges invalid is InvalidArgument, any other refusal Aborted.
func engineError(err error) error {
	var ce *pcc.ConfigError
	if errors.As(err, &ce) {
		return status.Errorf(codes.InvalidArgument, "refused by the PCEP engine: %v", err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return status.Errorf(codes.Aborted, "PCEP engine did not apply the change: %v", err)
	}
	return status.Errorf(codes.Aborted, "refused by the PCEP engine: %v", err)
}
