package agent

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/goyang/pkg/yang"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Get serves any path of the pcc-agent tree from the telemetry cache: "*" in
// names and keys, data types ALL, CONFIG, STATE and OPERATIONAL, encodings
// JSON, JSON_IETF (module-qualified top-level members) and PROTO (one scalar
// per leaf). Each request path gets one notification; with JSON encodings a
// path that names several nodes (a wildcard or a list without keys) gets one
// update per node. A path that is not in the schema is NotFound; a valid
// path without data gets an empty notification.
func (a *Agent) Get(ctx context.Context, req *gnmi.GetRequest) (*gnmi.GetResponse, error) {
	enc := req.GetEncoding()
	switch enc {
	case gnmi.Encoding_JSON, gnmi.Encoding_JSON_IETF, gnmi.Encoding_PROTO:
	default:
		return nil, status.Errorf(codes.Unimplemented, "encoding %v is not supported (use JSON, JSON_IETF or PROTO)", enc)
	}
	dt := req.GetType()
	switch dt {
	case gnmi.GetRequest_ALL, gnmi.GetRequest_CONFIG, gnmi.GetRequest_STATE, gnmi.GetRequest_OPERATIONAL:
	default:
		return nil, status.Errorf(codes.InvalidArgument, "unknown data type %v", dt)
	}
	for _, m := range req.GetUseModels() {
		if m.GetName() != Module {
			return nil, status.Errorf(codes.NotFound, "model %q is not served (only %q)", m.GetName(), Module)
		}
	}
	paths := req.GetPath()
	if len(paths) == 0 {
		paths = []*gnmi.Path{{}}
	}
	var prefix *gnmi.Path
	if t := req.GetPrefix().GetTarget(); t != "" {
		prefix = &gnmi.Path{Target: t}
	}
	resp := &gnmi.GetResponse{}
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, status.FromContextError(err).Err()
		}
		np, err := normalizePath(req.GetPrefix(), p)
		if err != nil {
			return nil, err
		}
		if _, err := a.schema.resolve(np, true); err != nil {
			return nil, err
		}
		leaves, err := a.query(np, dt)
		if err != nil {
			return nil, err
		}
		n := &gnmi.Notification{Timestamp: a.now().UnixNano(), Prefix: prefix}
		if enc == gnmi.Encoding_PROTO {
			for _, l := range leaves {
				n.Update = append(n.Update, &gnmi.Update{Path: l.path, Val: l.val})
			}
		} else {
			ups, err := a.jsonUpdates(np, leaves, enc == gnmi.Encoding_JSON_IETF)
			if err != nil {
				return nil, err
			}
			n.Update = ups
		}
		resp.Notification = append(resp.Notification, n)
	}
	return resp, nil
}

// getLeaf is a leaf read from the cache with its schema node.
type getLeaf struct {
	path *gnmi.Path
	key  string // pathKey of path
	val  *gnmi.TypedValue
	node *node
}

// query collects the cached leaves under p that the data type selects.
func (a *Agent) query(p *gnmi.Path, dt gnmi.GetRequest_DataType) ([]getLeaf, error) {
	q := &gnmi.Path{Elem: make([]*gnmi.PathElem, 0, len(p.GetElem()))}
	for _, e := range p.GetElem() {
		q.Elem = append(q.Elem, &gnmi.PathElem{Name: e.GetName(), Key: e.GetKey()})
	}
	if len(q.Elem) == 0 {
		q.Elem = []*gnmi.PathElem{{Name: "pce-client"}}
	}
	var out []getLeaf
	var names []string
	err := a.cache.Query(q, func(n *gnmi.Notification) error {
		for _, u := range n.GetUpdate() {
			full := u.GetPath()
			if pre := n.GetPrefix(); len(pre.GetElem()) > 0 {
				full = &gnmi.Path{Elem: append(append([]*gnmi.PathElem{}, pre.GetElem()...), u.GetPath().GetElem()...)}
			}
			names = names[:0]
			for _, e := range full.GetElem() {
				names = append(names, e.GetName())
			}
			nd := a.schema.byPath[strings.Join(names, "/")]
			if nd == nil || !(nd.isLeaf() || nd.isLeafList()) {
				continue
			}
			switch dt {
			case gnmi.GetRequest_CONFIG:
				if nd.readOnly {
					continue
				}
			case gnmi.GetRequest_STATE:
				if !nd.readOnly {
					continue
				}
			case gnmi.GetRequest_OPERATIONAL:
				if !nd.readOnly || nd.mirror {
					continue
				}
			}
			out = append(out, getLeaf{path: full, key: pathKey(full.GetElem()), val: u.GetVal(), node: nd})
		}
		return nil
	})
	if err != nil {
		return nil, status.Errorf(codes.Internal, "read telemetry cache: %v", err)
	}
	// The cache hands out entities in no particular order; sorting by path
	// makes list entries and updates come out in key order.
	slices.SortFunc(out, func(a, b getLeaf) int { return strings.Compare(a.key, b.key) })
	return out, nil
}

// jsonUpdates encodes leaves as JSON trees: one update per concrete node
// the request path names.
func (a *Agent) jsonUpdates(req *gnmi.Path, leaves []getLeaf, ietf bool) ([]*gnmi.Update, error) {
	depth := len(req.GetElem())
	type group struct {
		path  *gnmi.Path
		obj   map[string]any
		lists map[string]map[string]any // list entry objects by their path key
		value any                       // the leaf value when the path names a leaf
		leaf  bool
	}
	var order []*group
	groups := map[string]*group{}
	for _, l := range leaves {
		elems := l.path.GetElem()
		if len(elems) < depth {
			continue
		}
		gk := pathKey(elems[:depth])
		g := groups[gk]
		if g == nil {
			g = &group{path: &gnmi.Path{Elem: elems[:depth]}, obj: map[string]any{}, lists: map[string]map[string]any{}}
			if depth > 0 {
				if last := elems[depth-1]; len(last.GetKey()) > 0 {
					for k, v := range last.GetKey() {
						g.obj[k] = v
					}
				}
			}
			groups[gk] = g
			order = append(order, g)
		}
		v, err := jsonValue(l.node, l.val, ietf)
		if err != nil {
			return nil, err
		}
		rel := elems[depth:]
		if len(rel) == 0 {
			g.value, g.leaf = v, true
			continue
		}
		obj := g.obj
		for i, e := range rel[:len(rel)-1] {
			if len(e.GetKey()) == 0 {
				child, _ := obj[e.GetName()].(map[string]any)
				if child == nil {
					child = map[string]any{}
					obj[e.GetName()] = child
				}
				obj = child
				continue
			}
			ek := pathKey(elems[:depth+i+1])
			entry := g.lists[ek]
			if entry == nil {
				entry = map[string]any{}
				for k, kv := range e.GetKey() {
					entry[k] = kv
				}
				arr, _ := obj[e.GetName()].([]any)
				obj[e.GetName()] = append(arr, entry)
				g.lists[ek] = entry
			}
			obj = entry
		}
		obj[rel[len(rel)-1].GetName()] = v
	}
	out := make([]*gnmi.Update, 0, len(order))
	for _, g := range order {
		var v any = g.obj
		if g.leaf {
			v = g.value
		} else if ietf {
			q := make(map[string]any, len(g.obj))
			for k, x := range g.obj {
				q[Module+":"+k] = x
			}
			v = q
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "encode JSON: %v", err)
		}
		tv := &gnmi.TypedValue{Value: &gnmi.TypedValue_JsonVal{JsonVal: b}}
		if ietf {
			tv = &gnmi.TypedValue{Value: &gnmi.TypedValue_JsonIetfVal{JsonIetfVal: b}}
		}
		out = append(out, &gnmi.Update{Path: g.path, Val: tv})
	}
	return out, nil
}

// jsonValue converts a leaf value to its JSON form; with ietf, 64-bit
// integers are strings as RFC 7951 requires.
func jsonValue(n *node, v *gnmi.TypedValue, ietf bool) (any, error) {
	switch x := v.GetValue().(type) {
	case *gnmi.TypedValue_StringVal:
		return x.StringVal, nil
	case *gnmi.TypedValue_BoolVal:
		return x.BoolVal, nil
	case *gnmi.TypedValue_UintVal:
		if ietf && is64(n) {
			return strconv.FormatUint(x.UintVal, 10), nil
		}
		return x.UintVal, nil
	case *gnmi.TypedValue_IntVal:
		if ietf && is64(n) {
			return strconv.FormatInt(x.IntVal, 10), nil
		}
		return x.IntVal, nil
	case *gnmi.TypedValue_DoubleVal:
		if math.IsInf(x.DoubleVal, 0) || math.IsNaN(x.DoubleVal) {
			return strconv.FormatFloat(x.DoubleVal, 'g', -1, 64), nil
		}
		return x.DoubleVal, nil
	case *gnmi.TypedValue_LeaflistVal:
		arr := make([]any, 0, len(x.LeaflistVal.GetElement()))
		for _, e := range x.LeaflistVal.GetElement() {
			ev, err := jsonValue(n, e, ietf)
			if err != nil {
				return nil, err
			}
			arr = append(arr, ev)
		}
		return arr, nil
	case *gnmi.TypedValue_JsonIetfVal:
		return json.RawMessage(x.JsonIetfVal), nil
	case *gnmi.TypedValue_JsonVal:
		return json.RawMessage(x.JsonVal), nil
	}
	return nil, status.Errorf(codes.Internal, "/%s: cannot encode a %T value as JSON", n.path, v.GetValue())
}

func is64(n *node) bool {
	if n.entry == nil || n.entry.Type == nil {
		return false
	}
	switch n.entry.Type.Kind {
	case yang.Yuint64, yang.Yint64, yang.Ydecimal64:
		return true
	}
	return false
}

// ValidatePath checks a gNMI path (module prefixes allowed on the first
// element, wildcards allowed) against the pcc-agent schema: NotFound when it
// is not in the schema, InvalidArgument when it is malformed. The telemetry
// cache uses it for Subscribe paths.
func ValidatePath(p *gnmi.Path) error {
	s, err := loadSchema()
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	np, err := normalizePath(nil, p)
	if err != nil {
		return err
	}
	_, err = s.resolve(np, true)
	return err
}
