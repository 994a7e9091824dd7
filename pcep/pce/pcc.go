package pce

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/pccagent/pccagent/pcep"
	"github.com/pccagent/pccagent/pcep/session"
)

// ErrSessionClosed is returned by the waits of a PCC whose session has ended
// before the awaited state was reached.
var ErrSessionClosed = errors.New("pce: PCC session closed")

// LSP is one LSP of a PCC's database, as the PCC last reported it.
type LSP struct {
	PLSPID uint32
	// Name is the SYMBOLIC-PATH-NAME.
	Name string
	// Delegated is the D flag: the PCC delegated the LSP to this PCE.
	Delegated bool
	// Create is the C flag: the LSP was initiated by a PCE (RFC 8281).
	Create bool
	// Oper is the operational status (pcep.OperDown ... pcep.OperGoingUp).
	Oper uint8
	// Labels is the label stack of the reported path (SR-ERO), top first.
	Labels []uint32
	// Color, Endpoint and Preference identify the SR policy candidate path:
	// from the SR Policy ASSOCIATION, the COLOR TLV, a VENDOR-INFORMATION
	// object of enterprise 9, or (endpoint only) the LSP-IDENTIFIERS TLV;
	// for an LSP this PCE initiated, from the PCInitiate until a report
	// says otherwise.
	Color      uint32
	Endpoint   netip.Addr
	Preference uint32
	// LastSRPID is the last SRP-ID the PCC echoed in a report of this LSP.
	LastSRPID uint32
}

// Recorded is one message in or out of a PCC session. The two OPENs of the
// negotiation are recorded too; keepalives are not (the session consumes
// them).
type Recorded struct {
	// In is true for a message from the PCC, false for one to it.
	In   bool
	Time time.Time
	Msg  pcep.Message
}

// ControlRequest is what became of an RFC 8741 control request.
type ControlRequest struct {
	SRPID uint32
	// PLSPID is the LSP asked for; 0 means every LSP of the PCC.
	PLSPID uint32
	// Granted and Denied list the LSPs the PCC reported with D=1 and D=0 in
	// answer (reports echoing the request's SRP-ID).
	Granted []uint32
	Denied  []uint32
	// Refused is set when the PCC answered with PCErr 19/1 or 19/3, which a
	// PCC without RFC 8741 support sends: a denial (rule 7).
	Refused bool
	// ErrType and ErrValue are that PCErr's type and value.
	ErrType, ErrValue uint8
}

// Answered reports whether the PCC answered the request in any way.
func (c ControlRequest) Answered() bool {
	return c.Refused || len(c.Granted) > 0 || len(c.Denied) > 0
}

// PCC is one connected PCC: its session, its LSP database and the calls a
// controller makes to it. Its methods may be called from any goroutine.
type PCC struct {
	srv    *Server
	logger *slog.Logger
	remote netip.AddrPort
	// registerOnce lists the PCC with the server; listed is guarded by the
	// server's mu.
	registerOnce sync.Once
	listed       bool

	// sendMu orders SRP-ID allocation and sending, so that SRP-IDs go out
	// in increasing order. It is taken before mu, never after.
	sendMu sync.Mutex

	mu       sync.Mutex
	sess     *session.Session
	ended    bool
	synced   bool
	lsps     map[uint32]LSP
	names    map[string]uint32
	lastSRP  uint32
	records  []Recorded
	controls []ControlRequest
	// initiated are the PCInitiates whose LSP has not been reported yet:
	// a PCC that reports no color (FRR pathd) gets the requested one.
	initiated []initiation
	// changeLog lists the PLSP-IDs of the LSPs changed while a WaitLSP is
	// in progress (lspWaiters > 0); logBase is the absolute position of
	// its first entry.
	lspWaiters int
	changeLog  []uint32
	logBase    int
	changed    notifier
}

// initiation is what a PCInitiate asked for, until the PCC reports the LSP.
type initiation struct {
	srpID    uint32
	color    uint32
	endpoint netip.Addr
}

func newPCC(s *Server, conn net.Conn) *PCC {
	remote := addrPort(conn.RemoteAddr())
	return &PCC{
		srv:    s,
		logger: s.logger.With("pcc", remote.String()),
		remote: remote,
		lsps:   make(map[uint32]LSP),
		names:  make(map[string]uint32),
	}
}

func (p *PCC) setSession(s *session.Session) {
	p.mu.Lock()
	p.sess = s
	p.mu.Unlock()
}

// end marks the session ended and wakes every waiter.
func (p *PCC) end() {
	p.mu.Lock()
	p.ended = true
	p.changed.notify()
	p.mu.Unlock()
	p.srv.notifyChanged()
}

// RemoteAddr returns the PCC's address and port.
func (p *PCC) RemoteAddr() netip.AddrPort { return p.remote }

// Session returns the PCEP session to the PCC.
func (p *PCC) Session() *session.Session {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sess
}

// Synced reports whether the PCC has finished its state synchronisation (the
// end-of-sync marker, a report with PLSP-ID 0, has arrived).
func (p *PCC) Synced() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.synced
}

// WaitSynced waits for the end of the state synchronisation. It fails when
// ctx ends or the session ends first.
func (p *PCC) WaitSynced(ctx context.Context) error {
	return p.wait(ctx, func() bool { return p.synced })
}

// wait waits until cond, called with mu held (so it must not call the PCC's
// methods), is true; it is evaluated again after every change of the PCC.
func (p *PCC) wait(ctx context.Context, cond func() bool) error {
	for {
		p.mu.Lock()
		if cond() {
			p.mu.Unlock()
			return nil
		}
		if p.ended {
			p.mu.Unlock()
			return ErrSessionClosed
		}
		ch := p.changed.wait()
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitLSP waits until the PCC's database has an LSP that satisfies pred and
// returns a copy of it. pred is called with the PCC's state locked (it must
// not call the PCC's methods): first on every LSP, then only on the LSPs
// that changed, so waiting during a large synchronisation stays cheap. It
// fails when ctx ends or the session ends first.
func (p *PCC) WaitLSP(ctx context.Context, pred func(LSP) bool) (LSP, error) {
	var found LSP
	match := func(l LSP) bool {
		if pred(l) {
			found = l
			found.Labels = slices.Clone(l.Labels)
			return true
		}
		return false
	}
	p.mu.Lock()
	p.lspWaiters++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.lspWaiters--
		if p.lspWaiters == 0 {
			p.logBase += len(p.changeLog)
			p.changeLog = p.changeLog[:0]
		}
		p.mu.Unlock()
	}()
	pos := -1 // absolute position in the change log; -1: scan everything
	err := p.wait(ctx, func() bool {
		if pos < 0 {
			pos = p.logBase + len(p.changeLog)
			for _, l := range p.lsps {
				if match(l) {
					return true
				}
			}
			return false
		}
		for ; pos < p.logBase+len(p.changeLog); pos++ {
			if l, ok := p.lsps[p.changeLog[pos-p.logBase]]; ok && match(l) {
				pos++
				return true
			}
		}
		return false
	})
	return found, err
}

// LSPs returns a copy of the LSP database, ordered by PLSP-ID.
func (p *PCC) LSPs() []LSP {
	p.mu.Lock()
	out := make([]LSP, 0, len(p.lsps))
	for _, l := range p.lsps {
		l.Labels = slices.Clone(l.Labels)
		out = append(out, l)
	}
	p.mu.Unlock()
	slices.SortFunc(out, func(a, b LSP) int { return int(a.PLSPID) - int(b.PLSPID) })
	return out
}

// LSPCount returns the number of LSPs in the database.
func (p *PCC) LSPCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.lsps)
}

// LSP returns the LSP with the given PLSP-ID.
func (p *PCC) LSP(plspID uint32) (LSP, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l, ok := p.lsps[plspID]
	l.Labels = slices.Clone(l.Labels)
	return l, ok
}

// LSPByName returns the LSP with the given symbolic name.
func (p *PCC) LSPByName(name string) (LSP, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id, ok := p.names[name]
	if !ok {
		return LSP{}, false
	}
	l, ok := p.lsps[id]
	l.Labels = slices.Clone(l.Labels)
	return l, ok
}

// Recorded returns every message recorded so far, in order.
func (p *PCC) Recorded() []Recorded {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.records)
}

// WaitRecorded returns the first recorded message (from the start of the
// session) that satisfies pred, waiting for it if needed. It fails when ctx
// ends, or when the session has ended and no record matches.
func (p *PCC) WaitRecorded(ctx context.Context, pred func(Recorded) bool) (Recorded, error) {
	var found Recorded
	next := 0
	err := p.wait(ctx, func() bool {
		for ; next < len(p.records); next++ {
			if pred(p.records[next]) {
				found = p.records[next]
				return true
			}
		}
		return false
	})
	return found, err
}

// ControlRequests returns the control requests sent to this PCC and their
// answers so far, oldest first.
func (p *PCC) ControlRequests() []ControlRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]ControlRequest, len(p.controls))
	for i, c := range p.controls {
		out[i] = cloneControl(c)
	}
	return out
}

// WaitControlAnswer waits until the PCC answered the control request with
// SRP-ID srpID (a grant, a denial, or a PCErr refusal) and returns it. A PCC
// that stays silent (RFC 8741 allows it) makes it wait until ctx ends.
func (p *PCC) WaitControlAnswer(ctx context.Context, srpID uint32) (ControlRequest, error) {
	var found ControlRequest
	err := p.wait(ctx, func() bool {
		for _, c := range p.controls {
			if c.SRPID == srpID && c.Answered() {
				found = cloneControl(c)
				return true
			}
		}
		return false
	})
	return found, err
}

func cloneControl(c ControlRequest) ControlRequest {
	c.Granted = slices.Clone(c.Granted)
	c.Denied = slices.Clone(c.Denied)
	return c
}

// Close closes the session with the given Close reason and waits until it
// has ended.
func (p *PCC) Close(reason uint8) error {
	s := p.Session()
	if s == nil {
		return ErrSessionClosed
	}
	err := s.Close(reason)
	<-s.Done()
	return err
}

// record appends a message to the recording when recording is on, and wakes
// waiters. Called with mu not held.
func (p *PCC) record(in bool, m pcep.Message) {
	if !p.srv.recording.Load() {
		return
	}
	r := Recorded{In: in, Time: p.srv.clock.Now(), Msg: m}
	p.mu.Lock()
	p.records = append(p.records, r)
	p.changed.notify()
	p.mu.Unlock()
	p.srv.notifyChanged()
}

// handle is the session handler: it records the message and applies it.
func (p *PCC) handle(s *session.Session, m pcep.Message) {
	p.srv.register(p, s)
	rec := p.srv.recording.Load()
	var now time.Time
	if rec {
		now = p.srv.clock.Now()
	}
	p.mu.Lock()
	if rec {
		p.records = append(p.records, Recorded{In: true, Time: now, Msg: m})
	}
	switch m := m.(type) {
	case *pcep.PCRpt:
		for i := range m.Reports {
			p.applyReport(&m.Reports[i])
		}
	case *pcep.PCErr:
		p.applyError(m)
	}
	p.changed.notify()
	p.mu.Unlock()
	p.srv.notifyChanged()
	if req, ok := m.(*pcep.PCReq); ok {
		// The path computer runs without locks: it may look at the PCC.
		if err := p.sendLocked(s, p.srv.reply(req)); err != nil {
			p.logger.Debug("pce: cannot send reply", "err", err)
		}
	}
}

// applyReport updates the database from one state report. mu is held.
func (p *PCC) applyReport(r *pcep.Report) {
	id := r.LSP.PLSPID
	if id == 0 {
		// End-of-synchronisation marker (RFC 8231 section 5.6). Its S flag
		// should be clear; a set one is tolerated.
		p.synced = true
		return
	}
	old, known := p.lsps[id]
	if r.LSP.Flags&pcep.LSPRemove != 0 {
		if known {
			delete(p.lsps, id)
			if p.names[old.Name] == id {
				delete(p.names, old.Name)
			}
		}
		p.answerControl(r, false)
		return
	}
	l := old
	l.PLSPID = id
	if !known && r.HasSRP && len(p.initiated) > 0 {
		// The first report of an LSP this PCE initiated.
		for i, in := range p.initiated {
			if in.srpID == r.SRP.SRPID {
				l.Color, l.Endpoint, l.Preference = in.color, in.endpoint, DefaultPreference
				p.initiated = slices.Delete(p.initiated, i, i+1)
				break
			}
		}
	}
	if r.LSP.SymbolicName != "" && r.LSP.SymbolicName != l.Name {
		if known && p.names[l.Name] == id {
			delete(p.names, l.Name)
		}
		l.Name = r.LSP.SymbolicName
		p.names[l.Name] = id
	}
	l.Delegated = r.LSP.Flags&pcep.LSPDelegate != 0
	l.Create = r.LSP.Flags&pcep.LSPCreate != 0
	l.Oper = r.LSP.Oper()
	l.Labels = appendLabels(l.Labels[:0], &r.ERO)
	if len(l.Labels) == 0 && r.RRO != nil {
		l.Labels = appendLabels(l.Labels, r.RRO)
	}
	policyKey(&l, r)
	if r.HasSRP && r.SRP.SRPID != 0 {
		l.LastSRPID = r.SRP.SRPID
	}
	p.lsps[id] = l
	if p.lspWaiters > 0 {
		p.changeLog = append(p.changeLog, id)
	}
	p.answerControl(r, l.Delegated)
}

// answerControl records a report echoing a control request's SRP-ID as its
// grant or denial. mu is held.
func (p *PCC) answerControl(r *pcep.Report, delegated bool) {
	if !r.HasSRP || r.SRP.SRPID == 0 || len(p.controls) == 0 {
		return
	}
	for i := len(p.controls) - 1; i >= 0; i-- {
		c := &p.controls[i]
		if c.SRPID != r.SRP.SRPID {
			continue
		}
		if delegated {
			c.Granted = append(c.Granted, r.LSP.PLSPID)
		} else {
			c.Denied = append(c.Denied, r.LSP.PLSPID)
		}
		return
	}
}

// applyError treats PCErr 19/1 and 19/3 about a control request as its
// denial (RFC 8741 rule 7: a PCC without the extension answers so). The
// request is the one named by the error's SRP, or else the latest one not
// yet answered. mu is held.
func (p *PCC) applyError(m *pcep.PCErr) {
	for _, b := range m.Errors {
		for _, e := range b.Errors {
			if e.Type != pcep.ErrInvalidOperation ||
				(e.Value != pcep.ValNonDelegatedUpdate && e.Value != pcep.ValUnknownPLSPID) {
				continue
			}
			c := p.controlFor(b.SRPs)
			if c == nil {
				continue
			}
			c.Refused = true
			c.ErrType, c.ErrValue = e.Type, e.Value
		}
	}
}

func (p *PCC) controlFor(srps []pcep.SRP) *ControlRequest {
	if len(srps) > 0 {
		for _, s := range srps {
			for i := range p.controls {
				if p.controls[i].SRPID == s.SRPID {
					return &p.controls[i]
				}
			}
		}
		return nil
	}
	for i := len(p.controls) - 1; i >= 0; i-- {
		if !p.controls[i].Answered() {
			return &p.controls[i]
		}
	}
	return nil
}

// appendLabels appends the MPLS labels of the SR subobjects of ero.
func appendLabels(dst []uint32, ero *pcep.ERO) []uint32 {
	for i := range ero.Subobjects {
		if l, ok := ero.Subobjects[i].Label(); ok {
			dst = append(dst, l)
		}
	}
	return dst
}

// Association type of SR policies in the drafts before RFC 9862, still sent
// by some PCCs (FRR pathd among them).
const assocSRPolicyDraft uint16 = 65505

// VENDOR-INFORMATION of enterprise 9 as FRR pathd and Cisco speakers use it:
// the enterprise-specific information is a TLV list in which type 1 (4
// bytes) is the SR policy color.
const (
	enterpriseCisco    uint32 = 9
	vendorTLVColor     uint16 = 1
	vendorColorTLVHead uint32 = 0x00010004 // type 1, length 4
)

// policyKey sets the color, endpoint and preference of l from what the report
// carries, most specific source last.
func policyKey(l *LSP, r *pcep.Report) {
	if id := r.LSP.Identifiers; id != nil && id.Endpoint.IsValid() && !id.Endpoint.IsUnspecified() {
		l.Endpoint = id.Endpoint
	}
	attrs := r.Attributes
	if attrs == nil {
		attrs = &noAttributes
	}
	for i := range attrs.VendorInfo {
		v := &attrs.VendorInfo[i]
		if v.Enterprise != enterpriseCisco {
			continue
		}
		if c, ok := vendorColor(v.Data); ok {
			l.Color = c
		}
	}
	if r.LSP.HasColor {
		l.Color = r.LSP.Color
	}
	for i := range attrs.Associations {
		a := &attrs.Associations[i]
		switch a.Type {
		case pcep.AssocSRPolicy:
			if a.Endpoint.IsValid() {
				l.Color, l.Endpoint = a.Color, a.Endpoint.Unmap()
			} else if c, ep, ok := extendedID(a.ExtendedID); ok {
				l.Color, l.Endpoint = c, ep
			}
		case assocSRPolicyDraft:
			if c, ep, ok := extendedID(a.ExtendedID); ok {
				l.Color, l.Endpoint = c, ep
			} else if a.Endpoint.IsValid() {
				l.Color, l.Endpoint = a.Color, a.Endpoint.Unmap()
			}
		default:
			continue
		}
		if a.HasPreference {
			l.Preference = a.Preference
		}
	}
}

// noAttributes stands for the attribute list of a report that has none.
var noAttributes pcep.Attributes

// extendedID decodes an SR policy EXTENDED-ASSOCIATION-ID: color (4 bytes)
// and endpoint (4 or 16 bytes).
func extendedID(b []byte) (uint32, netip.Addr, bool) {
	switch len(b) {
	case 8:
		return binary.BigEndian.Uint32(b), netip.AddrFrom4([4]byte(b[4:8])), true
	case 20:
		return binary.BigEndian.Uint32(b), netip.AddrFrom16([16]byte(b[4:20])).Unmap(), true
	}
	return 0, netip.Addr{}, false
}

// vendorColor finds the color TLV in enterprise-9 vendor information.
func vendorColor(b []byte) (uint32, bool) {
	for len(b) >= 4 {
		t := binary.BigEndian.Uint16(b)
		n := int(binary.BigEndian.Uint16(b[2:]))
		if len(b) < 4+n {
			return 0, false
		}
		if t == vendorTLVColor && n == 4 {
			return binary.BigEndian.Uint32(b[4:]), true
		}
		b = b[4+(n+3)&^3:]
	}
	return 0, false
}

// vendorColorData is the enterprise-9 vendor information carrying color.
func vendorColorData(color uint32) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint32(b, vendorColorTLVHead)
	binary.BigEndian.PutUint32(b[4:], color)
	return b
}

// nextSRPID returns a fresh SRP-ID: increasing from 1, skipping the
// reserved 0 and 0xFFFFFFFF. sendMu is held.
func (p *PCC) nextSRPID() uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastSRP++
	if p.lastSRP == 0 || p.lastSRP == 0xFFFFFFFF {
		p.lastSRP = 1
	}
	return p.lastSRP
}

// Send sends any message to the PCC as it is (recorded like every other):
// the way to provoke the PCC's error handling.
func (p *PCC) Send(m pcep.Message) error {
	s := p.Session()
	if s == nil {
		return ErrSessionClosed
	}
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	return p.sendLocked(s, m)
}

// sendLocked records and sends m. The record is made before the send so that
// the PCC's answer is never recorded before the message it answers.
func (p *PCC) sendLocked(s *session.Session, m pcep.Message) error {
	p.record(false, m)
	if err := s.Send(m); err != nil {
		return fmt.Errorf("pce: send %s to %s: %w", m.MessageType(), p.remote, err)
	}
	return nil
}

// request sends the message build makes with a fresh SRP-ID. register, when
// not nil, runs under mu before the send (to note a control request before
// its answer can arrive).
func (p *PCC) request(build func(srpID uint32) pcep.Message, register func(srpID uint32)) (uint32, error) {
	s := p.Session()
	if s == nil {
		return 0, ErrSessionClosed
	}
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	id := p.nextSRPID()
	m := build(id)
	if register != nil {
		p.mu.Lock()
		register(id)
		p.mu.Unlock()
	}
	if err := p.sendLocked(s, m); err != nil {
		return 0, err
	}
	return id, nil
}
