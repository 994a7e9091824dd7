package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/gnmic/pkg/api"
	"github.com/openconfig/gnmic/pkg/api/target"
	"google.golang.org/grpc/status"
)

// The README's examples are checked here: every gnmic, gnmi_cli and grpcurl
// command line of its fenced blocks runs, in README order, against freshly
// started agents, and its quick start names the Makefile's targets.
//
// README commands use the default address 127.0.0.1:9339; it is replaced by
// the address of the agent the command is meant for:
//
//   - plaintext commands (gnmic --insecure, gnmi_cli -insecure, grpcurl
//     -plaintext) go to `pccagent --insecure --demo`;
//   - commands that skip verification (gnmic --skip-verify, gnmi_cli
//     -tls_skip_verify, grpcurl -insecure) go to `pccagent` with its
//     self-signed certificate;
//   - commands with a client certificate go to `pccagent --tls-cert
//     server.pem --tls-key server-key.pem --tls-ca ca.pem`, run in a
//     directory that holds ca.pem, server.pem, server-key.pem, client.pem
//     and client-key.pem (the names the README uses).
//
// Every `pcesim --listen HOST:PORT` of the README is started on HOST with a
// free port, and a Set value that names a server HOST with port PORT is
// given that port instead.
//
// gnmi_cli and grpcurl always run for real: a missing program skips the
// command, or fails it under CI (CI=true). gnmic runs for real when it is
// on PATH; otherwise its command line is parsed (only the flags below are
// known; any other flag fails the test) and sent through gnmic's own client
// library (github.com/openconfig/gnmic/pkg/api), built the way the gnmic CLI
// builds it.
//
// A command must succeed (exit status 0). A streaming command (gnmic
// subscribe in stream mode, gnmi_cli streaming queries, grpcurl
// WatchEvents) passes once it has printed one complete notification (a line
// "}" or "]", or the empty line that ends one in gnmic's flat format), when
// it is interrupted as an operator would with Ctrl-C; the
// gnmic library path waits for sync_response instead. A command whose
// trailing comment says "fails with CODE" must fail with that gRPC code.

// readmeDefaultAddr is the agent address the README's commands use.
const readmeDefaultAddr = "127.0.0.1:9339"

// readmeTools are the programs whose README command lines are run.
var readmeTools = []string{"gnmic", "gnmi_cli", "grpcurl"}

// readmeStreamingMethods are the server-streaming gRPC methods grpcurl may
// call in the README.
var readmeStreamingMethods = []string{"WatchEvents", "gnmi.gNMI/Subscribe"}

// readmeBlock is one fenced block of README.md.
type readmeBlock struct {
	lang  string
	line  int      // line number of the first content line
	lines []string // content lines
}

// readmeCommand is one shell command line of a fenced block, continuation
// lines joined.
type readmeCommand struct {
	line    int
	text    string
	words   []string
	comment string // the trailing shell comment, without '#'
}

// tool is the program the command runs (its base name).
func (c readmeCommand) tool() string {
	if len(c.words) == 0 {
		return ""
	}
	return filepath.Base(c.words[0])
}

// readmeSource returns README.md of the module root.
func readmeSource(t *testing.T) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatalf("read README.md: %v", err)
	}
	return string(b)
}

// readmeBlocks returns the fenced blocks (``` or ~~~) of a Markdown text.
func readmeBlocks(src string) []readmeBlock {
	var blocks []readmeBlock
	var cur *readmeBlock
	var fence string
	for i, l := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(l)
		if cur == nil {
			for _, f := range []string{"```", "~~~"} {
				if strings.HasPrefix(trimmed, f) {
					cur = &readmeBlock{lang: strings.TrimSpace(strings.TrimLeft(trimmed, f[:1])), line: i + 2}
					fence = f
					break
				}
			}
			continue
		}
		if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]) == "" {
			blocks = append(blocks, *cur)
			cur = nil
			continue
		}
		cur.lines = append(cur.lines, l)
	}
	return blocks
}

// readmeShellLangs are the info strings of the README's shell blocks.
var readmeShellLangs = []string{"sh", "shell", "bash", "console"}

// readmeHeredoc matches the first line of a here-document that writes a
// file: cat > FILE <<'TAG' (or <<TAG, <<"TAG").
var readmeHeredoc = regexp.MustCompile(`^cat\s*>\s*(\S+)\s*<<-?\s*['"]?(\w+)['"]?\s*$`)

// readmeShellCommands returns the command lines of the shell blocks:
// continuation lines joined, a "$ " prompt removed, comment-only and empty
// lines and here-documents skipped. A line of a README tool that a shell
// would not read as one plain program run is an error.
func readmeShellCommands(t *testing.T, blocks []readmeBlock) []readmeCommand {
	t.Helper()
	cmds, _ := readmeShellScan(t, blocks)
	return cmds
}

// readmeShellScan returns the command lines of the shell blocks and the
// files their here-documents write, by name.
func readmeShellScan(t *testing.T, blocks []readmeBlock) ([]readmeCommand, map[string]string) {
	t.Helper()
	var cmds []readmeCommand
	files := map[string]string{}
	for _, b := range blocks {
		if !slices.Contains(readmeShellLangs, b.lang) {
			continue
		}
		for i := 0; i < len(b.lines); i++ {
			start := b.line + i
			text := strings.TrimSpace(b.lines[i])
			for strings.HasSuffix(text, `\`) && i+1 < len(b.lines) {
				i++
				text = strings.TrimSuffix(text, `\`) + " " + strings.TrimSpace(b.lines[i])
			}
			text = strings.TrimPrefix(text, "$ ")
			if text == "" || strings.HasPrefix(text, "#") {
				continue
			}
			if m := readmeHeredoc.FindStringSubmatch(text); m != nil {
				var body strings.Builder
				for i++; i < len(b.lines) && strings.TrimSpace(b.lines[i]) != m[2]; i++ {
					body.WriteString(b.lines[i] + "\n")
				}
				files[m[1]] = body.String()
				continue
			}
			words, comment, err := readmeShellWords(text)
			if err != nil {
				if f := strings.Fields(text); slices.Contains(readmeTools, filepath.Base(f[0])) {
					t.Errorf("README.md:%d: %v: %s", start, err, text)
				}
				continue
			}
			cmds = append(cmds, readmeCommand{line: start, text: text, words: words, comment: comment})
		}
	}
	return cmds, files
}

// readmeShellWords splits a command line as a POSIX shell does for the
// quoting that README commands use: single quotes, double quotes (with
// backslash escapes of " \ $ `), backslash outside quotes, and a '#' at the
// start of a word beginning a comment. Shell operators (pipes, redirects,
// lists, substitutions) are refused: a README command must be one program
// run.
func readmeShellWords(s string) (words []string, comment string, err error) {
	var w strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, w.String())
			w.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			flush()
		case c == '#' && !inWord:
			return words, strings.TrimSpace(s[i+1:]), nil
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, "", errors.New("unterminated single quote")
			}
			w.WriteString(s[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == '"':
			inWord = true
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				} else if s[i] == '$' || s[i] == '`' {
					return nil, "", errors.New("substitutions are not supported in README commands")
				}
				w.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, "", errors.New("unterminated double quote")
			}
		case c == '\\':
			if i+1 < len(s) {
				i++
				w.WriteByte(s[i])
				inWord = true
			}
		case strings.IndexByte("|&;<>()$`", c) >= 0:
			return nil, "", fmt.Errorf("shell operator %q in a README command", c)
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return words, "", nil
}

// readmeToolCommands returns the commands of the README run by the tools
// this test checks.
func readmeToolCommands(t *testing.T, src string) []readmeCommand {
	t.Helper()
	var out []readmeCommand
	for _, c := range readmeShellCommands(t, readmeBlocks(src)) {
		if slices.Contains(readmeTools, c.tool()) {
			out = append(out, c)
		}
	}
	return out
}

func TestReadmeShellWords(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		comment string
		bad     bool
	}{
		{in: `gnmic -a 127.0.0.1:9339 --insecure capabilities`, want: []string{"gnmic", "-a", "127.0.0.1:9339", "--insecure", "capabilities"}},
		{in: `gnmic get --path '/a/b[name=x]/c'`, want: []string{"gnmic", "get", "--path", "/a/b[name=x]/c"}},
		{in: `grpcurl -d '{"server": "127.0.0.2"}' x`, want: []string{"grpcurl", "-d", `{"server": "127.0.0.2"}`, "x"}},
		{in: `echo "a \"b\" c" d\ e`, want: []string{"echo", `a "b" c`, "d e"}},
		{in: `gnmic set --update-value 10   # fails with InvalidArgument`, want: []string{"gnmic", "set", "--update-value", "10"}, comment: "fails with InvalidArgument"},
		{in: `a#b`, want: []string{"a#b"}},
		{in: `gnmic get | jq .`, bad: true},
		{in: `gnmic get > out`, bad: true},
		{in: `echo "$HOME"`, bad: true},
		{in: `echo 'open`, bad: true},
	}
	for _, tt := range tests {
		got, comment, err := readmeShellWords(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("readmeShellWords(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) || comment != tt.comment {
			t.Errorf("readmeShellWords(%q) = %q, %q, %v; want %q, %q", tt.in, got, comment, err, tt.want, tt.comment)
		}
	}
}

// TestReadmeQuickStartIsTheMakefiles checks the README's two set-up
// commands: the first block of the "Quick start" section runs exactly two
// make targets, one that builds and starts the agent with --demo and one,
// `make test`, that runs the tests as CI does.
func TestReadmeQuickStartIsTheMakefiles(t *testing.T) {
	src := readmeSource(t)
	_, section, ok := strings.Cut(src, "\n## Quick start\n")
	if !ok {
		t.Fatal(`README.md has no "## Quick start" section`)
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	var cmds []readmeCommand
	for _, b := range readmeBlocks(section) {
		if b.lang == "sh" || b.lang == "shell" || b.lang == "bash" || b.lang == "console" {
			cmds = readmeShellCommands(t, []readmeBlock{b})
			break
		}
	}
	if len(cmds) != 2 {
		t.Fatalf("the quick start has %d commands, want 2 (build and start the demo, run the tests): %+v", len(cmds), cmds)
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	targets := readmeMakeTargets(string(mk))
	for _, c := range cmds {
		if len(c.words) != 2 || c.words[0] != "make" {
			t.Fatalf("README.md:%d: quick start command %q is not `make TARGET`", c.line, c.text)
		}
		if _, ok := targets[c.words[1]]; !ok {
			t.Fatalf("README.md:%d: make %s: no such target in the Makefile", c.line, c.words[1])
		}
	}
	// The first starts the demo after building the binaries.
	demo := targets[cmds[0].words[1]]
	if !slices.Contains(demo.prereqs, "build") {
		t.Errorf("make %s does not depend on build (prerequisites %q)", cmds[0].words[1], demo.prereqs)
	}
	if !slices.ContainsFunc(demo.recipe, func(l string) bool {
		return strings.Contains(l, "pccagent --insecure --demo")
	}) {
		t.Errorf("make %s does not run pccagent --insecure --demo; recipe %q", cmds[0].words[1], demo.recipe)
	}
	if !strings.Contains(targets["build"].joined(), "go build") && !strings.Contains(targets["build"].joined(), "$(GO) build") {
		t.Errorf("make build does not run go build; recipe %q", targets["build"].recipe)
	}
	// The second is the test command CI runs.
	if cmds[1].words[1] != "test" {
		t.Errorf("the second quick start command is %q, want make test", cmds[1].text)
	}
	if !strings.Contains(targets["test"].joined(), "test") {
		t.Errorf("make test runs no tests; recipe %q", targets["test"].recipe)
	}
	ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatalf("read .ci/run: %v", err)
	}
	if !regexp.MustCompile(`(?m)^\s*make test\b`).Match(ci) {
		t.Errorf(".ci/run does not run make test")
	}
}

// readmeMakeTarget is one rule of the Makefile.
type readmeMakeTarget struct {
	prereqs []string
	recipe  []string
}

func (m readmeMakeTarget) joined() string { return strings.Join(m.recipe, "\n") }

// readmeMakeTargets reads the explicit rules of a Makefile: "name: deps"
// lines and their tab-indented recipes.
func readmeMakeTargets(mk string) map[string]readmeMakeTarget {
	targets := map[string]readmeMakeTarget{}
	rule := regexp.MustCompile(`^([A-Za-z0-9_.-]+):([^=].*)?$`)
	cur := ""
	for _, l := range strings.Split(mk, "\n") {
		if strings.HasPrefix(l, "\t") {
			if cur != "" {
				m := targets[cur]
				m.recipe = append(m.recipe, strings.TrimSpace(l))
				targets[cur] = m
			}
			continue
		}
		cur = ""
		if m := rule.FindStringSubmatch(l); m != nil && !strings.HasPrefix(m[1], ".") {
			cur = m[1]
			targets[cur] = readmeMakeTarget{prereqs: strings.Fields(m[2])}
		}
	}
	return targets
}

// ---- running the README's commands ----

// readmeSim is a pcesim the README starts, as started here.
type readmeSim struct {
	host       string // the README's listen host
	readmePort int    // the README's listen port
	sim        *pcesim
}

// readmeEnv is what the README's commands run against.
type readmeEnv struct {
	src    string
	demo   *agentProc
	certs  *certs
	sims   []readmeSim
	agents map[string]*agentProc // by TLS mode, started on first use
}

// readmeTLSMode says which agent a command is for: "plaintext",
// "self-signed" or "mutual".
func readmeTLSMode(c readmeCommand) (string, error) {
	has := func(flags ...string) bool {
		for _, w := range c.words[1:] {
			name, _, _ := strings.Cut(w, "=")
			if slices.Contains(flags, name) {
				return true
			}
		}
		return false
	}
	switch c.tool() {
	case "gnmic":
		switch {
		case has("--tls-cert"):
			return "mutual", nil
		case has("--skip-verify"):
			return "self-signed", nil
		case has("--insecure"):
			return "plaintext", nil
		}
	case "gnmi_cli":
		switch {
		case has("-client_crt", "--client_crt"):
			return "mutual", nil
		case has("-tls_skip_verify", "--tls_skip_verify"):
			return "self-signed", nil
		case has("-insecure", "--insecure"):
			return "plaintext", nil
		}
	case "grpcurl":
		switch {
		case has("-cert", "--cert"):
			return "mutual", nil
		case has("-insecure", "--insecure"):
			return "self-signed", nil
		case has("-plaintext", "--plaintext"):
			return "plaintext", nil
		}
	}
	return "", errors.New("the command says neither plaintext, skip-verify nor a client certificate")
}

// agentFor returns the agent of a TLS mode, starting it on first use; it
// lives until t ends.
func (e *readmeEnv) agentFor(t *testing.T, mode string) *agentProc {
	t.Helper()
	if a, ok := e.agents[mode]; ok {
		return a
	}
	var a *agentProc
	switch mode {
	case "plaintext":
		a = e.demo
	case "self-signed":
		a = startAgentWith(t, t.TempDir(), "")
	case "mutual":
		// The README starts this agent with the same flags and file names.
		want := "--tls-cert server.pem --tls-key server-key.pem --tls-ca ca.pem"
		if !strings.Contains(e.src, "pccagent "+want) {
			t.Errorf("README.md has client-certificate commands but no `pccagent %s` that starts their agent", want)
		}
		a = startAgentWith(t, t.TempDir(), "", "--tls-cert", e.certs.serverCert, "--tls-key", e.certs.serverKey, "--tls-ca", e.certs.caFile)
	default:
		t.Fatalf("unknown TLS mode %q", mode)
	}
	e.agents[mode] = a
	return a
}

// readmeListen matches a pcesim --listen flag.
var readmeListen = regexp.MustCompile(`^--?listen(?:=(.*))?$`)

// startSims starts every pcesim the README starts, each on its README host
// with a free port and with the README's other flags.
func (e *readmeEnv) startSims(t *testing.T) {
	t.Helper()
	for _, c := range readmeShellCommands(t, readmeBlocks(e.src)) {
		if c.tool() != "pcesim" {
			continue
		}
		var listen string
		var rest []string
		for i := 1; i < len(c.words); i++ {
			m := readmeListen.FindStringSubmatch(c.words[i])
			switch {
			case m == nil:
				rest = append(rest, c.words[i])
			case m[1] != "":
				listen = m[1]
			case i+1 < len(c.words):
				i++
				listen = c.words[i]
			}
		}
		if listen == "" {
			continue // the default 127.0.0.1:4189 is never used by the README's servers
		}
		host, port, err := net.SplitHostPort(listen)
		if err != nil {
			t.Fatalf("README.md:%d: pcesim --listen %q: %v", c.line, listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			t.Fatalf("README.md:%d: pcesim --listen %q: bad port", c.line, listen)
		}
		e.sims = append(e.sims, readmeSim{host: host, readmePort: p, sim: startPCESim(t, host, rest...)})
	}
}

// rewrite returns the command's words for agent addr: the README's default
// address replaced, and server entries of Set values that name a README
// pcesim given its real port.
func (e *readmeEnv) rewrite(t *testing.T, c readmeCommand, addr string) []string {
	t.Helper()
	words := slices.Clone(c.words)
	found := false
	for i, w := range words {
		if strings.Contains(w, readmeDefaultAddr) {
			words[i] = strings.ReplaceAll(w, readmeDefaultAddr, addr)
			found = true
		}
		words[i] = e.rewriteServerPorts(words[i])
	}
	if !found {
		t.Fatalf("README.md:%d: the command does not use the default address %s: %s", c.line, readmeDefaultAddr, c.text)
	}
	e.rewriteServerPortLeaves(words)
	return words
}

// readmePortLeaf matches the path of a server's port leaf.
var readmePortLeaf = regexp.MustCompile(`/servers/server\[address=([^\]]+)\]/config/port$`)

// rewriteServerPortLeaves rewrites, in place, gnmic's
// --update-path .../server[address=HOST]/config/port --update-value PORT
// pairs (the n-th path goes with the n-th value, as in gnmic) that name a
// README pcesim: the value becomes its real port.
func (e *readmeEnv) rewriteServerPortLeaves(words []string) {
	if filepath.Base(words[0]) != "gnmic" {
		return
	}
	var paths, values []int // indices of the flag values
	for i := 1; i+1 < len(words); i++ {
		switch words[i] {
		case "--update-path", "--replace-path":
			paths = append(paths, i+1)
		case "--update-value", "--replace-value":
			values = append(values, i+1)
		}
	}
	for n, pi := range paths {
		m := readmePortLeaf.FindStringSubmatch(words[pi])
		if m == nil || n >= len(values) {
			continue
		}
		for _, s := range e.sims {
			if s.host == m[1] && words[values[n]] == strconv.Itoa(s.readmePort) {
				words[values[n]] = strconv.Itoa(int(s.sim.addr.Port()))
			}
		}
	}
}

// rewriteServerPorts rewrites a JSON value: in every object with "address"
// HOST and "port" PORT of a README pcesim, the port becomes that pcesim's
// real port. Anything else is returned unchanged.
func (e *readmeEnv) rewriteServerPorts(w string) string {
	if !strings.HasPrefix(strings.TrimSpace(w), "{") || !json.Valid([]byte(w)) {
		return w
	}
	var v any
	if err := json.Unmarshal([]byte(w), &v); err != nil {
		return w
	}
	changed := false
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if a, ok := x["address"].(string); ok {
				if p, ok := x["port"].(float64); ok {
					for _, s := range e.sims {
						if s.host == a && int(p) == s.readmePort {
							x["port"] = s.sim.addr.Port()
							changed = true
						}
					}
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(v)
	if !changed {
		return w
	}
	b, err := json.Marshal(v)
	if err != nil {
		return w
	}
	return string(b)
}

// settle waits for what a command needs of the agents that an operator
// reading the README would have waited for: a server named by a grpcurl
// request must have its PCEP session up (it may have been configured, or
// cleared, a moment before).
func (e *readmeEnv) settle(t *testing.T, words []string, addr string) {
	t.Helper()
	if filepath.Base(words[0]) != "grpcurl" {
		return
	}
	for i, w := range words {
		if (w != "-d" && w != "--d") || i+1 >= len(words) {
			continue
		}
		var req struct {
			Server string `json:"server"`
		}
		if json.Unmarshal([]byte(words[i+1]), &req) != nil || req.Server == "" {
			continue
		}
		tg := newTarget(t, addr)
		path := "/pce-client/servers/server[address=" + req.Server + "]/state/session-state"
		waitGet(t, tg, "session to "+req.Server+" up", path, func(m map[string]*gnmi.TypedValue) bool {
			for _, v := range m {
				if v.GetStringVal() == "up" {
					return true
				}
			}
			return false
		})
	}
}

// readmeExpected returns the gRPC code a command's comment says it fails
// with ("fails with InvalidArgument"), or "".
func readmeExpected(c readmeCommand) string {
	m := regexp.MustCompile(`fails with ([A-Z][A-Za-z]+)`).FindStringSubmatch(c.comment)
	if m == nil {
		return ""
	}
	return m[1]
}

// readmeStreaming reports whether the command streams until interrupted.
func readmeStreaming(words []string) bool {
	switch filepath.Base(words[0]) {
	case "gnmic":
		if !slices.ContainsFunc(words, func(w string) bool { return w == "subscribe" || w == "sub" }) {
			return false
		}
		mode := readmeFlagValue(words, "--mode")
		return mode == "" || strings.EqualFold(mode, "stream")
	case "gnmi_cli":
		qt := readmeFlagValue(words, "-qt", "-query_type", "--qt", "--query_type")
		if qt == "s" || qt == "streaming" || qt == "stream" {
			return readmeFlagValue(words, "-streaming_duration", "-sd", "--streaming_duration") == ""
		}
		p := readmeFlagValue(words, "-proto", "-p", "--proto")
		return strings.Contains(p, "subscribe:") && strings.Contains(p, "STREAM") && readmeFlagValue(words, "-streaming_duration", "-sd") == ""
	case "grpcurl":
		return slices.ContainsFunc(words, func(w string) bool {
			return slices.ContainsFunc(readmeStreamingMethods, func(m string) bool { return strings.HasSuffix(w, m) })
		}) && readmeFlagValue(words, "-max-time", "--max-time") == ""
	}
	return false
}

// readmeFlagValue returns the value of the first of names in words ("-f v"
// or "-f=v"), or "".
func readmeFlagValue(words []string, names ...string) string {
	for i, w := range words {
		name, val, hasVal := strings.Cut(w, "=")
		if !slices.Contains(names, name) {
			continue
		}
		if hasVal {
			return val
		}
		if i+1 < len(words) {
			return words[i+1]
		}
	}
	return ""
}

// readmeProgram returns the path of a README tool, or "" when it is not
// installed (gnmi_cli and grpcurl are also looked for in GOPATH/bin, where
// go install puts them).
func readmeProgram(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if name == "gnmic" {
		return ""
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return ""
	}
	for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
		p := filepath.Join(dir, "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// TestReadmeCommandsRunAgainstTheAgent runs every gnmic, gnmi_cli and
// grpcurl command of README.md, in order, against `pccagent --insecure
// --demo` (or the TLS agents its TLS section starts) and the pcesims it
// starts.
func TestReadmeCommandsRunAgainstTheAgent(t *testing.T) {
	src := readmeSource(t)
	cmds := readmeToolCommands(t, src)
	if len(cmds) == 0 {
		t.Fatal("README.md has no gnmic, gnmi_cli or grpcurl command")
	}
	for _, tool := range readmeTools {
		if !slices.ContainsFunc(cmds, func(c readmeCommand) bool { return c.tool() == tool }) {
			t.Errorf("README.md has no %s command", tool)
		}
	}
	e := &readmeEnv{src: src, certs: newCerts(t), agents: map[string]*agentProc{}}
	// The files the README writes with here-documents, where its commands run.
	_, files := readmeShellScan(t, readmeBlocks(src))
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(e.certs.dir, filepath.Base(name)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e.startSims(t)
	e.demo = startAgent(t, t.TempDir(), "", "--demo")
	// An operator starts with a demo whose policies are delegated.
	waitGet(t, newTarget(t, e.demo.addr), "the demo's LSPs delegated", "/pce-client/lsps/lsp[name=*]/state/delegated",
		func(m map[string]*gnmi.TypedValue) bool {
			n := 0
			for _, v := range m {
				if v.GetBoolVal() {
					n++
				}
			}
			return n >= 3
		})

	// The TLS agents live as long as the whole test: start those the
	// commands need now.
	for _, c := range cmds {
		if mode, err := readmeTLSMode(c); err == nil {
			e.agentFor(t, mode)
		}
	}

	gnmicPath := readmeProgram("gnmic")
	if gnmicPath == "" {
		t.Logf("gnmic is not on PATH: gnmic commands go through gnmic's client library")
	}
	for _, c := range cmds {
		name := fmt.Sprintf("README.md:%d:%s", c.line, c.tool())
		t.Run(name, func(t *testing.T) {
			mode, err := readmeTLSMode(c)
			if err != nil {
				t.Fatalf("%v: %s", err, c.text)
			}
			a := e.agents[mode]
			words := e.rewrite(t, c, a.addr)
			want := readmeExpected(c)
			if want == "" {
				e.settle(t, words, e.demo.addr)
			}
			if c.tool() == "gnmic" && gnmicPath == "" {
				readmeGnmicLibrary(t, words, e.certs.dir, want)
				return
			}
			bin := readmeProgram(c.tool())
			if bin == "" {
				hint := c.tool() + " is not installed"
				if os.Getenv("CI") == "true" {
					t.Fatal(hint)
				}
				t.Skip(hint)
			}
			readmeExec(t, bin, words, e.certs.dir, want)
		})
	}
}

// readmeExec runs one command for real in dir, bounded.
func readmeExec(t *testing.T, bin string, words []string, dir, wantCode string) {
	t.Helper()
	if readmeStreaming(words) && wantCode == "" {
		readmeExecStream(t, bin, words, dir)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, words[1:]...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish within %v; output:\n%s", strings.Join(words, " "), waitLimit, out)
	}
	if wantCode != "" {
		if err == nil {
			t.Fatalf("%s succeeded, the README says it fails with %s; output:\n%s", strings.Join(words, " "), wantCode, out)
		}
		if !strings.Contains(string(out), wantCode) {
			t.Fatalf("%s failed without %s:\n%s", strings.Join(words, " "), wantCode, out)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(words, " "), err, out)
	}
}

// readmeExecStream runs a streaming command until it has printed one
// complete notification (a line "}" or "]" that closes a JSON object, or
// the empty line after one in gnmic's flat format), then interrupts it as
// Ctrl-C does. It fails when the command ends first or prints nothing
// complete within waitLimit.
func readmeExecStream(t *testing.T, bin string, words []string, dir string) {
	t.Helper()
	cmd := exec.Command(bin, words[1:]...)
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", strings.Join(words, " "), err)
	}
	var mu sync.Mutex
	var out strings.Builder
	complete := make(chan struct{})
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
		closed, printed := false, false
		for sc.Scan() {
			l := sc.Text()
			mu.Lock()
			out.WriteString(l + "\n")
			mu.Unlock()
			// JSON output closes an object at the left margin; gnmic's flat
			// format ends a notification with an empty line.
			if !closed && (l == "}" || l == "]" || (l == "" && printed)) {
				closed = true
				close(complete)
			}
			printed = printed || strings.TrimSpace(l) != ""
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	exited := make(chan error, 1)
	go func() {
		<-readDone
		exited <- cmd.Wait()
	}()
	output := func() string {
		mu.Lock()
		defer mu.Unlock()
		return out.String() + stderr.String()
	}
	timer := time.NewTimer(waitLimit)
	defer timer.Stop()
	select {
	case <-complete:
	case err := <-exited:
		t.Fatalf("%s ended before streaming anything complete: %v\n%s", strings.Join(words, " "), err, output())
	case <-timer.C:
		_ = cmd.Process.Kill()
		<-exited
		t.Fatalf("%s printed nothing complete within %v:\n%s", strings.Join(words, " "), waitLimit, output())
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// ---- gnmic through its client library ----

// readmeGnmic is a gnmic command line, parsed.
type readmeGnmic struct {
	address                   string
	insecure, skipVerify      bool
	tlsCA, tlsCert, tlsKey    string
	username, password        string
	encoding                  string
	timeout                   time.Duration
	command                   string
	paths                     []string
	prefix, target            string
	dataType                  string
	updatePaths, updateValues []string
	updateFiles, replaceFiles []string
	replacePaths, replaceVals []string
	deletes                   []string
	mode, streamMode          string
	sampleInterval, heartbeat time.Duration
	updatesOnly, suppress     bool
}

// readmeGnmicFlags are the gnmic flags this test knows: name -> takes a
// value. Global flags may come before or after the command, as with gnmic.
var readmeGnmicFlags = map[string]bool{
	"-a": true, "--address": true, "--insecure": false, "--skip-verify": false,
	"--tls-ca": true, "--tls-cert": true, "--tls-key": true,
	"-u": true, "--username": true, "-p": true, "--password": true,
	"-e": true, "--encoding": true, "--timeout": true, "--format": true,
	"-d": false, "--debug": false, "--log": false,
	"--path": true, "--prefix": true, "--target": true, "-t": true, "--type": true,
	"--update-path": true, "--update-value": true, "--replace-path": true, "--replace-value": true, "--delete": true,
	"--update-file": true, "--replace-file": true,
	"--mode": true, "--stream-mode": true, "--sample-interval": true, "-i": true, "--heartbeat-interval": true,
	"--updates-only": false, "--suppress-redundant": false,
}

// readmeParseGnmic parses a gnmic command line (words[0] is gnmic).
func readmeParseGnmic(words []string) (readmeGnmic, error) {
	g := readmeGnmic{encoding: "json", timeout: 10 * time.Second, dataType: "ALL", mode: "stream", streamMode: "target-defined"}
	for i := 1; i < len(words); i++ {
		w := words[i]
		if !strings.HasPrefix(w, "-") {
			if g.command != "" {
				return g, fmt.Errorf("unexpected argument %q", w)
			}
			switch w {
			case "capabilities", "cap", "get", "set", "subscribe", "sub":
				g.command = map[string]string{"cap": "capabilities", "sub": "subscribe"}[w]
				if g.command == "" {
					g.command = w
				}
			default:
				return g, fmt.Errorf("gnmic command %q is not checked by this test", w)
			}
			continue
		}
		name, val, hasVal := strings.Cut(w, "=")
		takes, known := readmeGnmicFlags[name]
		if !known {
			return g, fmt.Errorf("gnmic flag %s is not checked by this test", name)
		}
		if takes && !hasVal {
			if i+1 >= len(words) {
				return g, fmt.Errorf("gnmic flag %s needs a value", name)
			}
			i++
			val = words[i]
		}
		var err error
		switch name {
		case "-a", "--address":
			g.address = val
		case "--insecure":
			g.insecure = true
		case "--skip-verify":
			g.skipVerify = true
		case "--tls-ca":
			g.tlsCA = val
		case "--tls-cert":
			g.tlsCert = val
		case "--tls-key":
			g.tlsKey = val
		case "-u", "--username":
			g.username = val
		case "-p", "--password":
			g.password = val
		case "-e", "--encoding":
			g.encoding = val
		case "--timeout":
			g.timeout, err = time.ParseDuration(val)
		case "--format", "-d", "--debug", "--log":
			// Output and logging only.
		case "--path":
			g.paths = append(g.paths, val)
		case "--prefix":
			g.prefix = val
		case "--target", "-t":
			g.target = val
		case "--type":
			g.dataType = val
		case "--update-path":
			g.updatePaths = append(g.updatePaths, val)
		case "--update-value":
			g.updateValues = append(g.updateValues, val)
		case "--replace-path":
			g.replacePaths = append(g.replacePaths, val)
		case "--replace-value":
			g.replaceVals = append(g.replaceVals, val)
		case "--delete":
			g.deletes = append(g.deletes, val)
		case "--update-file":
			g.updateFiles = append(g.updateFiles, val)
		case "--replace-file":
			g.replaceFiles = append(g.replaceFiles, val)
		case "--mode":
			g.mode = strings.ToLower(val)
		case "--stream-mode":
			g.streamMode = strings.ToLower(val)
		case "--sample-interval", "-i":
			g.sampleInterval, err = time.ParseDuration(val)
		case "--heartbeat-interval":
			g.heartbeat, err = time.ParseDuration(val)
		case "--updates-only":
			g.updatesOnly = true
		case "--suppress-redundant":
			g.suppress = true
		}
		if err != nil {
			return g, fmt.Errorf("gnmic flag %s %q: %v", name, val, err)
		}
	}
	// As gnmic does (config.SanitizeArrayFlagValue): these flags are lists
	// split at commas, after one pair of surrounding brackets is removed.
	// Get paths too; subscribe paths are kept whole.
	lists := []*[]string{&g.deletes, &g.updatePaths, &g.updateValues, &g.updateFiles, &g.replacePaths, &g.replaceVals, &g.replaceFiles}
	if g.command == "get" {
		lists = append(lists, &g.paths)
	}
	for _, l := range lists {
		*l = readmeSanitize(*l)
	}
	switch {
	case g.command == "":
		return g, errors.New("no gnmic command")
	case len(g.updateFiles) > 0 && len(g.updateValues) > 0, len(g.replaceFiles) > 0 && len(g.replaceVals) > 0:
		return g, errors.New("gnmic refuses values and files in the same set")
	case len(g.updateFiles) > 0 && len(g.updateFiles) != len(g.updatePaths):
		return g, errors.New("--update-path and --update-file do not pair up")
	case len(g.replaceFiles) > 0 && len(g.replaceFiles) != len(g.replacePaths):
		return g, errors.New("--replace-path and --replace-file do not pair up")
	case g.address == "":
		return g, errors.New("no -a address")
	case len(g.updateFiles) == 0 && len(g.updatePaths) != len(g.updateValues):
		return g, errors.New("--update-path and --update-value do not pair up (gnmic splits values at commas: use --update-file)")
	case len(g.replaceFiles) == 0 && len(g.replacePaths) != len(g.replaceVals):
		return g, errors.New("--replace-path and --replace-value do not pair up")
	case (g.command == "get" || g.command == "subscribe") && len(g.paths) == 0:
		return g, fmt.Errorf("gnmic %s without --path", g.command)
	case g.command == "set" && len(g.updatePaths)+len(g.replacePaths)+len(g.deletes) == 0:
		return g, errors.New("gnmic set without an update, replace or delete")
	}
	return g, nil
}

func TestReadmeGnmicCommandLinesParseAsGnmicDoes(t *testing.T) {
	tests := []struct {
		line    string
		wantErr string
		check   func(readmeGnmic) bool
	}{
		{line: `gnmic -a 127.0.0.1:9339 --insecure capabilities`, check: func(g readmeGnmic) bool { return g.command == "capabilities" && g.insecure }},
		{line: `gnmic -a 127.0.0.1:9339 --insecure get --path '/a[k=v]/b' --type state`, check: func(g readmeGnmic) bool {
			return g.command == "get" && slices.Equal(g.paths, []string{"/a[k=v]/b"}) && g.dataType == "state" && g.encoding == "json"
		}},
		{line: `gnmic -a 127.0.0.1:9339 --insecure set --update-path /a --update-value 5 --update-path /b --update-value x`, check: func(g readmeGnmic) bool {
			return slices.Equal(g.updatePaths, []string{"/a", "/b"}) && slices.Equal(g.updateValues, []string{"5", "x"})
		}},
		// gnmic splits values at commas: a JSON object does not pass.
		{line: `gnmic -a 127.0.0.1:9339 --insecure set --update-path /a --update-value '{"x": 1, "y": 2}'`, wantErr: "do not pair up"},
		{line: `gnmic -a 127.0.0.1:9339 --insecure set --update-path /a --update-file a.json`, check: func(g readmeGnmic) bool {
			return slices.Equal(g.updateFiles, []string{"a.json"})
		}},
		{line: `gnmic -a 127.0.0.1:9339 --insecure set --update-path /a --update-file a.json --update-value 1`, wantErr: "values and files"},
		{line: `gnmic -a 127.0.0.1:9339 --insecure subscribe --path /a`, check: func(g readmeGnmic) bool {
			return g.mode == "stream" && g.streamMode == "target-defined"
		}},
		{line: `gnmic -a 127.0.0.1:9339 --skip-verify sub --path /a --mode stream --stream-mode on-change`, check: func(g readmeGnmic) bool {
			return g.command == "subscribe" && g.skipVerify && g.streamMode == "on-change"
		}},
		{line: `gnmic -a 127.0.0.1:9339 --insecure get --path /a --no-such-flag`, wantErr: "not checked"},
		{line: `gnmic -a 127.0.0.1:9339 --insecure diff --path /a`, wantErr: "not checked"},
		{line: `gnmic --insecure get --path /a`, wantErr: "no -a"},
	}
	for _, tt := range tests {
		words, _, err := readmeShellWords(tt.line)
		if err != nil {
			t.Fatal(err)
		}
		g, err := readmeParseGnmic(words)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: error %v, want one with %q", tt.line, err, tt.wantErr)
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.line, err)
		case tt.check != nil && err == nil && !tt.check(g):
			t.Errorf("%s: parsed as %+v", tt.line, g)
		}
	}
}

// readmeSanitize is gnmic's config.SanitizeArrayFlagValue: "[]" is
// dropped, surrounding brackets are removed, and each value is split at
// commas.
func readmeSanitize(ls []string) []string {
	out := make([]string, 0, len(ls))
	for _, v := range ls {
		if v == "[]" {
			continue
		}
		for strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
			v = v[1 : len(v)-1]
		}
		out = append(out, strings.Split(v, ",")...)
	}
	return out
}

// readmeGnmicValue returns the i-th value of a set: the file's content
// (trimmed, as gnmic reads it) when files are given, else the flag value.
func readmeGnmicValue(t *testing.T, dir string, files, values []string, i int) string {
	t.Helper()
	if len(files) == 0 {
		return values[i]
	}
	name := files[i]
	if !filepath.IsAbs(name) {
		name = filepath.Join(dir, name)
	}
	if ext := filepath.Ext(name); ext == ".yaml" || ext == ".yml" {
		t.Fatalf("YAML value files are not checked by this test: %s", files[i])
	}
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("gnmic value file: %v", err)
	}
	return strings.Trim(string(b), " \r\n\t")
}

// readmeGnmicLibrary sends a gnmic command line through gnmic's client
// library, the way the gnmic CLI builds its requests, and checks the call
// succeeds (or fails with wantCode).
func readmeGnmicLibrary(t *testing.T, words []string, dir, wantCode string) {
	t.Helper()
	g, err := readmeParseGnmic(words)
	if err != nil {
		t.Fatalf("%v: %s", err, strings.Join(words, " "))
	}
	file := func(f string) string {
		if f == "" || filepath.IsAbs(f) {
			return f
		}
		return filepath.Join(dir, f)
	}
	opts := []api.TargetOption{api.Name(g.address), api.Address(g.address), api.Timeout(g.timeout)}
	switch {
	case g.insecure:
		opts = append(opts, api.Insecure(true))
	default:
		opts = append(opts, api.SkipVerify(g.skipVerify))
		if g.tlsCA != "" {
			opts = append(opts, api.TLSCA(file(g.tlsCA)))
		}
		if g.tlsCert != "" {
			opts = append(opts, api.TLSCert(file(g.tlsCert)), api.TLSKey(file(g.tlsKey)))
		}
	}
	if g.username != "" {
		opts = append(opts, api.Username(g.username), api.Password(g.password))
	}
	tg, err := api.NewTarget(opts...)
	if err != nil {
		t.Fatalf("gnmic NewTarget: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := tg.CreateGNMIClient(ctx); err != nil {
		t.Fatalf("gnmic CreateGNMIClient %s: %v", g.address, err)
	}
	t.Cleanup(func() { tg.Close() })

	check := func(err error) {
		t.Helper()
		switch {
		case wantCode == "" && err != nil:
			t.Fatalf("%s: %v", strings.Join(words, " "), err)
		case wantCode != "" && err == nil:
			t.Fatalf("%s succeeded, the README says it fails with %s", strings.Join(words, " "), wantCode)
		case wantCode != "" && status.Code(err).String() != wantCode:
			t.Fatalf("%s failed with %v, the README says %s", strings.Join(words, " "), err, wantCode)
		}
	}
	switch g.command {
	case "capabilities":
		_, err := tg.Capabilities(ctx)
		check(err)
	case "get":
		gopts := []api.GNMIOption{api.Encoding(g.encoding), api.DataType(g.dataType), api.Prefix(g.prefix), api.Target(g.target)}
		for _, p := range g.paths {
			gopts = append(gopts, api.Path(strings.TrimSpace(p)))
		}
		req, err := api.NewGetRequest(gopts...)
		if err != nil {
			t.Fatalf("gnmic NewGetRequest: %v", err)
		}
		_, err = tg.Get(ctx, req)
		check(err)
	case "set":
		sopts := []api.GNMIOption{api.Prefix(g.prefix), api.Target(g.target)}
		for _, p := range g.deletes {
			sopts = append(sopts, api.Delete(strings.TrimSpace(p)))
		}
		for i, p := range g.updatePaths {
			v := readmeGnmicValue(t, dir, g.updateFiles, g.updateValues, i)
			sopts = append(sopts, api.Update(api.Path(strings.TrimSpace(p)), api.Value(v, g.encoding)))
		}
		for i, p := range g.replacePaths {
			v := readmeGnmicValue(t, dir, g.replaceFiles, g.replaceVals, i)
			sopts = append(sopts, api.Replace(api.Path(strings.TrimSpace(p)), api.Value(v, g.encoding)))
		}
		req, err := api.NewSetRequest(sopts...)
		if err != nil {
			t.Fatalf("gnmic NewSetRequest: %v", err)
		}
		_, err = tg.Set(ctx, req)
		check(err)
	case "subscribe":
		readmeGnmicSubscribe(t, tg, g, wantCode)
	}
}

// readmeGnmicSubscribe subscribes as gnmic does and reads up to
// sync_response: for a stream that is where an operator has seen the whole
// current state and may press Ctrl-C.
func readmeGnmicSubscribe(t *testing.T, tg *target.Target, g readmeGnmic, wantCode string) {
	t.Helper()
	sopts := []api.GNMIOption{api.Prefix(g.prefix), api.SubscriptionListMode(g.mode), api.UpdatesOnly(g.updatesOnly), api.Encoding(g.encoding)}
	if g.target != "" {
		sopts = append(sopts, api.Target(g.target))
	}
	for _, p := range g.paths {
		var sub []api.GNMIOption
		if g.mode == "stream" {
			switch strings.ReplaceAll(g.streamMode, "-", "_") {
			case "on_change":
				if g.heartbeat > 0 {
					sub = append(sub, api.HeartbeatInterval(g.heartbeat))
				}
			case "sample", "target_defined":
				if g.sampleInterval > 0 {
					sub = append(sub, api.SampleInterval(g.sampleInterval))
				}
				sub = append(sub, api.SuppressRedundant(g.suppress))
				if g.suppress && g.heartbeat > 0 {
					sub = append(sub, api.HeartbeatInterval(g.heartbeat))
				}
			default:
				t.Fatalf("gnmic --stream-mode %q is not a stream mode", g.streamMode)
			}
			sub = append(sub, api.SubscriptionMode(g.streamMode))
		}
		sub = append(sub, api.Path(p))
		sopts = append(sopts, api.Subscription(sub...))
	}
	req, err := api.NewSubscribeRequest(sopts...)
	if err != nil {
		t.Fatalf("gnmic NewSubscribeRequest: %v", err)
	}
	s := subscribe(t, tg, req)
	if wantCode == "" {
		s.untilSync(t)
		return
	}
	timer := time.NewTimer(waitLimit)
	defer timer.Stop()
	for {
		select {
		case _, ok := <-s.resp:
			if ok {
				continue
			}
			if got := status.Code(s.err).String(); got != wantCode {
				t.Fatalf("subscription ended with %v, the README says %s", s.err, wantCode)
			}
			return
		case <-timer.C:
			t.Fatalf("subscription did not fail within %v, the README says it fails with %s", waitLimit, wantCode)
		}
	}
}
