package interop

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lockedBuilder collects a process's output written from exec's copying
// goroutine while the test may read it.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// pcesimProc is a running pcesim binary driven through its stdin commands.
type pcesimProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // stdout, line by line; closed at EOF
	addr  *net.TCPAddr
}

// startPcesim builds cmd/pcesim into a temporary directory, starts it on a
// free loopback port and returns once it listens.
func startPcesim(t *testing.T) *pcesimProc {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pcesim")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/pccagent/pccagent/cmd/pcesim").CombinedOutput(); err != nil {
		t.Fatalf("building pcesim: %v\n%s", err, out)
	}
	p := &pcesimProc{lines: make(chan string, 256)}
	p.cmd = exec.Command(bin, "--listen", "127.0.0.1:0", "--log-level", "debug")
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logs := &lockedBuilder{}
	p.cmd.Stderr = logs
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		p.stdin.Close()
		p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			p.cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("---- pcesim stderr ----\n%s", logs.String())
		}
	})

	select {
	case line, ok := <-p.lines:
		if !ok {
			t.Fatal("pcesim exited before listening")
		}
		a, found := strings.CutPrefix(line, "listening on ")
		if !found {
			t.Fatalf("pcesim's first line %q, want \"listening on ADDR\"", line)
		}
		ap, err := net.ResolveTCPAddr("tcp", a)
		if err != nil {
			t.Fatalf("pcesim address %q: %v", a, err)
		}
		p.addr = ap
	case <-time.After(frrWait):
		t.Fatal("pcesim did not start listening")
	}
	return p
}

// run sends one command line and returns its output lines and the final
// "ok ..." line; an "error: ..." answer is returned as an error.
func (p *pcesimProc) run(t *testing.T, line string) ([]string, string, error) {
	t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		t.Fatalf("pcesim stdin: %v", err)
	}
	var out []string
	timeout := time.After(frrWait)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("pcesim exited during %q", line)
			}
			switch {
			case l == "ok" || strings.HasPrefix(l, "ok "):
				return out, l, nil
			case strings.HasPrefix(l, "error: "):
				return out, l, fmt.Errorf("pcesim %q: %s", line, l)
			}
			out = append(out, l)
		case <-timeout:
			t.Fatalf("pcesim gave no answer to %q within %v", line, frrWait)
		}
	}
}

// pcesimLSP is one row of pcesim's show table.
type pcesimLSP struct {
	Synced, Delegated, Create bool
	PLSPID                    uint32
	Name, Labels              string
}

// show returns the LSPs pcesim knows (an empty table row for a PCC without
// LSPs is left out) and whether every PCC is synchronised.
func (p *pcesimProc) show(t *testing.T) ([]pcesimLSP, bool) {
	t.Helper()
	out, _, err := p.run(t, "show")
	if err != nil {
		t.Fatal(err)
	}
	var lsps []pcesimLSP
	synced := len(out) > 1
	for _, row := range out[1:] { // out[0] is the header
		f := strings.Fields(row)
		if len(f) < 3 {
			continue
		}
		if f[1] != "true" {
			synced = false
		}
		if f[2] == "-" || len(f) < 11 {
			continue
		}
		id, _ := strconv.ParseUint(f[2], 10, 32)
		lsps = append(lsps, pcesimLSP{
			Synced: f[1] == "true", PLSPID: uint32(id), Name: f[3],
			Delegated: f[4] == "true", Create: f[5] == "true", Labels: f[10],
		})
	}
	return lsps, synced
}

// eventually polls cond every 200 ms until it holds or frrWait passes.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(frrWait)
	var last string
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; last seen:\n%s", what, frrWait, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func labelPath(labels []uint32) string {
	s := make([]string, len(labels))
	for i, l := range labels {
		s[i] = strconv.FormatUint(uint64(l), 10)
	}
	return strings.Join(s, "/")
}

// TestFRRPathdWithPcesim runs pathd against the pcesim binary: pathd's two
// policies are synchronised and listed by pcesim's show, a PCInitiate from
// pcesim creates an SR policy in pathd (visible in show sr-te policy), and
// removing it from pcesim deletes it in pathd.
func TestFRRPathdWithPcesim(t *testing.T) {
	requireFRR(t)
	requireProgram(t, "go")
	sim := startPcesim(t)
	source := freePort(t, "127.0.0.2")
	frr := startFRR(t, pathdConfig(testPolicies, sim.addr, source))
	ctx := context.Background()

	var lsps []pcesimLSP
	eventually(t, "pathd's policies synchronised to pcesim", func() (bool, string) {
		var synced bool
		lsps, synced = sim.show(t)
		if !synced {
			return false, fmt.Sprint(lsps)
		}
		for _, p := range testPolicies {
			found := false
			for _, l := range lsps {
				found = found || (l.Name == p.SymbolicName() && l.Labels == labelPath(p.Labels))
			}
			if !found {
				return false, fmt.Sprint(lsps)
			}
		}
		return true, ""
	})

	const (
		name     = "pce-blue"
		endpoint = "192.0.2.9"
		color    = 9
	)
	labels := []uint32{16100, 16200}
	_, okLine, err := sim.run(t, fmt.Sprintf("initiate %s %s %d %s", name, endpoint, color, strings.ReplaceAll(labelPath(labels), "/", " ")))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("initiate: %s", okLine)

	policyRow := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(endpoint) + `\s+` + strconv.Itoa(color) + `\s`)
	eventually(t, "the PCE-initiated policy in pathd", func() (bool, string) {
		out, err := frr.vtysh(ctx, "show sr-te policy")
		if err != nil {
			return false, err.Error()
		}
		return policyRow.MatchString(out), out
	})

	if detail, err := frr.vtysh(ctx, "show sr-te policy detail"); err == nil {
		t.Logf("pathd after the PCInitiate:\n%s", detail)
	}

	var initiated pcesimLSP
	eventually(t, "pathd's report of the PCE-initiated LSP", func() (bool, string) {
		lsps, _ := sim.show(t)
		for _, l := range lsps {
			if l.Name == name {
				initiated = l
				return l.Create && l.Delegated && l.PLSPID != 0 && l.Labels == labelPath(labels), fmt.Sprint(lsps)
			}
		}
		return false, fmt.Sprint(lsps)
	})

	if _, okLine, err = sim.run(t, fmt.Sprintf("remove %d", initiated.PLSPID)); err != nil {
		t.Fatal(err)
	}
	t.Logf("remove %d: %s", initiated.PLSPID, okLine)
	eventually(t, "the PCE-initiated policy removed from pathd", func() (bool, string) {
		out, err := frr.vtysh(ctx, "show sr-te policy")
		if err != nil {
			return false, err.Error()
		}
		return !policyRow.MatchString(out), out
	})
	eventually(t, "the removed LSP gone from pcesim", func() (bool, string) {
		lsps, _ := sim.show(t)
		for _, l := range lsps {
			if l.Name == name {
				return false, fmt.Sprint(lsps)
			}
		}
		return true, ""
	})
	// pathd's own policies are untouched.
	out, err := frr.vtysh(ctx, "show sr-te policy")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range testPolicies {
		if !regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(p.Endpoint) + `\s+` + strconv.Itoa(int(p.Color)) + `\s`).MatchString(out) {
			t.Errorf("policy %s missing after the removal:\n%s", p.Name, out)
		}
	}
}
