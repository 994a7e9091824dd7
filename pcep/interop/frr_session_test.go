package interop

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/pccagent/pccagent/pcep"
	"github.com/pccagent/pccagent/pcep/session"
)

var writeSeeds = flag.Bool("write-seeds", false,
	"save pathd's messages as fuzz seeds under pcep/testdata/fuzz/FuzzDecode (existing files are kept)")

// pceOpen is the OPEN the test PCE sends: stateful with updates and
// instantiation, SR-MPLS path setup.
func pceOpen() pcep.OpenObject {
	return pcep.OpenObject{
		Keepalive: 30,
		DeadTimer: 120,
		SessionID: 1,
		Stateful:  &pcep.StatefulCapability{Flags: pcep.StatefulUpdate | pcep.StatefulInstantiation},
		PST: &pcep.PSTCapability{
			PSTs: []uint8{pcep.PSTRSVPTE, pcep.PSTSRMPLS},
			SR:   &pcep.SRPCECapability{MSD: 10},
		},
	}
}

// collector gathers what the session hands to its Handler and OnError.
type collector struct {
	mu     sync.Mutex
	msgs   []pcep.Message
	errs   []error
	synced chan struct{}
	once   sync.Once
	// syncLen is the number of messages up to and including the
	// end-of-synchronisation marker.
	syncLen int
}

func newCollector() *collector { return &collector{synced: make(chan struct{})} }

func (c *collector) handle(_ *session.Session, m pcep.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, m)
	if rpt, ok := m.(*pcep.PCRpt); ok {
		for _, r := range rpt.Reports {
			if r.LSP.PLSPID == 0 {
				c.once.Do(func() {
					c.syncLen = len(c.msgs)
					close(c.synced)
				})
			}
		}
	}
}

func (c *collector) onError(_ *session.Session, err error) {
	c.mu.Lock()
	c.errs = append(c.errs, err)
	c.mu.Unlock()
}

func (c *collector) snapshot() ([]pcep.Message, []error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.msgs), slices.Clone(c.errs)
}

// TestFRRPathdSynchronisesWithPCESession runs FRR's pathd as a PCC against a
// listener built on pcep/session in the PCE role. pathd has two explicit
// SR-TE policies; the session must come UP, every message pathd sends during
// state synchronisation must decode, both policies must be reported with
// their segment lists, and the end-of-synchronisation marker must arrive.
func TestFRRPathdSynchronisesWithPCESession(t *testing.T) {
	requireFRR(t)

	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	source := freePort(t, "127.0.0.2")
	startFRR(t, pathdConfig(testPolicies, ln.Addr().(*net.TCPAddr), source))

	conn, err := acceptOne(ln)
	if err != nil {
		t.Fatal(err)
	}
	if got := conn.RemoteAddr().(*net.TCPAddr); !got.IP.Equal(source.IP) || got.Port != source.Port {
		t.Errorf("pathd connected from %v, want the configured source %v", got, source)
	}
	rec := &recordingConn{Conn: conn}
	col := newCollector()

	ctx, cancel := context.WithTimeout(context.Background(), frrWait)
	defer cancel()
	sess, err := session.Establish(ctx, rec, session.Config{
		Role:    session.RolePCE,
		Local:   pceOpen(),
		Handler: col.handle,
		OnError: col.onError,
	})
	if err != nil {
		t.Fatalf("session with pathd did not come up: %v", err)
	}
	defer sess.Close(pcep.CloseNoReason)

	peer := sess.PeerOpen()
	if peer.Stateful == nil || peer.Stateful.Flags&pcep.StatefulUpdate == 0 {
		t.Errorf("pathd's OPEN has no stateful capability with updates: %+v", peer.Stateful)
	}
	if peer.PST == nil || !slices.Contains(peer.PST.PSTs, pcep.PSTSRMPLS) {
		t.Errorf("pathd's OPEN does not offer SR-MPLS path setup: %+v", peer.PST)
	}

	select {
	case <-col.synced:
	case <-sess.Done():
		t.Fatalf("session ended before the end of synchronisation: %v", sess.Err())
	case <-ctx.Done():
		t.Fatalf("no end-of-synchronisation PCRpt within %v", frrWait)
	}

	msgs, errs := col.snapshot()
	col.mu.Lock()
	msgs = msgs[:col.syncLen] // the synchronisation; later reports may follow
	col.mu.Unlock()
	for _, err := range errs {
		t.Errorf("message from pathd failed to decode: %v", err)
	}
	reported := map[string][]uint32{}
	for _, m := range msgs {
		rpt, ok := m.(*pcep.PCRpt)
		if !ok {
			continue
		}
		for _, r := range rpt.Reports {
			if r.LSP.PLSPID == 0 {
				continue
			}
			if r.LSP.Flags&pcep.LSPSync == 0 {
				t.Errorf("report of %q during sync without S flag", r.LSP.SymbolicName)
			}
			var labels []uint32
			for _, s := range r.ERO.Subobjects {
				l, ok := s.Label()
				if !ok {
					t.Errorf("report of %q: ERO subobject %+v is not an SR label", r.LSP.SymbolicName, s)
				}
				labels = append(labels, l)
			}
			reported[r.LSP.SymbolicName] = labels
		}
	}
	for _, p := range testPolicies {
		got, ok := reported[p.SymbolicName()]
		if !ok {
			t.Errorf("policy %s not reported during sync (reported: %v)", p.SymbolicName(), reported)
			continue
		}
		if !slices.Equal(got, p.Labels) {
			t.Errorf("policy %s reported with labels %v, want %v", p.SymbolicName(), got, p.Labels)
		}
	}

	// Every byte pathd sent, decoded again independently of the session.
	raw, rest, err := SplitMessages(rec.Received())
	if err != nil {
		t.Fatalf("framing pathd's stream: %v", err)
	}
	if len(rest) != 0 {
		t.Logf("%d bytes of a message still in flight", len(rest))
	}
	types := map[pcep.MessageType]int{}
	for _, b := range raw {
		m, err := pcep.Decode(b)
		if err != nil {
			t.Errorf("pcep.Decode(% x): %v", b, err)
			continue
		}
		types[m.MessageType()]++
	}
	if types[pcep.TypeOpen] != 1 || types[pcep.TypePCRpt] < len(testPolicies)+1 {
		t.Errorf("pathd sent %v, want one Open and at least %d PCRpt", types, len(testPolicies)+1)
	}
	if *writeSeeds {
		saveFuzzSeeds(t, raw)
	}
}

// saveFuzzSeeds writes one seed per distinct message (at most one Open and
// a few reports) in the go fuzz corpus format, leaving existing files alone.
func saveFuzzSeeds(t *testing.T, raw [][]byte) {
	t.Helper()
	dir := filepath.Join("..", "testdata", "fuzz", "FuzzDecode")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	perType := map[byte]int{}
	for _, b := range raw {
		typ := b[1]
		if perType[typ] >= 3 {
			continue
		}
		perType[typ]++
		sum := sha256.Sum256(b)
		name := fmt.Sprintf("frr-pathd-%s-%s", pcep.MessageType(typ), hex.EncodeToString(sum[:6]))
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err == nil {
			continue
		}
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote fuzz seed %s", path)
	}
}
