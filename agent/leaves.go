package agent

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/goyang/pkg/yang"
	"github.com/openconfig/ygot/ygot"
	"google.golang.org/protobuf/proto"
)

// leaf is one gNMI leaf: a full path (rooted at pce-client, no module
// prefix) and its value.
type leaf struct {
	path *gnmi.Path
	key  string // pathKey(path), for diffs
	val  *gnmi.TypedValue
}

// fieldIndex maps the YANG names of a generated struct's fields to their
// index, per struct type.
var fieldIndexes sync.Map // reflect.Type -> map[string]int

func fieldsOf(t reflect.Type) map[string]int {
	if m, ok := fieldIndexes.Load(t); ok {
		return m.(map[string]int)
	}
	m := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		if p, ok := t.Field(i).Tag.Lookup("path"); ok {
			m[p] = i
		}
	}
	fieldIndexes.Store(t, m)
	return m
}

// containerLeaves returns the leaves of one config container (cfg is the
// generated struct, nil when the container is absent): the configured leaves
// under base/config, and, under base/state, every config leaf with its
// effective value (configured, else the YANG default).
func (s *schemaIndex) containerLeaves(base []*gnmi.PathElem, cfgNode *node, cfg ygot.GoStruct) ([]leaf, error) {
	var rv reflect.Value
	var fields map[string]int
	if cfg != nil && !reflect.ValueOf(cfg).IsNil() {
		rv = reflect.ValueOf(cfg).Elem()
		fields = fieldsOf(rv.Type())
	}
	names := make([]string, 0, len(cfgNode.children))
	for n := range cfgNode.children {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]leaf, 0, 2*len(names))
	var state []leaf
	for _, name := range names {
		child := cfgNode.children[name]
		var tv *gnmi.TypedValue
		if rv.IsValid() {
			if i, ok := fields[name]; ok {
				f := rv.Field(i)
				if !f.IsZero() && !(f.Kind() == reflect.Slice && f.Len() == 0) {
					v, err := ygot.EncodeTypedValue(f.Interface(), gnmi.Encoding_JSON_IETF)
					if err != nil {
						return nil, fmt.Errorf("encode %s/%s: %w", cfgNode.path, name, err)
					}
					tv = v
				}
			}
		}
		if tv != nil {
			out = append(out, newLeaf(base, "config", name, tv))
		}
		eff := tv
		if eff == nil {
			d, err := defaultValue(child)
			if err != nil {
				return nil, err
			}
			eff = d
		}
		if eff != nil {
			state = append(state, newLeaf(base, "state", name, eff))
		}
	}
	return append(out, state...), nil
}

func newLeaf(base []*gnmi.PathElem, container, name string, tv *gnmi.TypedValue) leaf {
	elems := make([]*gnmi.PathElem, 0, len(base)+2)
	elems = append(elems, base...)
	elems = append(elems, &gnmi.PathElem{Name: container}, &gnmi.PathElem{Name: name})
	p := &gnmi.Path{Elem: elems}
	return leaf{path: p, key: pathKey(elems), val: tv}
}

// defaultValue returns the YANG default of a leaf as a TypedValue, nil if it
// has none.
func defaultValue(n *node) (*gnmi.TypedValue, error) {
	d, ok := n.entry.SingleDefaultValue()
	if !ok {
		return nil, nil
	}
	return scalarFromString(n.entry.Type, d)
}

// scalarFromString converts the canonical text of a YANG value to a gNMI
// scalar of the leaf's type.
func scalarFromString(t *yang.YangType, s string) (*gnmi.TypedValue, error) {
	switch t.Kind {
	case yang.Ybool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, err
		}
		return &gnmi.TypedValue{Value: &gnmi.TypedValue_BoolVal{BoolVal: b}}, nil
	case yang.Yuint8, yang.Yuint16, yang.Yuint32, yang.Yuint64:
		u, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, err
		}
		return &gnmi.TypedValue{Value: &gnmi.TypedValue_UintVal{UintVal: u}}, nil
	case yang.Yint8, yang.Yint16, yang.Yint32, yang.Yint64:
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, err
		}
		return &gnmi.TypedValue{Value: &gnmi.TypedValue_IntVal{IntVal: i}}, nil
	default:
		return &gnmi.TypedValue{Value: &gnmi.TypedValue_StringVal{StringVal: s}}, nil
	}
}

// pathKey renders elems as a unique string (keys sorted) used as a map key.
func pathKey(elems []*gnmi.PathElem) string {
	var b strings.Builder
	for _, e := range elems {
		b.WriteByte('/')
		b.WriteString(e.GetName())
		if len(e.GetKey()) > 0 {
			for _, k := range sortedKeys(e.GetKey()) {
				b.WriteByte('[')
				b.WriteString(k)
				b.WriteByte('=')
				b.WriteString(strings.ReplaceAll(e.GetKey()[k], "]", `\]`))
				b.WriteByte(']')
			}
		}
	}
	return b.String()
}

// diffLeaves returns the updates that turn old into new: leaves that are new
// or changed, and the paths of leaves that are gone.
func diffLeaves(old, new []leaf) (upd []*gnmi.Update, del []*gnmi.Path) {
	om := make(map[string]*gnmi.TypedValue, len(old))
	for _, l := range old {
		om[l.key] = l.val
	}
	nm := make(map[string]bool, len(new))
	for _, l := range new {
		nm[l.key] = true
		if ov, ok := om[l.key]; ok && proto.Equal(ov, l.val) {
			continue
		}
		upd = append(upd, &gnmi.Update{Path: l.path, Val: l.val})
	}
	for _, l := range old {
		if !nm[l.key] {
			del = append(del, l.path)
		}
	}
	return upd, del
}
