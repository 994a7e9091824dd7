package telemetry

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/protobuf/proto"

	"github.com/pccagent/pccagent/pcep/pcc"
)

// ownStrings returns a copy of n whose string values have memory of their
// own (the template's may be scratch memory).
func ownStrings(n *gpb.Notification) *gpb.Notification {
	c := proto.Clone(n).(*gpb.Notification)
	for _, u := range c.GetUpdate() {
		if s, ok := u.GetVal().GetValue().(*gpb.TypedValue_StringVal); ok {
			s.StringVal = strings.Clone(s.StringVal)
		}
	}
	return c
}

// dump returns every entity under /pce-client as its timestamp, its change
// count and its leaves, sorted.
func dump(t *testing.T, c *Cache) []string {
	t.Helper()
	var out []string
	if err := c.Query(mustPath(t, "/pce-client"), func(n *gpb.Notification) error {
		out = append(out, fmt.Sprintf("ts %d %s", n.GetTimestamp(), strings.Join(flat(n), " ")))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c.mu.RLock()
	n := c.root
	for _, name := range []string{"pce-client", "lsps", "lsp"} {
		if n != nil {
			n = n.kid(name)
		}
	}
	if n != nil {
		n.list.entries.all(func(e *node) { out = append(out, fmt.Sprintf("ver %s %d", e.name, e.ver)) })
	}
	out = append(out, fmt.Sprintf("seq %d", c.seq))
	c.mu.RUnlock()
	slices.Sort(out)
	return out
}

// TestUpdateTemplateActsAsUpdate applies the same random history of LSP
// changes, removals and changes by other writers to two caches, one
// through Update and one through updateTemplate, with the pump's template
// (its scratch strings reused from change to change), the same state
// given again among them, and checks after
// every step that both hold the same leaves, timestamps, change counts
// and sequence number.
func TestUpdateTemplateActsAsUpdate(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	viaUpdate, viaTemplate := NewCache(), NewCache()
	var tmpl lspTemplate
	tmpl.init()
	names := []string{"a", "b", "c", "d"}
	last := make(map[string]*pcc.LSPState) // the last state given to each LSP
	addrs := []netip.Addr{{}, netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::10"), netip.MustParseAddr("198.51.100.200")}
	for step := range 3000 {
		ts := int64(step + 1)
		name := names[r.IntN(len(names))]
		entity := "/pce-client/lsps/lsp[name=" + name + "]"
		switch x := r.IntN(20); {
		case x == 0: // the LSP is removed
			del := &gpb.Notification{Timestamp: ts, Delete: []*gpb.Path{mustPath(t, entity)}}
			viaUpdate.Update(del)
			viaTemplate.Update(del)
		case x == 1: // another writer adds a leaf: the entity changes shape
			n := leafNote(t, ts, entity+"/state/extra-"+fmt.Sprint(r.IntN(3))+"="+fmt.Sprint(r.IntN(2)))
			viaUpdate.Update(n)
			viaTemplate.Update(n)
		case x == 2: // another writer removes a container
			del := &gpb.Notification{Timestamp: ts, Delete: []*gpb.Path{mustPath(t, entity+"/state")}}
			viaUpdate.Update(del)
			viaTemplate.Update(del)
		case x == 3 && last[name] != nil: // the same state again: only the timestamp moves
			viaUpdate.Update(ownStrings(tmpl.fill(last[name], ts)))
			viaTemplate.updateTemplate(tmpl.fill(last[name], ts), &tmpl.index)
		default:
			l := &pcc.LSPState{
				Name:        name,
				PLSPID:      uint32(r.IntN(3)),
				Origin:      pcc.Origin(r.IntN(2)),
				Color:       uint32(r.IntN(2)),
				Endpoint:    addrs[r.IntN(len(addrs))],
				Preference:  uint32(r.IntN(2)),
				OperStatus:  pcc.OperStatus(r.IntN(3)),
				Delegated:   r.IntN(2) == 0,
				DelegatedTo: addrs[r.IntN(len(addrs))],
				Updates:     uint64(r.IntN(3)),
				LastSRPID:   uint32(r.IntN(3)),
				LastChange:  time.Unix(0, int64(r.IntN(3))),
			}
			for range r.IntN(4) {
				l.Labels = append(l.Labels, uint32(16000+r.IntN(3)))
			}
			last[name] = l
			viaUpdate.Update(ownStrings(tmpl.fill(l, ts)))
			viaTemplate.updateTemplate(tmpl.fill(l, ts), &tmpl.index)
		}
		if a, b := dump(t, viaUpdate), dump(t, viaTemplate); !slices.Equal(a, b) {
			t.Fatalf("step %d: through Update:\n%s\nthrough updateTemplate:\n%s", step, strings.Join(a, "\n"), strings.Join(b, "\n"))
		}
	}
}

// TestLacksLeafSeesContainers checks that a delete of a name that is a
// container of leaves (not a leaf itself) is not taken for a delete of
// nothing.
func TestLacksLeafSeesContainers(t *testing.T) {
	c := NewCache()
	c.Update(leafNote(t, 1,
		"/pce-client/lsps/lsp[name=a]/state/name=a",
		"/pce-client/lsps/lsp[name=a]/state/sub/x=1",
		"/pce-client/lsps/lsp[name=a]/state/zz=2"))
	c.mu.Lock()
	defer c.mu.Unlock()
	ent := c.root.kid("pce-client").kid("lsps").kid("lsp").list.entries.get("a")
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"name", false}, {"sub", false}, {"zz", false}, {"x", true}, {"su", true}, {"*", false},
	} {
		if got := c.lacksLeaf(ent, []string{"state"}, &gpb.Path{Elem: []*gpb.PathElem{{Name: tc.name}}}); got != tc.want {
			t.Errorf("lacksLeaf(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
