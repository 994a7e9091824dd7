package telemetry

import (
	"bytes"
	"errors"
	"math"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/protobuf/proto"
)

// wireEntity stores updates in a fresh cache and returns the entity that
// holds path ent.
func wireEntity(t *testing.T, ent string, updates ...*gpb.Update) *node {
	t.Helper()
	c := NewCache()
	c.Update(&gpb.Notification{Timestamp: 1, Update: updates})
	ents := c.collectLocked([]pattern{toPattern(mustPath(t, ent))})
	if len(ents) != 1 {
		t.Fatalf("%d entities at %s, want 1", len(ents), ent)
	}
	return ents[0]
}

func pathUpdate(t *testing.T, path string, v *gpb.TypedValue) *gpb.Update {
	return &gpb.Update{Path: mustPath(t, path), Val: v}
}

// checkWire compares the wire form appendResponse gives for sn with the
// marshalled object form sn.note gives: both must decode to the same
// SubscribeResponse, and, map keys being sorted by both, be the same bytes.
func checkWire(t *testing.T, sn *snap, prefix *gpb.Path) {
	t.Helper()
	np, err := newNotePrefix(prefix)
	if err != nil {
		t.Fatal(err)
	}
	want := &gpb.SubscribeResponse{Response: &gpb.SubscribeResponse_Update{Update: sn.note(prefix)}}
	wantBytes, err := proto.MarshalOptions{Deterministic: true}.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := sn.appendResponse([]byte("kept"), np)
	if err != nil {
		t.Fatalf("appendResponse: %v", err)
	}
	if !bytes.HasPrefix(got, []byte("kept")) {
		t.Fatalf("appendResponse dropped what the buffer held: %q", got)
	}
	got = got[len("kept"):]
	dec := &gpb.SubscribeResponse{}
	if err := proto.Unmarshal(got, dec); err != nil {
		t.Fatalf("the wire form does not decode: %v", err)
	}
	if !proto.Equal(dec, want) {
		t.Errorf("the wire form decodes to\n%v\nwant\n%v", dec, want)
	}
	if len(dec.ProtoReflect().GetUnknown()) > 0 || len(dec.GetUpdate().ProtoReflect().GetUnknown()) > 0 {
		t.Errorf("the wire form has unknown fields")
	}
	if !bytes.Equal(got, wantBytes) {
		t.Errorf("wire form\n%x\nwant (proto.Marshal)\n%x", got, wantBytes)
	}
}

func TestWireFormOfEveryValueKindMatchesProtoMarshal(t *testing.T) {
	values := []struct {
		name string
		v    *gpb.TypedValue
	}{
		{"string", strVal("up")},
		{"empty string", strVal("")},
		{"non-ASCII string", strVal("größe ✓")},
		{"uint zero", uintVal(0)},
		{"uint large", uintVal(math.MaxUint64)},
		{"int negative", &gpb.TypedValue{Value: &gpb.TypedValue_IntVal{IntVal: -5}}},
		{"int zero", &gpb.TypedValue{Value: &gpb.TypedValue_IntVal{IntVal: 0}}},
		{"int min", &gpb.TypedValue{Value: &gpb.TypedValue_IntVal{IntVal: math.MinInt64}}},
		{"bool true", boolVal(true)},
		{"bool false", boolVal(false)},
		{"double", &gpb.TypedValue{Value: &gpb.TypedValue_DoubleVal{DoubleVal: -2.5}}},
		{"double zero", &gpb.TypedValue{Value: &gpb.TypedValue_DoubleVal{DoubleVal: 0}}},
		{"double NaN", &gpb.TypedValue{Value: &gpb.TypedValue_DoubleVal{DoubleVal: math.NaN()}}},
		{"float", &gpb.TypedValue{Value: &gpb.TypedValue_FloatVal{FloatVal: 1.5}}},
		{"uint leaf-list", &gpb.TypedValue{Value: &gpb.TypedValue_LeaflistVal{LeaflistVal: &gpb.ScalarArray{
			Element: []*gpb.TypedValue{uintVal(16003), uintVal(0), uintVal(1 << 40), uintVal(math.MaxUint64)}}}}},
		{"empty leaf-list", &gpb.TypedValue{Value: &gpb.TypedValue_LeaflistVal{LeaflistVal: &gpb.ScalarArray{}}}},
		{"string leaf-list", &gpb.TypedValue{Value: &gpb.TypedValue_LeaflistVal{LeaflistVal: &gpb.ScalarArray{
			Element: []*gpb.TypedValue{strVal("a"), strVal("b")}}}}},
		{"bytes", &gpb.TypedValue{Value: &gpb.TypedValue_BytesVal{BytesVal: []byte{1, 2}}}},
		{"json_ietf", &gpb.TypedValue{Value: &gpb.TypedValue_JsonIetfVal{JsonIetfVal: []byte(`{"a":1}`)}}},
		{"decimal", &gpb.TypedValue{Value: &gpb.TypedValue_DecimalVal{DecimalVal: &gpb.Decimal64{Digits: 314, Precision: 2}}}},
		{"ascii", &gpb.TypedValue{Value: &gpb.TypedValue_AsciiVal{AsciiVal: "x"}}},
	}
	prefixes := []struct {
		name string
		p    *gpb.Path
	}{
		{"no prefix", nil},
		{"target", &gpb.Path{Target: "router1"}},
		{"origin and target", &gpb.Path{Origin: ModulePrefix, Target: "r"}},
	}
	for _, v := range values {
		for _, pre := range prefixes {
			t.Run(v.name+"/"+pre.name, func(t *testing.T) {
				ent := wireEntity(t, "/pce-client/lsps/lsp[name=a]",
					pathUpdate(t, "/pce-client/lsps/lsp[name=a]/state/x", v.v))
				sn, ok := snapLocked(ent, []pattern{toPattern(mustPath(t, "/pce-client"))}, 0, true, false, nil, nil)
				if !ok || len(sn.leaves) != 1 {
					t.Fatalf("snapshot holds %d leaves, want 1", len(sn.leaves))
				}
				checkWire(t, &sn, pre.p)
			})
		}
	}
}

func TestWireFormOfNotificationsMatchesProtoMarshal(t *testing.T) {
	lsp := "/pce-client/lsps/lsp[name=lsp-1]"
	tests := []struct {
		name     string
		ent      string
		updates  []string // path=value, as leafNote reads them
		pattern  string
		since    uint64
		noLeaves bool
		ts       int64
		deleted  bool
		delPaths []string
		prefix   *gpb.Path
	}{
		{name: "one leaf", ent: lsp, updates: []string{lsp + "/state/labels=7"}, pattern: lsp + "/state/labels", ts: 1e18},
		{name: "many leaves in nested containers", ent: lsp, updates: []string{
			lsp + "/state/a=1", lsp + "/state/b=x", lsp + "/state/sub/c=true", lsp + "/state/sub/deeper/d=4",
			lsp + "/config/e=5", lsp + "/f=top",
		}, pattern: lsp, ts: 5},
		{name: "leaves changed after since only", ent: lsp, updates: []string{
			lsp + "/state/a=1", lsp + "/state/b=2", lsp + "/state/c=3",
		}, pattern: lsp, since: 2, ts: 5},
		{name: "wildcard pattern", ent: lsp, updates: []string{lsp + "/state/a=1", lsp + "/state/b=2"},
			pattern: "/pce-client/lsps/lsp[name=*]/state/b", ts: 5},
		{name: "top-level container", ent: "/pce-client/state", updates: []string{
			"/pce-client/state/delegated-lsp-count=3", "/pce-client/state/selected-server=10.0.0.1",
		}, pattern: "/pce-client/state", ts: 9},
		{name: "list with several keys", ent: "/pce-client/x/e[a=1][b=2]", updates: []string{
			"/pce-client/x/e[a=1][b=2]/v=12", "/pce-client/x/e[a=1][b=2]/w/z=q",
		}, pattern: "/pce-client/x", ts: 3},
		{name: "entry below an entry", ent: "/pce-client/s/srv[addr=10.0.0.1]/sess/ss[id=4]", updates: []string{
			"/pce-client/s/srv[addr=10.0.0.1]/sess/ss[id=4]/state/up=true",
		}, pattern: "/pce-client/s", ts: 3},
		{name: "key value with spaces and colons", ent: "/pce-client/lsps/lsp[name=a b:c]", updates: []string{
			"/pce-client/lsps/lsp[name=a b:c]/state/v=1",
		}, pattern: "/pce-client", ts: 3},
		{name: "no timestamp", ent: lsp, updates: []string{lsp + "/state/a=1"}, pattern: lsp, ts: 0},
		{name: "negative timestamp", ent: lsp, updates: []string{lsp + "/state/a=1"}, pattern: lsp, ts: -3},
		{name: "entity deleted", ent: lsp, updates: []string{lsp + "/state/a=1"}, pattern: lsp, noLeaves: true,
			deleted: true, ts: 4, prefix: &gpb.Path{Target: "t"}},
		{name: "leaves deleted", ent: lsp, updates: []string{lsp + "/state/a=1"}, pattern: lsp, noLeaves: true,
			delPaths: []string{"state/b", "config", "state/sub/deeper/d"}, ts: 4},
		{name: "deletes and updates", ent: lsp, updates: []string{lsp + "/state/a=1"}, pattern: lsp,
			delPaths: []string{"state/b"}, ts: 4, prefix: &gpb.Path{Origin: ModulePrefix}},
		{name: "deleted and leaves deleted", ent: lsp, updates: []string{lsp + "/state/a=1"}, pattern: lsp, noLeaves: true,
			deleted: true, delPaths: []string{"state/b", "a//b"}, ts: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCache()
			c.Update(leafNote(t, tt.ts, tt.updates...))
			ents := c.collectLocked([]pattern{toPattern(mustPath(t, tt.ent))})
			if len(ents) == 0 {
				t.Fatalf("no entity at %s", tt.ent)
			}
			ent := ents[len(ents)-1]
			// Taken in an arena after another snapshot, and once more after
			// the arena was truncated back to that one, as drains do.
			var a snapArena
			ps := []pattern{toPattern(mustPath(t, "/pce-client"))}
			before, _ := snapLocked(ent, ps, 0, true, false, nil, &a)
			m := a.mark()
			snapLocked(ent, ps, 0, true, true, nil, &a)
			a.truncate(m)
			sn, ok := snapLocked(ent, []pattern{toPattern(mustPath(t, tt.pattern))}, tt.since, !tt.noLeaves, tt.deleted, tt.delPaths, &a)
			if !ok {
				t.Fatal("nothing to say")
			}
			checkWire(t, &sn, tt.prefix)
			checkWire(t, &before, tt.prefix)
		})
	}
}

func TestWireFormRefusesInvalidUTF8LikeProtoMarshal(t *testing.T) {
	bad := "a\xffb"
	tests := []struct {
		name     string
		update   *gpb.Update
		delPaths []string
	}{
		{"string value", pathUpdate(t, "/pce-client/lsps/lsp[name=a]/state/x", strVal(bad)), nil},
		{"leaf name", &gpb.Update{Path: &gpb.Path{Elem: []*gpb.PathElem{{Name: "pce-client"}, {Name: "lsps"},
			{Name: "lsp", Key: map[string]string{"name": "a"}}, {Name: "state"}, {Name: bad}}}, Val: uintVal(1)}, nil},
		{"container name", &gpb.Update{Path: &gpb.Path{Elem: []*gpb.PathElem{{Name: "pce-client"}, {Name: "lsps"},
			{Name: "lsp", Key: map[string]string{"name": "a"}}, {Name: bad}, {Name: "x"}}}, Val: uintVal(1)}, nil},
		{"key value", &gpb.Update{Path: &gpb.Path{Elem: []*gpb.PathElem{{Name: "pce-client"}, {Name: "lsps"},
			{Name: "lsp", Key: map[string]string{"name": bad}}, {Name: "state"}, {Name: "x"}}}, Val: uintVal(1)}, nil},
		{"delete path", pathUpdate(t, "/pce-client/lsps/lsp[name=a]/state/x", uintVal(1)), []string{"state/" + bad}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ent := wireEntity(t, "/pce-client/lsps/lsp[name=*]", tt.update)
			sn, ok := snapLocked(ent, []pattern{toPattern(mustPath(t, "/pce-client"))}, 0, true, false, tt.delPaths, nil)
			if !ok {
				t.Fatal("nothing to say")
			}
			_, wantErr := proto.Marshal(&gpb.SubscribeResponse{Response: &gpb.SubscribeResponse_Update{Update: sn.note(nil)}})
			if wantErr == nil {
				t.Fatal("proto.Marshal accepts the notification")
			}
			if _, err := sn.appendResponse(nil, notePrefix{}); !errors.Is(err, errInvalidUTF8) {
				t.Errorf("appendResponse error %v, want %v", err, errInvalidUTF8)
			}
		})
	}
}
