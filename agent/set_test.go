package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"

	"github.com/pccagent/pccagent/pcep/pcc"
)

// observed is everything a failed Set must leave unchanged.
type observed struct {
	get    string
	file   string
	engine string
	config string
}

func (ta *testAgent) observe(t *testing.T) observed {
	t.Helper()
	return observed{
		get:    ta.snapshotAll(t),
		file:   ta.fileBytes(t),
		engine: fmt.Sprintf("%+v", ta.engine.config()),
		config: fmt.Sprintf("%+v", ta.Config()),
	}
}

func TestBadSetChangesNothing(t *testing.T) {
	tests := []struct {
		name string
		req  func(t *testing.T) *gnmi.SetRequest
		code codes.Code
	}{
		{"msd out of range", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/config/msd", uintVal(0))
		}, codes.InvalidArgument},
		{"preference out of range", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/servers/server[address=192.0.2.10]/config/preference", uintVal(8))
		}, codes.InvalidArgument},
		{"label out of range in JSON", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/policies/policy[name=to-pe3]/config/labels", jsonVal(`[15]`))
		}, codes.InvalidArgument},
		{"uint8 overflow", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/config/keepalive", uintVal(256))
		}, codes.InvalidArgument},
		{"wrong type", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/config/enabled", strVal("yes"))
		}, codes.InvalidArgument},
		{"bad enum", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/config/control-request-policy", strVal("maybe"))
		}, codes.InvalidArgument},
		{"bad address", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/config/lsr-id", strVal("192.0.2.300"))
		}, codes.InvalidArgument},
		{"state leaf", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/state/msd", uintVal(5))
		}, codes.InvalidArgument},
		{"state container of a server", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/servers/server[address=192.0.2.10]/state", jsonVal(`{"port": 1}`))
		}, codes.InvalidArgument},
		{"state inside a JSON value", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/policies/policy[name=to-pe3]", jsonVal(`{"state": {"color": 1}}`))
		}, codes.InvalidArgument},
		{"lsps are read-only", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/lsps/lsp[name=x]/state/color", uintVal(1))
		}, codes.InvalidArgument},
		{"unknown leaf", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/config/colour", uintVal(1))
		}, codes.NotFound},
		{"unknown top-level", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/interfaces/interface[name=eth0]/config/mtu", uintVal(1500))
		}, codes.NotFound},
		{"unknown module prefix", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/openconfig-pcep:pce-client/config/msd", uintVal(3))
		}, codes.NotFound},
		{"unknown key name", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/policies/policy[id=1]/config/color", uintVal(1))
		}, codes.InvalidArgument},
		{"list without keys", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/policies/policy/config/color", uintVal(1))
		}, codes.InvalidArgument},
		{"state-timeout below delegate-hold", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/config/state-timeout", uintVal(10))
		}, codes.InvalidArgument},
		{"delegate-hold above state-timeout", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/config", jsonVal(`{"delegate-hold": 90, "state-timeout": 80}`))
		}, codes.InvalidArgument},
		{"key differs from config/name", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/policies/policy[name=a]/config", jsonVal(`{"name": "b", "color": 1, "endpoint": "192.0.2.1"}`))
		}, codes.InvalidArgument},
		{"policy without endpoint", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/policies/policy[name=a]/config/color", uintVal(1))
		}, codes.InvalidArgument},
		{"server address not canonical", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/servers/server[address=2001:DB8::1]/config/port", uintVal(4189))
		}, codes.InvalidArgument},
		{"unknown JSON member", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/config", jsonVal(`{"msd": 5, "colour": 1}`))
		}, codes.InvalidArgument},
		{"invalid JSON", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/config", jsonVal(`{"msd": `))
		}, codes.InvalidArgument},
		{"scalar for a container", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/config", uintVal(1))
		}, codes.InvalidArgument},
		{"unsupported value encoding", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/config/msd", &gnmi.TypedValue{Value: &gnmi.TypedValue_AsciiVal{AsciiVal: "5"}})
		}, codes.Unimplemented},
		{"wildcard", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/policies/policy[name=*]/config/color", uintVal(1))
		}, codes.InvalidArgument},
		{"other origin", func(t *testing.T) *gnmi.SetRequest {
			r := update(t, "/pce-client/config/msd", uintVal(5))
			r.Update[0].Path.Origin = "openconfig"
			return r
		}, codes.InvalidArgument},
		{"union_replace", func(t *testing.T) *gnmi.SetRequest {
			return &gnmi.SetRequest{UnionReplace: []*gnmi.Update{{Path: mustPath(t, "/pce-client/config/msd"), Val: uintVal(5)}}}
		}, codes.Unimplemented},
		{"last of several operations fails", func(t *testing.T) *gnmi.SetRequest {
			return &gnmi.SetRequest{
				Delete: []*gnmi.Path{mustPath(t, "/pce-client/servers/server[address=192.0.2.11]")},
				Replace: []*gnmi.Update{
					{Path: mustPath(t, "/pce-client/policies/policy[name=to-pe3]/config/labels"), Val: jsonVal(`[17000, 17001]`)},
				},
				Update: []*gnmi.Update{
					{Path: mustPath(t, "/pce-client/policies/policy[name=new]/config"), Val: jsonVal(`{"color": 7, "endpoint": "192.0.2.7"}`)},
					{Path: mustPath(t, "/pce-client/config/msd"), Val: uintVal(12)},
					{Path: mustPath(t, "/pce-client/config/dead-timer"), Val: strVal("long")},
				},
			}
		}, codes.InvalidArgument},
		{"whole-tree replace with a bad value", func(t *testing.T) *gnmi.SetRequest {
			return &gnmi.SetRequest{Replace: []*gnmi.Update{{Path: mustPath(t, "/"), Val: jsonVal(`{"pcc-agent:pce-client": {"config": {"msd": 0}}}`)}}}
		}, codes.InvalidArgument},
		{"list replace with a bad entry", func(t *testing.T) *gnmi.SetRequest {
			return &gnmi.SetRequest{Replace: []*gnmi.Update{{Path: mustPath(t, "/pce-client/policies"), Val: jsonVal(`{"policy": [{"name": "x", "config": {"name": "x", "color": 1, "endpoint": "192.0.2.1", "labels": [3]}}]}`)}}}
		}, codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ta := newTestAgent(t, sampleConfig)
			// Make the file the agent's own rendering first.
			if _, err := ta.Set(context.Background(), update(t, "/pce-client/config/msd", uintVal(11))); err != nil {
				t.Fatal(err)
			}
			before := ta.observe(t)
			applied := ta.engine.applied
			_, err := ta.Set(context.Background(), tt.req(t))
			if got := codeOf(err); got != tt.code {
				t.Fatalf("Set: code %v (%v), want %v", got, err, tt.code)
			}
			if after := ta.observe(t); after != before {
				t.Errorf("a failed Set changed something:\nbefore %+v\nafter  %+v", before, after)
			}
			if ta.engine.applied != applied {
				t.Errorf("engine Apply called %d times for a bad Set", ta.engine.applied-applied)
			}
		})
	}
}

func TestEngineRefusalIsAbortedAndChangesNothing(t *testing.T) {
	tests := []struct {
		name   string
		refuse error
		code   codes.Code
	}{
		{"refusal", errRefused, codes.Aborted},
		{"config error", &pcc.ConfigError{Path: "policies/policy[to-pe3]/labels", Reason: "too deep"}, codes.InvalidArgument},
		{"wrapped config error", fmt.Errorf("apply: %w", &pcc.ConfigError{Reason: "no"}), codes.InvalidArgument},
		{"stopped engine", context.Canceled, codes.Aborted},
	}
	reqs := map[string]func(t *testing.T) *gnmi.SetRequest{
		"one leaf": func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/policies/policy[name=to-pe3]/config/color", uintVal(5))
		},
		"new and deleted entries": func(t *testing.T) *gnmi.SetRequest {
			return &gnmi.SetRequest{
				Delete: []*gnmi.Path{mustPath(t, "/pce-client/servers/server[address=192.0.2.10]"), mustPath(t, "/pce-client/policies/policy[name=to-pe3]")},
				Update: []*gnmi.Update{
					{Path: mustPath(t, "/pce-client/policies/policy[name=a]/config"), Val: jsonVal(`{"color": 1, "endpoint": "192.0.2.1"}`)},
					{Path: mustPath(t, "/pce-client/policies/policy[name=z]/config"), Val: jsonVal(`{"color": 2, "endpoint": "192.0.2.2"}`)},
					{Path: mustPath(t, "/pce-client/servers/server[address=192.0.2.1]/config/port"), Val: uintVal(1)},
					{Path: mustPath(t, "/pce-client/config/enabled"), Val: boolVal(false)},
				},
			}
		},
		"whole tree": func(t *testing.T) *gnmi.SetRequest {
			return &gnmi.SetRequest{Replace: []*gnmi.Update{{Path: mustPath(t, "/"), Val: jsonVal(`{"pcc-agent:pce-client": {"config": {"msd": 3}}}`)}}}
		},
		"whole lists merged": func(t *testing.T) *gnmi.SetRequest {
			return &gnmi.SetRequest{Update: []*gnmi.Update{{Path: mustPath(t, "/pce-client/policies"), Val: jsonVal(`{"policy": [{"name": "to-pe3", "config": {"name": "to-pe3", "color": 9}}]}`)}}}
		},
	}
	for _, tt := range tests {
		for rname, req := range reqs {
			t.Run(tt.name+"/"+rname, func(t *testing.T) {
				ta := newTestAgent(t, sampleConfig)
				if _, err := ta.Set(context.Background(), update(t, "/pce-client/config/msd", uintVal(11))); err != nil {
					t.Fatal(err)
				}
				before := ta.observe(t)
				ta.engine.setRefuse(tt.refuse)
				_, err := ta.Set(context.Background(), req(t))
				if got := codeOf(err); got != tt.code {
					t.Fatalf("Set: code %v (%v), want %v", got, err, tt.code)
				}
				ta.engine.setRefuse(nil)
				if after := ta.observe(t); after != before {
					t.Errorf("a refused Set changed something:\nbefore %+v\nafter  %+v", before, after)
				}
				// The agent still works after the rollback.
				if _, err := ta.Set(context.Background(), req(t)); err != nil {
					t.Fatalf("the same Set once accepted: %v", err)
				}
				if after := ta.observe(t); after == before {
					t.Errorf("an accepted Set changed nothing")
				}
			})
		}
	}
}

func TestPersistFailureRollsBackEngineAndChangesNothing(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sub", "pccagent.json") // the directory does not exist: a write fails
	e := &fakeEngine{}
	ta := &testAgent{engine: e, file: file}
	c := newTestAgent(t, "").cache
	a, err := New(context.Background(), file, e, c)
	if err != nil {
		t.Fatal(err)
	}
	ta.Agent, ta.cache = a, c
	before := ta.observe(t)
	_, err = ta.Set(context.Background(), update(t, "/pce-client/config/msd", uintVal(3)))
	if codeOf(err) != codes.Internal {
		t.Fatalf("Set: %v, want Internal", err)
	}
	if after := ta.observe(t); after != before {
		t.Errorf("a Set that could not be saved changed something:\nbefore %+v\nafter  %+v", before, after)
	}
	if e.applied != 3 { // start, the change, the rollback
		t.Errorf("engine applied %d configurations, want 3 (start, change, rollback)", e.applied)
	}
}

func TestSetAppliesPersistsAndPublishes(t *testing.T) {
	tests := []struct {
		name  string
		req   func(t *testing.T) *gnmi.SetRequest
		check func(t *testing.T, ta *testAgent)
	}{
		{"scalar leaf", func(t *testing.T) *gnmi.SetRequest {
			return update(t, "/pce-client/policies/policy[name=to-pe3]/config/color", uintVal(200))
		}, func(t *testing.T, ta *testAgent) {
			if got := ta.engine.config().Policies[0].Color; got != 200 {
				t.Errorf("engine color %d", got)
			}
			wantGet(t, ta, "/pce-client/policies/policy[name=to-pe3]/state/color", `200`)
		}},
		{"module prefix and origin", func(t *testing.T) *gnmi.SetRequest {
			r := update(t, "/pcc-agent:pce-client/config/msd", uintVal(16))
			r.Update[0].Path.Origin = "pcc-agent"
			return r
		}, func(t *testing.T, ta *testAgent) {
			if got := ta.engine.config().MSD; got != 16 {
				t.Errorf("engine MSD %d", got)
			}
		}},
		{"prefix", func(t *testing.T) *gnmi.SetRequest {
			return &gnmi.SetRequest{Prefix: mustPath(t, "/pce-client/config"), Update: []*gnmi.Update{{Path: mustPath(t, "keepalive"), Val: uintVal(0)}}}
		}, func(t *testing.T, ta *testAgent) {
			wantGet(t, ta, "/pce-client/state/keepalive", `0`)
		}},
		{"enum and JSON (not IETF)", func(t *testing.T) *gnmi.SetRequest {
			return &gnmi.SetRequest{Update: []*gnmi.Update{{Path: mustPath(t, "/pce-client/config"), Val: &gnmi.TypedValue{Value: &gnmi.TypedValue_JsonVal{JsonVal: []byte(`{"control-request-policy": "ignore", "delegate-hold": 40}`)}}}}}
		}, func(t *testing.T, ta *testAgent) {
			c := ta.engine.config()
			if c.ControlRequestPolicy != pcc.ControlIgnore || c.DelegateHold != 40*time.Second {
				t.Errorf("engine %v %v", c.ControlRequestPolicy, c.DelegateHold)
			}
		}},
		{"new policy from one leaf and its endpoint", func(t *testing.T) *gnmi.SetRequest {
			return &gnmi.SetRequest{Update: []*gnmi.Update{
				{Path: mustPath(t, "/pce-client/policies/policy[name=p2]/config/color"), Val: uintVal(7)},
				{Path: mustPath(t, "/pce-client/policies/policy[name=p2]/config/endpoint"), Val: strVal("2001:db8::7")},
				{Path: mustPath(t, "/pce-client/policies/policy[name=p2]/config/labels"), Val: &gnmi.TypedValue{Value: &gnmi.TypedValue_LeaflistVal{LeaflistVal: &gnmi.ScalarArray{Element: []*gnmi.TypedValue{uintVal(16001), uintVal(16002)}}}}},
			}}
		}, func(t *testing.T, ta *testAgent) {
			c := ta.engine.config()
			if len(c.Policies) != 2 || c.Policies[0].Name != "p2" || c.Policies[0].Endpoint.String() != "2001:db8::7" || fmt.Sprint(c.Policies[0].Labels) != "[16001 16002]" || !c.Policies[0].Delegate || c.Policies[0].Preference != 100 {
				t.Errorf("engine policies %+v", c.Policies)
			}
			wantGet(t, ta, "/pce-client/policies/policy[name=p2]/config", `{"pcc-agent:color":7,"pcc-agent:endpoint":"2001:db8::7","pcc-agent:labels":[16001,16002],"pcc-agent:name":"p2"}`)
		}},
		{"delete a server and a leaf", func(t *testing.T) *gnmi.SetRequest {
			return &gnmi.SetRequest{Delete: []*gnmi.Path{mustPath(t, "/pce-client/servers/server[address=192.0.2.10]"), mustPath(t, "/pce-client/config/lsr-id"), mustPath(t, "/pce-client/policies/policy[name=none]")}}
		}, func(t *testing.T, ta *testAgent) {
			c := ta.engine.config()
			if len(c.Servers) != 1 || c.Servers[0].Address.String() != "192.0.2.11" || c.LSRID.IsValid() {
				t.Errorf("engine %+v", c)
			}
			wantGet(t, ta, "/pce-client/servers/server[address=192.0.2.10]", ``)
			wantGet(t, ta, "/pce-client/state/lsr-id", ``)
		}},
		{"replace a policy drops what is not given", func(t *testing.T) *gnmi.SetRequest {
			return &gnmi.SetRequest{Replace: []*gnmi.Update{{Path: mustPath(t, "/pce-client/policies/policy[name=to-pe3]/config"), Val: jsonVal(`{"name": "to-pe3", "color": 100, "endpoint": "192.0.2.3"}`)}}}
		}, func(t *testing.T, ta *testAgent) {
			if l := ta.engine.config().Policies[0].Labels; len(l) != 0 {
				t.Errorf("labels %v after replace", l)
			}
			wantGet(t, ta, "/pce-client/policies/policy[name=to-pe3]/state/labels", ``)
		}},
		{"replace the whole tree", func(t *testing.T) *gnmi.SetRequest {
			return &gnmi.SetRequest{Replace: []*gnmi.Update{{Path: mustPath(t, "/"), Val: jsonVal(`{"pcc-agent:pce-client": {"servers": {"server": [{"address": "2001:db8::1", "config": {"address": "2001:db8::1"}}]}}}`)}}}
		}, func(t *testing.T, ta *testAgent) {
			c := ta.engine.config()
			if len(c.Servers) != 1 || len(c.Policies) != 0 || c.SegmentRouting {
				t.Errorf("engine %+v", c)
			}
			wantGet(t, ta, "/pce-client/policies", ``)
			wantGet(t, ta, "/pce-client/config", ``)
			wantGet(t, ta, "/pce-client/servers/server[address=*]/state/port", `4189`)
		}},
		{"delete everything", func(t *testing.T) *gnmi.SetRequest {
			return &gnmi.SetRequest{Delete: []*gnmi.Path{mustPath(t, "/pce-client")}}
		}, func(t *testing.T, ta *testAgent) {
			c := ta.engine.config()
			if len(c.Servers) != 0 || len(c.Policies) != 0 || c.MSD != 10 {
				t.Errorf("engine %+v", c)
			}
			if got := ta.fileBytes(t); got != "{}\n" {
				t.Errorf("file %q", got)
			}
			wantGet(t, ta, "/pce-client/state/msd", `10`)
		}},
		{"merge into the policy list", func(t *testing.T) *gnmi.SetRequest {
			return &gnmi.SetRequest{Update: []*gnmi.Update{{Path: mustPath(t, "/pce-client/policies"), Val: jsonVal(`{"policy": [{"name": "to-pe3", "config": {"name": "to-pe3", "preference": 5}}, {"name": "b", "config": {"name": "b", "color": 2, "endpoint": "192.0.2.2"}}]}`)}}}
		}, func(t *testing.T, ta *testAgent) {
			c := ta.engine.config()
			if len(c.Policies) != 2 || c.Policies[1].Preference != 5 || c.Policies[1].Color != 100 {
				t.Errorf("engine %+v", c.Policies)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ta := newTestAgent(t, sampleConfig)
			req := tt.req(t)
			resp, err := ta.Set(context.Background(), req)
			if err != nil {
				t.Fatalf("Set: %v", err)
			}
			if n := len(req.Delete) + len(req.Replace) + len(req.Update); len(resp.GetResponse()) != n {
				t.Errorf("%d results for %d operations", len(resp.GetResponse()), n)
			}
			tt.check(t, ta)
			// The file holds exactly the running configuration: a fresh
			// agent on it shows the same tree.
			again := &testAgent{Agent: mustNew(t, ta.file), file: ta.file}
			if got, want := fmt.Sprintf("%+v", again.Config()), fmt.Sprintf("%+v", ta.Config()); got != want {
				t.Errorf("reloaded config %s\nwant %s", got, want)
			}
		})
	}
}

func mustNew(t *testing.T, file string) *Agent {
	t.Helper()
	a, err := New(context.Background(), file, &fakeEngine{}, newTestAgent(t, "").cache)
	if err != nil {
		t.Fatalf("reload %s: %v", file, err)
	}
	return a
}

// wantGet checks the JSON_IETF Get of path (one update joined by "," when
// several; "" for no data).
func wantGet(t *testing.T, ta *testAgent, path, want string) {
	t.Helper()
	var parts []string
	for _, v := range ta.getJSON(t, path, gnmi.GetRequest_ALL) {
		parts = append(parts, mustJSON(t, v))
	}
	if got := strings.Join(parts, ","); got != want {
		t.Errorf("Get %s = %s, want %s", path, got, want)
	}
}

func TestUpdateResultsFollowOperationOrder(t *testing.T) {
	ta := newTestAgent(t, sampleConfig)
	req := &gnmi.SetRequest{
		Update:  []*gnmi.Update{{Path: mustPath(t, "/pce-client/config/msd"), Val: uintVal(9)}},
		Replace: []*gnmi.Update{{Path: mustPath(t, "/pce-client/config/keepalive"), Val: uintVal(9)}},
		Delete:  []*gnmi.Path{mustPath(t, "/pce-client/config/lsr-id"), mustPath(t, "/pce-client/config/enabled")},
	}
	resp, err := ta.Set(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range resp.GetResponse() {
		got = append(got, r.GetOp().String()+" "+pathString(r.GetPath().GetElem()))
	}
	want := "DELETE /pce-client/config/lsr-id,DELETE /pce-client/config/enabled,REPLACE /pce-client/config/keepalive,UPDATE /pce-client/config/msd"
	if strings.Join(got, ",") != want {
		t.Errorf("results %v\nwant %s", got, want)
	}
}

func TestConcurrentSetsAreSerialised(t *testing.T) {
	ta := newTestAgent(t, sampleConfig)
	var wg sync.WaitGroup
	const n = 20
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := ta.Set(context.Background(), update(t, fmt.Sprintf("/pce-client/policies/policy[name=c%02d]/config", i), jsonVal(fmt.Sprintf(`{"color": %d, "endpoint": "192.0.2.%d"}`, i+1, i+1))))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := len(ta.engine.config().Policies); got != n+1 {
		t.Errorf("%d policies, want %d", got, n+1)
	}
	again := mustNew(t, ta.file)
	if got := len(again.Config().Policies); got != n+1 {
		t.Errorf("file holds %d policies, want %d", got, n+1)
	}
}

func TestFileIsTheAgentsRenderingAndNoTempFilesRemain(t *testing.T) {
	ta := newTestAgent(t, sampleConfig)
	for i := range 3 {
		if _, err := ta.Set(context.Background(), update(t, "/pce-client/config/msd", uintVal(uint64(20+i)))); err != nil {
			t.Fatal(err)
		}
	}
	want := `{
  "pcc-agent:pce-client": {
    "config": {"capability-segment-routing":true,"lsr-id":"192.0.2.1","msd":22},
    "servers": {"server": [
      {"address":"192.0.2.10","config":{"address":"192.0.2.10","preference":7}},
      {"address":"192.0.2.11","config":{"address":"192.0.2.11"}}
    ]},
    "policies": {"policy": [
      {"config":{"color":100,"endpoint":"192.0.2.3","labels":[16003],"name":"to-pe3"},"name":"to-pe3"}
    ]}
  }
}
`
	if got := ta.fileBytes(t); got != want {
		t.Errorf("file:\n%s\nwant:\n%s", got, want)
	}
	entries, err := os.ReadDir(filepath.Dir(ta.file))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only the config file", names)
	}
	if st, err := os.Stat(ta.file); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, %v", st.Mode(), err)
	}
}
