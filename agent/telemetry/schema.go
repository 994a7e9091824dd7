package telemetry

import (
	"strings"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// schemaNode is one element of the static schema used when no validator is
// given: a container (kids), a list (kids plus keys) or a leaf.
type schemaNode struct {
	kids map[string]*schemaNode
	keys []string
}

// schemaText lists the element paths of the pcc-agent tree; "name[k]" is a
// list keyed by k. Every path ends at a leaf.
const schemaText = `
config/{enabled,capability-segment-routing,msd,lsr-id,source-interface,keepalive,dead-timer,delegate-hold,state-timeout,pce-initiated,control-request-policy}
state/{enabled,capability-segment-routing,msd,lsr-id,source-interface,keepalive,dead-timer,delegate-hold,state-timeout,pce-initiated,control-request-policy,selected-server,lsp-count,delegated-lsp-count}
servers/server[address]/{address}
servers/server[address]/config/{address,port,preference,description}
servers/server[address]/state/{address,port,preference,description,session-state,selected,local-address,keepalive,dead-timer,stateful,lsp-update,lsp-instantiation,segment-routing,last-error,last-state-change}
servers/server[address]/state/counters/{messages-sent,messages-received,pcrpt-sent,pcupd-received,pcinitiate-received,pcerr-sent,pcerr-received,pcreq-sent,pcrep-received}
policies/policy[name]/{name}
policies/policy[name]/config/{name,color,endpoint,preference,delegate,labels}
policies/policy[name]/state/{name,color,endpoint,preference,delegate,labels}
lsps/lsp[name]/{name}
lsps/lsp[name]/state/{name,plsp-id,origin,color,endpoint,preference,oper-status,delegated,delegated-to,labels,updates,last-srp-id,last-change}
`

// staticSchema is the root of the static schema (its only child is
// pce-client). It is built once and never changed.
var staticSchema = buildSchema()

func buildSchema() *schemaNode {
	root := &schemaNode{kids: map[string]*schemaNode{}}
	top := &schemaNode{kids: map[string]*schemaNode{}}
	root.kids["pce-client"] = top
	for _, line := range strings.Split(strings.TrimSpace(schemaText), "\n") {
		i := strings.Index(line, "{")
		dirs, leaves := strings.Trim(line[:i], "/"), strings.Split(strings.Trim(line[i:], "{}"), ",")
		n := top
		for _, d := range strings.Split(dirs, "/") {
			name, key, _ := strings.Cut(strings.TrimSuffix(d, "]"), "[")
			k := n.kids[name]
			if k == nil {
				k = &schemaNode{kids: map[string]*schemaNode{}}
				if key != "" {
					k.keys = []string{key}
				}
				n.kids[name] = k
			}
			n = k
		}
		for _, l := range leaves {
			if n.kids[l] == nil {
				n.kids[l] = &schemaNode{}
			}
		}
	}
	return root
}

// validateSchemaPath checks p against the static schema: every element name
// must exist ("*" and "..." are accepted), and keys may appear only on
// lists, with the list's key names.
func validateSchemaPath(p *gpb.Path) error {
	if err := checkSchema(staticSchema, p.GetElem()); err != nil {
		return err
	}
	return nil
}

func checkSchema(n *schemaNode, elems []*gpb.PathElem) error {
	if len(elems) == 0 {
		return nil
	}
	e := elems[0]
	name := stripModule(e.GetName())
	switch name {
	case "...":
		return nil
	case "*":
		if len(n.kids) == 0 {
			return status.Errorf(codes.NotFound, "path goes below a leaf at %q", name)
		}
		var firstErr error
		for _, k := range n.kids {
			if err := checkKeys(k, e); err != nil {
				firstErr = err
				continue
			}
			err := checkSchema(k, elems[1:])
			if err == nil {
				return nil
			}
			firstErr = err
		}
		return firstErr
	}
	k := n.kids[name]
	if k == nil {
		return status.Errorf(codes.NotFound, "no element %q in the pcc-agent schema", e.GetName())
	}
	if err := checkKeys(k, e); err != nil {
		return err
	}
	return checkSchema(k, elems[1:])
}

func checkKeys(k *schemaNode, e *gpb.PathElem) error {
	for key := range e.GetKey() {
		if indexOf(k.keys, key) < 0 {
			return status.Errorf(codes.InvalidArgument, "element %q has no key %q", e.GetName(), key)
		}
	}
	return nil
}
