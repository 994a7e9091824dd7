package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// FRR locations of the Debian frr package.
const (
	frrZebra = "/usr/lib/frr/zebra"
	frrPathd = "/usr/lib/frr/pathd"
)

// frrWait bounds every wait on FRR: daemon start, PCEP session, sync.
const frrWait = 30 * time.Second

// srPolicy is one explicit SR-TE policy given to pathd.
type srPolicy struct {
	Name     string
	Color    uint32
	Endpoint string
	Pref     uint32
	CPath    string
	Labels   []uint32
}

// SymbolicName is the PCEP symbolic path name pathd reports for the
// policy's candidate path: "<policy name>-<candidate path name>".
func (p srPolicy) SymbolicName() string { return p.Name + "-" + p.CPath }

// testPolicies are the two explicit policies every FRR test configures.
var testPolicies = []srPolicy{
	{Name: "red", Color: 1, Endpoint: "192.0.2.1", Pref: 100, CPath: "cp1", Labels: []uint32{16010, 16030}},
	{Name: "green", Color: 2, Endpoint: "192.0.2.2", Pref: 100, CPath: "cp1", Labels: []uint32{16020, 16040, 16050}},
}

// pathdConfig is the pathd configuration for policies and one PCE at
// pce (127.0.0.1:port) with the PCC bound to source.
func pathdConfig(policies []srPolicy, pce, source *net.TCPAddr) string {
	var b strings.Builder
	b.WriteString("hostname pathd-interop\ndebug pathd pcep basic\n")
	b.WriteString("segment-routing\n traffic-eng\n")
	for _, p := range policies {
		fmt.Fprintf(&b, "  segment-list sl-%s\n", p.Name)
		for i, l := range p.Labels {
			fmt.Fprintf(&b, "   index %d mpls label %d\n", (i+1)*10, l)
		}
		b.WriteString("  exit\n")
	}
	for _, p := range policies {
		fmt.Fprintf(&b, "  policy color %d endpoint %s\n   name %s\n", p.Color, p.Endpoint, p.Name)
		fmt.Fprintf(&b, "   candidate-path preference %d name %s explicit segment-list sl-%s\n", p.Pref, p.CPath, p.Name)
		b.WriteString("  exit\n")
	}
	b.WriteString("  pcep\n")
	fmt.Fprintf(&b, "   pce interop\n    address ip %s port %d\n", pce.IP, pce.Port)
	fmt.Fprintf(&b, "    source-address ip %s port %d\n", source.IP, source.Port)
	b.WriteString("    pce-initiated\n    timer keep-alive 30\n   exit\n")
	b.WriteString("   pcc\n    peer interop precedence 10\n   exit\n")
	b.WriteString("  exit\n exit\nexit\n")
	return b.String()
}

// frrInstance is a private zebra + pathd pair: its own state directory, vty
// sockets, zserv socket and pid files, so that it never meets a system FRR
// or another test's.
type frrInstance struct {
	dir       string // sockets, config, logs
	pathspace string
	procs     []*exec.Cmd
}

// requireFRR skips (or, under CI, fails) a test that cannot run FRR: the
// daemons must be installed and the test must run as root, since the
// daemons start as root and drop to the frr user.
func requireFRR(t *testing.T) {
	t.Helper()
	requireProgram(t, frrZebra)
	requireProgram(t, frrPathd)
	requireProgram(t, "vtysh")
	if os.Geteuid() != 0 {
		if inCI() {
			t.Fatal("the FRR interop tests need root under CI")
		}
		t.Skip("FRR daemons need root to start and drop to the frr user")
	}
	if _, err := user.Lookup("frr"); err != nil {
		t.Fatalf("frr package installed but user frr missing: %v", err)
	}
}

// startFRR starts zebra and pathd (with the PCEP module) on the given
// pathd configuration and registers their shutdown with t.Cleanup.
func startFRR(t *testing.T, pathdConf string) *frrInstance {
	t.Helper()
	// The daemons run as user frr: the directory must be theirs to write.
	dir, err := os.MkdirTemp("", "pccagent-frr-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	f := &frrInstance{dir: dir, pathspace: filepath.Base(dir)}
	ensureFRRRunDir(t)
	t.Cleanup(func() {
		f.stop(t)
		// -N makes the daemons create /var/run/frr/<pathspace>; remove it
		// when it is empty.
		os.Remove(filepath.Join(frrRunDir, f.pathspace))
		if t.Failed() {
			f.dumpLogs(t)
		}
	})

	zserv := filepath.Join(dir, "zserv.api")
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	zebraConf := write("zebra.conf", "hostname zebra-interop\n")
	pathdConfFile := write("pathd.conf", pathdConf)

	common := func(name, conf string) []string {
		return []string{
			"-N", f.pathspace,
			"--vty_socket", dir,
			"-i", filepath.Join(dir, name+".pid"),
			"-z", zserv,
			"-f", conf,
			"-P", "0", // no TCP vty
			"--log", "file:" + filepath.Join(dir, name+".log"),
			"--log-level", "debugging",
		}
	}
	f.start(t, frrZebra, common("zebra", zebraConf)...)
	f.waitFile(t, zserv)
	f.start(t, frrPathd, append([]string{"-M", "pathd_pcep"}, common("pathd", pathdConfFile)...)...)
	f.waitFile(t, filepath.Join(dir, "pathd.vty"))
	return f
}

// frrRunDir is where FRR puts a pathspace's directory (-N NAME makes
// /var/run/frr/NAME).
const frrRunDir = "/var/run/frr"

// ensureFRRRunDir creates /var/run/frr, owned by frr, when it is missing (a
// machine where the frr service never started has none). The daemons create
// it themselves without -N, but with -N they only create the pathspace
// directory inside it.
func ensureFRRRunDir(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(frrRunDir); err == nil {
		return
	}
	u, err := user.Lookup("frr")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.MkdirAll(frrRunDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(frrRunDir, uid, gid); err != nil {
		t.Fatal(err)
	}
}

func (f *frrInstance) start(t *testing.T, bin string, args ...string) {
	t.Helper()
	name := filepath.Base(bin)
	out, err := os.Create(filepath.Join(f.dir, name+".out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = f.dir
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	out.Close()
	f.procs = append(f.procs, cmd)
}

// waitFile waits for a daemon to create path (a socket), failing the test
// when it does not within frrWait or the daemon exits first.
func (f *frrInstance) waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(frrWait)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		for _, p := range f.procs {
			if exited(p) {
				t.Fatalf("%s exited before creating %s", filepath.Base(p.Path), path)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s not created within %v", path, frrWait)
}

// exited reports whether the process has ended, without reaping it.
func exited(c *exec.Cmd) bool {
	return syscall.Kill(c.Process.Pid, 0) != nil || isZombie(c.Process.Pid)
}

func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}

// stop ends the daemons in reverse start order: SIGTERM, then SIGKILL
// after five seconds.
func (f *frrInstance) stop(t *testing.T) {
	for i := len(f.procs) - 1; i >= 0; i-- {
		p := f.procs[i]
		done := make(chan struct{})
		go func() { p.Wait(); close(done) }()
		p.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Logf("%s did not stop on SIGTERM; killing", filepath.Base(p.Path))
			p.Process.Kill()
			<-done
		}
	}
	f.procs = nil
}

func (f *frrInstance) dumpLogs(t *testing.T) {
	for _, name := range []string{"zebra.out", "zebra.log", "pathd.out", "pathd.log"} {
		b, err := os.ReadFile(filepath.Join(f.dir, name))
		if err != nil {
			continue
		}
		if len(b) > 8000 {
			b = b[len(b)-8000:]
		}
		t.Logf("---- %s (tail) ----\n%s", name, b)
	}
}

// vtysh runs one command against this instance's pathd.
func (f *frrInstance) vtysh(ctx context.Context, command string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, frrWait)
	defer cancel()
	out, err := exec.CommandContext(ctx, "vtysh", "--vty_socket", f.dir, "-d", "pathd", "-c", command).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("vtysh -c %q: %w: %s", command, err, out)
	}
	return string(out), nil
}

// freePort returns a TCP port on ip that nothing listens on now.
func freePort(t *testing.T, ip string) *net.TCPAddr {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("no free port on %s: %v", ip, err)
	}
	a := ln.Addr().(*net.TCPAddr)
	ln.Close()
	return a
}

// recordingConn keeps a copy of every byte read from the connection, so the
// test can hold the peer's exact encoding next to the decoded messages.
type recordingConn struct {
	net.Conn
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		c.buf.Write(p[:n])
		c.mu.Unlock()
	}
	return n, err
}

// Received returns a copy of everything read so far.
func (c *recordingConn) Received() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.buf.Bytes())
}

// acceptOne accepts a single connection within frrWait.
func acceptOne(ln *net.TCPListener) (net.Conn, error) {
	if err := ln.SetDeadline(time.Now().Add(frrWait)); err != nil {
		return nil, err
	}
	c, err := ln.Accept()
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("no PCEP connection from pathd within %v", frrWait)
		}
		return nil, err
	}
	return c, nil
}
