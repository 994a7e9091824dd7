package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"

	"github.com/openconfig/gnmi/proto/gnmi"

	"github.com/pccagent/pccagent/pcep/pcc"
)

// Sample is the configuration the agent adds in demo mode when its own
// configuration has no servers: the embedded PCE as the only candidate
// server, and three SR policies to delegate to it.
type Sample struct {
	Server   pcc.ServerConfig
	Policies []pcc.PolicyConfig
}

// samplePolicies are the demo SR policies: endpoints in 192.0.2.0/24
// (TEST-NET-1), explicit segment lists of node SIDs 16000 + last octet.
var samplePolicies = []pcc.PolicyConfig{
	{Name: "to-pe2", Color: 100, Endpoint: netip.MustParseAddr("192.0.2.2"), Preference: 100, Delegate: true, Labels: []uint32{16002}},
	{Name: "to-pe3", Color: 200, Endpoint: netip.MustParseAddr("192.0.2.3"), Preference: 100, Delegate: true, Labels: []uint32{16011, 16003}},
	{Name: "to-pe4", Color: 300, Endpoint: netip.MustParseAddr("192.0.2.4"), Preference: 100, Delegate: true, Labels: []uint32{16012, 16004}},
}

// SampleConfig returns the sample configuration that points at this demo's
// embedded PCE (preference ServerPreference). The value is the caller's own.
func (d *Demo) SampleConfig() Sample {
	s := Sample{
		Server: pcc.ServerConfig{
			Address:     d.addr.Addr(),
			Port:        d.addr.Port(),
			Preference:  ServerPreference,
			Description: "embedded demo PCE",
		},
	}
	for _, p := range samplePolicies {
		p.Labels = append([]uint32(nil), p.Labels...)
		s.Policies = append(s.Policies, p)
	}
	return s
}

// AddTo returns cfg with the sample added when cfg has no servers: the
// embedded PCE as the candidate server, segment routing turned on (the
// sample policies are SR-MPLS), and the sample policies whose names cfg does
// not already use. A cfg that has servers is returned unchanged.
func (s Sample) AddTo(cfg pcc.Config) pcc.Config {
	if len(cfg.Servers) > 0 {
		return cfg
	}
	cfg.SegmentRouting = true
	cfg.Servers = []pcc.ServerConfig{s.Server}
	used := make(map[string]bool, len(cfg.Policies))
	for _, p := range cfg.Policies {
		used[p.Name] = true
	}
	policies := append([]pcc.PolicyConfig(nil), cfg.Policies...)
	for _, p := range s.Policies {
		if !used[p.Name] {
			p.Labels = append([]uint32(nil), p.Labels...)
			policies = append(policies, p)
		}
	}
	cfg.Policies = policies
	return cfg
}

// SetRequest returns the sample as a gNMI SetRequest of the pcc-agent model
// (JSON_IETF values): capability-segment-routing true, the server entry and
// one entry per policy, all as updates (merges). An agent that applies its
// demo configuration through its own Set pipeline uses it, so that the
// sample is validated, published to telemetry and persisted like any Set.
func (s Sample) SetRequest() (*gnmi.SetRequest, error) {
	req := &gnmi.SetRequest{}
	add := func(p *gnmi.Path, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("demo: encode %v: %w", p, err)
		}
		req.Update = append(req.Update, &gnmi.Update{Path: p, Val: &gnmi.TypedValue{Value: &gnmi.TypedValue_JsonIetfVal{JsonIetfVal: b}}})
		return nil
	}
	root := func(elems ...*gnmi.PathElem) *gnmi.Path {
		return &gnmi.Path{Elem: append([]*gnmi.PathElem{{Name: "pce-client"}}, elems...)}
	}
	if err := add(root(&gnmi.PathElem{Name: "config"}, &gnmi.PathElem{Name: "capability-segment-routing"}), true); err != nil {
		return nil, err
	}
	addr := s.Server.Address.String()
	srv := map[string]any{
		"address": addr,
		"config": map[string]any{
			"address":     addr,
			"port":        s.Server.Port,
			"preference":  s.Server.Preference,
			"description": s.Server.Description,
		},
	}
	if err := add(root(&gnmi.PathElem{Name: "servers"}, &gnmi.PathElem{Name: "server", Key: map[string]string{"address": addr}}), srv); err != nil {
		return nil, err
	}
	for _, p := range s.Policies {
		labels := p.Labels
		if labels == nil {
			labels = []uint32{}
		}
		pol := map[string]any{
			"name": p.Name,
			"config": map[string]any{
				"name":     p.Name,
				"color":    p.Color,
				"endpoint": p.Endpoint.String(),
				// uint32 is a JSON number in RFC 7951 (only 64-bit integers are strings).
				"preference": p.Preference,
				"delegate":   p.Delegate,
				"labels":     labels,
			},
		}
		if err := add(root(&gnmi.PathElem{Name: "policies"}, &gnmi.PathElem{Name: "policy", Key: map[string]string{"name": p.Name}}), pol); err != nil {
			return nil, err
		}
	}
	return req, nil
}

// Applier applies a whole engine configuration, all or nothing: the Apply
// method of *pcc.Engine, and what the agent needs of its engine.
type Applier interface {
	Apply(ctx context.Context, cfg pcc.Config) error
}

// WrapEngine returns an Applier that hands every configuration to e with
// the sample added (AddTo): while the operator's configuration has no
// servers, the engine runs the demo; once it has some, the operator's
// configuration runs as is. The sample is never part of the running or
// saved configuration, so a config file written in demo mode stays valid
// without the demo.
func (d *Demo) WrapEngine(e Applier) Applier {
	return sampleApplier{e: e, s: d.SampleConfig()}
}

type sampleApplier struct {
	e Applier
	s Sample
}

func (a sampleApplier) Apply(ctx context.Context, cfg pcc.Config) error {
	return a.e.Apply(ctx, a.s.AddTo(cfg))
}
