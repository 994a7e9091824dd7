package agent

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/prototext"
)

// withOperational publishes operational state as the telemetry pump would.
func withOperational(t *testing.T, ta *testAgent) {
	t.Helper()
	lsp := func(leaf string) *gnmi.Path {
		return mustPath(t, "/pce-client/lsps/lsp[name=to-pe3]/state/"+leaf)
	}
	srv := func(leaf string) *gnmi.Path {
		return mustPath(t, "/pce-client/servers/server[address=192.0.2.10]/state/"+leaf)
	}
	ta.cache.Update(&gnmi.Notification{Timestamp: 1, Update: []*gnmi.Update{
		{Path: lsp("name"), Val: strVal("to-pe3")},
		{Path: lsp("plsp-id"), Val: uintVal(1)},
		{Path: lsp("delegated"), Val: boolVal(true)},
		{Path: lsp("updates"), Val: uintVal(12345678901)},
		{Path: lsp("labels"), Val: &gnmi.TypedValue{Value: &gnmi.TypedValue_LeaflistVal{LeaflistVal: &gnmi.ScalarArray{Element: []*gnmi.TypedValue{uintVal(16003), uintVal(16010)}}}}},
		{Path: srv("session-state"), Val: strVal("up")},
		{Path: srv("counters/pcrpt-sent"), Val: uintVal(7)},
		{Path: mustPath(t, "/pce-client/state/lsp-count"), Val: uintVal(1)},
	}})
}

func TestGet(t *testing.T) {
	tests := []struct {
		name string
		path string
		typ  gnmi.GetRequest_DataType
		want string // JSON_IETF values of the updates, joined by ","
	}{
		{"leaf", "/pce-client/config/lsr-id", gnmi.GetRequest_ALL, `"192.0.2.1"`},
		{"leaf with module prefix", "/pcc-agent:pce-client/config/lsr-id", gnmi.GetRequest_ALL, `"192.0.2.1"`},
		{"default in state", "/pce-client/state/msd", gnmi.GetRequest_ALL, `10`},
		{"leaf-list", "/pce-client/policies/policy[name=to-pe3]/config/labels", gnmi.GetRequest_ALL, `[16003]`},
		{"uint64 is a string", "/pce-client/lsps/lsp[name=to-pe3]/state/updates", gnmi.GetRequest_ALL, `"12345678901"`},
		{"container is module-qualified", "/pce-client/servers/server[address=192.0.2.10]/config", gnmi.GetRequest_ALL,
			`{"pcc-agent:address":"192.0.2.10","pcc-agent:preference":7}`},
		{"list entry has its key", "/pce-client/policies/policy[name=to-pe3]", gnmi.GetRequest_CONFIG,
			`{"pcc-agent:config":{"color":100,"endpoint":"192.0.2.3","labels":[16003],"name":"to-pe3"},"pcc-agent:name":"to-pe3"}`},
		{"list without keys: one update per entry", "/pce-client/servers/server", gnmi.GetRequest_CONFIG,
			`{"pcc-agent:address":"192.0.2.10","pcc-agent:config":{"address":"192.0.2.10","preference":7}},{"pcc-agent:address":"192.0.2.11","pcc-agent:config":{"address":"192.0.2.11"}}`},
		{"key wildcard", "/pce-client/servers/server[address=*]/config/preference", gnmi.GetRequest_ALL, `7`},
		{"name wildcard", "/pce-client/servers/server[address=192.0.2.10]/*/preference", gnmi.GetRequest_ALL, `7,7`},
		{"wildcard in the middle", "/pce-client/*/server[address=192.0.2.11]/state/port", gnmi.GetRequest_ALL, `4189`},
		{"config only", "/pce-client/servers/server[address=192.0.2.10]", gnmi.GetRequest_CONFIG,
			`{"pcc-agent:address":"192.0.2.10","pcc-agent:config":{"address":"192.0.2.10","preference":7}}`},
		{"state", "/pce-client/servers/server[address=192.0.2.10]", gnmi.GetRequest_STATE,
			`{"pcc-agent:address":"192.0.2.10","pcc-agent:state":{"address":"192.0.2.10","counters":{"pcrpt-sent":"7"},"port":4189,"preference":7,"session-state":"up"}}`},
		{"operational", "/pce-client/servers/server[address=192.0.2.10]", gnmi.GetRequest_OPERATIONAL,
			`{"pcc-agent:address":"192.0.2.10","pcc-agent:state":{"counters":{"pcrpt-sent":"7"},"session-state":"up"}}`},
		{"operational global", "/pce-client/state", gnmi.GetRequest_OPERATIONAL, `{"pcc-agent:lsp-count":1}`},
		{"config of a read-only subtree is empty", "/pce-client/lsps", gnmi.GetRequest_CONFIG, ``},
		{"lsp", "/pce-client/lsps/lsp[name=to-pe3]/state", gnmi.GetRequest_ALL,
			`{"pcc-agent:delegated":true,"pcc-agent:labels":[16003,16010],"pcc-agent:name":"to-pe3","pcc-agent:plsp-id":1,"pcc-agent:updates":"12345678901"}`},
		{"valid path without data", "/pce-client/policies/policy[name=none]", gnmi.GetRequest_ALL, ``},
		{"root", "/", gnmi.GetRequest_CONFIG,
			`{"pcc-agent:pce-client":{"config":{"capability-segment-routing":true,"lsr-id":"192.0.2.1"},"policies":{"policy":[{"config":{"color":100,"endpoint":"192.0.2.3","labels":[16003],"name":"to-pe3"},"name":"to-pe3"}]},"servers":{"server":[{"address":"192.0.2.10","config":{"address":"192.0.2.10","preference":7}},{"address":"192.0.2.11","config":{"address":"192.0.2.11"}}]}}}`},
	}
	ta := newTestAgent(t, sampleConfig)
	withOperational(t, ta)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var parts []string
			for _, v := range ta.getJSON(t, tt.path, tt.typ) {
				parts = append(parts, mustJSON(t, v))
			}
			if got := strings.Join(parts, ","); got != tt.want {
				t.Errorf("Get %s %v:\n got %s\nwant %s", tt.path, tt.typ, got, tt.want)
			}
		})
	}
}

func TestGetEncodings(t *testing.T) {
	ta := newTestAgent(t, sampleConfig)
	withOperational(t, ta)
	tests := []struct {
		name string
		path string
		enc  gnmi.Encoding
		want string // prototext of the updates, whitespace collapsed
	}{
		{"JSON is not module-qualified and uint64 is a number", "/pce-client/lsps/lsp[name=to-pe3]/state/updates", gnmi.Encoding_JSON,
			`path:{elem:{name:"pce-client"} elem:{name:"lsps"} elem:{name:"lsp" key:{key:"name" value:"to-pe3"}} elem:{name:"state"} elem:{name:"updates"}} val:{json_val:"12345678901"}`},
		{"JSON container", "/pce-client/servers/server[address=192.0.2.11]/config", gnmi.Encoding_JSON,
			`path:{elem:{name:"pce-client"} elem:{name:"servers"} elem:{name:"server" key:{key:"address" value:"192.0.2.11"}} elem:{name:"config"}} val:{json_val:"{\"address\":\"192.0.2.11\"}"}`},
		{"PROTO scalars", "/pce-client/servers/server[address=192.0.2.10]/config", gnmi.Encoding_PROTO,
			`path:{elem:{name:"pce-client"} elem:{name:"servers"} elem:{name:"server" key:{key:"address" value:"192.0.2.10"}} elem:{name:"config"} elem:{name:"address"}} val:{string_val:"192.0.2.10"} ` +
				`path:{elem:{name:"pce-client"} elem:{name:"servers"} elem:{name:"server" key:{key:"address" value:"192.0.2.10"}} elem:{name:"config"} elem:{name:"preference"}} val:{uint_val:7}`},
	}
	space := regexp.MustCompile(`\s+`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := ta.Get(context.Background(), &gnmi.GetRequest{Path: []*gnmi.Path{mustPath(t, tt.path)}, Encoding: tt.enc})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.GetNotification()) != 1 {
				t.Fatalf("%d notifications", len(resp.GetNotification()))
			}
			var parts []string
			for _, u := range resp.GetNotification()[0].GetUpdate() {
				parts = append(parts, space.ReplaceAllString(prototext.Format(u), " "))
			}
			got := strings.TrimSpace(strings.ReplaceAll(strings.Join(parts, " "), ": ", ":"))
			want := strings.ReplaceAll(tt.want, ": ", ":")
			if strings.ReplaceAll(got, " ", "") != strings.ReplaceAll(want, " ", "") {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestGetErrors(t *testing.T) {
	ta := newTestAgent(t, sampleConfig)
	tests := []struct {
		name string
		req  func(t *testing.T) *gnmi.GetRequest
		code codes.Code
	}{
		{"unknown path", func(t *testing.T) *gnmi.GetRequest {
			return &gnmi.GetRequest{Path: []*gnmi.Path{mustPath(t, "/pce-client/config/nope")}}
		}, codes.NotFound},
		{"unknown path under a wildcard", func(t *testing.T) *gnmi.GetRequest {
			return &gnmi.GetRequest{Path: []*gnmi.Path{mustPath(t, "/pce-client/*/nope")}}
		}, codes.NotFound},
		{"path below a leaf", func(t *testing.T) *gnmi.GetRequest {
			return &gnmi.GetRequest{Path: []*gnmi.Path{mustPath(t, "/pce-client/config/msd/x")}}
		}, codes.NotFound},
		{"keys on a container", func(t *testing.T) *gnmi.GetRequest {
			return &gnmi.GetRequest{Path: []*gnmi.Path{mustPath(t, "/pce-client/config[a=b]")}}
		}, codes.InvalidArgument},
		{"ASCII encoding", func(t *testing.T) *gnmi.GetRequest {
			return &gnmi.GetRequest{Path: []*gnmi.Path{mustPath(t, "/pce-client")}, Encoding: gnmi.Encoding_ASCII}
		}, codes.Unimplemented},
		{"BYTES encoding", func(t *testing.T) *gnmi.GetRequest {
			return &gnmi.GetRequest{Path: []*gnmi.Path{mustPath(t, "/pce-client")}, Encoding: gnmi.Encoding_BYTES}
		}, codes.Unimplemented},
		{"other origin", func(t *testing.T) *gnmi.GetRequest {
			p := mustPath(t, "/pce-client")
			p.Origin = "openconfig"
			return &gnmi.GetRequest{Path: []*gnmi.Path{p}}
		}, codes.InvalidArgument},
		{"unknown model", func(t *testing.T) *gnmi.GetRequest {
			return &gnmi.GetRequest{Path: []*gnmi.Path{mustPath(t, "/pce-client")}, UseModels: []*gnmi.ModelData{{Name: "openconfig-interfaces"}}}
		}, codes.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ta.Get(context.Background(), tt.req(t))
			if got := codeOf(err); got != tt.code {
				t.Errorf("code %v (%v), want %v", got, err, tt.code)
			}
		})
	}
}

func TestGetWithoutDataIsAnEmptyNotification(t *testing.T) {
	ta := newTestAgent(t, "")
	resp, err := ta.Get(context.Background(), &gnmi.GetRequest{
		Prefix:   &gnmi.Path{Target: "r1"},
		Path:     []*gnmi.Path{mustPath(t, "/pce-client/policies"), mustPath(t, "/pce-client/lsps/lsp[name=x]")},
		Encoding: gnmi.Encoding_JSON_IETF,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetNotification()) != 2 {
		t.Fatalf("%d notifications, want one per path", len(resp.GetNotification()))
	}
	for _, n := range resp.GetNotification() {
		if len(n.GetUpdate()) != 0 || n.GetTimestamp() == 0 || n.GetPrefix().GetTarget() != "r1" {
			t.Errorf("notification %v, want empty with timestamp and target", n)
		}
	}
}

func TestCapabilities(t *testing.T) {
	ta := newTestAgent(t, "")
	resp, err := ta.Capabilities(context.Background(), &gnmi.CapabilityRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetSupportedModels()) != 1 || resp.GetSupportedModels()[0].GetName() != "pcc-agent" || resp.GetSupportedModels()[0].GetVersion() != ModelRevision {
		t.Errorf("models %v", resp.GetSupportedModels())
	}
	if got := len(resp.GetSupportedEncodings()); got != 3 {
		t.Errorf("encodings %v", resp.GetSupportedEncodings())
	}
	if resp.GetGNMIVersion() == "" || resp.GetGNMIVersion() != GNMIVersion() {
		t.Errorf("gNMI version %q", resp.GetGNMIVersion())
	}
}

func TestModelRevisionAndOrganizationMatchTheYANGFile(t *testing.T) {
	b, err := os.ReadFile("../yang/pcc-agent.yang")
	if err != nil {
		t.Fatal(err)
	}
	y := string(b)
	if !regexp.MustCompile(`(?m)^\s*revision\s+` + ModelRevision + `\s*\{`).MatchString(y) {
		t.Errorf("yang/pcc-agent.yang has no revision %s (update ModelRevision)", ModelRevision)
	}
	if m := regexp.MustCompile(`(?m)^\s*revision\s+(\S+)\s*\{`).FindStringSubmatch(y); m == nil || m[1] != ModelRevision {
		t.Errorf("the latest revision is %v, ModelRevision is %s", m, ModelRevision)
	}
	if !strings.Contains(y, `"`+ModelOrganization+`"`) {
		t.Errorf("organization %q not in the YANG file", ModelOrganization)
	}
}

func TestSubscribeWithoutCacheIsUnimplemented(t *testing.T) {
	ta := newTestAgent(t, "")
	if err := ta.Subscribe(nil); codeOf(err) != codes.Unimplemented {
		t.Errorf("Subscribe: %v", err)
	}
}

func TestGetIgnoresDeprecatedElementBesideElem(t *testing.T) {
	ta := newTestAgent(t, sampleConfig)
	p := mustPath(t, "/pce-client/config/lsr-id")
	p.Element = []string{"pce-client", "config", "lsr-id"} //nolint:staticcheck // what old clients send
	resp, err := ta.Get(context.Background(), &gnmi.GetRequest{Path: []*gnmi.Path{p}, Encoding: gnmi.Encoding_JSON_IETF})
	if err != nil || len(resp.GetNotification()[0].GetUpdate()) != 1 {
		t.Fatalf("Get: %v %v", resp, err)
	}
	_, err = ta.Get(context.Background(), &gnmi.GetRequest{Path: []*gnmi.Path{{Element: []string{"pce-client"}}}}) //nolint:staticcheck // what old clients send
	if codeOf(err) != codes.InvalidArgument {
		t.Errorf("element alone: %v", err)
	}
}
