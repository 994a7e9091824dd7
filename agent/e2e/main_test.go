package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// waitLimit bounds every wait of these tests.
const waitLimit = 20 * time.Second

// binaries are the programs under test, built once by TestMain.
var binaries = map[string]*binary{
	"pccagent": {pkg: "./cmd/pccagent"},
	"pcesim":   {pkg: "./cmd/pcesim"},
}

type binary struct {
	pkg  string
	path string
	err  error // why it could not be built
}

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "pccagent-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	prebuilt := os.Getenv("E2E_BIN_DIR")
	for name, b := range binaries {
		if prebuilt != "" {
			p := filepath.Join(prebuilt, name)
			if _, err := os.Stat(p); err == nil {
				fmt.Fprintf(os.Stderr, "e2e: using prebuilt %s\n", p)
				b.path = p
				continue
			}
		}
		b.path = filepath.Join(dir, name)
		args := []string{"build"}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "-o", b.path, b.pkg)
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return m.Run()
}

// moduleRoot is the directory of go.mod, two levels up from this package.
func moduleRoot() (string, error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("module root not found: %w", err)
	}
	return root, nil
}

// binaryPath returns the built program name, failing the test when it could
// not be built.
func binaryPath(t *testing.T, name string) string {
	t.Helper()
	b := binaries[name]
	if b.err != nil {
		t.Fatalf("%s could not be built: %v", name, b.err)
	}
	return b.path
}

// syncBuffer collects a child's output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// process is a child process that is stopped when the test ends; its output
// is logged when the test fails, and a data race it reports fails the test.
type process struct {
	name   string
	cmd    *exec.Cmd
	output *syncBuffer // stderr (and stdout when not read by the test)
	exited chan struct{}
	err    error // Wait's result, valid once exited is closed

	stopOnce sync.Once
}

// startProcess starts bin with args in dir. stdin and stdout are the
// child's ends of pipes (closed here once the child has them) or nil: no
// stdin, and stdout to the output buffer.
func startProcess(t *testing.T, name, dir string, stdin, stdout *os.File, bin string, args ...string) *process {
	t.Helper()
	p := &process{name: name, output: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Stderr = p.output
	p.cmd.Stdout = p.output
	if stdin != nil {
		p.cmd.Stdin = stdin
	}
	if stdout != nil {
		p.cmd.Stdout = stdout
	}
	err := p.cmd.Start()
	if stdin != nil {
		stdin.Close()
	}
	if stdout != nil {
		stdout.Close()
	}
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop(t)
		out := p.output.String()
		if strings.Contains(out, "WARNING: DATA RACE") {
			t.Errorf("%s reported a data race", name)
		}
		if t.Failed() {
			t.Logf("---- %s %s output ----\n%s---- end of %s output ----", name, strings.Join(args, " "), out, name)
		}
	})
	return p
}

// stop ends the process: SIGTERM, then SIGKILL if it is still there after
// 10 s. It waits for the process to be gone.
func (p *process) stop(t *testing.T) {
	p.stopOnce.Do(func() {
		select {
		case <-p.exited:
			return
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not exit within 10 s of SIGTERM; killed", p.name)
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
}

// running reports whether the process has not exited yet.
func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// ---- pcesim ----

// pcesim is a running pcesim driven through its stdin commands.
type pcesim struct {
	*process
	addr  netip.AddrPort
	stdin io.WriteCloser
	lines chan string // stdout lines
	mu    sync.Mutex  // one command at a time
}

// startPCESim starts pcesim listening on host:0 and waits for its
// "listening on ADDR" line.
func startPCESim(t *testing.T, host string, args ...string) *pcesim {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	args = append([]string{"--listen", net.JoinHostPort(host, "0"), "--log-level", "debug"}, args...)
	p := startProcess(t, "pcesim "+host, t.TempDir(), inR, outW, binaryPath(t, "pcesim"), args...)
	s := &pcesim{process: p, stdin: inW, lines: make(chan string, 4096)}
	go func() {
		defer close(s.lines)
		defer outR.Close()
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { inW.Close() })
	first, ok := s.nextLine(waitLimit)
	if !ok {
		t.Fatalf("pcesim did not print its listen address within %v", waitLimit)
	}
	a, found := strings.CutPrefix(first, "listening on ")
	if !found {
		t.Fatalf("pcesim's first line is %q, want \"listening on ADDR\"", first)
	}
	ap, err := netip.ParseAddrPort(a)
	if err != nil {
		t.Fatalf("pcesim listen address %q: %v", a, err)
	}
	s.addr = ap
	return s
}

func (s *pcesim) nextLine(within time.Duration) (string, bool) {
	timer := time.NewTimer(within)
	defer timer.Stop()
	select {
	case l, ok := <-s.lines:
		return l, ok
	case <-timer.C:
		return "", false
	}
}

// run sends one command line and returns its output lines and its final
// line ("ok ..." or "error: ...").
func (s *pcesim) run(t *testing.T, line string) (out []string, last string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := io.WriteString(s.stdin, line+"\n"); err != nil {
		t.Fatalf("pcesim %q: write: %v", line, err)
	}
	deadline := time.Now().Add(waitLimit)
	for {
		l, ok := s.nextLine(time.Until(deadline))
		if !ok {
			t.Fatalf("pcesim %q: no ok/error line within %v (output so far %q)", line, waitLimit, out)
		}
		if l == "ok" || strings.HasPrefix(l, "ok ") || strings.HasPrefix(l, "error:") {
			if line != "show" {
				fmt.Fprintf(s.output, "stdin: %s\nstdout: %s\n", line, l)
			}
			return out, l
		}
		out = append(out, l)
	}
}

// mustRun runs a command that must succeed and returns its final line.
func (s *pcesim) mustRun(t *testing.T, line string) string {
	t.Helper()
	_, last := s.run(t, line)
	if !strings.HasPrefix(last, "ok") {
		t.Fatalf("pcesim %q: %s", line, last)
	}
	return last
}

// simRow is one row of pcesim's show: one LSP of one PCC (PLSPID 0 for a
// PCC without LSPs).
type simRow struct {
	PCC       netip.AddrPort
	Synced    bool
	PLSPID    uint32
	Name      string
	Delegated bool
	Create    bool
	Oper      string
	Color     uint32
	Endpoint  string
	Pref      uint32
	Labels    []uint32
}

// show runs show and parses its table.
func (s *pcesim) show(t *testing.T) []simRow {
	t.Helper()
	out, last := s.run(t, "show")
	if !strings.HasPrefix(last, "ok") {
		t.Fatalf("pcesim show: %s", last)
	}
	var rows []simRow
	for i, l := range out {
		f := strings.Fields(l)
		if i == 0 && len(f) > 0 && f[0] == "PCC" {
			continue // header
		}
		if len(f) == 0 {
			continue
		}
		var r simRow
		var err error
		if r.PCC, err = netip.ParseAddrPort(f[0]); err != nil {
			t.Fatalf("pcesim show: bad PCC in %q", l)
		}
		if len(f) >= 2 {
			r.Synced = f[1] == "true"
		}
		if len(f) < 11 { // a PCC without LSPs
			rows = append(rows, r)
			continue
		}
		id, _ := strconv.ParseUint(f[2], 10, 32)
		color, _ := strconv.ParseUint(f[7], 10, 32)
		pref, _ := strconv.ParseUint(f[9], 10, 32)
		r.PLSPID, r.Name, r.Delegated, r.Create, r.Oper = uint32(id), f[3], f[4] == "true", f[5] == "true", f[6]
		r.Color, r.Endpoint, r.Pref = uint32(color), f[8], uint32(pref)
		if f[10] != "-" {
			for _, v := range strings.Split(f[10], "/") {
				n, err := strconv.ParseUint(v, 10, 32)
				if err != nil {
					t.Fatalf("pcesim show: bad labels in %q", l)
				}
				r.Labels = append(r.Labels, uint32(n))
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// waitShow polls show until pred holds (bounded) and returns the rows.
func (s *pcesim) waitShow(t *testing.T, what string, pred func([]simRow) bool) []simRow {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	var rows []simRow
	for {
		rows = s.show(t)
		if pred(rows) {
			return rows
		}
		if time.Now().After(deadline) {
			t.Fatalf("pcesim %s: %s did not happen within %v; last show:\n%s", s.addr, what, waitLimit, formatRows(rows))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func formatRows(rows []simRow) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "  %+v\n", r)
	}
	return b.String()
}

// lspRow returns the row of the LSP named name, if any.
func lspRow(rows []simRow, name string) (simRow, bool) {
	for _, r := range rows {
		if r.Name == name && r.PLSPID != 0 {
			return r, true
		}
	}
	return simRow{}, false
}

// delegated returns the names of the LSPs delegated to the simulator.
func delegated(rows []simRow) []string {
	var names []string
	for _, r := range rows {
		if r.PLSPID != 0 && r.Delegated {
			names = append(names, r.Name)
		}
	}
	slices.Sort(names)
	return names
}

// allDelegated is a waitShow predicate: every named LSP is delegated here
// and the PCC is synchronised.
func allDelegated(names ...string) func([]simRow) bool {
	return func(rows []simRow) bool {
		for _, n := range names {
			r, ok := lspRow(rows, n)
			if !ok || !r.Delegated || !r.Synced {
				return false
			}
		}
		return true
	}
}

// noneDelegated is a waitShow predicate: no LSP is delegated here.
func noneDelegated(rows []simRow) bool { return len(delegated(rows)) == 0 }

// ---- pccagent ----

// agentProc is a running pccagent.
type agentProc struct {
	*process
	addr   string // gNMI address
	dir    string
	config string   // config file path
	extra  []string // flags after the common ones
}

// startAgent starts pccagent in dir with the config file dir/pccagent.json
// (written from config first unless config is ""), plaintext gNMI on a free
// loopback port, and waits until gNMI answers.
func startAgent(t *testing.T, dir, config string, extra ...string) *agentProc {
	t.Helper()
	return startAgentWith(t, dir, config, append([]string{"--insecure"}, extra...)...)
}

// startAgentWith is startAgent without --insecure: args are all the flags
// but --gnmi-listen, --config and --log-level.
func startAgentWith(t *testing.T, dir, config string, args ...string) *agentProc {
	t.Helper()
	a := &agentProc{dir: dir, config: filepath.Join(dir, "pccagent.json"), extra: args}
	if config != "" {
		if err := os.WriteFile(a.config, []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return restartAgent(t, a)
}

// restartAgent starts a new pccagent process with a's directory, config
// file and flags, on a new free port.
func restartAgent(t *testing.T, a *agentProc) *agentProc {
	t.Helper()
	n := &agentProc{dir: a.dir, config: a.config, extra: a.extra, addr: freeAddr(t)}
	args := append([]string{"--gnmi-listen", n.addr, "--config", n.config, "--log-level", "debug"}, a.extra...)
	n.process = startProcess(t, "pccagent", n.dir, nil, nil, binaryPath(t, "pccagent"), args...)
	waitListening(t, n.process, n.addr)
	return n
}

// waitListening waits until p has logged that it serves on addr and addr
// accepts TCP connections, failing early when the process exits. The log line
// matters: addr came from freeAddr, so until p binds it another process may
// briefly hold the port, and a connection alone could reach that one.
func waitListening(t *testing.T, p *process, addr string) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		err := fmt.Errorf("no \"serving\" log line for %s yet", addr)
		if loggedServing(p.output.String(), addr) {
			var c net.Conn
			if c, err = net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				return
			}
		}
		if !p.running() {
			t.Fatalf("%s exited before listening on %s: %v", p.name, addr, p.err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not listen on %s after %v: %v", p.name, addr, waitLimit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// loggedServing says whether a pccagent log holds a "serving ..." line for
// addr (it writes one for gNMI and one for metrics once they listen).
func loggedServing(log, addr string) bool {
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, `msg="serving `) && strings.Contains(line, " addr="+addr) {
			return true
		}
	}
	return false
}

// ---- configuration files ----

type serverConf struct {
	addr netip.AddrPort
	pref uint8
}

type policyConf struct {
	name     string
	color    uint32
	endpoint string
	labels   []uint32
}

// configJSON writes an RFC 7951 configuration of the pce-client tree.
func configJSON(global map[string]any, servers []serverConf, policies []policyConf) string {
	var b strings.Builder
	b.WriteString("{\n  \"pcc-agent:pce-client\": {\n    \"config\": {\"capability-segment-routing\": true")
	keys := make([]string, 0, len(global))
	for k := range global {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, ", %q: %s", k, jsonScalar(global[k]))
	}
	b.WriteString("},\n    \"servers\": {\"server\": [")
	for i, s := range servers {
		if i > 0 {
			b.WriteString(",")
		}
		a := s.addr.Addr().String()
		fmt.Fprintf(&b, "\n      {\"address\": %q, \"config\": {\"address\": %q, \"port\": %d, \"preference\": %d}}", a, a, s.addr.Port(), s.pref)
	}
	b.WriteString("\n    ]},\n    \"policies\": {\"policy\": [")
	for i, p := range policies {
		if i > 0 {
			b.WriteString(",")
		}
		labels := make([]string, len(p.labels))
		for j, l := range p.labels {
			labels[j] = strconv.FormatUint(uint64(l), 10)
		}
		fmt.Fprintf(&b, "\n      {\"name\": %q, \"config\": {\"name\": %q, \"color\": %d, \"endpoint\": %q, \"labels\": [%s]}}",
			p.name, p.name, p.color, p.endpoint, strings.Join(labels, ", "))
	}
	b.WriteString("\n    ]}\n  }\n}\n")
	return b.String()
}

func jsonScalar(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	default:
		return fmt.Sprint(x)
	}
}

// samplePolicies are three SR policies with explicit segment lists.
var samplePolicies = []policyConf{
	{"to-pe2", 100, "192.0.2.2", []uint32{16002}},
	{"to-pe3", 200, "192.0.2.3", []uint32{16011, 16003}},
	{"to-pe4", 300, "192.0.2.4", []uint32{16012, 16004}},
}

func policyNames(ps []policyConf) []string {
	var names []string
	for _, p := range ps {
		names = append(names, p.name)
	}
	slices.Sort(names)
	return names
}
