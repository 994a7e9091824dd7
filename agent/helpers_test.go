package agent

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/ygot/ygot"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pccagent/pccagent/agent/telemetry"
	"github.com/pccagent/pccagent/pcep/pcc"
)

// fakeEngine records the configurations applied to it and refuses them on
// demand.
type fakeEngine struct {
	mu      sync.Mutex
	cfg     pcc.Config
	applied int
	refuse  error
}

func (e *fakeEngine) Apply(ctx context.Context, cfg pcc.Config) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.refuse != nil {
		return e.refuse
	}
	cfg.Servers = slices.Clone(cfg.Servers)
	cfg.Policies = slices.Clone(cfg.Policies)
	for i := range cfg.Policies {
		cfg.Policies[i].Labels = slices.Clone(cfg.Policies[i].Labels)
	}
	e.cfg = cfg
	e.applied++
	return nil
}

func (e *fakeEngine) config() pcc.Config {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cfg
}

func (e *fakeEngine) setRefuse(err error) {
	e.mu.Lock()
	e.refuse = err
	e.mu.Unlock()
}

var errRefused = errors.New("engine refuses")

// testAgent is an agent on a temp config file with a fake engine and a real
// telemetry cache.
type testAgent struct {
	*Agent
	file   string
	engine *fakeEngine
	cache  *telemetry.Cache
}

const sampleConfig = `{
  "pcc-agent:pce-client": {
    "config": {"capability-segment-routing": true, "lsr-id": "192.0.2.1"},
    "servers": {"server": [
      {"address": "192.0.2.10", "config": {"address": "192.0.2.10", "preference": 7}},
      {"address": "192.0.2.11", "config": {"address": "192.0.2.11"}}
    ]},
    "policies": {"policy": [
      {"name": "to-pe3", "config": {"name": "to-pe3", "color": 100, "endpoint": "192.0.2.3", "labels": [16003]}}
    ]}
  }
}
`

func newTestAgent(t testing.TB, content string) *testAgent {
	t.Helper()
	file := filepath.Join(t.TempDir(), "pccagent.json")
	if content != "" {
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e := &fakeEngine{}
	c := telemetry.NewCache()
	fixed := time.Unix(1700000000, 0)
	a, err := New(context.Background(), file, e, c, WithClock(func() time.Time { return fixed }))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &testAgent{Agent: a, file: file, engine: e, cache: c}
}

// mustPath parses an XPath-like string into a gNMI path.
func mustPath(t testing.TB, s string) *gnmi.Path {
	t.Helper()
	if s == "" || s == "/" {
		return &gnmi.Path{}
	}
	p, err := ygot.StringToStructuredPath(s)
	if err != nil {
		t.Fatalf("path %q: %v", s, err)
	}
	return p
}

func jsonVal(s string) *gnmi.TypedValue {
	return &gnmi.TypedValue{Value: &gnmi.TypedValue_JsonIetfVal{JsonIetfVal: []byte(s)}}
}

func uintVal(u uint64) *gnmi.TypedValue {
	return &gnmi.TypedValue{Value: &gnmi.TypedValue_UintVal{UintVal: u}}
}

func strVal(s string) *gnmi.TypedValue {
	return &gnmi.TypedValue{Value: &gnmi.TypedValue_StringVal{StringVal: s}}
}

func boolVal(b bool) *gnmi.TypedValue {
	return &gnmi.TypedValue{Value: &gnmi.TypedValue_BoolVal{BoolVal: b}}
}

func update(t testing.TB, path string, v *gnmi.TypedValue) *gnmi.SetRequest {
	return &gnmi.SetRequest{Update: []*gnmi.Update{{Path: mustPath(t, path), Val: v}}}
}

// getJSON returns the JSON_IETF value of every update of a Get of path,
// decoded, in order.
func (ta *testAgent) getJSON(t testing.TB, path string, typ gnmi.GetRequest_DataType) []any {
	t.Helper()
	resp, err := ta.Get(context.Background(), &gnmi.GetRequest{Path: []*gnmi.Path{mustPath(t, path)}, Type: typ, Encoding: gnmi.Encoding_JSON_IETF})
	if err != nil {
		t.Fatalf("Get %s: %v", path, err)
	}
	var out []any
	for _, n := range resp.GetNotification() {
		for _, u := range n.GetUpdate() {
			var v any
			if err := json.Unmarshal(u.GetVal().GetJsonIetfVal(), &v); err != nil {
				t.Fatalf("Get %s: bad JSON %q: %v", path, u.GetVal().GetJsonIetfVal(), err)
			}
			out = append(out, v)
		}
	}
	return out
}

// snapshotAll returns the whole tree as Get shows it (JSON_IETF, ALL).
func (ta *testAgent) snapshotAll(t testing.TB) string {
	t.Helper()
	b, err := json.Marshal(ta.getJSON(t, "/", gnmi.GetRequest_ALL))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (ta *testAgent) fileBytes(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(ta.file)
	if errors.Is(err, os.ErrNotExist) {
		return "<missing>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func codeOf(err error) codes.Code { return status.Code(err) }

func canon(t testing.TB, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON %q: %v", s, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
