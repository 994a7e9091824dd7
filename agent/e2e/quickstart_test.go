package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/gnmic/pkg/api"
)

// The README quick start: `pccagent --insecure --demo` with no config file
// shows delegated LSPs whose labels move, within 10 s.
func TestDemoQuickStartDelegatesAndUpdatesLSPs(t *testing.T) {
	dir := t.TempDir()
	ag := startAgent(t, dir, "", "--demo")
	tg := newTarget(t, ag.addr)
	s := subscribe(t, tg, newSubscribeRequest(t, api.SubscriptionListModeSTREAM(), api.EncodingPROTO(),
		api.Subscription(api.Path("/pce-client/lsps"), api.SubscriptionModeON_CHANGE())))
	state := map[string]*gnmi.TypedValue{}
	mergeLeaves(state, s.untilSync(t)...)

	firstLabels := map[string][]uint32{} // labels when first seen delegated
	changed := map[string]bool{}
	check := func() bool {
		for k, v := range state {
			name, ok := lspName(k, "delegated")
			if !ok || !v.GetBoolVal() {
				continue
			}
			labels := uints(state[lspPath(name, "labels")])
			if _, seen := firstLabels[name]; !seen {
				firstLabels[name] = labels
			} else if !slices.Equal(firstLabels[name], labels) {
				changed[name] = true
			}
		}
		return len(firstLabels) >= 3 && len(changed) == len(firstLabels)
	}
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	for !check() {
		select {
		case r, ok := <-s.resp:
			if !ok {
				t.Fatalf("subscription ended: %v", s.err)
			}
			mergeLeaves(state, r.GetUpdate())
		case <-timer.C:
			t.Fatalf("within 10 s: %d delegated demo LSPs (want at least 3), labels changed for %d of them (want all)\nfirst labels %v, changed %v\nstate:\n%s",
				len(firstLabels), len(changed), firstLabels, changed, formatLeaves(state))
		}
	}
	for name := range firstLabels {
		if v := state[lspPath(name, "delegated-to")].GetStringVal(); !strings.HasPrefix(v, "127.") {
			t.Errorf("demo LSP %s delegated-to %q, want the embedded PCE on loopback", name, v)
		}
		if v := state[lspPath(name, "updates")].GetUintVal(); v == 0 {
			t.Errorf("demo LSP %s: updates = 0 after its labels changed", name)
		}
	}
	// The demo tells how to watch it.
	if out := ag.output.String(); !strings.Contains(out, "gnmic -a "+ag.addr+" --insecure subscribe --path /pce-client/lsps --mode stream --stream-mode on_change") {
		t.Errorf("the agent's log does not show the gnmic command for %s", ag.addr)
	}
	// The demo's sample is not saved unless the user changes something.
	if _, err := os.Stat(filepath.Join(dir, "pccagent.json")); err == nil {
		t.Logf("note: --demo wrote %s", filepath.Join(dir, "pccagent.json"))
	}
}

// lspName extracts the LSP name of a /pce-client/lsps/lsp[name=X]/state/leaf path.
func lspName(path, leaf string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/pce-client/lsps/lsp[name=")
	if !ok {
		return "", false
	}
	name, ok := strings.CutSuffix(rest, "]/state/"+leaf)
	return name, ok
}

// gnmiCLI returns the path of the reference client gnmi_cli. Missing, it
// skips the test, except under CI where it fails it.
func gnmiCLI(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("gnmi_cli"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", "gnmi_cli")
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	const hint = "gnmi_cli not found (go install github.com/openconfig/gnmi/cmd/gnmi_cli@v0.14.1)"
	if os.Getenv("CI") == "true" {
		t.Fatal(hint)
	}
	t.Skip(hint)
	return ""
}

// runCLI runs gnmi_cli with args, bounded, and returns its output.
func runCLI(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	out, err := cmd.CombinedOutput()
	// A stream run with -streaming_duration ends with DeadlineExceeded and
	// exit status 1 once the duration is over: that is its normal end.
	if err != nil && !(slices.Contains(args, "-streaming_duration") && strings.Contains(string(out), "code = DeadlineExceeded")) {
		t.Fatalf("gnmi_cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestReferenceClientGnmiCliCapabilitiesGetAndSubscribe(t *testing.T) {
	bin := gnmiCLI(t)
	f := newFixture(t)
	base := []string{"-address", f.agent.addr, "-insecure", "-timeout", "10s", "-logtostderr"}

	t.Run("capabilities", func(t *testing.T) {
		out := runCLI(t, bin, append(base, "-capabilities")...)
		for _, want := range []string{"pcc-agent", "JSON_IETF", "PROTO"} {
			if !strings.Contains(out, want) {
				t.Errorf("capabilities output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("get", func(t *testing.T) {
		req := `path: <elem: <name: "pce-client"> elem: <name: "lsps"> elem: <name: "lsp" key: <key: "name" value: "to-pe3">> elem: <name: "state"> elem: <name: "labels">> encoding: JSON_IETF`
		out := runCLI(t, bin, append(base, "-get", "-proto", req)...)
		for _, want := range []string{"16011", "16003"} {
			if !strings.Contains(out, want) {
				t.Errorf("get output lacks %q:\n%s", want, out)
			}
		}
	})
	// A SubscribeRequest given as text proto is sent as is.
	t.Run("subscribe once proto", func(t *testing.T) {
		req := `subscribe: <prefix: <> subscription: <path: <elem: <name: "pce-client"> elem: <name: "lsps">>> mode: ONCE>`
		out := runCLI(t, bin, append(base, "-proto", req)...)
		checkCLIHasLSPs(t, out)
	})
	t.Run("subscribe stream proto", func(t *testing.T) {
		req := `subscribe: <prefix: <> subscription: <path: <elem: <name: "pce-client"> elem: <name: "lsps"> elem: <name: "lsp" key: <key: "name" value: "to-pe4">> elem: <name: "state"> elem: <name: "labels">> mode: ON_CHANGE> mode: STREAM>`
		out := runCLI(t, bin, append(base, "-proto", req, "-streaming_duration", "2s")...)
		if !strings.Contains(out, "16004") {
			t.Errorf("subscribe stream output lacks the labels of to-pe4:\n%s", out)
		}
	})
	// -query builds its paths with both elem and the deprecated element
	// field set (ygot.StringToPath with StructuredPath and StringSlicePath).
	t.Run("subscribe once query", func(t *testing.T) {
		out := runCLI(t, bin, append(base, "-query", "pce-client/lsps", "-qt", "o")...)
		checkCLIHasLSPs(t, out)
	})
}

func checkCLIHasLSPs(t *testing.T, out string) {
	t.Helper()
	for _, p := range samplePolicies {
		if !strings.Contains(out, p.name) {
			t.Errorf("subscribe output lacks %s:\n%s", p.name, out)
		}
	}
	if !strings.Contains(out, "delegated") {
		t.Errorf("subscribe output lacks delegated:\n%s", out)
	}
}
