package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/gnmic/pkg/api"
)

func TestCapabilitiesAnnouncePccAgentModelAndEncodings(t *testing.T) {
	f := newFixture(t)
	resp, err := f.tg.Capabilities(rpcContext(t))
	if err != nil {
		t.Fatalf("Capabilities: %v", err)
	}
	found := false
	for _, m := range resp.GetSupportedModels() {
		if m.GetName() == "pcc-agent" {
			found = true
			if m.GetVersion() == "" {
				t.Errorf("pcc-agent model has no revision: %v", m)
			}
		}
	}
	if !found {
		t.Errorf("supported models %v do not include pcc-agent", resp.GetSupportedModels())
	}
	for _, e := range []gnmi.Encoding{gnmi.Encoding_JSON, gnmi.Encoding_JSON_IETF, gnmi.Encoding_PROTO} {
		if !slices.Contains(resp.GetSupportedEncodings(), e) {
			t.Errorf("supported encodings %v lack %v", resp.GetSupportedEncodings(), e)
		}
	}
	if resp.GetGNMIVersion() == "" {
		t.Errorf("no gNMI version")
	}
}

func TestSubscribeOnceSendsEveryLSPThenSync(t *testing.T) {
	f := newFixture(t)
	req := newSubscribeRequest(t, api.SubscriptionListModeONCE(), api.EncodingPROTO(),
		api.Subscription(api.Path("/pce-client/lsps")))
	resps, err := f.tg.SubscribeOnce(rpcContext(t), req)
	if err != nil {
		t.Fatalf("SubscribeOnce: %v", err)
	}
	state := map[string]*gnmi.TypedValue{}
	for _, r := range resps {
		mergeLeaves(state, r.GetUpdate())
	}
	for _, p := range samplePolicies {
		if v := state[lspPath(p.name, "delegated")]; !v.GetBoolVal() {
			t.Errorf("%s: delegated = %v, want true", p.name, v)
		}
		if v := state[lspPath(p.name, "delegated-to")]; v.GetStringVal() != f.serverAddr().String() {
			t.Errorf("%s: delegated-to = %v, want %s", p.name, v, f.serverAddr())
		}
		if v := state[lspPath(p.name, "origin")]; v.GetStringVal() != "pcc" {
			t.Errorf("%s: origin = %v, want pcc", p.name, v)
		}
		if v := state[lspPath(p.name, "labels")]; !slices.Equal(uints(v), p.labels) {
			t.Errorf("%s: labels = %v, want %v", p.name, uints(v), p.labels)
		}
	}
	if t.Failed() {
		t.Logf("ONCE answer:\n%s", formatLeaves(state))
	}
}

func TestSubscribePollAnswersEachPollWithCurrentState(t *testing.T) {
	f := newFixture(t)
	path := lspPath("to-pe2", "labels")
	s := subscribe(t, f.tg, newSubscribeRequest(t, api.SubscriptionListModePOLL(), api.EncodingPROTO(),
		api.Subscription(api.Path(path))))
	first := map[string]*gnmi.TypedValue{}
	mergeLeaves(first, s.untilSync(t)...)
	if got := uints(first[path]); !slices.Equal(got, []uint32{16002}) {
		t.Fatalf("initial poll answer: labels %v, want [16002]\n%s", got, formatLeaves(first))
	}

	f.sim.mustRun(t, fmt.Sprintf("update %d 16021 16002", f.plspID(t, "to-pe2")))
	want := []uint32{16021, 16002}
	poll, err := api.NewSubscribePollRequest()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(waitLimit)
	for {
		if err := s.stream.Send(poll); err != nil {
			t.Fatalf("send poll: %v", err)
		}
		got := map[string]*gnmi.TypedValue{}
		mergeLeaves(got, s.untilSync(t)...)
		if len(got) == 0 {
			t.Fatalf("poll answer is empty: a poll must send the subscribed leaves again")
		}
		if slices.Equal(uints(got[path]), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("polls never answered labels %v; last answer:\n%s", want, formatLeaves(got))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestPCUpdLabelsReachOnChangeSubscriber(t *testing.T) {
	f := newFixture(t)
	labelsPath := lspPath("to-pe3", "labels")
	s := subscribe(t, f.tg, newSubscribeRequest(t, api.SubscriptionListModeSTREAM(), api.EncodingPROTO(),
		api.Subscription(api.Path(labelsPath), api.SubscriptionModeON_CHANGE())))
	// A second subscriber watches the whole state of the LSP.
	whole := subscribe(t, f.tg, newSubscribeRequest(t, api.SubscriptionListModeSTREAM(), api.EncodingPROTO(),
		api.Subscription(api.Path("/pce-client/lsps/lsp[name=to-pe3]/state"), api.SubscriptionModeON_CHANGE())))
	initial := map[string]*gnmi.TypedValue{}
	mergeLeaves(initial, s.untilSync(t)...)
	if got := uints(initial[labelsPath]); !slices.Equal(got, []uint32{16011, 16003}) {
		t.Errorf("initial labels of to-pe3 = %v, want [16011 16003]", got)
	}
	wholeState := map[string]*gnmi.TypedValue{}
	mergeLeaves(wholeState, whole.untilSync(t)...)
	updates := wholeState[lspPath("to-pe3", "updates")].GetUintVal()

	id := f.plspID(t, "to-pe3")
	for _, labels := range [][]uint32{{16020, 16003}, {16021, 16022, 16003}, {16003}} {
		last := f.sim.mustRun(t, fmt.Sprintf("update %d %s", id, joinUints(labels)))
		var srp uint64
		if _, err := fmt.Sscanf(last, "ok srp-id %d", &srp); err != nil {
			t.Fatalf("pcesim answered %q, want ok srp-id N", last)
		}
		s.waitFor(t, fmt.Sprintf("labels %v of to-pe3 on the ON_CHANGE stream", labels), hasLabels("to-pe3", labels))

		// The change is one notification: labels, the echoed SRP-ID and the
		// update count together.
		r, _ := whole.waitFor(t, fmt.Sprintf("labels %v of to-pe3 on the state stream", labels), hasLabels("to-pe3", labels))
		n := leaves(r.GetUpdate())
		updates++
		if v := n[lspPath("to-pe3", "last-srp-id")]; v.GetUintVal() != srp {
			t.Errorf("the notification with labels %v has last-srp-id %v, want %d (the PCUpd's SRP-ID)", labels, v, srp)
		}
		if v := n[lspPath("to-pe3", "updates")]; v.GetUintVal() != updates {
			t.Errorf("the notification with labels %v has updates %v, want %d", labels, v, updates)
		}
	}
	// The PCE sees the new path reported back.
	f.sim.waitShow(t, "to-pe3 reported with labels 16003", func(rows []simRow) bool {
		r, ok := lspRow(rows, "to-pe3")
		return ok && slices.Equal(r.Labels, []uint32{16003})
	})
}

func TestSubscribeTargetDefinedStreamsChanges(t *testing.T) {
	f := newFixture(t)
	s := subscribe(t, f.tg, newSubscribeRequest(t, api.SubscriptionListModeSTREAM(), api.EncodingPROTO(),
		api.Subscription(api.Path("/pce-client/lsps/lsp[name=to-pe4]/state"), api.SubscriptionModeTARGET_DEFINED())))
	initial := map[string]*gnmi.TypedValue{}
	mergeLeaves(initial, s.untilSync(t)...)
	if !initial[lspPath("to-pe4", "delegated")].GetBoolVal() {
		t.Errorf("initial state of to-pe4 is not delegated:\n%s", formatLeaves(initial))
	}
	f.sim.mustRun(t, fmt.Sprintf("update %d 16030 16004", f.plspID(t, "to-pe4")))
	s.waitFor(t, "labels [16030 16004] of to-pe4 on the TARGET_DEFINED stream", hasLabels("to-pe4", []uint32{16030, 16004}))
}

func TestSubscribeSampleResendsAtTheInterval(t *testing.T) {
	f := newFixture(t)
	path := lspPath("to-pe2", "labels")
	s := subscribe(t, f.tg, newSubscribeRequest(t, api.SubscriptionListModeSTREAM(), api.EncodingPROTO(),
		api.Subscription(api.Path(path), api.SubscriptionModeSAMPLE(), api.SampleInterval(200*time.Millisecond))))
	s.untilSync(t)
	// Nothing changes, yet each interval samples the leaf again.
	for i := 0; i < 3; i++ {
		r, _ := s.waitFor(t, fmt.Sprintf("sample %d of to-pe2 labels", i+1), func(r *gnmi.SubscribeResponse) bool {
			_, ok := leaves(r.GetUpdate())[path]
			return ok
		})
		if got := uints(leaves(r.GetUpdate())[path]); !slices.Equal(got, []uint32{16002}) {
			t.Errorf("sampled labels = %v, want [16002]", got)
		}
	}
}

func TestSubscribeStreamModesAcceptAListWithoutKeys(t *testing.T) {
	// Every subscribe mode on the whole LSP list at once, to be sure they
	// all accept a list path without keys.
	f := newFixture(t)
	for _, mode := range []string{"on_change", "target_defined", "sample"} {
		t.Run(mode, func(t *testing.T) {
			opts := []api.GNMIOption{api.Path("/pce-client/lsps/lsp/state/delegated"), api.SubscriptionMode(mode)}
			if mode == "sample" {
				opts = append(opts, api.SampleInterval(time.Second))
			}
			s := subscribe(t, f.tg, newSubscribeRequest(t, api.SubscriptionListModeSTREAM(), api.EncodingPROTO(), api.Subscription(opts...)))
			got := map[string]*gnmi.TypedValue{}
			mergeLeaves(got, s.untilSync(t)...)
			for _, p := range samplePolicies {
				if !got[lspPath(p.name, "delegated")].GetBoolVal() {
					t.Errorf("%s: %s not delegated in the initial sync:\n%s", mode, p.name, formatLeaves(got))
				}
			}
		})
	}
}

func joinUints(v []uint32) string {
	s := ""
	for i, x := range v {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprint(x)
	}
	return s
}
