package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/gnmic/pkg/api"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/pccagent/pccagent/gen/operationspb"
)

func serverPath(addr netip.Addr, leaf string) string {
	return fmt.Sprintf("/pce-client/servers/server[address=%s]/%s", addr, leaf)
}

func TestSetPreferenceMovesDelegation(t *testing.T) {
	simA := startPCESim(t, "127.0.0.1")
	simB := startPCESim(t, "127.0.0.3")
	a, b := simA.addr.Addr(), simB.addr.Addr()
	cfg := configJSON(nil, []serverConf{{addr: simA.addr, pref: 5}, {addr: simB.addr, pref: 3}}, samplePolicies)
	ag := startAgent(t, t.TempDir(), cfg)
	tg := newTarget(t, ag.addr)
	names := policyNames(samplePolicies)

	simA.waitShow(t, "delegation to the preferred server "+a.String(), allDelegated(names...))
	simB.waitShow(t, "every LSP reported, none delegated, to "+b.String(), func(rows []simRow) bool {
		for _, n := range names {
			if r, ok := lspRow(rows, n); !ok || r.Delegated {
				return false
			}
		}
		return true
	})
	ops := newOperations(t, ag.addr)
	fromSeq := ops.nextSequence(t)

	mustSet(t, tg, updateValue(serverPath(b, "config/preference"), "7"))

	simB.waitShow(t, "delegation moved to "+b.String(), allDelegated(names...))
	simA.waitShow(t, "delegation taken back from "+a.String(), noneDelegated)
	waitGet(t, tg, "selected-server "+b.String(), "/pce-client/state/selected-server", func(m map[string]*gnmi.TypedValue) bool {
		return m["/pce-client/state/selected-server"].GetStringVal() == b.String()
	})
	got := getLeaves(t, tg, "/pce-client/lsps/lsp/state/delegated-to")
	for _, n := range names {
		if v := got[lspPath(n, "delegated-to")].GetStringVal(); v != b.String() {
			t.Errorf("%s delegated-to = %q, want %s", n, v, b)
		}
	}
	if v := getLeaves(t, tg, serverPath(b, "state/preference"))[serverPath(b, "state/preference")]; v.GetUintVal() != 7 {
		t.Errorf("state/preference of %s = %v, want 7", b, v)
	}

	// The move is make-before-break in PCEP terms: each LSP is given back to
	// the old server (D=0) before it is delegated to the new one (D=1).
	events := ops.readUntil(t, fromSeq, "every LSP delegated to "+b.String(), func(seen []*operationspb.Event) bool {
		n := 0
		for _, e := range seen {
			if e.GetKind() == operationspb.Event_LSP_DELEGATED && e.GetServer() == b.String() {
				n++
			}
		}
		return n >= len(names)
	})
	for _, n := range names {
		revoked, deleg := uint64(0), uint64(0)
		for _, e := range events {
			if e.GetLsp() != n {
				continue
			}
			if e.GetKind() == operationspb.Event_LSP_REVOKED && e.GetServer() == a.String() && revoked == 0 {
				revoked = e.GetSequence()
			}
			if e.GetKind() == operationspb.Event_LSP_DELEGATED && e.GetServer() == b.String() && deleg == 0 {
				deleg = e.GetSequence()
			}
		}
		if revoked == 0 || deleg == 0 || revoked > deleg {
			t.Errorf("%s: revoked from %s at sequence %d, delegated to %s at %d: want a revocation first", n, a, revoked, b, deleg)
		}
	}

	// Back to the first server when it ranks first again (revertive).
	mustSet(t, tg, updateValue(serverPath(b, "config/preference"), "0"))
	simA.waitShow(t, "delegation back at "+a.String(), allDelegated(names...))
	simB.waitShow(t, "delegation taken back from "+b.String(), noneDelegated)
}

// configSnapshot is what a bad Set must not change: the CONFIG Get of the
// whole tree, the state mirror of every config leaf, and the config file.
type configSnapshot struct {
	config *gnmi.GetResponse
	mirror map[string]*gnmi.TypedValue
	file   []byte
}

func takeConfigSnapshot(t *testing.T, f *fixture) configSnapshot {
	t.Helper()
	s := configSnapshot{
		config: get(t, f.tg, api.Path("/pce-client"), api.DataTypeCONFIG(), api.EncodingJSON_IETF()),
		mirror: map[string]*gnmi.TypedValue{},
	}
	for _, p := range []string{"/pce-client/state", "/pce-client/servers/server/state", "/pce-client/policies/policy/state"} {
		for k, v := range getLeaves(t, f.tg, p) {
			// Operational leaves move on their own; the config mirrors must not.
			if strings.Contains(k, "/counters/") || strings.HasSuffix(k, "last-state-change") || strings.HasSuffix(k, "/session-state") ||
				strings.HasSuffix(k, "/keepalive") && strings.Contains(k, "/servers/") || strings.HasSuffix(k, "/dead-timer") && strings.Contains(k, "/servers/") {
				continue
			}
			s.mirror[k] = v
		}
	}
	b, err := os.ReadFile(f.agent.config)
	if err != nil {
		t.Fatalf("read config file: %v", err)
	}
	s.file = b
	return s
}

// canonicalJSON returns the JSON values of a Get answer, by path, with the
// entries of every list sorted, so that answers that differ only in the
// order of list entries compare equal.
func canonicalJSON(t *testing.T, r *gnmi.GetResponse) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range r.GetNotification() {
		for _, u := range n.GetUpdate() {
			b := u.GetVal().GetJsonIetfVal()
			if b == nil {
				b = u.GetVal().GetJsonVal()
			}
			var v any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatalf("Get answer at %s is not JSON: %v", pathString(n.GetPrefix(), u.GetPath()), err)
			}
			c, err := json.Marshal(sortLists(v))
			if err != nil {
				t.Fatal(err)
			}
			out[pathString(n.GetPrefix(), u.GetPath())] = string(c)
		}
	}
	return out
}

// sortLists sorts every JSON array by the encoding of its elements.
func sortLists(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = sortLists(e)
		}
	case []any:
		enc := make([]string, len(x))
		for i, e := range x {
			x[i] = sortLists(e)
			b, _ := json.Marshal(x[i])
			enc[i] = string(b)
		}
		idx := make([]int, len(x))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return enc[idx[a]] < enc[idx[b]] })
		out := make([]any, len(x))
		for i, j := range idx {
			out[i] = x[j]
		}
		return out
	}
	return v
}

func stripTimestamps(r *gnmi.GetResponse) *gnmi.GetResponse {
	c := proto.Clone(r).(*gnmi.GetResponse)
	for _, n := range c.GetNotification() {
		n.Timestamp = 0
	}
	return c
}

func TestBadSetsAreRefusedAndChangeNothing(t *testing.T) {
	f := newFixture(t)
	srv := f.serverAddr()
	// The first successful Set writes the file in the agent's own format;
	// start from there so that the file bytes can be compared.
	mustSet(t, f.tg, updateValue(serverPath(srv, "config/description"), `"lab PCE"`))

	tests := []struct {
		name string
		opts []api.GNMIOption
		want codes.Code
	}{
		{"preference out of range", []api.GNMIOption{updateValue(serverPath(srv, "config/preference"), "9")}, codes.InvalidArgument},
		{"replace preference out of range", []api.GNMIOption{api.Replace(api.Path(serverPath(srv, "config/preference")), api.Value("9", "json_ietf"))}, codes.InvalidArgument},
		{"write to a state leaf", []api.GNMIOption{updateValue(serverPath(srv, "state/preference"), "3")}, codes.InvalidArgument},
		{"write to LSP state", []api.GNMIOption{updateValue(lspPath("to-pe2", "delegated"), "false")}, codes.InvalidArgument},
		{"unknown leaf", []api.GNMIOption{updateValue("/pce-client/config/no-such-leaf", "1")}, codes.NotFound},
		{"unknown container", []api.GNMIOption{updateValue("/pce-client/no-such-thing/config/x", "1")}, codes.NotFound},
		{"state-timeout below delegate-hold", []api.GNMIOption{updateValue("/pce-client/config/state-timeout", "10")}, codes.InvalidArgument},
		{"label out of range", []api.GNMIOption{updateValue("/pce-client/policies/policy[name=to-pe2]/config/labels", "[15]")}, codes.InvalidArgument},
		{"good update with a bad one is one transaction", []api.GNMIOption{
			updateValue(serverPath(srv, "config/description"), `"changed"`),
			updateValue("/pce-client/config/msd", "12"),
			updateValue(serverPath(srv, "config/preference"), "9"),
		}, codes.InvalidArgument},
		{"delete with a bad update is one transaction", []api.GNMIOption{
			api.Delete("/pce-client/policies/policy[name=to-pe4]"),
			updateValue("/pce-client/config/state-timeout", "1"),
		}, codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := takeConfigSnapshot(t, f)
			req, err := api.NewSetRequest(tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.tg.Set(rpcContext(t), req)
			if got := status.Code(err); got != tt.want {
				t.Fatalf("Set %s: code %v (%v), want %v", prototext.Format(req), got, err, tt.want)
			}
			after := takeConfigSnapshot(t, f)
			if !maps.Equal(canonicalJSON(t, before.config), canonicalJSON(t, after.config)) {
				t.Errorf("CONFIG Get changed:\nbefore %s\nafter  %s", prototext.Format(before.config), prototext.Format(after.config))
			}
			for k, v := range before.mirror {
				if !proto.Equal(v, after.mirror[k]) {
					t.Errorf("state leaf %s changed from %v to %v", k, v, after.mirror[k])
				}
			}
			for k := range after.mirror {
				if _, ok := before.mirror[k]; !ok {
					t.Errorf("state leaf %s appeared: %v", k, after.mirror[k])
				}
			}
			if !bytes.Equal(before.file, after.file) {
				t.Errorf("config file changed:\nbefore %s\nafter  %s", before.file, after.file)
			}
		})
	}
	// The delegation is still where it was.
	f.sim.waitShow(t, "every LSP still delegated", allDelegated(policyNames(samplePolicies)...))
}

func TestRestartFromWrittenConfigResumesDelegation(t *testing.T) {
	sim := startPCESim(t, "127.0.0.1")
	dir := t.TempDir()
	ag := startAgent(t, dir, "") // no config file: empty configuration
	tg := newTarget(t, ag.addr)
	if _, err := os.Stat(ag.config); err == nil {
		t.Errorf("the agent wrote %s before any Set", ag.config)
	}

	// The whole tree in one Set, as a JSON_IETF value of /pce-client.
	var pols []string
	for _, p := range samplePolicies {
		pols = append(pols, fmt.Sprintf(`{"name": %q, "config": {"name": %q, "color": %d, "endpoint": %q, "labels": [%s]}}`,
			p.name, p.name, p.color, p.endpoint, strings.ReplaceAll(joinUints(p.labels), " ", ", ")))
	}
	tree := fmt.Sprintf(`{"config": {"capability-segment-routing": true, "delegate-hold": 20, "state-timeout": 40},
		"servers": {"server": [{"address": %q, "config": {"address": %q, "port": %d, "preference": 6, "description": "sim"}}]},
		"policies": {"policy": [%s]}}`, sim.addr.Addr(), sim.addr.Addr(), sim.addr.Port(), strings.Join(pols, ", "))
	mustSet(t, tg, api.Update(api.Path("/pce-client"), api.Value(tree, "json_ietf")))
	names := policyNames(samplePolicies)
	first := sim.waitShow(t, "delegation after the Set", allDelegated(names...))
	file, err := os.ReadFile(ag.config)
	if err != nil {
		t.Fatalf("the Set did not write the config file: %v", err)
	}
	config := get(t, tg, api.Path("/pce-client"), api.DataTypeCONFIG(), api.EncodingJSON_IETF())

	ag.stop(t)
	sim.waitShow(t, "the stopped agent's session gone", func(rows []simRow) bool {
		for _, r := range rows {
			if r.PCC == first[0].PCC {
				return false
			}
		}
		return true
	})

	ag2 := restartAgent(t, ag)
	tg2 := newTarget(t, ag2.addr)
	config2 := get(t, tg2, api.Path("/pce-client"), api.DataTypeCONFIG(), api.EncodingJSON_IETF())
	if !maps.Equal(canonicalJSON(t, config), canonicalJSON(t, config2)) {
		t.Errorf("configuration after restart differs:\nbefore %s\nafter  %s", prototext.Format(config), prototext.Format(config2))
	}
	sim.waitShow(t, "delegation resumed after the restart", allDelegated(names...))
	waitGet(t, tg2, "every LSP delegated after the restart", "/pce-client/lsps/lsp/state/delegated", func(m map[string]*gnmi.TypedValue) bool {
		for _, n := range names {
			if !m[lspPath(n, "delegated")].GetBoolVal() {
				return false
			}
		}
		return true
	})
	file2, err := os.ReadFile(ag.config)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, file2) {
		t.Errorf("the config file changed across the restart:\nbefore %s\nafter  %s", file, file2)
	}
}

func TestPCInitiateAppearsWithOriginPCEAndRemovalArrivesAsDelete(t *testing.T) {
	f := newFixture(t)
	s := subscribe(t, f.tg, newSubscribeRequest(t, api.SubscriptionListModeSTREAM(), api.EncodingPROTO(),
		api.Subscription(api.Path("/pce-client/lsps"), api.SubscriptionModeON_CHANGE())))
	s.untilSync(t)

	f.sim.mustRun(t, "initiate pce-lsp1 192.0.2.9 500 16009")
	state := map[string]*gnmi.TypedValue{}
	s.waitFor(t, "pce-lsp1 with origin pce, delegated, labels [16009]", func(r *gnmi.SubscribeResponse) bool {
		mergeLeaves(state, r.GetUpdate())
		return state[lspPath("pce-lsp1", "origin")].GetStringVal() == "pce" &&
			state[lspPath("pce-lsp1", "delegated")].GetBoolVal() &&
			slices.Equal(uints(state[lspPath("pce-lsp1", "labels")]), []uint32{16009})
	})
	if v := state[lspPath("pce-lsp1", "color")]; v.GetUintVal() != 500 {
		t.Errorf("pce-lsp1 color = %v, want 500", v)
	}
	if v := state[lspPath("pce-lsp1", "endpoint")]; v.GetStringVal() != "192.0.2.9" {
		t.Errorf("pce-lsp1 endpoint = %v, want 192.0.2.9", v)
	}
	row := f.sim.waitShow(t, "pce-lsp1 reported with C=1", func(rows []simRow) bool {
		r, ok := lspRow(rows, "pce-lsp1")
		return ok && r.Create && r.Delegated
	})
	r, _ := lspRow(row, "pce-lsp1")

	f.sim.mustRun(t, fmt.Sprintf("remove %d", r.PLSPID))
	lsp := "/pce-client/lsps/lsp[name=pce-lsp1]"
	s.waitFor(t, "a delete of "+lsp, func(r *gnmi.SubscribeResponse) bool {
		for _, d := range deletes(r.GetUpdate()) {
			if d == lsp || strings.HasPrefix(d, lsp+"/") {
				return true
			}
		}
		return false
	})
	for k := range getLeaves(t, f.tg, "/pce-client/lsps") {
		if strings.HasPrefix(k, lsp) {
			t.Errorf("Get still has %s after the removal", k)
		}
	}
	f.sim.waitShow(t, "pce-lsp1 gone from the PCE", func(rows []simRow) bool {
		_, ok := lspRow(rows, "pce-lsp1")
		return !ok
	})
}

// Two Gets of an unchanged tree answer the same bytes: list entries come in
// a stable order, so that an operator can diff two answers.
func TestGetOutputIsStableAcrossCalls(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/pce-client/policies", "/pce-client/lsps/lsp/state/name"} {
		first := stripTimestamps(get(t, f.tg, api.Path(path), api.DataTypeALL(), api.EncodingJSON_IETF()))
		for i := 0; i < 5; i++ {
			again := stripTimestamps(get(t, f.tg, api.Path(path), api.DataTypeALL(), api.EncodingJSON_IETF()))
			if !proto.Equal(first, again) {
				t.Fatalf("Get %s answered differently on call %d with nothing changed:\nfirst %s\nlater %s", path, i+2, prototext.Format(first), prototext.Format(again))
			}
		}
	}
}
