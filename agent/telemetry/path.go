package telemetry

import (
	"slices"
	"strings"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
)

// ModulePrefix is the YANG module name that may qualify path elements.
const ModulePrefix = "pcc-agent"

// celem is one element of a concrete path in the tree.
type celem struct {
	name  string
	entry *node // the list entry, for an element with keys
}

// patElem is one element of a requested path: a name, "*" (any one
// element) or "..." (any number of elements), with keys whose values may be
// "*".
type patElem struct {
	name string
	keys map[string]string
}

// pattern is a requested path, rooted at the tree's root, without module
// prefixes. It matches every leaf at or under what it names.
type pattern []patElem

// stripModule removes a "pcc-agent:" qualifier from an element name.
func stripModule(name string) string {
	if strings.HasPrefix(name, ModulePrefix+":") {
		return name[len(ModulePrefix)+1:]
	}
	return name
}

// joinPath returns the elements of prefix followed by those of p with
// module qualifiers removed, as a gNMI path without origin or target.
func joinPath(prefix, p *gpb.Path) *gpb.Path {
	out := &gpb.Path{Elem: make([]*gpb.PathElem, 0, len(prefix.GetElem())+len(p.GetElem()))}
	for _, src := range [][]*gpb.PathElem{prefix.GetElem(), p.GetElem()} {
		for _, e := range src {
			if n := stripModule(e.GetName()); n != e.GetName() {
				e = &gpb.PathElem{Name: n, Key: e.GetKey()}
			}
			out.Elem = append(out.Elem, e)
		}
	}
	return out
}

func toPattern(p *gpb.Path) pattern {
	out := make(pattern, len(p.GetElem()))
	for i, e := range p.GetElem() {
		out[i] = patElem{name: stripModule(e.GetName()), keys: e.GetKey()}
	}
	return out
}

func (e *patElem) hasMulti() bool { return e.name == "..." }

// keysMatch says whether the pattern keys accept entry.
func keysMatch(keys map[string]string, entry *node) bool {
	if len(keys) == 0 {
		return true
	}
	names := entry.parent.list.keyNames
	if len(names) == 1 {
		for k, v := range keys {
			if k != names[0] || (v != "*" && v != entry.name) {
				return false
			}
		}
		return true
	}
	vals := entry.keyValues()
	for k, v := range keys {
		i := indexOf(names, k)
		if i < 0 || (v != "*" && v != vals[i]) {
			return false
		}
	}
	return true
}

func indexOf(s []string, x string) int {
	for i, v := range s {
		if v == x {
			return i
		}
	}
	return -1
}

// elemMatch says whether pattern element e accepts concrete element c.
func elemMatch(e *patElem, c *celem) bool {
	if e.name != "*" && e.name != c.name {
		return false
	}
	if c.entry == nil {
		for _, v := range e.keys {
			if v != "*" {
				return false
			}
		}
		return true
	}
	return keysMatch(e.keys, c.entry)
}

// matchPath says whether p names path or something above it (p matches a
// prefix of path).
func (p pattern) matchPath(path []celem) bool {
	for i := range p {
		e := &p[i]
		if e.hasMulti() {
			rest := p[i+1:]
			for j := i; j <= len(path); j++ {
				if rest.matchPath(path[j:]) {
					return true
				}
			}
			return false
		}
		if i >= len(path) || !elemMatch(e, &path[i]) {
			return false
		}
	}
	return true
}

// compatible says whether p may name anything inside entity path (or the
// entity itself, or something above it). It errs on the side of yes.
func (p pattern) compatible(path []celem) bool {
	for i := range p {
		if i >= len(path) {
			return true
		}
		e := &p[i]
		if e.hasMulti() {
			return true
		}
		if !elemMatch(e, &path[i]) {
			return false
		}
	}
	return true
}

// hit is one thing descend found below a node n: leaf i of n (leaf >= 0);
// else, when dirs is not empty, a container inside n that has no node of
// its own (the leaves of n whose relative path starts with dirs); else n
// itself.
type hit struct {
	n    *node
	leaf int
	dirs []string // never changed: may be kept
}

// descend calls visit for everything pattern p names below n: a node or a
// container when the pattern ends at a container or list entry, or a leaf.
// With "..." a thing may be visited more than once. Things are visited in
// the order of a walk of the tree (leaves before containers, each sorted by
// name; list entries in no particular order).
func descend(n *node, p pattern, visit func(hit)) {
	descendAt(n, nil, p, visit)
}

// descendAt is descend from the place dirs inside n.
func descendAt(n *node, dirs []string, p pattern, visit func(hit)) {
	if n.detached {
		return
	}
	if len(p) == 0 {
		visit(hit{n: n, leaf: -1, dirs: dirs})
		return
	}
	e := &p[0]
	if e.hasMulti() {
		descendAt(n, dirs, p[1:], visit)
		n.eachChild(dirs, func(k *node, sub []string) {
			switch {
			case k == nil:
				descendAt(n, sub, p, visit)
			case k.list != nil:
				k.list.entries.all(func(en *node) { descend(en, p, visit) })
			default:
				descend(k, p, visit)
			}
		})
		return
	}
	if len(p) == 1 && len(e.keys) == 0 && n.shape != nil {
		for i, ln := range n.shape.names {
			if len(ln.elems) == len(dirs)+1 && (e.name == "*" || ln.name() == e.name) && slices.Equal(ln.elems[:len(dirs)], dirs) {
				visit(hit{n: n, leaf: i})
			}
		}
	}
	wildKeys := true
	for _, v := range e.keys {
		if v != "*" {
			wildKeys = false
		}
	}
	step := func(k *node) {
		if k.list == nil {
			if wildKeys {
				descend(k, p[1:], visit)
			}
			return
		}
		if len(k.list.keyNames) == 1 && len(e.keys) == 1 {
			if v, ok := e.keys[k.list.keyNames[0]]; ok && v != "*" {
				if en := k.list.entries.get(v); en != nil {
					descend(en, p[1:], visit)
				}
				return
			}
		}
		k.list.entries.all(func(en *node) {
			if keysMatch(e.keys, en) {
				descend(en, p[1:], visit)
			}
		})
	}
	if e.name == "*" {
		n.eachChild(dirs, func(k *node, sub []string) {
			if k != nil {
				step(k)
			} else if wildKeys {
				descendAt(n, sub, p[1:], visit)
			}
		})
		return
	}
	if len(dirs) == 0 {
		if k := n.kid(e.name); k != nil {
			step(k)
			return
		}
	}
	if wildKeys {
		if sub := n.group(dirs, e.name); sub != nil {
			descendAt(n, sub, p[1:], visit)
		}
	}
}
