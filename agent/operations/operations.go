// Package operations serves the agent's Operations gRPC service
// (proto/operations.proto): operator actions on the PCC engine's PCEP
// sessions (ClearSession, Resync) and WatchEvents, a resumable stream of the
// engine's typed delegation events.
//
// The service reads the engine's event log directly: every subscriber keeps
// its own position in the log, so a slow subscriber never blocks the engine
// or other subscribers; one that falls behind by more than the log keeps is
// told so with OUT_OF_RANGE instead of silently missing events.
package operations

import (
	"context"
	"errors"
	"net/netip"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/pccagent/pccagent/gen/operationspb"
	"github.com/pccagent/pccagent/pcep/pcc"
)

// Engine is what the service needs from the PCC engine (*pcc.Engine
// implements it).
type Engine interface {
	// Events returns the engine's event log.
	Events() *pcc.EventLog
	// ClearSession closes the session to a configured server and reconnects;
	// pcc.ErrUnknownServer for a server that is not configured.
	ClearSession(ctx context.Context, server netip.Addr) error
	// Resync resends the full state synchronisation to a configured server;
	// pcc.ErrUnknownServer as ClearSession, pcc.ErrNoSession when the
	// server's session is not up.
	Resync(ctx context.Context, server netip.Addr) error
}

// DefaultBatchSize is how many events WatchEvents reads from the log at a
// time: large enough to catch up quickly, small enough that a read holds the
// log's lock only briefly.
const DefaultBatchSize = 512

// Server implements operationspb.OperationsServer on top of an Engine.
type Server struct {
	operationspb.UnimplementedOperationsServer

	engine Engine
	batch  int
}

// Option configures a Server.
type Option func(*Server)

// WithBatchSize sets how many events WatchEvents reads from the log at a time
// (default DefaultBatchSize; values below 1 mean the default).
func WithBatchSize(n int) Option {
	return func(s *Server) {
		if n > 0 {
			s.batch = n
		}
	}
}

// New returns the service for engine.
func New(engine Engine, opts ...Option) *Server {
	s := &Server{engine: engine, batch: DefaultBatchSize}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Register registers the Operations service for engine on gs, and the gRPC
// server reflection service (unless it is already registered) so that tools
// such as grpcurl can list and call the services of gs without the .proto
// files. Call it before gs.Serve.
func Register(gs *grpc.Server, engine Engine, opts ...Option) *Server {
	s := New(engine, opts...)
	operationspb.RegisterOperationsServer(gs, s)
	if _, ok := gs.GetServiceInfo()["grpc.reflection.v1.ServerReflection"]; !ok {
		reflection.Register(gs)
	}
	return s
}

// ClearSession closes the session to the requested server; the engine then
// reconnects it.
func (s *Server) ClearSession(ctx context.Context, req *operationspb.ClearSessionRequest) (*operationspb.ClearSessionResponse, error) {
	addr, err := parseServer(req.GetServer())
	if err != nil {
		return nil, err
	}
	if err := s.engine.ClearSession(ctx, addr); err != nil {
		return nil, engineError(ctx, "clear session", addr, err)
	}
	return &operationspb.ClearSessionResponse{}, nil
}

// Resync makes the engine send the requested server a full state
// synchronisation.
func (s *Server) Resync(ctx context.Context, req *operationspb.ResyncRequest) (*operationspb.ResyncResponse, error) {
	addr, err := parseServer(req.GetServer())
	if err != nil {
		return nil, err
	}
	if err := s.engine.Resync(ctx, addr); err != nil {
		return nil, engineError(ctx, "resync", addr, err)
	}
	return &operationspb.ResyncResponse{}, nil
}

// parseServer parses a server address as the YANG model writes it: an IPv4
// or IPv6 address without zone or port. IPv4-mapped IPv6 addresses mean the
// IPv4 address.
func parseServer(server string) (netip.Addr, error) {
	addr, err := netip.ParseAddr(server)
	if err != nil || addr.Zone() != "" {
		return netip.Addr{}, status.Errorf(codes.InvalidArgument, "server %q is not an IP address", server)
	}
	return addr.Unmap(), nil
}

// engineError maps an error of the engine to a gRPC status, once, here at
// the boundary: an unknown server is NOT_FOUND, a session that is not up
// FAILED_PRECONDITION, a stopped engine UNAVAILABLE, the RPC's own
// cancellation or deadline keep their codes, anything else is INTERNAL.
func engineError(ctx context.Context, op string, addr netip.Addr, err error) error {
	switch {
	case errors.Is(err, pcc.ErrUnknownServer):
		return status.Errorf(codes.NotFound, "%s: server %s is not configured", op, addr)
	case errors.Is(err, pcc.ErrNoSession):
		return status.Errorf(codes.FailedPrecondition, "%s: the session to server %s is not up", op, addr)
	case errors.Is(err, pcc.ErrStopped):
		return status.Errorf(codes.Unavailable, "%s %s: the PCEP engine is not running", op, addr)
	case ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		return status.FromContextError(ctx.Err()).Err()
	}
	return status.Errorf(codes.Internal, "%s %s: %v", op, addr, err)
}

// WatchEvents streams every event with a sequence number >= from_sequence
// (0: the oldest event kept) in order and without gaps, then waits for new
// ones, until the client goes away. It never holds up the engine: it copies
// batches out of the event log and sends them at the client's pace; when
// the log has dropped the next event it needs, the stream ends with
// OUT_OF_RANGE naming the oldest sequence still available.
func (s *Server) WatchEvents(req *operationspb.WatchEventsRequest, stream grpc.ServerStreamingServer[operationspb.Event]) error {
	ctx := stream.Context()
	log := s.engine.Events()
	next := req.GetFromSequence()
	if limit := log.Next(); next > limit {
		return status.Errorf(codes.OutOfRange,
			"from_sequence %d is beyond the next event sequence %d (the agent restarted and numbers events from 1 again?); resume from 0 or from at most %d",
			next, limit, limit)
	}
	for {
		events, after, err := log.Read(next, s.batch)
		if errors.Is(err, pcc.ErrEventsDropped) {
			oldest := oldestKept(log)
			return status.Errorf(codes.OutOfRange,
				"events from sequence %d to %d have been dropped from the agent's event log; the oldest available sequence is %d (resume from it or from 0)",
				next, oldest-1, oldest)
		}
		if err != nil {
			return status.Errorf(codes.Internal, "read events from %d: %v", next, err)
		}
		for i := range events {
			if err := stream.Send(toProto(&events[i])); err != nil {
				return err
			}
		}
		next = after
		if len(events) == 0 {
			if err := log.Wait(ctx, next); err != nil {
				return status.FromContextError(err).Err()
			}
		}
	}
}

// oldestKept returns the sequence number of the oldest event in log, or the
// next sequence number if the log is empty.
func oldestKept(log *pcc.EventLog) uint64 {
	events, after, err := log.Read(0, 1)
	if err != nil || len(events) == 0 {
		return after
	}
	return events[0].Seq
}

// kinds maps pcc.EventKind to the proto enum; the numbers are the same by
// design, the table makes a mismatch a compile-time or test-time error.
var kinds = map[pcc.EventKind]operationspb.Event_Kind{
	pcc.EventSessionUp:        operationspb.Event_SESSION_UP,
	pcc.EventSessionDown:      operationspb.Event_SESSION_DOWN,
	pcc.EventLSPReported:      operationspb.Event_LSP_REPORTED,
	pcc.EventLSPDelegated:     operationspb.Event_LSP_DELEGATED,
	pcc.EventLSPRevoked:       operationspb.Event_LSP_REVOKED,
	pcc.EventLSPUpdated:       operationspb.Event_LSP_UPDATED,
	pcc.EventControlRequested: operationspb.Event_CONTROL_REQUESTED,
	pcc.EventControlGranted:   operationspb.Event_CONTROL_GRANTED,
	pcc.EventControlDenied:    operationspb.Event_CONTROL_DENIED,
	pcc.EventControlIgnored:   operationspb.Event_CONTROL_IGNORED,
	pcc.EventLSPInitiated:     operationspb.Event_LSP_INITIATED,
	pcc.EventLSPRemoved:       operationspb.Event_LSP_REMOVED,
}

// toProto converts an engine event to its wire form.
func toProto(e *pcc.Event) *operationspb.Event {
	out := &operationspb.Event{
		Sequence: e.Seq,
		Kind:     kinds[e.Kind],
		Lsp:      e.LSP,
		PlspId:   e.PLSPID,
		SrpId:    e.SRPID,
		Detail:   e.Detail,
	}
	if !e.Time.IsZero() {
		out.Timestamp = e.Time.UnixNano()
	}
	if e.Server.IsValid() {
		out.Server = e.Server.String()
	}
	return out
}
