package telemetry

import (
	"strings"
	"unsafe"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
)

// A producer that sends the same notification shape again and again (the
// pump: one notification per LSP change, every state leaf of the LSP, most
// of them unchanged) fills one template notification in place and hands it
// to updateTemplate, which costs a comparison for a leaf whose value the
// cache already holds, instead of the search and checks of a full store.

// leafIndex remembers where the leaves of a template's updates are in the
// nodes of each shape: position i of a list is the index in the shape of
// the leaf that update i names, -1 when the shape has none.
type leafIndex struct {
	lists map[indexKey][]int32
}

// indexKey names one list of positions: the shape, the update list of the
// template (its first element and length: a template may have several, such
// as the LSP template with and without delegated-to) and the containers
// without node the leaves are under (see walkCreate), joined by '/'.
type indexKey struct {
	sh    *shape
	first *gpb.Update
	n     int
	dirs  string
}

// maxIndexLists bounds the lists a leafIndex keeps: nodes of a producer's
// entities have few shapes, and the index is emptied when it is full.
const maxIndexLists = 64

// positions returns the position of each of ups' leaves in n's shape,
// where dirs are the containers without node the prefix ends in (nil when
// n has no leaves yet).
func (c *Cache) positions(ix *leafIndex, n *node, dirs []string, ups []*gpb.Update) []int32 {
	if n.shape == nil || len(ups) == 0 {
		return nil
	}
	key := indexKey{sh: n.shape, first: ups[0], n: len(ups)}
	if len(dirs) > 0 {
		key.dirs = strings.Join(dirs, "/")
	}
	if pos, ok := ix.lists[key]; ok {
		return pos
	}
	if ix.lists == nil || len(ix.lists) >= maxIndexLists {
		ix.lists = make(map[indexKey][]int32)
	}
	pos := make([]int32, len(ups))
	for i, u := range ups {
		pos[i] = -1
		el := u.GetPath().GetElem()
		if len(el) != 1 || len(el[0].GetKey()) > 0 {
			continue
		}
		c.dirs = append(append(c.dirs[:0], dirs...), stripModule(el[0].GetName()))
		if j, found := n.findLeaf(c.dirs); found {
			pos[i] = int32(j)
		}
	}
	ix.lists[key] = pos
	return pos
}

// updateTemplate is Update for a template notification: its updates name
// one leaf each, directly below the prefix, and its string values may be
// memory the caller reuses (the cache copies those it stores). It has the
// effect of Update, but an update whose value the cache holds already
// costs a comparison, and a delete of a leaf the entity lacks costs a
// search. ix is the template's own index.
func (c *Cache) updateTemplate(n *gpb.Notification, ix *leafIndex) {
	ts := n.GetTimestamp()
	c.mu.Lock()
	defer c.mu.Unlock()
	seq0 := c.seq
	c.updateBase = seq0
	defer c.endUpdateLocked(seq0)
	prefix := n.GetPrefix()
	at, ent, dirs, ok := c.walkCreate(c.root, nil, c.prefixDirs[:0], prefix.GetElem())
	if !ok {
		return
	}
	c.prefixDirs = dirs
	for _, d := range n.GetDelete() {
		if c.lacksLeaf(at, dirs, d) {
			continue
		}
		c.deleteLocked(toPattern(joinPath(prefix, d)), ts)
		if at.detached {
			// The delete emptied the entity: it is made anew.
			if at, ent, dirs, ok = c.walkCreate(c.root, nil, c.prefixDirs[:0], prefix.GetElem()); !ok {
				return
			}
			c.prefixDirs = dirs
		}
	}
	ups := n.GetUpdate()
	sh := at.shape
	pos := c.positions(ix, at, dirs, ups)
	for i, u := range ups {
		k, s, x, ok := c.encodeScratch(u.GetVal())
		if !ok {
			continue
		}
		if pos != nil && pos[i] >= 0 && at.leaves[sh.slotOf(int(pos[i]))].sameValue(k, s, x) {
			if ent != nil {
				ent.ts = ts
			}
			continue
		}
		if k.hasText() {
			s = strings.Clone(s)
		}
		c.setLocked(at, ent, dirs, u.GetPath().GetElem(), k, s, x, ts, len(ups)-i)
		if at.shape != sh {
			sh = at.shape
			pos = c.positions(ix, at, dirs, ups)
		}
	}
	c.prune(at)
}

// lacksLeaf says whether path d (relative to the node n reached by a
// prefix ending in the containers without node dirs) surely names nothing
// in the cache: a single element, no key, no wildcard, naming neither a
// leaf of n nor a container holding one, nor a node.
func (c *Cache) lacksLeaf(n *node, dirs []string, d *gpb.Path) bool {
	el := d.GetElem()
	if len(el) != 1 || len(el[0].GetKey()) > 0 {
		return false
	}
	name := stripModule(el[0].GetName())
	if name == "*" || name == "..." || (len(dirs) == 0 && n.kid(name) != nil) {
		return false
	}
	if n.shape == nil {
		return true
	}
	c.dirs = append(append(c.dirs[:0], dirs...), name)
	if _, found := n.findLeaf(c.dirs); found {
		return false
	}
	// The leaves below a container of that name sort from where a leaf
	// named "" inside it would be (cmpRel).
	c.dirs = append(c.dirs, "")
	i, _ := n.findLeaf(c.dirs)
	c.dirs = c.dirs[:len(c.dirs)-1]
	return i >= len(n.shape.names) || !slicesHavePrefix(n.shape.names[i].elems, c.dirs)
}

// slicesHavePrefix says whether s starts with the elements of p.
func slicesHavePrefix(s, p []string) bool {
	if len(s) < len(p) {
		return false
	}
	for i := range p {
		if s[i] != p[i] {
			return false
		}
	}
	return true
}

// encodeScratch is encodeValue, but a leaf-list of unsigned integers is
// packed into the cache's scratch buffer rather than a new string: the
// string it returns for one is valid until the next call, and is copied
// before it is stored.
func (c *Cache) encodeScratch(v *gpb.TypedValue) (kind, string, uint64, bool) {
	if x, ok := v.GetValue().(*gpb.TypedValue_LeaflistVal); ok {
		if b, ok := appendUintList(c.pack[:0], x.LeaflistVal.GetElement()); ok {
			c.pack = b
			if len(b) == 0 {
				return kindUintList, "", 0, true
			}
			return kindUintList, unsafe.String(&b[0], len(b)), 0, true
		}
	}
	return encodeValue(v)
}
