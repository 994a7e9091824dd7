package agent

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/goyang/pkg/yang"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pccagent/pccagent/gen/pccagentyang"
)

// Module is the name of the YANG module the agent serves; it is also the
// gNMI origin that means the same tree as the empty origin.
const Module = "pcc-agent"

// ModelRevision is the revision of yang/pcc-agent.yang (a test keeps the two
// equal); Capabilities announces it.
const ModelRevision = "2026-11-23"

// ModelOrganization is the organization statement of the module.
const ModelOrganization = "pccagent project"

// node is one schema node of the pcc-agent tree, indexed for the cheap path
// checks every Get and Set makes.
type node struct {
	entry    *yang.Entry
	parent   *node
	children map[string]*node
	name     string
	path     string // schema path without keys, e.g. "pce-client/servers/server/config/port"
	readOnly bool   // config false here or above
	// mirror is true for a leaf under a state container whose sibling config
	// container has a leaf of the same relative path.
	mirror bool
}

func (n *node) isList() bool     { return n.entry.IsList() }
func (n *node) isLeaf() bool     { return n.entry.IsLeaf() }
func (n *node) isLeafList() bool { return n.entry.IsLeafList() }

// keyNames returns the key leaf names of a list node, in schema order.
func (n *node) keyNames() []string {
	if !n.isList() || n.entry.Key == "" {
		return nil
	}
	return strings.Fields(n.entry.Key)
}

// schemaIndex is the parsed pcc-agent schema.
type schemaIndex struct {
	root   *node
	byPath map[string]*node // by schema path without keys
}

var (
	schemaOnce sync.Once
	schemaVal  *schemaIndex
	schemaErr  error
)

// loadSchema returns the schema index, built once from the generated code.
func loadSchema() (*schemaIndex, error) {
	schemaOnce.Do(func() {
		s, err := pccagentyang.Schema()
		if err != nil {
			schemaErr = fmt.Errorf("load generated schema: %w", err)
			return
		}
		rootEntry := s.RootSchema()
		idx := &schemaIndex{byPath: map[string]*node{}}
		idx.root = idx.build(rootEntry, nil, "", false)
		for _, n := range idx.byPath {
			n.mirror = idx.isMirror(n)
		}
		schemaVal = idx
	})
	return schemaVal, schemaErr
}

func (s *schemaIndex) build(e *yang.Entry, parent *node, path string, ro bool) *node {
	n := &node{entry: e, parent: parent, name: e.Name, path: path, children: map[string]*node{}}
	n.readOnly = ro || e.Config == yang.TSFalse
	if parent == nil {
		n.name = ""
	} else {
		s.byPath[path] = n
	}
	for name, c := range e.Dir {
		p := name
		if path != "" {
			p = path + "/" + name
		}
		n.children[name] = s.build(c, n, p, n.readOnly)
	}
	return n
}

// isMirror says whether a node under a state container repeats a config leaf.
func (s *schemaIndex) isMirror(n *node) bool {
	if !n.isLeaf() && !n.isLeafList() {
		return false
	}
	elems := strings.Split(n.path, "/")
	for i := len(elems) - 1; i >= 0; i-- {
		if elems[i] == "state" {
			cfg := append(append(append([]string{}, elems[:i]...), "config"), elems[i+1:]...)
			_, ok := s.byPath[strings.Join(cfg, "/")]
			return ok
		}
	}
	return false
}

// resolvedPath is a request path checked against the schema.
type resolvedPath struct {
	elems []*gnmi.PathElem // without module prefixes
	nodes []*node          // schema node of each elem
}

// last returns the schema node the path points at (the root for an empty path).
func (r *resolvedPath) last(s *schemaIndex) *node {
	if len(r.nodes) == 0 {
		return s.root
	}
	return r.nodes[len(r.nodes)-1]
}

// normalizePath joins prefix and path, checks the origin and strips the
// module prefix from the first element. It returns a new path (the request is
// not modified).
func normalizePath(prefix, p *gnmi.Path) (*gnmi.Path, error) {
	origin := p.GetOrigin()
	if origin == "" {
		origin = prefix.GetOrigin()
	}
	if origin != "" && origin != Module {
		return nil, status.Errorf(codes.InvalidArgument, "origin %q is not served (use %q or none)", origin, Module)
	}
	// Some clients (gnmi_cli -query) fill the deprecated element field
	// alongside elem with the same path: elem wins. element alone is
	// refused.
	if (len(p.GetElement()) > 0 && len(p.GetElem()) == 0) || (len(prefix.GetElement()) > 0 && len(prefix.GetElem()) == 0) {
		return nil, status.Errorf(codes.InvalidArgument, "path %v: the deprecated element field is not supported, use elem", p)
	}
	elems := make([]*gnmi.PathElem, 0, len(prefix.GetElem())+len(p.GetElem()))
	for _, e := range prefix.GetElem() {
		elems = append(elems, e)
	}
	for _, e := range p.GetElem() {
		elems = append(elems, e)
	}
	if len(elems) > 0 {
		first := elems[0]
		if mod, name, ok := strings.Cut(first.GetName(), ":"); ok {
			if mod != Module {
				return nil, status.Errorf(codes.NotFound, "path %s: module %q is not served", pathString(elems), mod)
			}
			elems[0] = &gnmi.PathElem{Name: name, Key: first.GetKey()}
		}
	}
	for i, e := range elems {
		if i > 0 && strings.Contains(e.GetName(), ":") {
			return nil, status.Errorf(codes.InvalidArgument, "path %s: a module prefix is only accepted on the first element", pathString(elems))
		}
	}
	return &gnmi.Path{Elem: elems}, nil
}

// resolve checks p (already normalized) against the schema. allowWild permits
// "*" in names and keys; "..." is never accepted. Keys must name the list's
// key leaves; a list element may omit its keys (all entries).
func (s *schemaIndex) resolve(p *gnmi.Path, allowWild bool) (*resolvedPath, error) {
	r := &resolvedPath{elems: p.GetElem()}
	cur := s.root
	for i, e := range r.elems {
		name := e.GetName()
		switch name {
		case "...":
			return nil, status.Errorf(codes.InvalidArgument, "path %s: \"...\" is not supported", pathString(r.elems))
		case "*":
			if !allowWild {
				return nil, status.Errorf(codes.InvalidArgument, "path %s: wildcards are not allowed here", pathString(r.elems))
			}
			// A name wildcard matches any child; the nodes below it cannot be
			// checked one by one, so the rest of the path is checked against
			// every child and accepted if one of them has it.
			rest := &gnmi.Path{Elem: r.elems[i+1:]}
			for _, c := range sortedChildren(cur) {
				if _, err := s.resolveFrom(c, rest, allowWild); err == nil {
					r.nodes = append(r.nodes, c) // representative
					return r, nil
				}
			}
			return nil, status.Errorf(codes.NotFound, "path %s does not exist in the %s model", pathString(r.elems), Module)
		}
		c, ok := cur.children[name]
		if !ok {
			return nil, status.Errorf(codes.NotFound, "path %s does not exist in the %s model", pathString(r.elems), Module)
		}
		if len(e.GetKey()) > 0 {
			if !c.isList() {
				return nil, status.Errorf(codes.InvalidArgument, "path %s: %s is not a list and takes no keys", pathString(r.elems), name)
			}
			keys := c.keyNames()
			for k, v := range e.GetKey() {
				if !contains(keys, k) {
					return nil, status.Errorf(codes.InvalidArgument, "path %s: %s is not a key of %s (keys: %s)", pathString(r.elems), k, name, strings.Join(keys, ", "))
				}
				if v == "*" && !allowWild {
					return nil, status.Errorf(codes.InvalidArgument, "path %s: wildcards are not allowed here", pathString(r.elems))
				}
			}
		}
		r.nodes = append(r.nodes, c)
		cur = c
	}
	return r, nil
}

// resolveFrom checks rest below start.
func (s *schemaIndex) resolveFrom(start *node, rest *gnmi.Path, allowWild bool) (*resolvedPath, error) {
	sub := &schemaIndex{root: start, byPath: s.byPath}
	return sub.resolve(rest, allowWild)
}

func sortedChildren(n *node) []*node {
	names := make([]string, 0, len(n.children))
	for k := range n.children {
		names = append(names, k)
	}
	slices.Sort(names)
	out := make([]*node, len(names))
	for i, k := range names {
		out[i] = n.children[k]
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// pathString renders elems as an XPath-like string for messages.
func pathString(elems []*gnmi.PathElem) string {
	var b strings.Builder
	for _, e := range elems {
		b.WriteByte('/')
		b.WriteString(e.GetName())
		for _, k := range sortedKeys(e.GetKey()) {
			fmt.Fprintf(&b, "[%s=%s]", k, e.GetKey()[k])
		}
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
