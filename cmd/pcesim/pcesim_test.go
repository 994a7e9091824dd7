package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pccagent/pccagent/pcep"
	"github.com/pccagent/pccagent/pcep/session"
)

// testTimeout bounds every wait; nothing is timed against it.
const testTimeout = 60 * time.Second

// pccSession dials addr and brings a PCEP session up as a PCC; received
// messages go to msgs.
func pccSession(ctx context.Context, t *testing.T, addr string, msgs chan<- pcep.Message) *session.Session {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := session.Establish(ctx, conn, session.Config{
		Role: session.RolePCC,
		Local: pcep.OpenObject{
			Keepalive: 30, DeadTimer: 120, SessionID: 1,
			Stateful: &pcep.StatefulCapability{Flags: pcep.StatefulUpdate | pcep.StatefulInstantiation},
			PST:      &pcep.PSTCapability{PSTs: []uint8{pcep.PSTSRMPLS}, SR: &pcep.SRPCECapability{MSD: 8}},
		},
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Handler: func(_ *session.Session, m pcep.Message) { msgs <- m },
	})
	if err != nil {
		t.Fatalf("PCC session: %v", err)
	}
	t.Cleanup(func() {
		sess.Close(pcep.CloseNoReason)
		<-sess.Done()
	})
	return sess
}

func TestBinaryServesAPCCAndShowsIt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "pcesim")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, bin, "--listen", "127.0.0.1:0", "--log-level", "warn")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	defer func() {
		cmd.Process.Kill()
	}()
	nextLine := func() string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("pcesim closed its stdout")
			}
			return l
		case <-ctx.Done():
			t.Fatal("no output from pcesim")
		}
		return ""
	}

	first := nextLine()
	addr, ok := strings.CutPrefix(first, "listening on ")
	if !ok {
		t.Fatalf("first line %q, want listening on ADDR", first)
	}

	msgs := make(chan pcep.Message, 16)
	sess := pccSession(ctx, t, addr, msgs)
	rpt := pcep.Report{LSP: pcep.LSP{PLSPID: 1, Flags: pcep.LSPDelegate | pcep.LSPSync, SymbolicName: "to-pe3"}}
	rpt.ERO.Subobjects = []pcep.Subobject{pcep.SRLabel(16003)}
	for _, m := range []pcep.Message{
		&pcep.PCRpt{Reports: []pcep.Report{rpt}},
		&pcep.PCRpt{Reports: []pcep.Report{{LSP: pcep.LSP{PLSPID: 0}}}},
		// The reply to this request shows the reports before it were handled.
		&pcep.PCReq{Requests: []pcep.Request{{
			RP: pcep.RP{ObjFlags: pcep.ObjFlags{P: true}, RequestID: 1},
			EndPoints: pcep.EndPoints{ObjFlags: pcep.ObjFlags{P: true},
				Source: sess.LocalAddr().(*net.TCPAddr).AddrPort().Addr(), Destination: sess.LocalAddr().(*net.TCPAddr).AddrPort().Addr()},
		}}},
	} {
		if err := sess.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case m := <-msgs:
		if _, ok := m.(*pcep.PCRep); !ok {
			t.Fatalf("PCC got %s, want PCRep", m.MessageType())
		}
	case <-ctx.Done():
		t.Fatal("no PCRep")
	}

	// The PCE handled the reports: show lists the PCC and its LSP.
	local := sess.LocalAddr().String()
	if _, err := io.WriteString(stdin, "show\n"); err != nil {
		t.Fatal(err)
	}
	var table []string
	for {
		l := nextLine()
		if strings.HasPrefix(l, "ok") || strings.HasPrefix(l, "error") {
			if l != "ok" {
				t.Fatalf("show answered %q", l)
			}
			break
		}
		table = append(table, l)
	}
	got := strings.Join(table, "\n")
	for _, want := range []string{local, "to-pe3", "16003", "true"} {
		if !strings.Contains(got, want) {
			t.Errorf("show lacks %q:\n%s", want, got)
		}
	}

	// A command goes to the only PCC.
	if _, err := io.WriteString(stdin, "update 1 16004 16005\n"); err != nil {
		t.Fatal(err)
	}
	if l := nextLine(); !strings.HasPrefix(l, "ok srp-id ") {
		t.Errorf("update answered %q", l)
	}
	select {
	case m := <-msgs:
		if upd, ok := m.(*pcep.PCUpd); !ok || len(upd.Updates) != 1 || len(upd.Updates[0].ERO.Subobjects) != 2 {
			t.Errorf("PCC got %s %+v, want a PCUpd with two labels", m.MessageType(), m)
		}
	case <-ctx.Done():
		t.Fatal("no PCUpd")
	}

	// EOF on stdin is not an exit: the simulator keeps serving.
	stdin.Close()
	pccSession(ctx, t, addr, make(chan pcep.Message, 16))

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("pcesim exit: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("pcesim did not exit on SIGINT")
	}
	select {
	case <-sess.Done():
	case <-ctx.Done():
		t.Fatal("PCC session still up after pcesim exited")
	}
}
