package pce_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pccagent/pccagent/pcep"
	"github.com/pccagent/pccagent/pcep/pce"
	"github.com/pccagent/pccagent/pcep/session"
)

// testTimeout bounds every wait of a test; nothing is timed against it.
const testTimeout = 10 * time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func testContext(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// startServer starts a PCE on a free loopback port and returns it with its
// address.
func startServer(t testing.TB, opts ...pce.Option) (*pce.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := pce.New(append([]pce.Option{pce.WithLogger(quiet)}, opts...)...)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return srv, ln.Addr().String()
}

// testPCC is a minimal PCC built directly on the session: it sends what the
// test tells it to and queues what it receives.
type testPCC struct {
	t    testing.TB
	sess *session.Session
	msgs chan pcep.Message
}

// pccOpen is the OPEN of a stateful SR-capable PCC.
func pccOpen() pcep.OpenObject {
	return pcep.OpenObject{
		Keepalive: 30,
		DeadTimer: 120,
		SessionID: 1,
		Stateful:  &pcep.StatefulCapability{Flags: pcep.StatefulUpdate | pcep.StatefulInstantiation},
		PST: &pcep.PSTCapability{
			PSTs: []uint8{pcep.PSTSRMPLS},
			SR:   &pcep.SRPCECapability{MSD: 8},
		},
		AssocTypes: []uint16{pcep.AssocSRPolicy},
		SRPolicy:   &pcep.SRPolicyCapability{},
	}
}

func dialPCC(t testing.TB, addr string) *testPCC {
	return dialPCCOpen(t, addr, pccOpen())
}

func dialPCCOpen(t testing.TB, addr string, open pcep.OpenObject) *testPCC {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &testPCC{t: t, msgs: make(chan pcep.Message, 1024)}
	sess, err := session.Establish(testContext(t), conn, session.Config{
		Role:   session.RolePCC,
		Local:  open,
		Logger: quiet,
		Handler: func(_ *session.Session, m pcep.Message) {
			c.msgs <- m
		},
	})
	if err != nil {
		t.Fatalf("PCC session: %v", err)
	}
	c.sess = sess
	t.Cleanup(func() {
		sess.Close(pcep.CloseNoReason)
		<-sess.Done()
	})
	return c
}

// send sends m from the PCC.
func (c *testPCC) send(m pcep.Message) {
	c.t.Helper()
	if err := c.sess.Send(m); err != nil {
		c.t.Fatalf("PCC send %s: %v", m.MessageType(), err)
	}
}

// next returns the next message the PCC received.
func (c *testPCC) next() pcep.Message {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-c.sess.Done():
		c.t.Fatalf("PCC session ended: %v", c.sess.Err())
	case <-time.After(testTimeout):
		c.t.Fatal("PCC received nothing")
	}
	return nil
}

// waitPCC waits for the server side of the only PCC.
func waitPCC(t testing.TB, srv *pce.Server) *pce.PCC {
	t.Helper()
	p, err := srv.WaitPCC(testContext(t), nil)
	if err != nil {
		t.Fatalf("WaitPCC: %v", err)
	}
	return p
}

// report is a state report of one SR LSP.
func report(plsp uint32, name string, flags uint16, labels ...uint32) pcep.Report {
	r := pcep.Report{LSP: pcep.LSP{PLSPID: plsp, Flags: flags, SymbolicName: name}}
	for _, l := range labels {
		r.ERO.Subobjects = append(r.ERO.Subobjects, pcep.SRLabel(l))
	}
	return r
}

// endOfSync is the end-of-synchronisation marker.
func endOfSync() *pcep.PCRpt {
	return &pcep.PCRpt{Reports: []pcep.Report{{LSP: pcep.LSP{PLSPID: 0}}}}
}

// syncLSPs connects a PCC, synchronises the reports and returns both sides.
func syncLSPs(t testing.TB, srv *pce.Server, addr string, reports ...pcep.Report) (*testPCC, *pce.PCC) {
	t.Helper()
	c := dialPCC(t, addr)
	for _, r := range reports {
		r.LSP.Flags |= pcep.LSPSync
		c.send(&pcep.PCRpt{Reports: []pcep.Report{r}})
	}
	c.send(endOfSync())
	p := waitPCC(t, srv)
	if err := p.WaitSynced(testContext(t)); err != nil {
		t.Fatalf("WaitSynced: %v", err)
	}
	return c, p
}

func labelsOf(t testing.TB, ero pcep.ERO) []uint32 {
	t.Helper()
	var out []uint32
	for _, s := range ero.Subobjects {
		l, ok := s.Label()
		if !ok {
			t.Fatalf("subobject %+v is not an SR label", s)
		}
		out = append(out, l)
	}
	return out
}

var (
	loopback1 = netip.MustParseAddr("127.0.0.1")
	endpoint3 = netip.MustParseAddr("192.0.2.3")
)
