package agent

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/ygot/ytypes"
	"google.golang.org/grpc/codes"
)

// TestUnmarshalByEntryMatchesYgot checks that unmarshalling the lists one
// entry at a time gives the tree, or the failure, that ygot gives for the
// whole value.
func TestUnmarshalByEntryMatchesYgot(t *testing.T) {
	s, err := loadSchema()
	if err != nil {
		t.Fatal(err)
	}
	const pol = `{"name": "a", "config": {"name": "a", "color": 1, "endpoint": "192.0.2.1", "labels": [16001, 16002]}}`
	tests := []struct {
		name    string
		json    string
		wantErr bool
	}{
		{"many policies and a server", policiesConfig(50), false},
		{"empty lists", `{"pcc-agent:pce-client": {"servers": {"server": []}, "policies": {"policy": []}}}`, false},
		{"empty containers", `{"pcc-agent:pce-client": {"servers": {}, "policies": {}}}`, false},
		{"unqualified top-level member", `{"pce-client": {"policies": {"policy": [` + pol + `]}}}`, false},
		{"global config and lists", `{"pcc-agent:pce-client": {"config": {"msd": 5}, "servers": {"server": [{"address": "192.0.2.10", "config": {"address": "192.0.2.10", "preference": 3}}]}, "policies": {"policy": [` + pol + `]}}}`, false},
		{"duplicate entries merge", `{"pcc-agent:pce-client": {"policies": {"policy": [` + pol + `, {"name": "a", "config": {"preference": 7}}]}}}`, false},
		{"entry without its key", `{"pcc-agent:pce-client": {"policies": {"policy": [{"config": {"name": "a"}}]}}}`, true},
		{"unknown member in an entry", `{"pcc-agent:pce-client": {"policies": {"policy": [` + pol + `, {"name": "b", "colour": 1}]}}}`, true},
		{"wrong type in an entry", `{"pcc-agent:pce-client": {"servers": {"server": [{"address": "192.0.2.10", "config": {"port": "x"}}]}}}`, true},
		{"entry not an object", `{"pcc-agent:pce-client": {"policies": {"policy": [1]}}}`, true},
		{"list not an array", `{"pcc-agent:pce-client": {"policies": {"policy": {"name": "a"}}}}`, true},
		{"unknown member beside the list", `{"pcc-agent:pce-client": {"policies": {"policy": [` + pol + `], "colour": 1}}}`, true},
		{"pce-client not an object", `{"pcc-agent:pce-client": []}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			decode := func() any {
				var v any
				if err := json.Unmarshal([]byte(tt.json), &v); err != nil {
					t.Fatal(err)
				}
				return v
			}
			want := &yDevice{}
			werr := ytypes.Unmarshal(s.root.entry, want, decode())
			got := &yDevice{}
			gerr := s.unmarshalDevice(got, decode())
			if (werr != nil) != tt.wantErr || (gerr != nil) != tt.wantErr {
				t.Fatalf("errors: ygot %v, by entry %v, want error %v", werr, gerr, tt.wantErr)
			}
			if tt.wantErr {
				if !strings.Contains(gerr.Error(), cleanMsg(werr)) && !strings.Contains(cleanMsg(gerr), cleanMsg(werr)) {
					t.Errorf("error %q does not carry ygot's %q", gerr, werr)
				}
				return
			}
			normalizeEmptyLists(want)
			normalizeEmptyLists(got)
			if !reflect.DeepEqual(want, got) {
				a, _ := json.Marshal(want)
				b, _ := json.Marshal(got)
				t.Errorf("tree by entry differs from ygot's:\n got %s\nwant %s", b, a)
			}
		})
	}
}

// normalizeEmptyLists makes an empty list map nil: ygot makes an empty map
// for an empty JSON array, the per-entry unmarshal may not, and the two
// mean the same configuration.
func normalizeEmptyLists(d *yDevice) {
	pc := d.PceClient
	if pc == nil {
		return
	}
	if pc.Servers != nil && len(pc.Servers.Server) == 0 {
		pc.Servers.Server = nil
	}
	if pc.Policies != nil && len(pc.Policies.Policy) == 0 {
		pc.Policies.Policy = nil
	}
}

// TestSetOfABadListEntryNamesIt checks that a Set of a whole list or
// container whose value has one bad entry fails with InvalidArgument naming
// the entry, and changes nothing.
func TestSetOfABadListEntryNamesIt(t *testing.T) {
	tests := []struct {
		name, path, val, want string
	}{
		{"policies container", "/pce-client/policies", `{"policy": [{"name": "ok", "config": {"name": "ok", "color": 1, "endpoint": "192.0.2.1"}}, {"name": "bad", "config": {"name": "bad", "colour": 1}}]}`, "policy[name=bad]"},
		{"servers container", "/pce-client/servers", `{"server": [{"address": "192.0.2.99", "config": {"port": "x"}}]}`, "server[address=192.0.2.99]"},
		{"pce-client container", "/pce-client", `{"policies": {"policy": [{"name": "bad", "config": {"color": "red"}}]}}`, "policy[name=bad]"},
		{"root", "/", `{"pcc-agent:pce-client": {"policies": {"policy": [{"name": "bad", "extra": 1}]}}}`, "policy[name=bad]"},
	}
	for _, tt := range tests {
		for _, replace := range []bool{false, true} {
			op := "update"
			if replace {
				op = "replace"
			}
			t.Run(op+" of "+tt.name, func(t *testing.T) {
				ta := newTestAgent(t, sampleConfig)
				before := ta.observe(t)
				u := []*gnmi.Update{{Path: mustPath(t, tt.path), Val: jsonVal(tt.val)}}
				req := &gnmi.SetRequest{Update: u}
				if replace {
					req = &gnmi.SetRequest{Replace: u}
				}
				_, err := ta.Set(context.Background(), req)
				if codeOf(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Set: %v, want InvalidArgument naming %s", err, tt.want)
				}
				if after := ta.observe(t); after != before {
					t.Errorf("a failed Set changed something:\nbefore %+v\nafter  %+v", before, after)
				}
				t.Log(err)
			})
		}
	}
}
