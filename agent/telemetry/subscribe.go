package telemetry

import (
	"context"
	"errors"
	"io"
	"time"
	"unique"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pccagent/pccagent/pcep/clock"
)

// subscription is one compiled Subscription of a SubscriptionList.
type subscription struct {
	pat       pattern
	mode      gpb.SubscriptionMode // ON_CHANGE or SAMPLE (TARGET_DEFINED becomes ON_CHANGE)
	sample    time.Duration
	heartbeat time.Duration
	suppress  bool

	lastSeq  uint64    // SAMPLE: cache sequence number when the last sample was taken
	lastFull time.Time // SAMPLE: when all values were last sent
	next     time.Time // SAMPLE: next sample; ON_CHANGE: next heartbeat
}

// subscriber is one Subscribe RPC.
type subscriber struct {
	c           *Cache
	stream      gpb.GNMI_SubscribeServer
	mode        gpb.SubscriptionList_Mode
	prefix      *gpb.Path // origin and target to echo; nil when both are empty
	subs        []*subscription
	all         []pattern // every subscription's pattern
	onChange    []pattern // the ON_CHANGE subscriptions' patterns
	updatesOnly bool
	q           *queue

	shape   string                 // shapeKey of onChange and prefix
	shapeH  unique.Handle[string]  // shape, for noteKey
	pre     notePrefix             // prefix in wire form
	wire    *gpb.SubscribeResponse // reused to send encoded responses
	scratch []byte                 // sendAll's encoding buffer, reused
	drainer drainScratch           // drain's scratch

	group *subGroup // set by register
	// parked and out are guarded by group.dmu: the hold-down tick the
	// subscriber waits for (zero when it does not), and what another
	// member's drain took from its queue for it meanwhile.
	parked time.Time
	out    *outbox
}

// Subscribe serves the gNMI Subscribe RPC from the cache: ONCE, POLL and
// STREAM subscription lists, with ON_CHANGE, SAMPLE and TARGET_DEFINED
// (served as ON_CHANGE) subscriptions, updates_only, heartbeat_interval,
// suppress_redundant and wildcards. Each notification carries the changed
// leaves of one entity (one LSP, one server, or one top-level container)
// with full paths, and the request prefix's target and origin. Deletes are
// sent when an entity or leaves disappear. A STREAM subscriber that does
// not keep up loses intermediate values of an entity, never the latest one,
// and never slows Update.
func (c *Cache) Subscribe(stream gpb.GNMI_SubscribeServer) error {
	req, err := stream.Recv()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
	s, err := c.newSubscriber(stream, req)
	if err != nil {
		return err
	}
	ctx := stream.Context()
	switch s.mode {
	case gpb.SubscriptionList_ONCE:
		if !s.updatesOnly {
			if _, err := s.sendAll(s.all, 0); err != nil {
				return err
			}
		}
		return s.sendSync()
	case gpb.SubscriptionList_POLL:
		return s.poll(ctx)
	default:
		return s.streamLoop(ctx)
	}
}

func (c *Cache) newSubscriber(stream gpb.GNMI_SubscribeServer, req *gpb.SubscribeRequest) (*subscriber, error) {
	list := req.GetSubscribe()
	if list == nil {
		return nil, status.Error(codes.InvalidArgument, "the first SubscribeRequest must carry a SubscriptionList")
	}
	switch list.GetEncoding() {
	case gpb.Encoding_JSON, gpb.Encoding_JSON_IETF, gpb.Encoding_PROTO:
	default:
		return nil, status.Errorf(codes.Unimplemented, "encoding %v is not supported (JSON, JSON_IETF and PROTO are)", list.GetEncoding())
	}
	switch list.GetMode() {
	case gpb.SubscriptionList_STREAM, gpb.SubscriptionList_ONCE, gpb.SubscriptionList_POLL:
	default:
		return nil, status.Errorf(codes.InvalidArgument, "unknown subscription list mode %v", list.GetMode())
	}
	if len(list.GetSubscription()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "the SubscriptionList has no subscription")
	}
	pre := list.GetPrefix()
	if err := checkOrigin(pre.GetOrigin()); err != nil {
		return nil, err
	}
	s := &subscriber{
		c:           c,
		stream:      stream,
		mode:        list.GetMode(),
		updatesOnly: list.GetUpdatesOnly(),
		q:           newQueue(),
	}
	if pre.GetTarget() != "" || pre.GetOrigin() != "" {
		s.prefix = &gpb.Path{Target: pre.GetTarget(), Origin: pre.GetOrigin()}
	}
	for _, sub := range list.GetSubscription() {
		if err := checkOrigin(sub.GetPath().GetOrigin()); err != nil {
			return nil, err
		}
		// Clients such as gnmi_cli fill both the deprecated element field and
		// elem; elem wins. A path given only as deprecated elements is refused.
		if (len(sub.GetPath().GetElement()) > 0 && len(sub.GetPath().GetElem()) == 0) ||
			(len(pre.GetElement()) > 0 && len(pre.GetElem()) == 0) {
			return nil, status.Error(codes.InvalidArgument, "the deprecated path element field is not supported; use elem")
		}
		full := joinPath(pre, sub.GetPath())
		if err := c.validatePath(full); err != nil {
			return nil, err
		}
		cs := &subscription{pat: toPattern(full), mode: gpb.SubscriptionMode_ON_CHANGE}
		if s.mode == gpb.SubscriptionList_STREAM {
			switch sub.GetMode() {
			case gpb.SubscriptionMode_ON_CHANGE, gpb.SubscriptionMode_TARGET_DEFINED:
			case gpb.SubscriptionMode_SAMPLE:
				cs.mode = gpb.SubscriptionMode_SAMPLE
				cs.sample = time.Duration(sub.GetSampleInterval())
				if cs.sample == 0 {
					cs.sample = c.defaultSample
				}
				if cs.sample < c.minInterval {
					return nil, status.Errorf(codes.InvalidArgument, "sample_interval %v is below the minimum %v", cs.sample, c.minInterval)
				}
				cs.suppress = sub.GetSuppressRedundant()
			default:
				return nil, status.Errorf(codes.InvalidArgument, "unknown subscription mode %v", sub.GetMode())
			}
			cs.heartbeat = time.Duration(sub.GetHeartbeatInterval())
			if cs.heartbeat != 0 && cs.heartbeat < c.minInterval {
				return nil, status.Errorf(codes.InvalidArgument, "heartbeat_interval %v is below the minimum %v", cs.heartbeat, c.minInterval)
			}
		}
		s.subs = append(s.subs, cs)
		s.all = append(s.all, cs.pat)
		if cs.mode == gpb.SubscriptionMode_ON_CHANGE {
			s.onChange = append(s.onChange, cs.pat)
		}
	}
	s.shape = shapeKey(s.onChange, s.prefix)
	s.shapeH = unique.Make(s.shape)
	var err error
	if s.pre, err = newNotePrefix(s.prefix); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "prefix: %v", err)
	}
	return s, nil
}

// checkOrigin accepts the origins that name the pcc-agent tree.
func checkOrigin(o string) error {
	if o == "" || o == ModulePrefix {
		return nil
	}
	return status.Errorf(codes.InvalidArgument, "unsupported origin %q (use %q or an empty origin)", o, ModulePrefix)
}

func (c *Cache) validatePath(p *gpb.Path) error {
	if c.validate == nil {
		return nil
	}
	err := c.validate(p)
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Error(codes.NotFound, err.Error())
}

func (s *subscriber) sendSync() error {
	return s.stream.Send(&gpb.SubscribeResponse{Response: &gpb.SubscribeResponse_SyncResponse{SyncResponse: true}})
}

// sendAll sends the leaves ps name whose value changed after since (all of
// them for since 0), one notification per entity. It returns the cache
// sequence number at the time the entities were collected.
func (s *subscriber) sendAll(ps []pattern, since uint64) (uint64, error) {
	c := s.c
	c.mu.RLock()
	ents := c.collectLocked(ps)
	seq := c.seq
	c.mu.RUnlock()
	return seq, c.sendEntities(ents, ps, since, func(sn *snap) error {
		b, err := sn.appendResponse(s.scratch[:0], s.pre)
		if err != nil {
			return status.Errorf(codes.Internal, "encoding a notification: %v", err)
		}
		s.scratch = b
		return s.sendEncoded(b)
	})
}

// poll serves a POLL subscription list: the current values and a
// sync_response now (only the sync_response with updates_only), then again
// for every Poll request, until the client closes its side.
func (s *subscriber) poll(ctx context.Context) error {
	if !s.updatesOnly {
		if _, err := s.sendAll(s.all, 0); err != nil {
			return err
		}
	}
	if err := s.sendSync(); err != nil {
		return err
	}
	for {
		req, err := s.stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if req.GetPoll() == nil {
			return status.Error(codes.InvalidArgument, "a POLL subscription accepts only Poll requests")
		}
		if _, err := s.sendAll(s.all, 0); err != nil {
			return err
		}
		if err := s.sendSync(); err != nil {
			return err
		}
		if contextDone(ctx) {
			return ctx.Err()
		}
	}
}

// streamLoop serves a STREAM subscription list until the RPC ends.
func (s *subscriber) streamLoop(ctx context.Context) error {
	c := s.c
	c.register(s)
	defer c.unregister(s)

	errc := make(chan error, 1)
	go func() {
		for {
			req, err := s.stream.Recv()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					errc <- err
				}
				return
			}
			errc <- status.Errorf(codes.InvalidArgument, "a STREAM subscription accepts no further requests (got %T)", req.GetRequest())
			return
		}
	}()

	var seq uint64
	if s.updatesOnly {
		c.mu.RLock()
		seq = c.seq
		c.mu.RUnlock()
	} else {
		var err error
		if seq, err = s.sendAll(s.all, 0); err != nil {
			return err
		}
	}
	if err := s.sendSync(); err != nil {
		return err
	}
	now := time.Now()
	for _, sub := range s.subs {
		sub.lastSeq, sub.lastFull = seq, now
		switch {
		case sub.mode == gpb.SubscriptionMode_SAMPLE:
			sub.next = now.Add(sub.sample)
		case sub.heartbeat > 0:
			sub.next = now.Add(sub.heartbeat)
		}
	}

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	// ON_CHANGE hold-down: after a pass that sent changes, the next pass
	// waits for the next tick of the hold-down grid (see WithHoldDown).
	// hold is 0 when there is no hold-down.
	hold := c.holdDown()
	holdC := make(chan struct{}, 1)
	var holdTimer clock.Timer
	defer func() {
		if holdTimer != nil {
			holdTimer.Stop()
		}
	}()
	holding := false
	var holdUntil time.Time
	// startHold starts the hold-down that follows a pass that started at
	// start and took n markers, in place of any hold-down in progress.
	startHold := func(start time.Time, n int) {
		if holdTimer != nil {
			holdTimer.Stop()
			holdTimer = nil
		}
		select {
		case <-holdC:
		default:
		}
		holding = false
		// The next pass starts at the first tick after this one started:
		// at once if this one took that long.
		if now, next := c.clock.Now(), start.Truncate(hold).Add(hold); n > 0 && hold > 0 && now.Before(next) {
			holding, holdUntil = true, next
			holdTimer = c.clock.AfterFunc(next.Sub(now), func() {
				select {
				case holdC <- struct{}{}:
				default:
				}
			})
		}
	}
	var ob *outbox
	for {
		if ob != nil {
			// Another member's drain took a pass's changes for s: they
			// go before anything else.
			n, err := s.sendOutbox(ctx, ob)
			if err != nil {
				return err
			}
			startHold(ob.start, n)
			ob = nil
		}
		if err := s.runDue(time.Now()); err != nil {
			return err
		}
		if !holding {
			start := c.clock.Now()
			n, err := s.drainPass(ctx, -1)
			if err != nil {
				return err
			}
			startHold(start, n)
		}
		ready := s.q.ready
		if holding {
			ready = nil // changes coalesce in the queue until the tick
			s.park(holdUntil)
		}
		if wait, ok := s.nextDue(time.Now()); ok {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errc:
			return err
		case <-ready:
		case <-holdC:
			holding = false
		case <-timer.C:
		}
		if ready == nil {
			ob = s.unpark()
		}
	}
}

// sendOutbox sends what another member's drain took for s, and the
// markers that drain left in s's queue, and returns the number of markers
// sent.
func (s *subscriber) sendOutbox(ctx context.Context, ob *outbox) (int, error) {
	if ob.err != nil {
		return ob.taken, ob.err
	}
	for _, b := range ob.notes {
		if err := s.sendEncoded(b); err != nil {
			return ob.taken, err
		}
	}
	n := ob.taken
	if ob.left > 0 {
		m, err := s.drainPass(ctx, ob.left)
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// drainPass sends todo markers of the queue (what it holds when it is
// called, for todo < 0), in batches, and returns the number of markers
// taken. Changes queued meanwhile wait for the next pass.
func (s *subscriber) drainPass(ctx context.Context, todo int) (int, error) {
	if todo < 0 {
		todo = s.q.len()
	}
	total := 0
	for todo > 0 {
		n, err := s.drainWith(true)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
		todo -= n
		if todo > 0 && contextDone(ctx) {
			return total, ctx.Err()
		}
	}
	return total, nil
}

// nextDue returns how long until the next sample or heartbeat.
func (s *subscriber) nextDue(now time.Time) (time.Duration, bool) {
	var next time.Time
	for _, sub := range s.subs {
		if sub.next.IsZero() {
			continue
		}
		if next.IsZero() || sub.next.Before(next) {
			next = sub.next
		}
	}
	if next.IsZero() {
		return 0, false
	}
	return max(next.Sub(now), 0), true
}

// runDue takes the samples and sends the heartbeats that are due.
func (s *subscriber) runDue(now time.Time) error {
	for _, sub := range s.subs {
		if sub.next.IsZero() || now.Before(sub.next) {
			continue
		}
		ps := []pattern{sub.pat}
		if sub.mode == gpb.SubscriptionMode_SAMPLE {
			full := !sub.suppress || (sub.heartbeat > 0 && now.Sub(sub.lastFull) >= sub.heartbeat)
			since := sub.lastSeq
			if full {
				since = 0
			}
			seq, err := s.sendAll(ps, since)
			if err != nil {
				return err
			}
			sub.lastSeq = seq
			if full {
				sub.lastFull = now
			}
			sub.next = time.Now().Add(sub.sample)
			continue
		}
		// ON_CHANGE heartbeat: the current value of every subscribed leaf.
		if _, err := s.sendAll(ps, 0); err != nil {
			return err
		}
		sub.next = time.Now().Add(sub.heartbeat)
	}
	return nil
}
