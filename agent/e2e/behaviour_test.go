package e2e

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/gnmic/pkg/api"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pccagent/pccagent/gen/operationspb"
)

func TestSubscribeUpdatesOnlyStartsWithSyncThenChanges(t *testing.T) {
	f := newFixture(t)
	s := subscribe(t, f.tg, newSubscribeRequest(t, api.SubscriptionListModeSTREAM(), api.EncodingPROTO(), api.UpdatesOnly(true),
		api.Subscription(api.Path(lspPath("to-pe2", "labels")), api.SubscriptionModeON_CHANGE())))
	if before := s.untilSync(t); len(before) != 0 {
		t.Errorf("updates_only: %d notifications before sync_response, want none", len(before))
	}
	f.sim.mustRun(t, fmt.Sprintf("update %d 16040 16002", f.plspID(t, "to-pe2")))
	s.waitFor(t, "labels [16040 16002] after sync", hasLabels("to-pe2", []uint32{16040, 16002}))
}

func TestSubscribeHeartbeatResendsUnchangedValues(t *testing.T) {
	f := newFixture(t)
	path := lspPath("to-pe3", "labels")
	s := subscribe(t, f.tg, newSubscribeRequest(t, api.SubscriptionListModeSTREAM(), api.EncodingPROTO(),
		api.Subscription(api.Path(path), api.SubscriptionModeON_CHANGE(), api.HeartbeatInterval(300*time.Millisecond))))
	s.untilSync(t)
	for i := 0; i < 2; i++ {
		s.waitFor(t, fmt.Sprintf("heartbeat %d with the unchanged labels", i+1), hasLabels("to-pe3", []uint32{16011, 16003}))
	}
}

func TestSubscribeSuppressRedundantSendsOnlyChanges(t *testing.T) {
	f := newFixture(t)
	path := lspPath("to-pe4", "labels")
	s := subscribe(t, f.tg, newSubscribeRequest(t, api.SubscriptionListModeSTREAM(), api.EncodingPROTO(),
		api.Subscription(api.Path(path), api.SubscriptionModeSAMPLE(), api.SampleInterval(100*time.Millisecond), api.SuppressRedundant(true))))
	s.untilSync(t)
	// Six sample intervals pass with nothing changed (a window in which a
	// redundant sample would show; no event marks its end), then one change.
	time.Sleep(600 * time.Millisecond)
	f.sim.mustRun(t, fmt.Sprintf("update %d 16050 16004", f.plspID(t, "to-pe4")))
	_, before := s.waitFor(t, "the changed labels [16050 16004]", hasLabels("to-pe4", []uint32{16050, 16004}))
	for _, r := range before {
		if _, ok := leaves(r.GetUpdate())[path]; ok {
			t.Errorf("suppress_redundant: unchanged value sent again: %v", r)
		}
	}
}

func TestPathsWithModulePrefixOrOriginNameTheSameTree(t *testing.T) {
	f := newFixture(t)
	const msd = "/pce-client/state/msd"
	if v := getLeaves(t, f.tg, msd)[msd]; v.GetUintVal() != 10 {
		t.Fatalf("state/msd = %v, want the default 10", v)
	}
	tests := []struct{ name, state, config string }{
		{"module prefix", "/pcc-agent:pce-client/state/msd", "/pcc-agent:pce-client/config/msd"},
		{"origin", "pcc-agent:/pce-client/state/msd", "pcc-agent:/pce-client/config/msd"},
		{"origin and module prefix", "pcc-agent:/pcc-agent:pce-client/state/msd", "pcc-agent:/pcc-agent:pce-client/config/msd"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := uint64(10 + i)
			got := getLeaves(t, f.tg, tt.state)
			if v := got[msd]; v.GetUintVal() != want {
				t.Errorf("Get %s: msd = %v, want %d\n%s", tt.state, v, want, formatLeaves(got))
			}
			resps, err := f.tg.SubscribeOnce(rpcContext(t), newSubscribeRequest(t, api.SubscriptionListModeONCE(), api.EncodingPROTO(), api.Subscription(api.Path(tt.state))))
			if err != nil {
				t.Fatalf("Subscribe ONCE %s: %v", tt.state, err)
			}
			state := map[string]*gnmi.TypedValue{}
			for _, r := range resps {
				mergeLeaves(state, r.GetUpdate())
			}
			if v := state[msd]; v.GetUintVal() != want {
				t.Errorf("Subscribe ONCE %s: msd = %v, want %d\n%s", tt.state, v, want, formatLeaves(state))
			}
			mustSet(t, f.tg, updateValue(tt.config, fmt.Sprint(want+1)))
			if v := getLeaves(t, f.tg, msd)[msd]; v.GetUintVal() != want+1 {
				t.Errorf("after Set %s = %d: state/msd = %v", tt.config, want+1, v)
			}
		})
	}
}

func TestDeletePolicyRemovesItsLSPEverywhere(t *testing.T) {
	f := newFixture(t)
	s := subscribe(t, f.tg, newSubscribeRequest(t, api.SubscriptionListModeSTREAM(), api.EncodingPROTO(),
		api.Subscription(api.Path("/pce-client/lsps"), api.SubscriptionModeON_CHANGE())))
	s.untilSync(t)

	resp := mustSet(t, f.tg, api.Delete("/pce-client/policies/policy[name=to-pe4]"))
	if len(resp.GetResponse()) != 1 || resp.GetResponse()[0].GetOp() != gnmi.UpdateResult_DELETE {
		t.Errorf("Set delete answered %v, want one DELETE result", resp.GetResponse())
	}
	lsp := "/pce-client/lsps/lsp[name=to-pe4]"
	s.waitFor(t, "a delete of "+lsp, func(r *gnmi.SubscribeResponse) bool {
		return slices.ContainsFunc(deletes(r.GetUpdate()), func(d string) bool { return d == lsp || strings.HasPrefix(d, lsp+"/") })
	})
	f.sim.waitShow(t, "to-pe4 removed at the PCE (PCRpt R=1)", func(rows []simRow) bool {
		_, ok := lspRow(rows, "to-pe4")
		return !ok
	})
	file, err := os.ReadFile(f.agent.config)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(file), "to-pe4") {
		t.Errorf("config file still has to-pe4:\n%s", file)
	}
	got := getLeaves(t, f.tg, "/pce-client/state/lsp-count")
	if v := got["/pce-client/state/lsp-count"]; v.GetUintVal() != 2 {
		t.Errorf("lsp-count = %v, want 2", v)
	}
}

func TestLostSessionMovesDelegationAfterDelegateHold(t *testing.T) {
	simA := startPCESim(t, "127.0.0.1")
	simB := startPCESim(t, "127.0.0.3")
	a, b := simA.addr.Addr(), simB.addr.Addr()
	global := map[string]any{"delegate-hold": 1, "state-timeout": 2}
	ag := startAgent(t, t.TempDir(), configJSON(global, []serverConf{{addr: simA.addr, pref: 7}, {addr: simB.addr, pref: 1}}, samplePolicies))
	tg := newTarget(t, ag.addr)
	names := policyNames(samplePolicies)
	simA.waitShow(t, "delegation to "+a.String(), allDelegated(names...))
	ops := newOperations(t, ag.addr)
	from := ops.nextSequence(t)

	simA.stop(t)
	simB.waitShow(t, "delegation moved to "+b.String()+" after delegate-hold", allDelegated(names...))
	waitGet(t, tg, "selected-server "+b.String(), "/pce-client/state/selected-server", func(m map[string]*gnmi.TypedValue) bool {
		return m["/pce-client/state/selected-server"].GetStringVal() == b.String()
	})
	events := ops.readUntil(t, from, "SESSION_DOWN of "+a.String()+" then every LSP delegated to "+b.String(), func(seen []*operationspb.Event) bool {
		down, n := false, 0
		for _, e := range seen {
			if e.GetKind() == operationspb.Event_SESSION_DOWN && e.GetServer() == a.String() {
				down = true
			}
			if down && e.GetKind() == operationspb.Event_LSP_DELEGATED && e.GetServer() == b.String() {
				n++
			}
		}
		return n >= len(names)
	})
	checkContiguous(t, from, events)
	var downAt, firstDeleg int64
	for _, e := range events {
		if e.GetKind() == operationspb.Event_SESSION_DOWN && e.GetServer() == a.String() && downAt == 0 {
			downAt = e.GetTimestamp()
		}
		if e.GetKind() == operationspb.Event_LSP_DELEGATED && e.GetServer() == b.String() && firstDeleg == 0 {
			firstDeleg = e.GetTimestamp()
		}
	}
	// The delegations waited for the lost server for delegate-hold (1 s).
	if hold := time.Duration(firstDeleg - downAt); hold < 900*time.Millisecond {
		t.Errorf("delegations moved %v after the session loss, before delegate-hold (1 s)", hold)
	}
}

func TestDeleteServerEndsItsSessionAndIsDeleted(t *testing.T) {
	simA := startPCESim(t, "127.0.0.1")
	simB := startPCESim(t, "127.0.0.3")
	b := simB.addr.Addr()
	ag := startAgent(t, t.TempDir(), configJSON(nil, []serverConf{{addr: simA.addr, pref: 7}, {addr: simB.addr, pref: 1}}, samplePolicies))
	tg := newTarget(t, ag.addr)
	names := policyNames(samplePolicies)
	simA.waitShow(t, "delegation", allDelegated(names...))
	simB.waitShow(t, "reports to the second server", func(rows []simRow) bool {
		for _, n := range names {
			if _, ok := lspRow(rows, n); !ok {
				return false
			}
		}
		return true
	})
	s := subscribe(t, tg, newSubscribeRequest(t, api.SubscriptionListModeSTREAM(), api.EncodingPROTO(),
		api.Subscription(api.Path("/pce-client/servers"), api.SubscriptionModeON_CHANGE())))
	initial := map[string]*gnmi.TypedValue{}
	mergeLeaves(initial, s.untilSync(t)...)
	if v := initial[serverPath(b, "state/session-state")]; v.GetStringVal() != "up" {
		t.Errorf("session-state of %s = %v, want up", b, v)
	}

	mustSet(t, tg, api.Delete(fmt.Sprintf("/pce-client/servers/server[address=%s]", b)))
	entry := fmt.Sprintf("/pce-client/servers/server[address=%s]", b)
	s.waitFor(t, "a delete of "+entry, func(r *gnmi.SubscribeResponse) bool {
		return slices.ContainsFunc(deletes(r.GetUpdate()), func(d string) bool { return d == entry || strings.HasPrefix(d, entry+"/") })
	})
	simB.waitShow(t, "the session of the deleted server closed", func(rows []simRow) bool { return len(rows) == 0 })
	for k := range getLeaves(t, tg, "/pce-client/servers") {
		if strings.HasPrefix(k, entry) {
			t.Errorf("Get still has %s", k)
		}
	}
	simA.waitShow(t, "delegation kept by the remaining server", allDelegated(names...))
}

func TestGetWildcardsDataTypesAndEncodings(t *testing.T) {
	f := newFixture(t)
	srv := f.serverAddr()
	t.Run("wildcard key", func(t *testing.T) {
		got := getLeaves(t, f.tg, "/pce-client/lsps/lsp[name=*]/state/delegated")
		for _, p := range samplePolicies {
			if !got[lspPath(p.name, "delegated")].GetBoolVal() {
				t.Errorf("%s not delegated in:\n%s", p.name, formatLeaves(got))
			}
		}
	})
	t.Run("wildcard name", func(t *testing.T) {
		got := getLeaves(t, f.tg, "/pce-client/*/server/state/preference")
		if v := got[serverPath(srv, "state/preference")]; v.GetUintVal() != 7 {
			t.Errorf("preference = %v, want 7:\n%s", v, formatLeaves(got))
		}
	})
	t.Run("data types", func(t *testing.T) {
		entry := fmt.Sprintf("/pce-client/servers/server[address=%s]", srv)
		cfg := getLeaves(t, f.tg, entry, api.DataTypeCONFIG())
		state := getLeaves(t, f.tg, entry, api.DataTypeSTATE())
		if len(cfg) == 0 || len(state) == 0 {
			t.Fatalf("CONFIG answered %d leaves, STATE %d; want both non-empty", len(cfg), len(state))
		}
		for k := range cfg {
			if strings.Contains(k, "/state/") {
				t.Errorf("CONFIG Get has state leaf %s", k)
			}
		}
		for k := range state {
			if strings.Contains(k, "/config/") {
				t.Errorf("STATE Get has config leaf %s", k)
			}
		}
		if v := state[serverPath(srv, "state/session-state")]; v.GetStringVal() != "up" {
			t.Errorf("session-state = %v, want up", v)
		}
	})
	t.Run("json and json_ietf", func(t *testing.T) {
		for _, enc := range []string{"json", "json_ietf"} {
			resp := get(t, f.tg, api.Path(lspPath("to-pe3", "labels")), api.Encoding(enc))
			n := resp.GetNotification()
			if len(n) != 1 || len(n[0].GetUpdate()) != 1 {
				t.Fatalf("%s: answer %v, want one update", enc, resp)
			}
			v := n[0].GetUpdate()[0].GetVal()
			b := v.GetJsonVal()
			if enc == "json_ietf" {
				b = v.GetJsonIetfVal()
			}
			if !strings.Contains(string(b), "16011") || !strings.Contains(string(b), "16003") {
				t.Errorf("%s: labels value %q lacks 16011 and 16003", enc, b)
			}
		}
	})
	t.Run("unsupported encoding", func(t *testing.T) {
		req, err := api.NewGetRequest(api.Path("/pce-client/config"), api.Encoding("ascii"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.tg.Get(rpcContext(t), req); status.Code(err) != codes.Unimplemented {
			t.Errorf("Get with ASCII encoding: %v, want Unimplemented", err)
		}
	})
	t.Run("unknown path", func(t *testing.T) {
		req, err := api.NewGetRequest(api.Path("/pce-client/no-such-thing"), api.EncodingJSON_IETF())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.tg.Get(rpcContext(t), req); status.Code(err) != codes.NotFound {
			t.Errorf("Get of an unknown path: %v, want NotFound", err)
		}
	})
}
