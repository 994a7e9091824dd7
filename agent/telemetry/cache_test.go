package telemetry

import (
	"runtime"
	"slices"
	"strconv"
	"testing"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/protobuf/proto"
)

// seedCache fills a cache with a small tree: config, two servers, two LSPs.
func seedCache(t testing.TB) *Cache {
	t.Helper()
	c := NewCache()
	c.Update(leafNote(t, 1,
		"/pce-client/config/keepalive=30",
		"/pce-client/config/enabled=true",
		"/pce-client/state/lsp-count=2",
		"/pce-client/servers/server[address=192.0.2.10]/config/port=4189",
		"/pce-client/servers/server[address=192.0.2.10]/state/session-state=up",
		"/pce-client/servers/server[address=192.0.2.11]/state/session-state=idle",
		"/pce-client/lsps/lsp[name=a]/state/color=100",
		"/pce-client/lsps/lsp[name=a]/state/oper-status=up",
		"/pce-client/lsps/lsp[name=b]/state/color=200",
		"/pce-client/lsps/lsp[name=b]/state/oper-status=down",
	))
	return c
}

func query(t testing.TB, c *Cache, path string) []string {
	t.Helper()
	var ns []*gpb.Notification
	if err := c.Query(mustPath(t, path), func(n *gpb.Notification) error {
		ns = append(ns, n)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return flatAll(ns)
}

func TestQueryMatchesWildcardsAndSubtrees(t *testing.T) {
	c := seedCache(t)
	tests := []struct {
		name, path string
		want       []string
	}{
		{"one leaf", "/pce-client/lsps/lsp[name=a]/state/color", []string{"/pce-client/lsps/lsp[name=a]/state/color=100"}},
		{"key wildcard", "/pce-client/lsps/lsp[name=*]/state/color", []string{
			"/pce-client/lsps/lsp[name=a]/state/color=100", "/pce-client/lsps/lsp[name=b]/state/color=200"}},
		{"list without keys", "/pce-client/lsps/lsp/state/oper-status", []string{
			"/pce-client/lsps/lsp[name=a]/state/oper-status=up", "/pce-client/lsps/lsp[name=b]/state/oper-status=down"}},
		{"name wildcard", "/pce-client/*/server[address=*]/state/session-state", []string{
			"/pce-client/servers/server[address=192.0.2.10]/state/session-state=up",
			"/pce-client/servers/server[address=192.0.2.11]/state/session-state=idle"}},
		{"subtree", "/pce-client/servers/server[address=192.0.2.10]", []string{
			"/pce-client/servers/server[address=192.0.2.10]/config/port=4189",
			"/pce-client/servers/server[address=192.0.2.10]/state/session-state=up"}},
		{"top container", "/pce-client/config", []string{
			"/pce-client/config/enabled=true", "/pce-client/config/keepalive=30"}},
		{"any depth", "/pce-client/.../oper-status", []string{
			"/pce-client/lsps/lsp[name=a]/state/oper-status=up", "/pce-client/lsps/lsp[name=b]/state/oper-status=down"}},
		{"module prefix", "/pcc-agent:pce-client/state", []string{"/pce-client/state/lsp-count=2"}},
		{"missing entry", "/pce-client/lsps/lsp[name=zz]", nil},
		{"missing leaf", "/pce-client/config/msd", nil},
		{"root", "/", []string{
			"/pce-client/config/enabled=true", "/pce-client/config/keepalive=30",
			"/pce-client/lsps/lsp[name=a]/state/color=100", "/pce-client/lsps/lsp[name=a]/state/oper-status=up",
			"/pce-client/lsps/lsp[name=b]/state/color=200", "/pce-client/lsps/lsp[name=b]/state/oper-status=down",
			"/pce-client/servers/server[address=192.0.2.10]/config/port=4189",
			"/pce-client/servers/server[address=192.0.2.10]/state/session-state=up",
			"/pce-client/servers/server[address=192.0.2.11]/state/session-state=idle",
			"/pce-client/state/lsp-count=2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := query(t, c, tt.path)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Query(%s)\n got %q\nwant %q", tt.path, got, tt.want)
			}
		})
	}
}

func TestQueryGivesOneNotificationPerEntity(t *testing.T) {
	c := seedCache(t)
	var n int
	err := c.Query(mustPath(t, "/pce-client/lsps"), func(note *gpb.Notification) error {
		n++
		if len(note.GetUpdate()) != 2 {
			t.Errorf("notification has %d updates, want 2 (one LSP's leaves)", len(note.GetUpdate()))
		}
		if note.GetTimestamp() != 1 {
			t.Errorf("timestamp %d, want 1", note.GetTimestamp())
		}
		return nil
	})
	if err != nil || n != 2 {
		t.Fatalf("Query: %d notifications, err %v; want 2, nil", n, err)
	}
}

func TestUpdateDeletesSubtrees(t *testing.T) {
	tests := []struct {
		name    string
		deletes []string
		path    string
		want    []string
	}{
		{"list entry", []string{"/pce-client/lsps/lsp[name=a]"}, "/pce-client/lsps", []string{
			"/pce-client/lsps/lsp[name=b]/state/color=200", "/pce-client/lsps/lsp[name=b]/state/oper-status=down"}},
		{"leaf", []string{"/pce-client/lsps/lsp[name=a]/state/color"}, "/pce-client/lsps/lsp[name=a]", []string{
			"/pce-client/lsps/lsp[name=a]/state/oper-status=up"}},
		{"container holding a list", []string{"/pce-client/lsps"}, "/pce-client/lsps", nil},
		{"wildcard", []string{"/pce-client/lsps/lsp[name=*]/state/color"}, "/pce-client/lsps", []string{
			"/pce-client/lsps/lsp[name=a]/state/oper-status=up", "/pce-client/lsps/lsp[name=b]/state/oper-status=down"}},
		{"everything", []string{"/"}, "/", nil},
		{"missing path", []string{"/pce-client/lsps/lsp[name=zz]"}, "/pce-client/lsps/lsp[name=a]/state/color", []string{
			"/pce-client/lsps/lsp[name=a]/state/color=100"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := seedCache(t)
			n := &gpb.Notification{Timestamp: 2}
			for _, d := range tt.deletes {
				n.Delete = append(n.Delete, mustPath(t, d))
			}
			c.Update(n)
			if got := query(t, c, tt.path); !slices.Equal(got, tt.want) {
				t.Errorf("after delete %v, Query(%s)\n got %q\nwant %q", tt.deletes, tt.path, got, tt.want)
			}
		})
	}
}

func TestUpdateAppliesDeletesBeforeUpdates(t *testing.T) {
	c := seedCache(t)
	n := leafNote(t, 3, "/pce-client/lsps/lsp[name=a]/state/color=7")
	n.Delete = []*gpb.Path{mustPath(t, "/pce-client/lsps/lsp[name=a]")}
	c.Update(n)
	want := []string{"/pce-client/lsps/lsp[name=a]/state/color=7"}
	if got := query(t, c, "/pce-client/lsps/lsp[name=a]"); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestUpdateJoinsPrefixAndPath(t *testing.T) {
	c := NewCache()
	c.Update(&gpb.Notification{
		Prefix: mustPath(t, "/pcc-agent:pce-client/lsps/lsp[name=x]"),
		Update: []*gpb.Update{{Path: mustPath(t, "state/color"), Val: uintVal(5)}},
	})
	want := []string{"/pce-client/lsps/lsp[name=x]/state/color=5"}
	if got := query(t, c, "/pce-client"); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestCacheKeepsValuesOfEveryType(t *testing.T) {
	values := []*gpb.TypedValue{
		strVal("x"), strVal(""), uintVal(1 << 60), boolVal(true), boolVal(false),
		{Value: &gpb.TypedValue_IntVal{IntVal: -5}},
		{Value: &gpb.TypedValue_DoubleVal{DoubleVal: 2.5}},
		{Value: &gpb.TypedValue_FloatVal{FloatVal: 1.5}},
		{Value: &gpb.TypedValue_LeaflistVal{LeaflistVal: &gpb.ScalarArray{Element: []*gpb.TypedValue{uintVal(16003), uintVal(1 << 40)}}}},
		{Value: &gpb.TypedValue_LeaflistVal{LeaflistVal: &gpb.ScalarArray{}}},
		{Value: &gpb.TypedValue_LeaflistVal{LeaflistVal: &gpb.ScalarArray{Element: []*gpb.TypedValue{strVal("a"), strVal("b")}}}},
		{Value: &gpb.TypedValue_BytesVal{BytesVal: []byte{1, 2}}},
		{Value: &gpb.TypedValue_JsonIetfVal{JsonIetfVal: []byte(`{"a":1}`)}},
	}
	for _, v := range values {
		t.Run(v.String(), func(t *testing.T) {
			c := NewCache()
			c.Update(&gpb.Notification{Update: []*gpb.Update{{Path: mustPath(t, "/pce-client/config/x"), Val: v}}})
			var got *gpb.TypedValue
			c.Query(mustPath(t, "/pce-client/config/x"), func(n *gpb.Notification) error {
				got = n.GetUpdate()[0].GetVal()
				return nil
			})
			if !proto.Equal(got, v) {
				t.Errorf("stored %v, read back %v", v, got)
			}
		})
	}
}

func TestUpdateIgnoresMalformedPaths(t *testing.T) {
	c := NewCache()
	c.Update(leafNote(t, 1, "/pce-client/lsps/lsp[name=a]/state/color=1"))
	c.Update(&gpb.Notification{Update: []*gpb.Update{
		{Path: mustPath(t, "/top"), Val: uintVal(1)},                                   // too short
		{Path: mustPath(t, "/pce-client/lsps/lsp/state/color"), Val: uintVal(2)},       // list used as container
		{Path: mustPath(t, "/pce-client/lsps/lsp[id=1]/state/color"), Val: uintVal(3)}, // wrong key name
		{Path: mustPath(t, "/pce-client/config/x"), Val: nil},
	}})
	want := []string{"/pce-client/lsps/lsp[name=a]/state/color=1"}
	if got := query(t, c, "/"); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestQueueCoalescesPerEntityInFirstDirtyOrder(t *testing.T) {
	q := newQueue()
	a, b := &node{name: "a"}, &node{name: "b"}
	q.mark("a", &event{entity: a, changed: true}, 1, true, false)
	q.mark("b", &event{entity: b, changed: true}, 2, true, false)
	q.mark("a", &event{entity: a, changed: true}, 3, true, false)
	q.mark("b", &event{entity: b, deleted: true}, 4, false, true)
	if q.len() != 2 {
		t.Fatalf("queue holds %d markers, want 2", q.len())
	}
	ms := q.pop(10, nil)
	if len(ms) != 2 || ms[0].key != "a" || ms[1].key != "b" {
		t.Fatalf("popped %v, want a then b", ms)
	}
	if ms[0].since != 1 || !ms[0].changed {
		t.Errorf("a: since %d changed %v, want since 1 (first change) and changed", ms[0].since, ms[0].changed)
	}
	if !ms[1].deleted || ms[1].changed {
		t.Errorf("b: deleted %v changed %v, want a delete only", ms[1].deleted, ms[1].changed)
	}
}

func TestListsWithSeveralKeys(t *testing.T) {
	c := NewCache()
	c.Update(leafNote(t, 1,
		"/pce-client/x/e[a=1][b=2]/v=12",
		"/pce-client/x/e[a=1][b=3]/v=13",
		"/pce-client/x/e[a=2][b=2]/v=22",
	))
	tests := []struct {
		path string
		want []string
	}{
		{"/pce-client/x/e[a=1][b=*]/v", []string{"/pce-client/x/e[a=1][b=2]/v=12", "/pce-client/x/e[a=1][b=3]/v=13"}},
		{"/pce-client/x/e[b=2]/v", []string{"/pce-client/x/e[a=1][b=2]/v=12", "/pce-client/x/e[a=2][b=2]/v=22"}},
		{"/pce-client/x/e[a=2][b=2]", []string{"/pce-client/x/e[a=2][b=2]/v=22"}},
	}
	for _, tt := range tests {
		if got := query(t, c, tt.path); !slices.Equal(got, tt.want) {
			t.Errorf("Query(%s)\n got %q\nwant %q", tt.path, got, tt.want)
		}
	}
}

// TestUpdateCreatingManyEntriesStaysLinearInMemory sends one notification
// that creates 10,000 list entries of 8 leaves (a bulk Set of policies) and
// checks the heap grows by a bounded amount per leaf, not by the length of
// the notification per entry.
func TestUpdateCreatingManyEntriesStaysLinearInMemory(t *testing.T) {
	const entries, leavesPer = 10000, 8
	n := &gpb.Notification{Timestamp: 1}
	for i := 0; i < entries; i++ {
		for j := 0; j < leavesPer; j++ {
			n.Update = append(n.Update, &gpb.Update{
				Path: &gpb.Path{Elem: []*gpb.PathElem{
					{Name: "pce-client"}, {Name: "policies"},
					{Name: "policy", Key: map[string]string{"name": "p" + strconv.Itoa(i)}},
					{Name: "config"}, {Name: "leaf" + strconv.Itoa(j)},
				}},
				Val: &gpb.TypedValue{Value: &gpb.TypedValue_UintVal{UintVal: uint64(j)}},
			})
		}
	}
	c := NewCache()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c.Update(n)
	runtime.ReadMemStats(&after)
	perLeaf := float64(after.TotalAlloc-before.TotalAlloc) / (entries * leavesPer)
	// A few hundred bytes per leaf is the linear cost (node, strings, leaf
	// slots); the quadratic failure mode allocates megabytes per entry.
	if perLeaf > 4096 {
		t.Errorf("Update allocated %.0f bytes per leaf, want a bounded per-leaf cost", perLeaf)
	}
	if got := len(query(t, c, "/pce-client/policies/policy[name=p9999]/config")); got != leavesPer {
		t.Errorf("entry p9999 has %d leaves, want %d", got, leavesPer)
	}
}
