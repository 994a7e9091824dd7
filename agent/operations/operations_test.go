package operations

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/pccagent/pccagent/gen/operationspb"
	"github.com/pccagent/pccagent/pcep/pcc"
)

// testTimeout bounds every wait of a test; no test relies on it for timing.
const testTimeout = 20 * time.Second

// fakeEngine records the calls the service makes and answers with err.
type fakeEngine struct {
	log *pcc.EventLog
	cfg pcc.Config

	mu      sync.Mutex
	err     error
	cleared []netip.Addr
	resyncd []netip.Addr
}

func newFakeEngine(logSize int, servers ...string) *fakeEngine {
	cfg := pcc.DefaultConfig()
	for _, s := range servers {
		cfg.Servers = append(cfg.Servers, pcc.ServerConfig{Address: netip.MustParseAddr(s), Port: 4189})
	}
	return &fakeEngine{log: pcc.NewEventLog(logSize), cfg: cfg}
}

func (f *fakeEngine) Events() *pcc.EventLog { return f.log }

// answer is what the engine answers for server a: ErrUnknownServer when it
// is not configured, like *pcc.Engine, else f.err.
func (f *fakeEngine) answer(a netip.Addr) error {
	for _, s := range f.cfg.Servers {
		if s.Address == a {
			return f.err
		}
	}
	return fmt.Errorf("%w: %s", pcc.ErrUnknownServer, a)
}

func (f *fakeEngine) ClearSession(_ context.Context, a netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleared = append(f.cleared, a)
	return f.answer(a)
}

func (f *fakeEngine) Resync(_ context.Context, a netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resyncd = append(f.resyncd, a)
	return f.answer(a)
}

// appendEvents appends n LSP events to the engine's log.
func (f *fakeEngine) appendEvents(n int) {
	for i := 0; i < n; i++ {
		f.log.Append(pcc.Event{
			Time:   time.Unix(1700000000, int64(i)),
			Kind:   pcc.EventLSPUpdated,
			Server: netip.MustParseAddr("192.0.2.10"),
			LSP:    fmt.Sprintf("lsp-%d", i),
			PLSPID: uint32(i + 1),
		})
	}
}

// serve starts a gRPC server with the service on 127.0.0.1:0 and returns a
// client connection to it.
func serve(t *testing.T, eng Engine, opts ...Option) *grpc.ClientConn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	Register(gs, eng, opts...)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = gs.Serve(ln)
	}()
	cc, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cc.Close()
		gs.Stop()
		<-done
	})
	return cc
}

func client(t *testing.T, eng Engine, opts ...Option) operationspb.OperationsClient {
	return operationspb.NewOperationsClient(serve(t, eng, opts...))
}

func TestClearSessionAndResyncCallTheEngineAndMapErrors(t *testing.T) {
	tests := []struct {
		name      string
		server    string
		engineErr error
		wantCode  codes.Code
		wantMsg   string
		wantCall  string // address the engine is called with; "" = not called
	}{
		{name: "ConfiguredIPv4ServerIsPassedToTheEngine", server: "192.0.2.10", wantCode: codes.OK, wantCall: "192.0.2.10"},
		{name: "ConfiguredIPv6ServerIsPassedToTheEngine", server: "2001:db8::1", wantCode: codes.OK, wantCall: "2001:db8::1"},
		{name: "IPv4MappedAddressMatchesTheIPv4Server", server: "::ffff:192.0.2.10", wantCode: codes.OK, wantCall: "192.0.2.10"},
		{name: "UnknownServerIsNotFound", server: "192.0.2.99", wantCode: codes.NotFound,
			wantMsg: "server 192.0.2.99 is not configured", wantCall: "192.0.2.99"},
		{name: "HostNameIsInvalidArgument", server: "pce1.example", wantCode: codes.InvalidArgument, wantMsg: "not an IP address"},
		{name: "EmptyServerIsInvalidArgument", server: "", wantCode: codes.InvalidArgument, wantMsg: "not an IP address"},
		{name: "AddressWithPortIsInvalidArgument", server: "192.0.2.10:4189", wantCode: codes.InvalidArgument},
		{name: "AddressWithZoneIsInvalidArgument", server: "fe80::1%eth0", wantCode: codes.InvalidArgument},
		{name: "SessionNotUpIsFailedPrecondition", server: "192.0.2.10", engineErr: fmt.Errorf("%w: 192.0.2.10", pcc.ErrNoSession),
			wantCode: codes.FailedPrecondition, wantMsg: "session to server 192.0.2.10 is not up", wantCall: "192.0.2.10"},
		{name: "StoppedEngineIsUnavailable", server: "192.0.2.10", engineErr: pcc.ErrStopped,
			wantCode: codes.Unavailable, wantMsg: "engine is not running", wantCall: "192.0.2.10"},
		{name: "OtherEngineErrorIsInternal", server: "192.0.2.10", engineErr: errors.New("table corrupt"),
			wantCode: codes.Internal, wantMsg: "table corrupt", wantCall: "192.0.2.10"},
	}
	rpcs := []struct {
		name  string
		call  func(ctx context.Context, c operationspb.OperationsClient, server string) error
		calls func(f *fakeEngine) []netip.Addr
	}{
		{
			name: "ClearSession",
			call: func(ctx context.Context, c operationspb.OperationsClient, server string) error {
				_, err := c.ClearSession(ctx, &operationspb.ClearSessionRequest{Server: server})
				return err
			},
			calls: func(f *fakeEngine) []netip.Addr { return f.cleared },
		},
		{
			name: "Resync",
			call: func(ctx context.Context, c operationspb.OperationsClient, server string) error {
				_, err := c.Resync(ctx, &operationspb.ResyncRequest{Server: server})
				return err
			},
			calls: func(f *fakeEngine) []netip.Addr { return f.resyncd },
		},
	}
	for _, rpc := range rpcs {
		for _, tt := range tests {
			t.Run(rpc.name+"/"+tt.name, func(t *testing.T) {
				eng := newFakeEngine(16, "192.0.2.10", "2001:db8::1")
				eng.err = tt.engineErr
				c := client(t, eng)
				ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
				defer cancel()
				err := rpc.call(ctx, c, tt.server)
				st := status.Convert(err)
				if st.Code() != tt.wantCode {
					t.Fatalf("code = %v (%v), want %v", st.Code(), err, tt.wantCode)
				}
				if !strings.Contains(st.Message(), tt.wantMsg) {
					t.Errorf("message %q does not contain %q", st.Message(), tt.wantMsg)
				}
				eng.mu.Lock()
				got := rpc.calls(eng)
				eng.mu.Unlock()
				var want []netip.Addr
				if tt.wantCall != "" {
					want = []netip.Addr{netip.MustParseAddr(tt.wantCall)}
				}
				if !slices.Equal(got, want) {
					t.Errorf("engine called with %v, want %v", got, want)
				}
			})
		}
	}
}

// recvN receives n events from stream and returns their sequence numbers.
func recvN(t *testing.T, stream grpc.ServerStreamingClient[operationspb.Event], n int) []uint64 {
	t.Helper()
	seqs := make([]uint64, 0, n)
	for len(seqs) < n {
		ev, err := stream.Recv()
		if err != nil {
			t.Fatalf("after %d events: %v", len(seqs), err)
		}
		seqs = append(seqs, ev.GetSequence())
	}
	return seqs
}

func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func TestWatchEventsResumesFromLastPlusOneWithoutGapOrDuplicate(t *testing.T) {
	tests := []struct {
		name       string
		before     int // events in the log before the first connection
		firstRead  int // events read by the first connection
		during     int // events appended while disconnected
		after      int // events appended after reconnecting
		batchSize  int
		wantTotals int
	}{
		{name: "ResumeInsideTheBacklog", before: 10, firstRead: 4, during: 0, after: 5, batchSize: 3, wantTotals: 15},
		{name: "ResumeAfterEventsAppendedWhileAway", before: 5, firstRead: 5, during: 7, after: 3, batchSize: 2, wantTotals: 15},
		{name: "ResumeAtTheHeadWaitsForNewEvents", before: 6, firstRead: 6, during: 0, after: 4, batchSize: 100, wantTotals: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := newFakeEngine(1000)
			eng.appendEvents(tt.before)
			c := client(t, eng, WithBatchSize(tt.batchSize))

			ctx1, cancel1 := context.WithTimeout(context.Background(), testTimeout)
			s1, err := c.WatchEvents(ctx1, &operationspb.WatchEventsRequest{FromSequence: 0})
			if err != nil {
				t.Fatal(err)
			}
			got := recvN(t, s1, tt.firstRead)
			cancel1() // disconnect

			eng.appendEvents(tt.during)
			ctx2, cancel2 := context.WithTimeout(context.Background(), testTimeout)
			defer cancel2()
			s2, err := c.WatchEvents(ctx2, &operationspb.WatchEventsRequest{FromSequence: got[len(got)-1] + 1})
			if err != nil {
				t.Fatal(err)
			}
			go eng.appendEvents(tt.after)
			got = append(got, recvN(t, s2, tt.wantTotals-len(got))...)
			if want := seqRange(1, uint64(tt.wantTotals)); !slices.Equal(got, want) {
				t.Errorf("sequences = %v, want %v", got, want)
			}
		})
	}
}

func TestWatchEventsOfADroppedOrFutureSequenceIsOutOfRange(t *testing.T) {
	// A log of 4 after 10 events keeps 7..10; the next sequence is 11.
	tests := []struct {
		name     string
		from     uint64
		wantCode codes.Code
		wantMsg  string
		wantSeq  uint64 // first sequence received when OK
	}{
		{name: "FirstSequenceWasDropped", from: 1, wantCode: codes.OutOfRange, wantMsg: "oldest available sequence is 7"},
		{name: "SequenceJustBeforeTheOldestWasDropped", from: 6, wantCode: codes.OutOfRange, wantMsg: "events from sequence 6 to 6 have been dropped"},
		{name: "BeyondTheNextSequence", from: 12, wantCode: codes.OutOfRange, wantMsg: "beyond the next event sequence 11"},
		{name: "ZeroStartsAtTheOldestKept", from: 0, wantCode: codes.OK, wantSeq: 7},
		{name: "OldestKeptIsAvailable", from: 7, wantCode: codes.OK, wantSeq: 7},
		{name: "NextSequenceWaitsForTheNextEvent", from: 11, wantCode: codes.OK, wantSeq: 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng := newFakeEngine(4)
			eng.appendEvents(10)
			c := client(t, eng)
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			stream, err := c.WatchEvents(ctx, &operationspb.WatchEventsRequest{FromSequence: tt.from})
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantCode == codes.OK && tt.wantSeq >= eng.log.Next() {
				eng.appendEvents(1)
			}
			ev, err := stream.Recv()
			st := status.Convert(err)
			if st.Code() != tt.wantCode {
				t.Fatalf("code = %v (%v), want %v", st.Code(), err, tt.wantCode)
			}
			if !strings.Contains(st.Message(), tt.wantMsg) {
				t.Errorf("message %q does not contain %q", st.Message(), tt.wantMsg)
			}
			if tt.wantCode == codes.OK && ev.GetSequence() != tt.wantSeq {
				t.Errorf("first sequence = %d, want %d", ev.GetSequence(), tt.wantSeq)
			}
		})
	}
}

// blockingStream is a WatchEvents stream whose Send waits for the test.
type blockingStream struct {
	grpc.ServerStreamingServer[operationspb.Event]
	ctx     context.Context
	sent    chan uint64
	release chan struct{}
}

func (b *blockingStream) Context() context.Context { return b.ctx }

func (b *blockingStream) Send(ev *operationspb.Event) error {
	b.sent <- ev.GetSequence()
	select {
	case <-b.release:
		return nil
	case <-b.ctx.Done():
		return b.ctx.Err()
	}
}

func TestWatchEventsOvertakenSlowReaderGetsOutOfRangeAndNeverBlocksAppends(t *testing.T) {
	eng := newFakeEngine(4)
	eng.appendEvents(1)
	srv := New(eng, WithBatchSize(1))
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	stream := &blockingStream{ctx: ctx, sent: make(chan uint64, 1), release: make(chan struct{})}
	errc := make(chan error, 1)
	go func() { errc <- srv.WatchEvents(&operationspb.WatchEventsRequest{}, stream) }()

	select {
	case seq := <-stream.sent:
		if seq != 1 {
			t.Fatalf("first event sequence = %d, want 1", seq)
		}
	case <-ctx.Done():
		t.Fatal("no event sent")
	}
	// The reader is stuck in Send: appending must not wait for it.
	eng.appendEvents(10) // sequences 2..11; the log keeps 8..11
	close(stream.release)

	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		t.Fatal("WatchEvents did not end")
	}
	st := status.Convert(err)
	if st.Code() != codes.OutOfRange || !strings.Contains(st.Message(), "oldest available sequence is 8") {
		t.Fatalf("err = %v, want OutOfRange naming oldest sequence 8", err)
	}
}

func TestWatchEventsArriveInOrderUnderConcurrentAppends(t *testing.T) {
	const writers, perWriter, readers = 4, 250, 3
	total := writers * perWriter
	eng := newFakeEngine(total)
	c := client(t, eng, WithBatchSize(7))
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	streams := make([]grpc.ServerStreamingClient[operationspb.Event], readers)
	for i := range streams {
		s, err := c.WatchEvents(ctx, &operationspb.WatchEventsRequest{FromSequence: 0})
		if err != nil {
			t.Fatal(err)
		}
		streams[i] = s
	}
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Go(func() {
			for i := 0; i < perWriter; i++ {
				eng.log.Append(pcc.Event{Kind: pcc.EventLSPReported, LSP: fmt.Sprintf("w%d-%d", w, i)})
			}
		})
	}
	results := make([][]string, readers)
	errs := make([]error, readers)
	var rg sync.WaitGroup
	for r, s := range streams {
		rg.Go(func() {
			var want uint64 = 1
			for len(results[r]) < total {
				ev, err := s.Recv()
				if err != nil {
					errs[r] = err
					return
				}
				if ev.GetSequence() != want {
					errs[r] = fmt.Errorf("got sequence %d, want %d", ev.GetSequence(), want)
					return
				}
				want++
				results[r] = append(results[r], ev.GetLsp())
			}
		})
	}
	wg.Wait()
	rg.Wait()
	for r := range readers {
		if errs[r] != nil {
			t.Fatalf("reader %d: %v", r, errs[r])
		}
		if !slices.Equal(results[r], results[0]) {
			t.Errorf("reader %d saw a different order than reader 0", r)
		}
		// Each writer's events appear in the order it appended them.
		next := make([]int, writers)
		for _, name := range results[r] {
			var w, i int
			if _, err := fmt.Sscanf(name, "w%d-%d", &w, &i); err != nil {
				t.Fatal(err)
			}
			if i != next[w] {
				t.Fatalf("reader %d: writer %d event %d arrived when %d was expected", r, w, i, next[w])
			}
			next[w]++
		}
	}
}

func TestWatchEventsStreamEndsWhenTheClientCancels(t *testing.T) {
	eng := newFakeEngine(8)
	c := client(t, eng)
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := c.WatchEvents(ctx, &operationspb.WatchEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := stream.Recv(); status.Code(err) != codes.Canceled {
		t.Fatalf("Recv after cancel = %v, want Canceled", err)
	}
}

func TestEventConversionCarriesEveryField(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	tests := []struct {
		name string
		in   pcc.Event
		want *operationspb.Event
	}{
		{
			name: "LSPEvent",
			in: pcc.Event{Seq: 42, Time: at, Kind: pcc.EventLSPDelegated, Server: netip.MustParseAddr("2001:db8::7"),
				LSP: "to-pe3", PLSPID: 5, SRPID: 9, Detail: "selected"},
			want: &operationspb.Event{Sequence: 42, Timestamp: at.UnixNano(), Kind: operationspb.Event_LSP_DELEGATED,
				Server: "2001:db8::7", Lsp: "to-pe3", PlspId: 5, SrpId: 9, Detail: "selected"},
		},
		{
			name: "NoServerAndNoTime",
			in:   pcc.Event{Seq: 1, Kind: pcc.EventLSPRemoved, LSP: "x"},
			want: &operationspb.Event{Sequence: 1, Kind: operationspb.Event_LSP_REMOVED, Lsp: "x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := toProto(&tt.in)
			if got.String() != tt.want.String() {
				t.Errorf("toProto = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEveryEngineEventKindHasTheSameNumberAndNameInTheProto(t *testing.T) {
	for k := pcc.EventSessionUp; k <= pcc.EventLSPRemoved; k++ {
		t.Run(k.String(), func(t *testing.T) {
			pk, ok := kinds[k]
			if !ok {
				t.Fatalf("no proto kind for %v", k)
			}
			if int32(pk) != int32(k) {
				t.Errorf("proto number %d, engine number %d", pk, k)
			}
			if name := strings.ToLower(strings.ReplaceAll(pk.String(), "_", "-")); name != k.String() {
				t.Errorf("proto name %s does not match engine name %s", pk, k)
			}
		})
	}
	if got, want := len(kinds), len(operationspb.Event_Kind_name)-1; got != want {
		t.Errorf("%d kinds mapped, the proto has %d", got, want)
	}
}

func TestRegisterEnablesServerReflection(t *testing.T) {
	cc := serve(t, newFakeEngine(4))
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	stream, err := reflectionpb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	if !slices.Contains(names, "pccagent.operations.v1.Operations") {
		t.Errorf("reflection lists %v, want pccagent.operations.v1.Operations", names)
	}
	// grpcurl describes and calls a service from the file descriptor.
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "pccagent.operations.v1.Operations"},
	}); err != nil {
		t.Fatal(err)
	}
	if resp, err = stream.Recv(); err != nil {
		t.Fatal(err)
	}
	if fds := resp.GetFileDescriptorResponse().GetFileDescriptorProto(); len(fds) == 0 {
		t.Errorf("no file descriptor for pccagent.operations.v1.Operations: %v", resp)
	}
	_ = stream.CloseSend()
	if _, err := stream.Recv(); err != nil && !errors.Is(err, io.EOF) {
		t.Errorf("closing reflection stream: %v", err)
	}
}

// The engine satisfies the interface the service is written against.
var _ Engine = (*pcc.Engine)(nil)

// startEngine runs a real engine configured with one server on a loopback
// port where nothing listens (its session never comes up); stop ends Run.
func startEngine(t *testing.T) (eng *pcc.Engine, server string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	eng = pcc.New(pcc.WithDialTimeout(time.Second), pcc.WithLogger(slog.New(slog.DiscardHandler)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	cfg := pcc.DefaultConfig()
	cfg.Servers = []pcc.ServerConfig{{Address: netip.MustParseAddr("127.0.0.1"), Port: uint16(port)}}
	actx, acancel := context.WithTimeout(context.Background(), testTimeout)
	defer acancel()
	if err := eng.Apply(actx, cfg); err != nil {
		cancel()
		<-done
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("engine Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return eng, "127.0.0.1", stop
}

func TestRealEngineErrorsMapToCodes(t *testing.T) {
	tests := []struct {
		name     string
		stopped  bool
		call     func(ctx context.Context, c operationspb.OperationsClient, server string) error
		server   string // "" = the configured server
		wantCode codes.Code
	}{
		{name: "ClearSessionOfConfiguredServerSucceeds", call: clearSession, wantCode: codes.OK},
		{name: "ClearSessionOfUnknownServerIsNotFound", call: clearSession, server: "127.0.0.99", wantCode: codes.NotFound},
		{name: "ResyncWithoutSessionIsFailedPrecondition", call: resync, wantCode: codes.FailedPrecondition},
		{name: "ResyncOfUnknownServerIsNotFound", call: resync, server: "::1", wantCode: codes.NotFound},
		{name: "ClearSessionOnStoppedEngineIsUnavailable", stopped: true, call: clearSession, wantCode: codes.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng, server, stop := startEngine(t)
			if tt.stopped {
				stop()
			}
			if tt.server != "" {
				server = tt.server
			}
			c := client(t, eng)
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			if err := tt.call(ctx, c, server); status.Code(err) != tt.wantCode {
				t.Fatalf("err = %v, want code %v", err, tt.wantCode)
			}
		})
	}
}

func clearSession(ctx context.Context, c operationspb.OperationsClient, server string) error {
	_, err := c.ClearSession(ctx, &operationspb.ClearSessionRequest{Server: server})
	return err
}

func resync(ctx context.Context, c operationspb.OperationsClient, server string) error {
	_, err := c.Resync(ctx, &operationspb.ResyncRequest{Server: server})
	return err
}
