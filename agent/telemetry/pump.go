package telemetry

import (
	"context"
	"net/netip"
	"time"
	"unsafe"

	gpb "github.com/openconfig/gnmi/proto/gnmi"

	"github.com/pccagent/pccagent/pcep/pcc"
)

// Run pumps the engine's state changes from q into the cache until ctx
// ends, and then returns ctx.Err(). Each LSP change becomes one
// notification holding every leaf of /pce-client/lsps/lsp[name]/state,
// each server change one notification for
// /pce-client/servers/server[address]/state (counters included); a removed
// LSP or server becomes a delete of its list entry. After each batch Run
// also maintains /pce-client/state/lsp-count, delegated-lsp-count and
// selected-server (deleted when no server is selected). Run owns those
// paths: the agent core publishes only config-derived leaves. The changes
// of each batch taken from q reach the STREAM subscribers' queues together
// when the batch has been applied: one lock and one wake-up per subscriber
// per batch rather than per change.
//
// Only one Run may feed a cache at a time.
func (c *Cache) Run(ctx context.Context, q *pcc.ChangeQueue) error {
	p := newPump(c)
	p.publishSummary(true)
	var buf []pcc.Change
	for {
		var err error
		buf, err = q.Next(ctx, buf)
		if err != nil {
			return err
		}
		// The subscribers' queues are given the batch's changes at its end.
		c.batch(func() {
			for i := range buf {
				p.apply(&buf[i])
			}
			p.publishSummary(false)
		})
		clear(buf)
	}
}

// pump converts engine changes into notifications. It fills one template
// notification for every LSP change (see updateTemplate), so an LSP change
// costs no allocation beyond the values that changed, which the cache
// keeps.
type pump struct {
	c *Cache

	lsps      map[string]bool // name -> delegated
	delegated int
	selected  map[netip.Addr]bool
	published struct {
		lsps, delegated int
		selected        netip.Addr
		done            bool
	}

	lsp lspTemplate
}

func newPump(c *Cache) *pump {
	p := &pump{c: c, lsps: make(map[string]bool), selected: make(map[netip.Addr]bool)}
	p.lsp.init()
	return p
}

func (p *pump) now() int64 { return p.c.now().UnixNano() }

func (p *pump) apply(ch *pcc.Change) {
	switch {
	case ch.LSP != nil:
		name := ch.LSP.Name
		if ch.Removed {
			if d, ok := p.lsps[name]; ok {
				if d {
					p.delegated--
				}
				delete(p.lsps, name)
			}
			p.c.Update(&gpb.Notification{
				Timestamp: p.now(),
				Delete: []*gpb.Path{{Elem: []*gpb.PathElem{
					{Name: "pce-client"}, {Name: "lsps"}, {Name: "lsp", Key: map[string]string{"name": name}},
				}}},
			})
			return
		}
		if d, ok := p.lsps[name]; ok && d {
			p.delegated--
		}
		p.lsps[name] = ch.LSP.Delegated
		if ch.LSP.Delegated {
			p.delegated++
		}
		p.c.updateTemplate(p.lsp.fill(ch.LSP, p.now()), &p.lsp.index)
	case ch.Server != nil:
		addr := ch.Server.Config.Address
		if ch.Removed {
			delete(p.selected, addr)
			p.c.Update(&gpb.Notification{
				Timestamp: p.now(),
				Delete: []*gpb.Path{{Elem: []*gpb.PathElem{
					{Name: "pce-client"}, {Name: "servers"}, {Name: "server", Key: map[string]string{"address": addr.String()}},
				}}},
			})
			return
		}
		if ch.Server.Selected {
			p.selected[addr] = true
		} else {
			delete(p.selected, addr)
		}
		p.c.Update(serverNotification(ch.Server, p.now()))
	}
}

// publishSummary updates /pce-client/state counts and selected server when
// they changed (always when force is set).
func (p *pump) publishSummary(force bool) {
	var sel netip.Addr
	for a := range p.selected {
		if !sel.IsValid() || a.Less(sel) {
			sel = a
		}
	}
	pub := &p.published
	if !force && pub.done && pub.lsps == len(p.lsps) && pub.delegated == p.delegated && pub.selected == sel {
		return
	}
	pub.lsps, pub.delegated, pub.selected, pub.done = len(p.lsps), p.delegated, sel, true
	n := &gpb.Notification{
		Timestamp: p.now(),
		Prefix:    &gpb.Path{Elem: []*gpb.PathElem{{Name: "pce-client"}, {Name: "state"}}},
		Update: []*gpb.Update{
			leafUpdate("lsp-count", uintVal(uint64(len(p.lsps)))),
			leafUpdate("delegated-lsp-count", uintVal(uint64(p.delegated))),
		},
	}
	if sel.IsValid() {
		n.Update = append(n.Update, leafUpdate("selected-server", strVal(sel.String())))
	} else {
		n.Delete = []*gpb.Path{{Elem: []*gpb.PathElem{{Name: "selected-server"}}}}
	}
	p.c.Update(n)
}

func leafUpdate(name string, v *gpb.TypedValue) *gpb.Update {
	return &gpb.Update{Path: &gpb.Path{Elem: []*gpb.PathElem{{Name: name}}}, Val: v}
}

func uintVal(u uint64) *gpb.TypedValue {
	return &gpb.TypedValue{Value: &gpb.TypedValue_UintVal{UintVal: u}}
}

func strVal(s string) *gpb.TypedValue {
	return &gpb.TypedValue{Value: &gpb.TypedValue_StringVal{StringVal: s}}
}

func boolVal(b bool) *gpb.TypedValue {
	return &gpb.TypedValue{Value: &gpb.TypedValue_BoolVal{BoolVal: b}}
}

// unixNano returns t in ns since the epoch, 0 for the zero time.
func unixNano(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano())
}

// scratchAddr writes the text of a (empty for the zero Addr) into *buf
// and returns it as a string that is valid until the next call with buf.
func scratchAddr(buf *[]byte, a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	*buf = a.AppendTo((*buf)[:0])
	return unsafe.String(&(*buf)[0], len(*buf))
}

// serverNotification returns the notification of one server's state.
func serverNotification(s *pcc.ServerState, ts int64) *gpb.Notification {
	n := &gpb.Notification{
		Timestamp: ts,
		Prefix: &gpb.Path{Elem: []*gpb.PathElem{
			{Name: "pce-client"}, {Name: "servers"},
			{Name: "server", Key: map[string]string{"address": s.Config.Address.String()}},
			{Name: "state"},
		}},
	}
	add := func(name string, v *gpb.TypedValue) { n.Update = append(n.Update, leafUpdate(name, v)) }
	add("address", strVal(s.Config.Address.String()))
	add("port", uintVal(uint64(s.Config.Port)))
	add("preference", uintVal(uint64(s.Config.Preference)))
	add("description", strVal(s.Config.Description))
	add("session-state", strVal(s.SessionState.String()))
	add("selected", boolVal(s.Selected))
	if s.LocalAddress.IsValid() {
		add("local-address", strVal(s.LocalAddress.String()))
	} else {
		n.Delete = append(n.Delete, &gpb.Path{Elem: []*gpb.PathElem{{Name: "local-address"}}})
	}
	add("keepalive", uintVal(uint64(s.Keepalive)))
	add("dead-timer", uintVal(uint64(s.DeadTimer)))
	add("stateful", boolVal(s.Stateful))
	add("lsp-update", boolVal(s.LSPUpdate))
	add("lsp-instantiation", boolVal(s.LSPInstantiation))
	add("segment-routing", boolVal(s.SegmentRouting))
	add("last-error", strVal(s.LastError))
	add("last-state-change", uintVal(unixNano(s.LastStateChange)))
	counter := func(name string, v uint64) {
		n.Update = append(n.Update, &gpb.Update{
			Path: &gpb.Path{Elem: []*gpb.PathElem{{Name: "counters"}, {Name: name}}},
			Val:  uintVal(v),
		})
	}
	k := &s.Counters
	counter("messages-sent", k.MessagesSent)
	counter("messages-received", k.MessagesReceived)
	counter("pcrpt-sent", k.PCRptSent)
	counter("pcupd-received", k.PCUpdReceived)
	counter("pcinitiate-received", k.PCInitiateReceived)
	counter("pcerr-sent", k.PCErrSent)
	counter("pcerr-received", k.PCErrReceived)
	counter("pcreq-sent", k.PCReqSent)
	counter("pcrep-received", k.PCRepReceived)
	return n
}

// lspTemplate is a reusable notification for one LSP's state.
type lspTemplate struct {
	note       gpb.Notification
	key        map[string]string
	all        []*gpb.Update // every leaf, delegated-to included
	undeleg    []*gpb.Update // every leaf but delegated-to
	delDelegTo []*gpb.Path

	name, origin, endpoint, oper, delegTo *gpb.TypedValue_StringVal
	plspID, color, pref, updates, srpID   *gpb.TypedValue_UintVal
	lastChange                            *gpb.TypedValue_UintVal
	delegated                             *gpb.TypedValue_BoolVal
	labels                                *gpb.ScalarArray
	labelVals                             []*gpb.TypedValue

	// endpointText and delegToText hold the text of the addresses, reused
	// from change to change (updateTemplate copies what it keeps).
	endpointText, delegToText []byte
	index                     leafIndex
}

func (t *lspTemplate) init() {
	t.key = map[string]string{"name": ""}
	t.note.Prefix = &gpb.Path{Elem: []*gpb.PathElem{
		{Name: "pce-client"}, {Name: "lsps"}, {Name: "lsp", Key: t.key}, {Name: "state"},
	}}
	t.name, t.origin, t.endpoint, t.oper, t.delegTo = &gpb.TypedValue_StringVal{}, &gpb.TypedValue_StringVal{}, &gpb.TypedValue_StringVal{}, &gpb.TypedValue_StringVal{}, &gpb.TypedValue_StringVal{}
	t.plspID, t.color, t.pref, t.updates, t.srpID, t.lastChange = &gpb.TypedValue_UintVal{}, &gpb.TypedValue_UintVal{}, &gpb.TypedValue_UintVal{}, &gpb.TypedValue_UintVal{}, &gpb.TypedValue_UintVal{}, &gpb.TypedValue_UintVal{}
	t.delegated = &gpb.TypedValue_BoolVal{}
	t.labels = &gpb.ScalarArray{}
	leaves := []struct {
		name string
		v    *gpb.TypedValue
	}{
		{"name", &gpb.TypedValue{Value: t.name}},
		{"plsp-id", &gpb.TypedValue{Value: t.plspID}},
		{"origin", &gpb.TypedValue{Value: t.origin}},
		{"color", &gpb.TypedValue{Value: t.color}},
		{"endpoint", &gpb.TypedValue{Value: t.endpoint}},
		{"preference", &gpb.TypedValue{Value: t.pref}},
		{"oper-status", &gpb.TypedValue{Value: t.oper}},
		{"delegated", &gpb.TypedValue{Value: t.delegated}},
		{"delegated-to", &gpb.TypedValue{Value: t.delegTo}},
		{"labels", &gpb.TypedValue{Value: &gpb.TypedValue_LeaflistVal{LeaflistVal: t.labels}}},
		{"updates", &gpb.TypedValue{Value: t.updates}},
		{"last-srp-id", &gpb.TypedValue{Value: t.srpID}},
		{"last-change", &gpb.TypedValue{Value: t.lastChange}},
	}
	for _, l := range leaves {
		u := &gpb.Update{Path: &gpb.Path{Elem: []*gpb.PathElem{{Name: l.name}}}, Val: l.v}
		t.all = append(t.all, u)
		if l.name != "delegated-to" {
			t.undeleg = append(t.undeleg, u)
		}
	}
	t.delDelegTo = []*gpb.Path{{Elem: []*gpb.PathElem{{Name: "delegated-to"}}}}
}

// fill sets the template to l's state and returns it. Its address texts
// are scratch memory that the next fill overwrites: the result is for
// updateTemplate, which copies what it keeps, never for Update.
func (t *lspTemplate) fill(l *pcc.LSPState, ts int64) *gpb.Notification {
	t.note.Timestamp = ts
	t.key["name"] = l.Name
	t.name.StringVal = l.Name
	t.plspID.UintVal = uint64(l.PLSPID)
	t.origin.StringVal = l.Origin.String()
	t.color.UintVal = uint64(l.Color)
	t.endpoint.StringVal = scratchAddr(&t.endpointText, l.Endpoint)
	t.pref.UintVal = uint64(l.Preference)
	t.oper.StringVal = l.OperStatus.String()
	t.delegated.BoolVal = l.Delegated
	for len(t.labelVals) < len(l.Labels) {
		t.labelVals = append(t.labelVals, &gpb.TypedValue{Value: &gpb.TypedValue_UintVal{}})
	}
	t.labels.Element = t.labels.Element[:0]
	for i, x := range l.Labels {
		v := t.labelVals[i]
		v.Value.(*gpb.TypedValue_UintVal).UintVal = uint64(x)
		t.labels.Element = append(t.labels.Element, v)
	}
	t.updates.UintVal = l.Updates
	t.srpID.UintVal = uint64(l.LastSRPID)
	t.lastChange.UintVal = unixNano(l.LastChange)
	if l.Delegated && l.DelegatedTo.IsValid() {
		t.delegTo.StringVal = scratchAddr(&t.delegToText, l.DelegatedTo)
		t.note.Update = t.all
		t.note.Delete = nil
	} else {
		t.note.Update = t.undeleg
		t.note.Delete = t.delDelegTo
	}
	return &t.note
}
