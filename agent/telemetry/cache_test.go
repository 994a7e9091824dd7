package telemetry

import (
	"math/rand/v2"
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
		{"container of leaves", []string{"/pce-client/servers/server[address=192.0.2.10]/state"}, "/pce-client/servers", []string{
			"/pce-client/servers/server[address=192.0.2.10]/config/port=4189",
			"/pce-client/servers/server[address=192.0.2.11]/state/session-state=idle"}},
		{"container wildcard", []string{"/pce-client/lsps/lsp[name=*]/*/color"}, "/pce-client/lsps", []string{
			"/pce-client/lsps/lsp[name=a]/state/oper-status=up", "/pce-client/lsps/lsp[name=b]/state/oper-status=down"}},
		{"any depth", []string{"/pce-client/.../session-state"}, "/pce-client/servers", []string{
			"/pce-client/servers/server[address=192.0.2.10]/config/port=4189"}},
		{"top container's container", []string{"/pce-client/config"}, "/pce-client", []string{
			"/pce-client/lsps/lsp[name=a]/state/color=100", "/pce-client/lsps/lsp[name=a]/state/oper-status=up",
			"/pce-client/lsps/lsp[name=b]/state/color=200", "/pce-client/lsps/lsp[name=b]/state/oper-status=down",
			"/pce-client/servers/server[address=192.0.2.10]/config/port=4189",
			"/pce-client/servers/server[address=192.0.2.10]/state/session-state=up",
			"/pce-client/servers/server[address=192.0.2.11]/state/session-state=idle",
			"/pce-client/state/lsp-count=2"}},
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
	q.mark(&event{entity: a, changed: true}, 1, true, false)
	q.mark(&event{entity: b, changed: true}, 2, true, false)
	q.mark(&event{entity: a, changed: true}, 3, true, false)
	q.mark(&event{entity: b, deleted: true}, 4, false, true)
	if q.len() != 2 {
		t.Fatalf("queue holds %d markers, want 2", q.len())
	}
	ms := q.pop(10, nil, 4, false)
	if len(ms) != 2 || ms[0].ent != a || ms[1].ent != b {
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

// updatePaths returns the full paths of the updates of the notifications
// Query gives for path, in the order they come.
func updatePaths(t *testing.T, c *Cache, path string) []string {
	t.Helper()
	var out []string
	err := c.Query(mustPath(t, path), func(n *gpb.Notification) error {
		for _, u := range n.GetUpdate() {
			out = append(out, joined(n.GetPrefix(), u.GetPath()))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLeavesOfAnEntityComeInTreeOrder(t *testing.T) {
	c := NewCache()
	c.Update(leafNote(t, 1,
		"/pce-client/lsps/lsp[name=a]/state/z=1",
		"/pce-client/lsps/lsp[name=a]/state/counters/q=2",
		"/pce-client/lsps/lsp[name=a]/name=a",
		"/pce-client/lsps/lsp[name=a]/state/b=3",
		"/pce-client/lsps/lsp[name=a]/config/c=4",
		"/pce-client/lsps/lsp[name=a]/state/counters/p=5",
	))
	want := []string{
		"/pce-client/lsps/lsp[name=a]/name",
		"/pce-client/lsps/lsp[name=a]/config/c",
		"/pce-client/lsps/lsp[name=a]/state/b",
		"/pce-client/lsps/lsp[name=a]/state/z",
		"/pce-client/lsps/lsp[name=a]/state/counters/p",
		"/pce-client/lsps/lsp[name=a]/state/counters/q",
	}
	if got := updatePaths(t, c, "/pce-client/lsps/lsp[name=a]"); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestListBelowContainerOfLeavesKeepsTheLeaves(t *testing.T) {
	c := NewCache()
	c.Update(leafNote(t, 1, "/pce-client/a/b/x=1", "/pce-client/a/y=2", "/pce-client/a/b/c/w=0"))
	// The list makes containers a and b hold more than leaves.
	c.Update(leafNote(t, 2, "/pce-client/a/b/l[k=1]/z=3"))
	c.Update(&gpb.Notification{
		Timestamp: 3,
		Prefix:    mustPath(t, "/pce-client/a/b"),
		Update:    []*gpb.Update{{Path: mustPath(t, "x"), Val: uintVal(4)}, {Path: mustPath(t, "l[k=2]/z"), Val: uintVal(5)}},
	})
	want := []string{"/pce-client/a/b/c/w=0", "/pce-client/a/b/l[k=1]/z=3", "/pce-client/a/b/l[k=2]/z=5", "/pce-client/a/b/x=4", "/pce-client/a/y=2"}
	if got := query(t, c, "/pce-client"); !slices.Equal(got, want) {
		t.Errorf("after list created:\n got %q\nwant %q", got, want)
	}
	if got, want := query(t, c, "/pce-client/a/*/x"), []string{"/pce-client/a/b/x=4"}; !slices.Equal(got, want) {
		t.Errorf("wildcard: got %q, want %q", got, want)
	}
	c.Update(&gpb.Notification{Timestamp: 4, Delete: []*gpb.Path{mustPath(t, "/pce-client/a/b")}})
	want = []string{"/pce-client/a/y=2"}
	if got := query(t, c, "/pce-client"); !slices.Equal(got, want) {
		t.Errorf("after delete of a/b:\n got %q\nwant %q", got, want)
	}
}

func TestListNamedLikeAContainerOfLeavesIsIgnored(t *testing.T) {
	c := NewCache()
	c.Update(leafNote(t, 1, "/pce-client/x/y=1"))
	c.Update(leafNote(t, 2, "/pce-client/x[k=1]/z=2"))
	want := []string{"/pce-client/x/y=1"}
	if got := query(t, c, "/"); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLeavesKeepTheirValuesAcrossAddsAndDeletes(t *testing.T) {
	c := NewCache()
	var pairs []string
	for i := range 40 {
		pairs = append(pairs, "/pce-client/lsps/lsp[name=a]/state/l"+strconv.Itoa(i)+"="+strconv.Itoa(i))
	}
	for _, p := range pairs {
		c.Update(leafNote(t, 1, p))
	}
	var dels []*gpb.Path
	for i := 0; i < 40; i += 3 {
		dels = append(dels, mustPath(t, "/pce-client/lsps/lsp[name=a]/state/l"+strconv.Itoa(i)))
	}
	c.Update(&gpb.Notification{Timestamp: 2, Delete: dels})
	var want []string
	for i, p := range pairs {
		if i%3 != 0 {
			want = append(want, p)
		}
	}
	slices.Sort(want)
	if got := query(t, c, "/pce-client/lsps"); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// changedSince returns the leaves of entity path (a list entry or a
// top-level container) whose value changed after sequence number since.
func changedSince(t *testing.T, c *Cache, path string, since uint64) []string {
	t.Helper()
	c.mu.RLock()
	ents := c.collectLocked([]pattern{toPattern(mustPath(t, path))})
	var out []string
	for _, e := range ents {
		if sn, ok := snapLocked(e, []pattern{toPattern(mustPath(t, "/"))}, since, true, false, nil, nil); ok {
			out = append(out, flat(sn.note(nil))...)
		}
	}
	c.mu.RUnlock()
	return out
}

func TestStateLeafMirroringConfigKeepsItsOwnValueAndChanges(t *testing.T) {
	const e = "/pce-client/policies/policy[name=p]"
	c := NewCache()
	steps := []struct {
		name   string
		note   *gpb.Notification
		all    []string // every leaf after the step
		change []string // the leaves changed by the step
		held   int      // values held by the entry
	}{
		{"both set together", leafNote(t, 1, e+"/config/x=1", e+"/state/x=1", e+"/state/d=7"),
			[]string{e + "/config/x=1", e + "/state/d=7", e + "/state/x=1"},
			[]string{e + "/config/x=1", e + "/state/d=7", e + "/state/x=1"}, 2},
		{"config alone changes", leafNote(t, 2, e+"/config/x=2"),
			[]string{e + "/config/x=2", e + "/state/d=7", e + "/state/x=1"},
			[]string{e + "/config/x=2"}, 3},
		{"state follows later", leafNote(t, 3, e+"/state/x=2"),
			[]string{e + "/config/x=2", e + "/state/d=7", e + "/state/x=2"},
			[]string{e + "/state/x=2"}, 3},
		{"both change together", leafNote(t, 4, e+"/config/x=3", e+"/state/x=3"),
			[]string{e + "/config/x=3", e + "/state/d=7", e + "/state/x=3"},
			[]string{e + "/config/x=3", e + "/state/x=3"}, 2},
		{"unchanged", leafNote(t, 5, e+"/config/x=3", e+"/state/x=3"),
			[]string{e + "/config/x=3", e + "/state/d=7", e + "/state/x=3"},
			nil, 2},
		{"state alone changes", leafNote(t, 6, e+"/state/x=4"),
			[]string{e + "/config/x=3", e + "/state/d=7", e + "/state/x=4"},
			[]string{e + "/state/x=4"}, 3},
		{"both change again", leafNote(t, 7, e+"/config/x=5", e+"/state/x=5"),
			[]string{e + "/config/x=5", e + "/state/d=7", e + "/state/x=5"},
			[]string{e + "/config/x=5", e + "/state/x=5"}, 2},
		{"config deleted", &gpb.Notification{Timestamp: 8, Delete: []*gpb.Path{mustPath(t, e+"/config/x")}},
			[]string{e + "/state/d=7", e + "/state/x=5"},
			nil, 2},
	}
	for _, st := range steps {
		before := c.seq
		c.Update(st.note)
		if got := query(t, c, e); !slices.Equal(got, st.all) {
			t.Errorf("%s: leaves\n got %q\nwant %q", st.name, got, st.all)
		}
		if got := changedSince(t, c, e, before); !slices.Equal(got, st.change) {
			t.Errorf("%s: changed leaves\n got %q\nwant %q", st.name, got, st.change)
		}
		c.mu.RLock()
		en := c.root.kid("pce-client").kid("policies").kid("policy").list.entries.get("p")
		held := len(en.leaves)
		c.mu.RUnlock()
		if held != st.held {
			t.Errorf("%s: entry holds %d values, want %d", st.name, held, st.held)
		}
	}
}

func TestEntryTableAgreesWithAMap(t *testing.T) {
	var tab entryTable
	ref := map[string]*node{}
	rng := rand.New(rand.NewPCG(1, 2))
	for step := range 20000 {
		key := strconv.Itoa(rng.IntN(600))
		if e, ok := ref[key]; ok && rng.IntN(3) > 0 {
			tab.del(e)
			delete(ref, key)
		} else if !ok {
			e := &node{name: key}
			tab.put(e)
			ref[key] = e
		}
		if step%500 == 0 || step > 19900 {
			if tab.len() != len(ref) {
				t.Fatalf("step %d: table holds %d entries, want %d", step, tab.len(), len(ref))
			}
			seen := 0
			tab.all(func(e *node) {
				seen++
				if ref[e.name] != e {
					t.Fatalf("step %d: table holds %q, not in the map", step, e.name)
				}
			})
			if seen != len(ref) {
				t.Fatalf("step %d: all gave %d entries, want %d", step, seen, len(ref))
			}
			for k := range 600 {
				key := strconv.Itoa(k)
				if got := tab.get(key); got != ref[key] {
					t.Fatalf("step %d: get(%q) = %v, want %v", step, key, got, ref[key])
				}
			}
		}
	}
	for _, e := range ref {
		tab.del(e)
	}
	if tab.len() != 0 || len(tab.slots) > minEntrySlots {
		t.Errorf("emptied table holds %d entries in %d slots", tab.len(), len(tab.slots))
	}
}

// TestEntityMatcherAgreesWithMatchingFullPaths checks the matcher
// snapLocked uses (the entity's own elements matched once) against
// matching every leaf's full path, for patterns with and without
// wildcards, keys and "...", above, at and below entities.
func TestEntityMatcherAgreesWithMatchingFullPaths(t *testing.T) {
	c := seedCache(t)
	c.Update(leafNote(t, 2,
		"/pce-client/lsps/lsp[name=a]/state/sub/deep=1",
		"/pce-client/x/e[a=1][b=2]/v=12",
		"/pce-client/x/e[a=1][b=2]/w/v=13",
	))
	patterns := [][]string{
		{"/"},
		{"/pce-client"},
		{"/pce-client/lsps/lsp[name=a]"},
		{"/pce-client/lsps/lsp[name=*]/state/color"},
		{"/pce-client/lsps/lsp[name=b]/state"},
		{"/pce-client/lsps/lsp/state/color"},
		{"/pce-client/*/*/state/color"},
		{"/pce-client/lsps/lsp[name=*]/*/deep"},
		{"/pce-client/lsps/lsp[name=*]/state/sub/deep/more"},
		{"/.../color"},
		{"/pce-client/.../v"},
		{"/pce-client/lsps/lsp[name=*]/.../deep"},
		{"/pce-client/x/e[a=1][b=*]/w"},
		{"/pce-client/x/e[b=3]/v"},
		{"/pce-client/config/enabled", "/pce-client/lsps/lsp[name=a]/state/oper-status", "/.../session-state"},
	}
	for _, ss := range patterns {
		var ps []pattern
		for _, s := range ss {
			ps = append(ps, toPattern(mustPath(t, s)))
		}
		for _, ent := range c.collectLocked([]pattern{toPattern(mustPath(t, "/"))}) {
			elems := ent.elems()
			m := newEntityMatcher(ps, elems)
			ent.walkOwn(nil, func(rel []string, name string, _ *leaf) {
				var below []celem
				for _, r := range rel {
					below = append(below, celem{name: r})
				}
				below = append(below, celem{name: name})
				full := append(append([]celem(nil), elems...), below...)
				if got, want := m.match(below), anyMatch(ps, full); got != want {
					t.Errorf("patterns %q, leaf %s/%v/%s: matcher says %v, full match %v", ss, ent.key(), rel, name, got, want)
				}
			})
		}
	}
}
