package agent

import (
	"context"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Set applies the deletes, replaces and updates of req, in that order, as
// one transaction: the candidate configuration is validated against the
// YANG model and the semantic rules, applied to the engine, persisted to the
// config file, made the running configuration and published to telemetry.
// If any step fails nothing changes. Concurrent Sets run one after another.
func (a *Agent) Set(ctx context.Context, req *gnmi.SetRequest) (*gnmi.SetResponse, error) {
	if a.observeSet == nil {
		return a.set(ctx, req)
	}
	start := time.Now()
	resp, err := a.set(ctx, req)
	a.observeSet(time.Since(start), err)
	return resp, err
}

func (a *Agent) set(ctx context.Context, req *gnmi.SetRequest) (*gnmi.SetResponse, error) {
	if len(req.GetUnionReplace()) > 0 {
		return nil, status.Error(codes.Unimplemented, "union_replace is not supported")
	}
	type op struct {
		kind opKind
		orig *gnmi.Path
		r    *resolvedPath
		val  *gnmi.TypedValue
	}
	var ops []op
	add := func(kind opKind, p *gnmi.Path, v *gnmi.TypedValue) error {
		np, err := normalizePath(req.GetPrefix(), p)
		if err != nil {
			return err
		}
		r, err := a.schema.resolve(np, false)
		if err != nil {
			return err
		}
		for i, n := range r.nodes {
			if n.readOnly {
				return status.Errorf(codes.InvalidArgument, "%s is read-only (config false)", pathString(r.elems[:i+1]))
			}
			if n.isList() && len(r.elems[i].GetKey()) == 0 && (kind != opDelete || i < len(r.nodes)-1) {
				return status.Errorf(codes.InvalidArgument, "%s: list %s needs its keys (%v)", pathString(r.elems), n.name, n.keyNames())
			}
			if n.isList() && len(r.elems[i].GetKey()) != len(n.keyNames()) && len(r.elems[i].GetKey()) > 0 {
				return status.Errorf(codes.InvalidArgument, "%s: list %s needs all its keys (%v)", pathString(r.elems), n.name, n.keyNames())
			}
		}
		ops = append(ops, op{kind: kind, orig: p, r: r, val: v})
		return nil
	}
	for _, p := range req.GetDelete() {
		if err := add(opDelete, p, nil); err != nil {
			return nil, err
		}
	}
	for _, u := range req.GetReplace() {
		if err := add(opReplace, u.GetPath(), u.GetVal()); err != nil {
			return nil, err
		}
	}
	for _, u := range req.GetUpdate() {
		if err := add(opUpdate, u.GetPath(), u.GetVal()); err != nil {
			return nil, err
		}
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	t := newTxn(a.schema, a.st)
	for _, o := range ops {
		if err := t.apply(o.kind, o.r, o.val); err != nil {
			t.rollback()
			return nil, err
		}
	}
	note, err := t.commit()
	if err != nil {
		t.rollback()
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		t.rollback()
		return nil, status.FromContextError(err).Err()
	}
	if err := a.engine.Apply(ctx, a.st.cfg); err != nil {
		t.rollback()
		return nil, engineError(err)
	}
	a.fileBuf = a.st.appendFile(a.fileBuf[:0])
	if err := writeFileAtomic(a.configPath, a.fileBuf); err != nil {
		t.rollback()
		// The engine already runs the new configuration: put the old one back.
		if rerr := a.engine.Apply(context.WithoutCancel(ctx), a.st.cfg); rerr != nil {
			a.log.Error("configuration rollback failed: the engine runs a configuration that is not saved", "err", rerr)
		}
		return nil, status.Errorf(codes.Internal, "%v (configuration unchanged)", err)
	}
	ts := a.now().UnixNano()
	if len(note.GetUpdate()) > 0 || len(note.GetDelete()) > 0 {
		note.Timestamp = ts
		a.cache.Update(note)
	}
	resp := &gnmi.SetResponse{Prefix: req.GetPrefix(), Timestamp: ts}
	for _, o := range ops {
		kind := gnmi.UpdateResult_UPDATE
		switch o.kind {
		case opDelete:
			kind = gnmi.UpdateResult_DELETE
		case opReplace:
			kind = gnmi.UpdateResult_REPLACE
		}
		resp.Response = append(resp.Response, &gnmi.UpdateResult{Path: o.orig, Op: kind})
	}
	a.log.Debug("configuration changed", "operations", len(ops), "updates", len(note.GetUpdate()), "deletes", len(note.GetDelete()))
	return resp, nil
}
