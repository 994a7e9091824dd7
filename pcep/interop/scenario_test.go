package interop

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pccagent/pccagent/pcep"
	"github.com/pccagent/pccagent/pcep/pcc"
	"github.com/pccagent/pccagent/pcep/pce"
)

// scenarioTimeout bounds the whole scenario and every wait in it, and the
// tshark run.
const scenarioTimeout = 20 * time.Second

// scenarioExpertWarn is Wireshark's PI_WARN severity (PI_ERROR is
// 0x00800000; PI_NOTE and PI_CHAT are below): an expert item at or above it
// fails the test.
const scenarioExpertWarn = 0x00600000

// scenarioChunk is what one Read or Write call on the PCE's connection
// carried: the bytes exactly as they crossed TCP, and their direction.
type scenarioChunk struct {
	fromPCC bool
	at      time.Time
	b       []byte
}

// scenarioConnLog is the byte log of one accepted connection.
type scenarioConnLog struct {
	remote netip.AddrPort
	chunks []scenarioChunk
}

// scenarioRecorder logs the bytes of every connection a scenarioListener
// accepted, in the order the PCE side saw them.
type scenarioRecorder struct {
	mu    sync.Mutex
	conns []*scenarioConnLog
}

// add appends a chunk to a connection's log and returns its index.
func (r *scenarioRecorder) add(c *scenarioConnLog, fromPCC bool, b []byte) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	c.chunks = append(c.chunks, scenarioChunk{fromPCC: fromPCC, at: time.Now(), b: bytes.Clone(b)})
	return len(c.chunks) - 1
}

// trim cuts a logged write down to the bytes the kernel took.
func (r *scenarioRecorder) trim(c *scenarioConnLog, i, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c.chunks[i].b = c.chunks[i].b[:n]
}

// logs returns a copy of every connection's log.
func (r *scenarioRecorder) logs() []scenarioConnLog {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]scenarioConnLog, len(r.conns))
	for i, c := range r.conns {
		out[i] = scenarioConnLog{remote: c.remote, chunks: append([]scenarioChunk(nil), c.chunks...)}
	}
	return out
}

// scenarioListener wraps the PCE's listener so that every accepted
// connection is recorded.
type scenarioListener struct {
	net.Listener
	rec *scenarioRecorder
}

func (l *scenarioListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	log := &scenarioConnLog{}
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		ap := a.AddrPort()
		log.remote = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	l.rec.mu.Lock()
	l.rec.conns = append(l.rec.conns, log)
	l.rec.mu.Unlock()
	return &scenarioConn{Conn: c, rec: l.rec, log: log}, nil
}

// scenarioConn records every byte read from (PCC to PCE) and written to
// (PCE to PCC) the connection. A write is logged before it is handed to the
// kernel, so that the PCC's answer to it can never be logged first.
type scenarioConn struct {
	net.Conn
	rec *scenarioRecorder
	log *scenarioConnLog
}

func (c *scenarioConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.rec.add(c.log, true, b[:n])
	}
	return n, err
}

func (c *scenarioConn) Write(b []byte) (int, error) {
	i := c.rec.add(c.log, false, b)
	n, err := c.Conn.Write(b)
	if n < len(b) {
		c.rec.trim(c.log, i, n)
	}
	return n, err
}

// scenarioWritePcap writes a connection's log as one TCP connection between
// pccAddr and pceAddr: each chunk is one segment, written by the PcapWriter
// of its direction. The writers number each direction's bytes; the
// acknowledgement number of a segment (which the writers leave at 1) is then
// set to the peer's next sequence number at that point of the log, with the
// TCP checksum recomputed, and frames take the time their chunk was logged.
func scenarioWritePcap(t *testing.T, file string, chunks []scenarioChunk, pccAddr, pceAddr netip.AddrPort) {
	t.Helper()
	start := time.Unix(1_700_000_000, 0)
	var bufs [2]bytes.Buffer // 0: PCC to PCE, 1: PCE to PCC
	var ws [2]*PcapWriter
	var err error
	if ws[0], err = NewPcapWriter(&bufs[0], pccAddr, pceAddr, start); err != nil {
		t.Fatal(err)
	}
	if ws[1], err = NewPcapWriter(&bufs[1], pceAddr, pccAddr, start); err != nil {
		t.Fatal(err)
	}
	out := bytes.Clone(bufs[0].Bytes()) // the global header, once
	bufs[0].Reset()
	bufs[1].Reset()

	const tcpOff = 16 + ethernetHeaderLen + ipv4HeaderLen // in a record
	type seg struct {
		dir int
		rec []byte
		seq uint32
		len uint32
		at  time.Time
	}
	segs := make([]seg, 0, len(chunks))
	var isn [2]uint32
	var seen [2]bool
	for _, c := range chunks {
		d := 0
		if !c.fromPCC {
			d = 1
		}
		if err := ws[d].WriteSegment(c.b); err != nil {
			t.Fatal(err)
		}
		rec := bytes.Clone(bufs[d].Bytes())
		bufs[d].Reset()
		seq := binary.BigEndian.Uint32(rec[tcpOff+4:])
		if !seen[d] {
			seen[d], isn[d] = true, seq
		}
		segs = append(segs, seg{dir: d, rec: rec, seq: seq, len: uint32(len(c.b)), at: c.at})
	}
	var sent [2]uint32
	last := start
	for _, s := range segs {
		// Timestamps follow the log, strictly increasing.
		at := s.at
		if !at.After(last) {
			at = last.Add(time.Microsecond)
		}
		last = at
		binary.LittleEndian.PutUint32(s.rec[0:], uint32(at.Unix()))
		binary.LittleEndian.PutUint32(s.rec[4:], uint32(at.Nanosecond()/1000))

		peer := 1 - s.dir
		tcp := s.rec[tcpOff:]
		binary.BigEndian.PutUint32(tcp[8:], isn[peer]+sent[peer])
		binary.BigEndian.PutUint16(tcp[16:], 0)
		ip := s.rec[16+ethernetHeaderLen : tcpOff]
		var pseudo [12]byte
		copy(pseudo[0:8], ip[12:20])
		pseudo[9] = 6
		binary.BigEndian.PutUint16(pseudo[10:], uint16(len(tcp)))
		binary.BigEndian.PutUint16(tcp[16:], checksum(sum(0, pseudo[:]), tcp))
		out = append(out, s.rec...)
		sent[s.dir] += s.len
	}
	if err := os.WriteFile(file, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// scenarioIDs are the identifiers the scenario produced, as the PCE role
// and the engine know them; the capture is checked against them.
type scenarioIDs struct {
	plsp             map[string]uint32 // by symbolic name
	update, control  uint32            // SRP-IDs of the PCUpds
	initiate, remove uint32            // SRP-IDs of the PCInitiates
	returnDelegation uint32
	pccAddr, pceAddr netip.AddrPort
	chunks           []scenarioChunk
}

// Policies and paths of the scenario.
var (
	scenarioUpdateLabels   = []uint32{16030, 16031, 16032}
	scenarioInitiateLabels = []uint32{16040, 16041}
	scenarioPolicies       = []pcc.PolicyConfig{
		{Name: "pol-a", Color: 100, Endpoint: netip.MustParseAddr("192.0.2.10"), Preference: 100, Delegate: true, Labels: []uint32{16010, 16020}},
		{Name: "pol-b", Color: 200, Endpoint: netip.MustParseAddr("192.0.2.11"), Preference: 100, Delegate: false, Labels: []uint32{16011}},
		// No labels: the engine asks the PCE (PCReq); the PCE's default
		// path computer answers 16000 + the endpoint's last octet.
		{Name: "pol-c", Color: 300, Endpoint: netip.MustParseAddr("192.0.2.12"), Preference: 100, Delegate: true},
	}
	scenarioComputedLabels = []uint32{16012}
)

// scenarioRun drives the PCC engine against the PCE role over loopback TCP
// through the whole scenario and returns what it recorded.
func scenarioRun(t *testing.T) scenarioIDs {
	t.Helper()
	logs := &lockedBuilder{} // the engine and PCE role logs, shown when the test fails
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("engine and PCE log:\n%s", logs.String())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
	defer cancel()

	// The PCE role, its listener wrapped so that every byte is recorded.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pceAddr := netip.MustParseAddrPort(ln.Addr().String())
	rec := &scenarioRecorder{}
	srv := pce.New(pce.WithLogger(logger.With("role", "pce")), pce.WithSegmentRouting(10))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(&scenarioListener{Listener: ln, rec: rec}) }()
	defer func() {
		srv.Close()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()

	// The PCC engine.
	eng := pcc.New(pcc.WithLogger(logger.With("role", "pcc")))
	runCtx, stopEngine := context.WithCancel(ctx)
	defer stopEngine()
	ran := make(chan error, 1)
	go func() { ran <- eng.Run(runCtx) }()
	engineStopped := false
	defer func() {
		if !engineStopped {
			stopEngine()
			<-ran
		}
	}()

	cfg := pcc.DefaultConfig()
	cfg.SegmentRouting = true
	cfg.MSD = 10
	cfg.Servers = []pcc.ServerConfig{{Address: pceAddr.Addr(), Port: pceAddr.Port(), Preference: 7}}
	cfg.Policies = scenarioPolicies
	if err := eng.Apply(ctx, cfg); err != nil {
		t.Fatalf("Apply: %v", err)
	}

	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	waitLSP := func(what string, p *pce.PCC, pred func(pce.LSP) bool) pce.LSP {
		t.Helper()
		l, err := p.WaitLSP(ctx, pred)
		must("waiting for "+what, err)
		return l
	}

	// Session up, state synchronisation and its end marker.
	p, err := srv.WaitPCC(ctx, nil)
	must("waiting for the PCC session", err)
	must("waiting for the end of synchronisation", p.WaitSynced(ctx))

	// Delegation of pol-a and pol-c; pol-b (delegate false) stays with the
	// PCC; pol-c gets its path from a PCReq/PCRep exchange.
	ids := scenarioIDs{plsp: map[string]uint32{}, pceAddr: pceAddr}
	a := waitLSP("pol-a delegated", p, func(l pce.LSP) bool { return l.Name == "pol-a" && l.Delegated })
	b := waitLSP("pol-b reported", p, func(l pce.LSP) bool { return l.Name == "pol-b" && !l.Delegated })
	c := waitLSP("pol-c delegated with the computed path", p, func(l pce.LSP) bool {
		return l.Name == "pol-c" && l.Delegated && slices.Equal(l.Labels, scenarioComputedLabels)
	})
	ids.plsp["pol-a"], ids.plsp["pol-b"], ids.plsp["pol-c"] = a.PLSPID, b.PLSPID, c.PLSPID

	// A PCUpd for pol-a; the PCRpt echoes its SRP-ID.
	ids.update, err = p.Update(a.PLSPID, scenarioUpdateLabels)
	must("Update", err)
	waitLSP("the update's report", p, func(l pce.LSP) bool {
		return l.PLSPID == a.PLSPID && l.LastSRPID == ids.update && slices.Equal(l.Labels, scenarioUpdateLabels)
	})

	// A control request for pol-b (delegate false): granted.
	ids.control, err = p.RequestControl(b.PLSPID)
	must("RequestControl", err)
	ans, err := p.WaitControlAnswer(ctx, ids.control)
	must("waiting for the control answer", err)
	if !slices.Equal(ans.Granted, []uint32{b.PLSPID}) || len(ans.Denied) != 0 || ans.Refused {
		t.Fatalf("control request for pol-b answered %+v, want a grant of PLSP-ID %d", ans, b.PLSPID)
	}

	// A PCE-initiated LSP, then its removal.
	ids.initiate, err = p.Initiate("pce-lsp", netip.MustParseAddr("192.0.2.20"), 400, scenarioInitiateLabels)
	must("Initiate", err)
	i := waitLSP("the initiated LSP's report", p, func(l pce.LSP) bool {
		return l.Name == "pce-lsp" && l.LastSRPID == ids.initiate && l.Delegated && l.Create
	})
	ids.plsp["pce-lsp"] = i.PLSPID
	ids.remove, err = p.Remove(i.PLSPID)
	must("Remove", err)
	_, err = p.WaitRecorded(ctx, func(r pce.Recorded) bool {
		rpt, ok := r.Msg.(*pcep.PCRpt)
		if !r.In || !ok {
			return false
		}
		for _, x := range rpt.Reports {
			if x.SRP.SRPID == ids.remove && x.LSP.PLSPID == i.PLSPID && x.LSP.Flags&pcep.LSPRemove != 0 {
				return true
			}
		}
		return false
	})
	must("waiting for the removal report", err)

	// The PCE returns pol-b's delegation.
	ids.returnDelegation, err = p.ReturnDelegation(b.PLSPID)
	must("ReturnDelegation", err)
	waitLSP("the return's report", p, func(l pce.LSP) bool {
		return l.PLSPID == b.PLSPID && l.LastSRPID == ids.returnDelegation && !l.Delegated
	})

	// pol-c removed from the configuration: PCRpt R=1.
	cfg.Policies = scenarioPolicies[:2]
	if err := eng.Apply(ctx, cfg); err != nil {
		t.Fatalf("Apply without pol-c: %v", err)
	}
	_, err = p.WaitRecorded(ctx, func(r pce.Recorded) bool {
		rpt, ok := r.Msg.(*pcep.PCRpt)
		if !r.In || !ok {
			return false
		}
		for _, x := range rpt.Reports {
			if x.LSP.PLSPID == c.PLSPID && x.LSP.Flags&pcep.LSPRemove != 0 {
				return true
			}
		}
		return false
	})
	must("waiting for pol-c's removal report", err)

	// Close: the engine stops, which closes its session (Close reason 1).
	sess := p.Session()
	stopEngine()
	engineStopped = true
	if err := <-ran; err != nil {
		t.Errorf("Run: %v", err)
	}
	select {
	case <-sess.Done():
	case <-ctx.Done():
		t.Fatalf("the PCE's session did not end after the engine stopped: %v", ctx.Err())
	}

	conns := rec.logs()
	if len(conns) != 1 {
		t.Fatalf("the PCE accepted %d connections, want 1", len(conns))
	}
	ids.pccAddr, ids.chunks = conns[0].remote, conns[0].chunks
	if !ids.pccAddr.Addr().Is4() {
		t.Fatalf("the PCC's address %v as the PCE saw it is not IPv4", ids.pccAddr)
	}
	return ids
}

// scenarioNode is one member of tshark's JSON output, in document order.
// tshark repeats keys (one "pcep" per message, one "pcep.obj.lsp" per LSP
// object), so the output is read token by token rather than into maps.
type scenarioNode struct {
	key  string
	val  string // for a leaf
	kids []*scenarioNode
}

// scenarioParseJSON reads one JSON value (tshark's -T json output) into a
// tree that keeps repeated keys and their order.
func scenarioParseJSON(dec *json.Decoder, key string) (*scenarioNode, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	n := &scenarioNode{key: key}
	switch tok := tok.(type) {
	case json.Delim:
		switch tok {
		case '{':
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				ks, ok := k.(string)
				if !ok {
					return nil, fmt.Errorf("tshark JSON: object key %v", k)
				}
				kid, err := scenarioParseJSON(dec, ks)
				if err != nil {
					return nil, err
				}
				n.kids = append(n.kids, kid)
			}
		case '[':
			// Array elements keep the array's key.
			for dec.More() {
				kid, err := scenarioParseJSON(dec, key)
				if err != nil {
					return nil, err
				}
				n.kids = append(n.kids, kid)
			}
		default:
			return nil, fmt.Errorf("tshark JSON: unexpected %v", tok)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
	case string:
		n.val = tok
	case nil:
	default:
		n.val = fmt.Sprint(tok)
	}
	return n, nil
}

// child returns the first direct child with key, or nil.
func (n *scenarioNode) child(key string) *scenarioNode {
	for _, k := range n.kids {
		if k.key == key {
			return k
		}
	}
	return nil
}

// all returns every descendant (depth first, in order) with key.
func (n *scenarioNode) all(key string) []*scenarioNode {
	var out []*scenarioNode
	var walk func(*scenarioNode)
	walk = func(x *scenarioNode) {
		for _, k := range x.kids {
			if k.key == key {
				out = append(out, k)
			}
			walk(k)
		}
	}
	walk(n)
	return out
}

// first returns the value of the first descendant with key, and whether
// there is one.
func (n *scenarioNode) first(key string) (string, bool) {
	if v := n.all(key); len(v) > 0 {
		return v[0].val, true
	}
	return "", false
}

// scenarioUint parses a tshark number (decimal or 0x hex).
func scenarioUint(t *testing.T, s string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		t.Fatalf("tshark value %q is not a number: %v", s, err)
	}
	return v
}

// scenarioMsg is one PCEP message as tshark dissected it.
type scenarioMsg struct {
	frame   int
	fromPCC bool
	typ     pcep.MessageType
	length  int
	node    *scenarioNode
	units   []scenarioUnit
}

// scenarioUnit is one report, update or initiation of a stateful message:
// its SRP object (if any), LSP object and ERO, as tshark read them.
type scenarioUnit struct {
	hasSRP     bool
	srpID      uint32
	srpFlags   uint32
	hasLSP     bool
	plspID     uint32
	d, s, r, c bool // LSP object flags
	name       string
	hasERO     bool
	labels     []uint32
}

func (u scenarioUnit) String() string {
	return fmt.Sprintf("{srp %t id %d flags %#x, plsp %d D=%t S=%t R=%t C=%t %q, ero %t %v}",
		u.hasSRP, u.srpID, u.srpFlags, u.plspID, u.d, u.s, u.r, u.c, u.name, u.hasERO, u.labels)
}

// scenarioUnits groups the SRP, LSP and ERO objects of a message (children
// of its "pcep" node, in order) into units: an SRP opens a unit, an LSP
// joins the unit its SRP opened or opens its own, an ERO closes it.
func scenarioUnits(t *testing.T, msg *scenarioNode) []scenarioUnit {
	t.Helper()
	var units []scenarioUnit
	var cur *scenarioUnit
	flag := func(o *scenarioNode, f string) bool {
		v, ok := o.first(f)
		if !ok {
			t.Fatalf("tshark shows no %s in an LSP object", f)
		}
		return scenarioUint(t, v) != 0
	}
	for _, o := range msg.kids {
		switch o.key {
		case "pcep.obj.srp":
			units = append(units, scenarioUnit{hasSRP: true})
			cur = &units[len(units)-1]
			v, _ := o.first("pcep.obj.srp.id-number")
			cur.srpID = uint32(scenarioUint(t, v))
			v, _ = o.first("pcep.obj.srp.flags")
			cur.srpFlags = uint32(scenarioUint(t, v))
		case "pcep.obj.lsp":
			if cur == nil || cur.hasLSP || cur.hasERO {
				units = append(units, scenarioUnit{})
				cur = &units[len(units)-1]
			}
			cur.hasLSP = true
			v, ok := o.first("pcep.obj.lsp.plsp-id")
			if !ok {
				t.Fatalf("tshark shows an LSP object without a PLSP-ID")
			}
			cur.plspID = uint32(scenarioUint(t, v))
			cur.d = flag(o, "pcep.obj.lsp.flags.delegate")
			cur.s = flag(o, "pcep.obj.lsp.flags.sync")
			cur.r = flag(o, "pcep.obj.lsp.flags.remove")
			cur.c = flag(o, "pcep.obj.lsp.flags.create")
			cur.name, _ = o.first("pcep.tlv.symbolic-path-name")
		case "pcep.obj.ero":
			if cur == nil {
				t.Fatalf("tshark shows an ERO before any SRP or LSP object")
			}
			cur.hasERO = true
			for _, l := range o.all("pcep.subobj.sr.sid.label") {
				cur.labels = append(cur.labels, uint32(scenarioUint(t, l.val)))
			}
			cur = nil
		}
	}
	return units
}

// scenarioDissect runs tshark on file with PCEP on port 4189 and returns
// every PCEP message it shows, in capture order, and the expert items of
// warning severity or worse (malformed packets included).
func scenarioDissect(t *testing.T, tshark, file string, pcePort uint16) (msgs []scenarioMsg, problems []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, tshark, "-n", "-r", file, "-d", "tcp.port==4189,pcep",
		"-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-T", "json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tshark: %v\n%s", err, stderr.String())
	}
	root, err := scenarioParseJSON(json.NewDecoder(&stdout), "")
	if err != nil {
		t.Fatalf("tshark JSON: %v", err)
	}
	for _, pkt := range root.kids {
		src := pkt.child("_source")
		if src == nil || src.child("layers") == nil {
			t.Fatalf("tshark JSON: packet without _source.layers")
		}
		layers := src.child("layers")
		fv, _ := layers.first("frame.number")
		frame := int(scenarioUint(t, fv))
		for range layers.all("_ws.malformed") {
			problems = append(problems, fmt.Sprintf("frame %d: malformed packet", frame))
		}
		for _, e := range layers.all("_ws.expert") {
			sev, _ := e.first("_ws.expert.severity")
			msg, _ := e.first("_ws.expert.message")
			if sev == "" || scenarioUint(t, sev) >= scenarioExpertWarn {
				problems = append(problems, fmt.Sprintf("frame %d: expert %s: %s", frame, sev, msg))
			} else {
				t.Logf("frame %d: expert note (severity %s): %s", frame, sev, msg)
			}
		}
		tcp := layers.child("tcp")
		if tcp == nil {
			t.Fatalf("tshark JSON: frame %d has no TCP layer", frame)
		}
		sp, _ := tcp.first("tcp.srcport")
		fromPCC := scenarioUint(t, sp) != uint64(pcePort)
		for _, p := range layers.kids {
			if p.key != "pcep" {
				continue
			}
			tv, ok := p.first("pcep.msg")
			if !ok {
				t.Fatalf("tshark JSON: frame %d: a PCEP message without a type", frame)
			}
			lv, _ := p.first("pcep.msg_length")
			m := scenarioMsg{frame: frame, fromPCC: fromPCC, typ: pcep.MessageType(scenarioUint(t, tv)), length: int(scenarioUint(t, lv)), node: p}
			switch m.typ {
			case pcep.TypePCRpt, pcep.TypePCUpd, pcep.TypePCInitiate:
				m.units = scenarioUnits(t, p)
			}
			msgs = append(msgs, m)
		}
	}
	return msgs, problems
}

// scenarioTypeName names a message type for the report.
func scenarioTypeName(typ pcep.MessageType) string {
	names := map[pcep.MessageType]string{
		pcep.TypeOpen: "Open", pcep.TypeKeepalive: "Keepalive", pcep.TypePCReq: "PCReq",
		pcep.TypePCRep: "PCRep", pcep.TypePCNtf: "PCNtf", pcep.TypePCErr: "PCErr",
		pcep.TypeClose: "Close", pcep.TypePCRpt: "PCRpt", pcep.TypePCUpd: "PCUpd",
		pcep.TypePCInitiate: "PCInitiate",
	}
	if n, ok := names[typ]; ok {
		return n
	}
	return "type " + strconv.Itoa(int(typ))
}

// TestScenarioCaptureDecodesCleanly runs a full PCC/PCE scenario (session
// up, state synchronisation, delegation, a path computed by PCReq/PCRep, an
// update, a control request, a PCE-initiated LSP and its removal, a return
// of delegation, a policy removal, Close) over loopback TCP, writes the
// bytes that crossed the connection into a pcap file as one TCP connection,
// and checks that tshark's PCEP dissector reads every message of it, with
// the identifiers and flags the scenario used and no malformed packet or
// expert warning.
func TestScenarioCaptureDecodesCleanly(t *testing.T) {
	tshark := requireProgram(t, "tshark")
	ids := scenarioRun(t)

	// The synthetic connection keeps the PCC's address and port; the PCE
	// side gets the well-known port, where tshark looks for PCEP.
	const pcePort = 4189
	file := filepath.Join(t.TempDir(), "scenario.pcap")
	scenarioWritePcap(t, file, ids.chunks, ids.pccAddr, netip.AddrPortFrom(ids.pceAddr.Addr(), pcePort))

	msgs, problems := scenarioDissect(t, tshark, file, pcePort)
	for _, p := range problems {
		t.Error(p)
	}

	// The frame-level view of the existing helper agrees: no malformed
	// frame, no expert item of warning severity or worse.
	frames := runTshark(t, tshark, file, []string{"frame.number", "_ws.malformed", "_ws.expert.severity", "_ws.expert.message"})
	if len(frames) == 0 {
		t.Fatal("tshark shows no frame")
	}
	for _, f := range frames {
		if len(f["_ws.malformed"]) > 0 {
			t.Errorf("frame %v: malformed: %v", f["frame.number"], f["_ws.malformed"])
		}
		for _, sev := range f["_ws.expert.severity"] {
			if v, err := strconv.ParseUint(sev, 0, 32); err != nil || v >= scenarioExpertWarn {
				t.Errorf("frame %v: expert severity %s; the frame's expert messages: %q", f["frame.number"], sev, f["_ws.expert.message"])
			}
		}
	}

	scenarioCheckFraming(t, ids.chunks, msgs)
	scenarioCheckContent(t, ids, msgs)
}

// scenarioCheckFraming checks that tshark shows, in each direction, exactly
// the messages that crossed the connection: same types, same lengths, same
// order. The reference is the recorded byte stream cut by SplitMessages.
func scenarioCheckFraming(t *testing.T, chunks []scenarioChunk, msgs []scenarioMsg) {
	t.Helper()
	for _, fromPCC := range []bool{true, false} {
		dir := "PCE to PCC"
		if fromPCC {
			dir = "PCC to PCE"
		}
		var stream []byte
		for _, c := range chunks {
			if c.fromPCC == fromPCC {
				stream = append(stream, c.b...)
			}
		}
		wire, rest, err := SplitMessages(stream)
		if err != nil || len(rest) != 0 {
			t.Errorf("%s: the recorded stream does not split into whole messages: %v, %d bytes left", dir, err, len(rest))
		}
		var seen []scenarioMsg
		for _, m := range msgs {
			if m.fromPCC == fromPCC {
				seen = append(seen, m)
			}
		}
		counts := map[string]int{}
		for _, m := range seen {
			counts[scenarioTypeName(m.typ)]++
		}
		t.Logf("%s: %d messages on the wire, tshark shows %d: %v", dir, len(wire), len(seen), counts)
		if len(seen) != len(wire) {
			t.Errorf("%s: tshark shows %d messages, %d crossed the connection", dir, len(seen), len(wire))
		}
		for i := range min(len(seen), len(wire)) {
			typ := pcep.MessageType(wire[i][1])
			if seen[i].typ != typ || seen[i].length != len(wire[i]) {
				t.Errorf("%s message %d: tshark shows %s of %d bytes (frame %d), the wire has %s of %d bytes",
					dir, i, scenarioTypeName(seen[i].typ), seen[i].length, seen[i].frame, scenarioTypeName(typ), len(wire[i]))
			}
		}
	}
}

// scenarioCheckContent checks the scenario's story in tshark's view of it.
func scenarioCheckContent(t *testing.T, ids scenarioIDs, msgs []scenarioMsg) {
	t.Helper()
	count := map[bool]map[pcep.MessageType]int{true: {}, false: {}}
	for _, m := range msgs {
		count[m.fromPCC][m.typ]++
	}
	// Who sends what: every message type of the scenario is there.
	for _, w := range []struct {
		fromPCC bool
		typ     pcep.MessageType
	}{
		{true, pcep.TypeOpen}, {false, pcep.TypeOpen},
		{true, pcep.TypeKeepalive}, {false, pcep.TypeKeepalive},
		{true, pcep.TypePCRpt}, {true, pcep.TypePCReq}, {true, pcep.TypeClose},
		{false, pcep.TypePCRep}, {false, pcep.TypePCUpd}, {false, pcep.TypePCInitiate},
	} {
		if count[w.fromPCC][w.typ] == 0 {
			t.Errorf("tshark shows no %s from the %s", scenarioTypeName(w.typ), map[bool]string{true: "PCC", false: "PCE"}[w.fromPCC])
		}
	}
	for _, fromPCC := range []bool{true, false} {
		if n := count[fromPCC][pcep.TypePCErr]; n != 0 {
			t.Errorf("tshark shows %d PCErr (from PCC: %t); the scenario has none", n, fromPCC)
		}
	}
	var pccMsgs, pceMsgs []scenarioMsg
	for _, m := range msgs {
		if m.fromPCC {
			pccMsgs = append(pccMsgs, m)
		} else {
			pceMsgs = append(pceMsgs, m)
		}
	}
	if len(pccMsgs) == 0 || len(pceMsgs) == 0 {
		t.Fatalf("tshark shows %d messages from the PCC and %d from the PCE", len(pccMsgs), len(pceMsgs))
	}
	if pccMsgs[0].typ != pcep.TypeOpen || pceMsgs[0].typ != pcep.TypeOpen {
		t.Errorf("first messages: %s from the PCC, %s from the PCE; want Open", scenarioTypeName(pccMsgs[0].typ), scenarioTypeName(pceMsgs[0].typ))
	}
	if last := pccMsgs[len(pccMsgs)-1]; last.typ != pcep.TypeClose {
		t.Errorf("the PCC's last message is %s, want Close", scenarioTypeName(last.typ))
	} else if v, _ := last.node.first("pcep.obj.close.reason"); v != "1" {
		t.Errorf("Close reason %q, want 1 (no explanation)", v)
	}

	// Units of the PCC's reports, in order, with the frame of their message.
	type unitAt struct {
		scenarioUnit
		frame int
		typ   pcep.MessageType
	}
	var reports, requests []unitAt
	for _, m := range msgs {
		for _, u := range m.units {
			if m.fromPCC && m.typ == pcep.TypePCRpt {
				reports = append(reports, unitAt{u, m.frame, m.typ})
			} else if !m.fromPCC {
				requests = append(requests, unitAt{u, m.frame, m.typ})
			}
		}
	}
	a, b, c, in := ids.plsp["pol-a"], ids.plsp["pol-b"], ids.plsp["pol-c"], ids.plsp["pce-lsp"]
	if a == 0 || b == 0 || c == 0 || in == 0 || a == b || a == c || b == c || in == a || in == b || in == c {
		t.Errorf("PLSP-IDs %v: want four distinct non-zero values", ids.plsp)
	}

	// State synchronisation: the three policies with S=1 (pol-a and pol-c
	// delegated, pol-b not), then the end marker: PLSP-ID 0, S=0, an empty
	// ERO.
	end := -1
	for i, u := range reports {
		if u.plspID == 0 {
			end = i
			break
		}
	}
	if end < 0 {
		t.Fatalf("tshark shows no end-of-synchronisation marker in %v", reports)
	}
	if u := reports[end]; u.s || !u.hasERO || len(u.labels) != 0 {
		t.Errorf("end marker %v: want S=0 and an empty ERO", u)
	}
	type syncWant struct {
		plsp   uint32
		d      bool
		labels []uint32
	}
	wantSync := map[string]syncWant{
		"pol-a": {a, true, scenarioPolicies[0].Labels},
		"pol-b": {b, false, scenarioPolicies[1].Labels},
		"pol-c": {c, true, nil},
	}
	gotSync := map[string]bool{}
	for _, u := range reports[:end] {
		if !u.s {
			t.Errorf("report %v before the end marker has S=0", u)
			continue
		}
		w, ok := wantSync[u.name]
		switch {
		case !ok:
			t.Errorf("synchronisation reports an unexpected LSP %v", u)
		case gotSync[u.name]:
			t.Errorf("synchronisation reports %s twice", u.name)
		case u.plspID != w.plsp || u.d != w.d || u.r || u.c || !slices.Equal(u.labels, w.labels):
			t.Errorf("synchronisation report %v, want PLSP-ID %d D=%t R=false C=false labels %v", u, w.plsp, w.d, w.labels)
		}
		gotSync[u.name] = true
	}
	if len(gotSync) != len(wantSync) {
		t.Errorf("synchronisation reported %v, want %d policies", gotSync, len(wantSync))
	}
	for _, u := range reports[end+1:] {
		if u.s {
			t.Errorf("report %v after the end marker has S=1", u)
		}
	}

	// pol-c's path: PCReq for its LSP, PCRep with the computed SR-ERO, then
	// a report of pol-c with that path.
	var reqID string
	for _, m := range msgs {
		switch {
		case m.fromPCC && m.typ == pcep.TypePCReq:
			plsp, _ := m.node.first("pcep.obj.lsp.plsp-id")
			dst, _ := m.node.first("pcep.obj.end_point.destination_ipv4_address")
			reqID, _ = m.node.first("pcep.obj.rp.requested_id_number")
			if plsp != strconv.Itoa(int(c)) || dst != scenarioPolicies[2].Endpoint.String() || reqID == "" {
				t.Errorf("PCReq (frame %d): PLSP-ID %q, destination %q, request ID %q; want pol-c's %d and %s",
					m.frame, plsp, dst, reqID, c, scenarioPolicies[2].Endpoint)
			}
		case !m.fromPCC && m.typ == pcep.TypePCRep:
			id, _ := m.node.first("pcep.obj.rp.requested_id_number")
			var labels []uint32
			for _, l := range m.node.all("pcep.subobj.sr.sid.label") {
				labels = append(labels, uint32(scenarioUint(t, l.val)))
			}
			if reqID == "" || scenarioUint(t, id) != scenarioUint(t, reqID) || !slices.Equal(labels, scenarioComputedLabels) {
				t.Errorf("PCRep (frame %d): request ID %q labels %v; want request ID %q labels %v", m.frame, id, labels, reqID, scenarioComputedLabels)
			}
		}
	}
	computed := false
	for _, u := range reports[end+1:] {
		if u.plspID == c && !u.r && u.d && slices.Equal(u.labels, scenarioComputedLabels) {
			computed = true
		}
	}
	if !computed {
		t.Errorf("no report of pol-c (PLSP-ID %d) with D=1 and the computed path %v", c, scenarioComputedLabels)
	}

	// Each request of the PCE, as tshark shows it, and the report that
	// echoes its SRP-ID.
	type flags struct{ d, r, c bool }
	tests := []struct {
		name      string
		srpID     uint32
		typ       pcep.MessageType
		srpFlags  uint32
		reqPLSP   uint32
		reqD      bool
		reqLabels []uint32
		reqName   string
		rptPLSP   uint32
		rpt       flags
		rptLabels []uint32
	}{
		{"update of pol-a", ids.update, pcep.TypePCUpd, 0, a, true, scenarioUpdateLabels, "",
			a, flags{d: true}, scenarioUpdateLabels},
		{"control request for pol-b", ids.control, pcep.TypePCUpd, pcep.SRPControl, b, false, nil, "",
			b, flags{d: true}, scenarioPolicies[1].Labels},
		{"initiation of pce-lsp", ids.initiate, pcep.TypePCInitiate, 0, 0, true, scenarioInitiateLabels, "pce-lsp",
			in, flags{d: true, c: true}, scenarioInitiateLabels},
		{"removal of pce-lsp", ids.remove, pcep.TypePCInitiate, pcep.SRPRemove, in, true, nil, "",
			in, flags{r: true, c: true}, scenarioInitiateLabels},
		{"return of pol-b's delegation", ids.returnDelegation, pcep.TypePCUpd, 0, b, false, scenarioPolicies[1].Labels, "",
			b, flags{}, scenarioPolicies[1].Labels},
	}
	echoed := map[uint32]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			echoed[tt.srpID] = true
			var req []unitAt
			for _, u := range requests {
				if u.hasSRP && u.srpID == tt.srpID {
					req = append(req, u)
				}
			}
			if len(req) != 1 {
				t.Fatalf("tshark shows %d requests of the PCE with SRP-ID %d: %v", len(req), tt.srpID, req)
			}
			q := req[0]
			if q.typ != tt.typ || q.srpFlags != tt.srpFlags || q.plspID != tt.reqPLSP || q.d != tt.reqD ||
				!slices.Equal(q.labels, tt.reqLabels) || q.name != tt.reqName {
				t.Errorf("%s (frame %d) %v; want %s SRP flags %#x PLSP-ID %d D=%t labels %v name %q",
					scenarioTypeName(q.typ), q.frame, q.scenarioUnit, scenarioTypeName(tt.typ), tt.srpFlags, tt.reqPLSP, tt.reqD, tt.reqLabels, tt.reqName)
			}
			var rpt []unitAt
			for _, u := range reports {
				if u.hasSRP && u.srpID == tt.srpID {
					rpt = append(rpt, u)
				}
			}
			if len(rpt) != 1 {
				t.Fatalf("tshark shows %d reports echoing SRP-ID %d, want 1: %v", len(rpt), tt.srpID, rpt)
			}
			r := rpt[0]
			if r.frame <= q.frame {
				t.Errorf("the report (frame %d) comes before the request (frame %d)", r.frame, q.frame)
			}
			if r.plspID != tt.rptPLSP || r.d != tt.rpt.d || r.r != tt.rpt.r || r.c != tt.rpt.c || r.s ||
				!slices.Equal(r.labels, tt.rptLabels) {
				t.Errorf("report (frame %d) %v; want PLSP-ID %d D=%t R=%t C=%t S=false labels %v",
					r.frame, r.scenarioUnit, tt.rptPLSP, tt.rpt.d, tt.rpt.r, tt.rpt.c, tt.rptLabels)
			}
		})
	}
	// No report echoes an SRP-ID the PCE never sent.
	for _, u := range reports {
		if u.hasSRP && u.srpID != 0 && !echoed[u.srpID] {
			t.Errorf("report (frame %d) %v echoes SRP-ID %d, which no request of the scenario carried", u.frame, u.scenarioUnit, u.srpID)
		}
	}

	// pol-c removed from the configuration: a report with R=1 and no
	// SRP-ID (it answers no request), after the return of delegation's
	// report; nothing about pol-c after it. A removal report still carries
	// the LSP's last path (RFC 8231: the path is mandatory in a report).
	removed := -1
	for i, u := range reports {
		if u.plspID == c && u.r {
			if removed >= 0 {
				t.Errorf("pol-c reported removed twice: %v", u)
			}
			removed = i
			if u.srpID != 0 || u.d {
				t.Errorf("pol-c's removal report %v: want SRP-ID 0 and D=0", u)
			}
		}
	}
	if removed < 0 {
		t.Errorf("tshark shows no report of pol-c (PLSP-ID %d) with R=1", c)
	} else {
		for _, u := range reports[removed+1:] {
			if u.plspID == c {
				t.Errorf("pol-c reported after its removal: %v", u)
			}
		}
		returned := slices.IndexFunc(reports, func(u unitAt) bool { return u.hasSRP && u.srpID == ids.returnDelegation })
		if returned > removed {
			t.Errorf("pol-c's removal (frame %d) comes before the return of delegation's report (frame %d)",
				reports[removed].frame, reports[returned].frame)
		}
	}
}
