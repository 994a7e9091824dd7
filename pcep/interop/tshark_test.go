package interop

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pccagent/pccagent/pcep"
)

// dissectorCase is one message encoded by the codec and what the Wireshark
// dissector must report for it. want maps a tshark field name to every
// occurrence of that field in the frame, in order. Numbers are compared by
// value, so "0x00000001" matches "1".
type dissectorCase struct {
	name string
	msg  pcep.Message
	want map[string][]string
	// sorted fields are compared as sets: the codec may order TLVs freely.
	sorted map[string][]string
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func srLabels(labels ...uint32) pcep.ERO {
	e := pcep.ERO{}
	for _, l := range labels {
		e.Subobjects = append(e.Subobjects, pcep.SRLabel(l))
	}
	return e
}

func lspFlags(oper uint8, flags uint16) uint16 {
	l := pcep.LSP{Flags: flags}
	l.SetOper(oper)
	return l.Flags
}

func srPolicyAssoc() pcep.Association {
	return pcep.Association{
		Type:       pcep.AssocSRPolicy,
		ID:         1,
		Source:     addr("192.0.2.1"),
		Color:      100,
		Endpoint:   addr("192.0.2.9"),
		PolicyName: "blue",
		HasCPathID: true,
		CPathID: pcep.CPathID{
			Origin:        pcep.OriginConfig,
			ASN:           65000,
			Originator:    addr("192.0.2.1"),
			Discriminator: 7,
		},
		CPathName:     "cp-primary",
		HasPreference: true,
		Preference:    200,
	}
}

func dissectorCases() []dissectorCase {
	fullOpen := pcep.OpenObject{
		Keepalive: 30,
		DeadTimer: 120,
		SessionID: 7,
		Stateful: &pcep.StatefulCapability{
			Flags: pcep.StatefulUpdate | pcep.StatefulInstantiation | pcep.StatefulIncludeDBVer,
		},
		PST: &pcep.PSTCapability{
			PSTs: []uint8{pcep.PSTRSVPTE, pcep.PSTSRMPLS},
			SR:   &pcep.SRPCECapability{Flags: pcep.SRCapResolveNAI, MSD: 10},
		},
		AssocTypes:      []uint16{pcep.AssocPathProtection, pcep.AssocSRPolicy},
		SRPolicy:        &pcep.SRPolicyCapability{},
		SpeakerEntityID: []byte("pcc-1"),
		HasDBVersion:    true,
		DBVersion:       42,
	}
	return []dissectorCase{
		{
			name: "Open with every capability TLV",
			msg:  &pcep.Open{Open: fullOpen},
			want: map[string][]string{
				"pcep.msg":                                       {"1"},
				"pcep.object":                                    {"1"},
				"pcep.obj.open.pcep_version":                     {"1"},
				"pcep.obj.open.keepalive":                        {"30"},
				"pcep.obj.open.deadtime":                         {"120"},
				"pcep.obj.open.sid":                              {"7"},
				"pcep.stateful-pce-capability.flags":             {"7"},
				"pcep.stateful-pce-capability.lsp-update":        {"1"},
				"pcep.stateful-pce-capability.lsp-instantiation": {"1"},
				"pcep.pst_capability.psts":                       {"2"},
				"pcep.pst_capability.pst":                        {"0", "1"},
				"pcep.sub-tlv.sr-pce-capability.msd":             {"10"},
				// Raw flags: Wireshark 4.0 registers its N bit with the
				// mask of X (0x01), so its flags.n field misreports; N is
				// 0x02 (RFC 8664 section 4.1.2, IANA bit 6).
				"pcep.sub-tlv.sr-pce-capability.flags": {"2"},
				"pcep.tlv.speaker-entity-id":           {"pcc-1"},
				"pcep.tlv.lsp-state-db-version-number": {"42"},
			},
			sorted: map[string][]string{
				"pcep.tlv.type": {"16", "23", "24", "34", "35", "71"},
			},
		},
		{
			name: "Keepalive",
			msg:  &pcep.Keepalive{},
			want: map[string][]string{"pcep.msg": {"2"}, "pcep.msg_length": {"4"}, "pcep.object": nil},
		},
		{
			name: "PCReq with LSP, LSPA, bandwidth and metric",
			msg: &pcep.PCReq{Requests: []pcep.Request{{
				RP:        pcep.RP{ObjFlags: pcep.ObjFlags{P: true}, Flags: 1, RequestID: 5, HasPST: true, PST: pcep.PSTSRMPLS},
				EndPoints: pcep.EndPoints{ObjFlags: pcep.ObjFlags{P: true}, Source: addr("192.0.2.1"), Destination: addr("192.0.2.3")},
				HasLSP:    true,
				LSP:       pcep.LSP{PLSPID: 3, SymbolicName: "to-pe3"},
				Attributes: &pcep.Attributes{
					LSPA:       &pcep.LSPA{SetupPriority: 7, HoldingPriority: 7},
					Bandwidths: []pcep.Bandwidth{{Type: pcep.BandwidthRequested, Bandwidth: 1000}},
					Metrics:    []pcep.Metric{{Flags: pcep.MetricBound, Type: pcep.MetricTE, Value: 10}},
				},
			}}},
			want: map[string][]string{
				"pcep.msg":                               {"3"},
				"pcep.object":                            {"2", "4", "32", "9", "5", "6"},
				"pcep.obj.rp.requested_id_number":        {"5"},
				"pcep.pst":                               {"1"},
				"pcep.obj.end_point.source_ipv4_address": {"192.0.2.1"},
				"pcep.obj.end_point.destination_ipv4_address": {"192.0.2.3"},
				"pcep.obj.lsp.plsp-id":                        {"3"},
				"pcep.tlv.symbolic-path-name":                 {"to-pe3"},
				"pcep.obj.lspa.setup_priority":                {"7"},
				"pcep.obj.lspa.holding_priority":              {"7"},
				"pcep.bandwidth":                              {"1000"},
				// The METRIC object-type and the metric type share this
				// abbreviation in Wireshark 4.0: object type 1, then TE (2).
				"pcep.obj.metric.type":         {"1", "2"},
				"pcep.metric.flags.b":          {"1"},
				"pcep.obj.metric.metric_value": {"10"},
			},
		},
		{
			name: "PCRep with an SR path and a NO-PATH",
			msg: &pcep.PCRep{Responses: []pcep.Response{
				{
					RP:    pcep.RP{ObjFlags: pcep.ObjFlags{P: true}, RequestID: 5, HasPST: true, PST: pcep.PSTSRMPLS},
					Paths: []pcep.Path{{ERO: srLabels(16001, 16002)}},
				},
				{
					RP:     pcep.RP{ObjFlags: pcep.ObjFlags{P: true}, RequestID: 6},
					NoPath: &pcep.NoPath{NatureOfIssue: 0},
				},
			}},
			want: map[string][]string{
				"pcep.msg":                         {"4"},
				"pcep.object":                      {"2", "7", "2", "3"},
				"pcep.obj.rp.requested_id_number":  {"5", "6"},
				"pcep.subobj.sr.sid.label":         {"16001", "16002"},
				"pcep.subobj.sr.flags.m":           {"1", "1"},
				"pcep.subobj.sr.flags.f":           {"1", "1"},
				"pcep.obj.no_path.nature_of_issue": {"0"},
			},
		},
		{
			name: "PCNtf PCE overloaded",
			msg: &pcep.PCNtf{Notifies: []pcep.Notify{{
				Notifications: []pcep.Notification{{Type: 2, Value: 1}},
			}}},
			want: map[string][]string{
				"pcep.msg":    {"5"},
				"pcep.object": {"12"},
				// Wireshark 4.0 reports the notification type as
				// pcep.notification.type; pcep.obj.notification.type is the
				// object type.
				"pcep.notification.type":      {"2"},
				"pcep.obj.notification.value": {"1"},
			},
		},
		{
			name: "PCErr 1/4 with a counter-proposal Open",
			msg: &pcep.PCErr{
				Errors: []pcep.ErrorBlock{{Errors: []pcep.PCEPError{{Type: pcep.ErrSessionEstablishment, Value: pcep.ValOpenNegotiable}}}},
				Open:   &pcep.OpenObject{Keepalive: 40, DeadTimer: 160, SessionID: 1},
			},
			want: map[string][]string{
				"pcep.msg":                {"6"},
				"pcep.object":             {"13", "1"},
				"pcep.error.type":         {"1"},
				"pcep.error.value":        {"4"},
				"pcep.obj.open.keepalive": {"40"},
				"pcep.obj.open.deadtime":  {"160"},
			},
		},
		{
			name: "PCErr unknown PLSP-ID for an SRP",
			msg: &pcep.PCErr{Errors: []pcep.ErrorBlock{{
				SRPs:   []pcep.SRP{{SRPID: 77}},
				Errors: []pcep.PCEPError{{Type: pcep.ErrInvalidOperation, Value: pcep.ValUnknownPLSPID}},
			}}},
			want: map[string][]string{
				"pcep.msg":               {"6"},
				"pcep.object":            {"33", "13"},
				"pcep.obj.srp.id-number": {"77"},
				"pcep.error.type":        {"19"},
				"pcep.error.value":       {"3"},
			},
		},
		{
			name: "Close dead timer expired",
			msg:  &pcep.Close{Close: pcep.CloseObject{Reason: pcep.CloseDeadTimer}},
			want: map[string][]string{
				"pcep.msg":              {"7"},
				"pcep.object":           {"15"},
				"pcep.obj.close.reason": {"2"},
			},
		},
		{
			name: "PCRpt of a delegated SR policy with three labels",
			msg: &pcep.PCRpt{Reports: []pcep.Report{{
				HasSRP: true,
				SRP:    pcep.SRP{SRPID: 0x1234, HasPST: true, PST: pcep.PSTSRMPLS},
				LSP: pcep.LSP{
					PLSPID:       0xABCDE,
					Flags:        lspFlags(pcep.OperActive, pcep.LSPDelegate|pcep.LSPAdmin|pcep.LSPCreate),
					SymbolicName: "pol-blue",
					Identifiers: &pcep.LSPIdentifiers{
						Sender: addr("192.0.2.1"), LSPID: 1, TunnelID: 2,
						ExtendedTunnelID: addr("192.0.2.1"), Endpoint: addr("192.0.2.9"),
					},
					HasColor: true,
					Color:    100,
				},
				ERO: srLabels(16001, 16002, 16003),
				Attributes: &pcep.Attributes{
					Associations: []pcep.Association{srPolicyAssoc()},
				},
			}}},
			want: map[string][]string{
				"pcep.msg":                                            {"10"},
				"pcep.object":                                         {"33", "32", "7", "40"},
				"pcep.obj.srp.id-number":                              {"4660"},
				"pcep.obj.srp.flags":                                  {"0"},
				"pcep.pst":                                            {"1"},
				"pcep.obj.lsp.plsp-id":                                {"703710"},
				"pcep.obj.lsp.flags.delegate":                         {"1"},
				"pcep.obj.lsp.flags.sync":                             {"0"},
				"pcep.obj.lsp.flags.remove":                           {"0"},
				"pcep.obj.lsp.flags.administrative":                   {"1"},
				"pcep.obj.lsp.flags.operational":                      {"2"},
				"pcep.obj.lsp.flags.create":                           {"1"},
				"pcep.tlv.symbolic-path-name":                         {"pol-blue"},
				"pcep.tlv.ipv4-lsp-id.tunnel-sender-addr":             {"192.0.2.1"},
				"pcep.tlv.ipv4-lsp-id.lsp-id":                         {"1"},
				"pcep.tlv.ipv4-lsp-id.tunnel-id":                      {"2"},
				"pcep.tlv.ipv4-lsp-id.tunnel-endpoint-addr":           {"192.0.2.9"},
				"pcep.subobj.sr.sid.label":                            {"16001", "16002", "16003"},
				"pcep.subobj.sr.st":                                   {"0", "0", "0"},
				"pcep.association.type":                               {"6"},
				"pcep.association.id":                                 {"1"},
				"pcep.association.ipv4.source":                        {"192.0.2.1"},
				"pcep.tlv.extended_association_id.color":              {"100"},
				"pcep.tlv.extended_association_id.ipv4_endpoint":      {"192.0.2.9"},
				"pcep.tlv.sr_policy_cpath_id.originator_ipv4_address": {"192.0.2.1"},
				"pcep.tlv.sr_policy_name":                             {"blue"},
				"pcep.tlv.sr_policy_cpath_id.proto_origin":            {"30"},
				"pcep.tlv.sr_policy_cpath_id.originator_asn":          {"65000"},
				"pcep.tlv.sr_policy_cpath_id.proto_discriminator":     {"7"},
				"pcep.tlv.sr_policy_cpath_name":                       {"cp-primary"},
				"pcep.tlv.sr_policy_cpath_preference":                 {"200"},
			},
			// PATH-SETUP-TYPE in the SRP; SYMBOLIC-PATH-NAME, IPV4-LSP-IDENTIFIERS
			// and COLOR in the LSP; the SR policy TLVs in the ASSOCIATION.
			sorted: map[string][]string{
				"pcep.tlv.type": {"17", "18", "28", "31", "56", "57", "58", "59", "67"},
			},
		},
		{
			name: "PCRpt of a removed LSP",
			msg: &pcep.PCRpt{Reports: []pcep.Report{{
				LSP: pcep.LSP{PLSPID: 5, Flags: pcep.LSPRemove, SymbolicName: "gone"},
			}}},
			want: map[string][]string{
				"pcep.msg":                    {"10"},
				"pcep.object":                 {"32", "7"},
				"pcep.obj.lsp.plsp-id":        {"5"},
				"pcep.obj.lsp.flags.remove":   {"1"},
				"pcep.obj.lsp.flags.delegate": {"0"},
				"pcep.tlv.symbolic-path-name": {"gone"},
			},
		},
		{
			name: "PCRpt end of synchronisation",
			msg:  &pcep.PCRpt{Reports: []pcep.Report{{LSP: pcep.LSP{PLSPID: 0}}}},
			want: map[string][]string{
				"pcep.msg":                 {"10"},
				"pcep.object":              {"32", "7"},
				"pcep.obj.lsp.plsp-id":     {"0"},
				"pcep.obj.lsp.flags.sync":  {"0"},
				"pcep.subobj.sr.sid.label": nil,
			},
		},
		{
			name: "PCUpd with a new segment list",
			msg: &pcep.PCUpd{Updates: []pcep.Update{{
				SRP: pcep.SRP{SRPID: 0x55, HasPST: true, PST: pcep.PSTSRMPLS},
				LSP: pcep.LSP{PLSPID: 0xABCDE, Flags: lspFlags(pcep.OperUp, pcep.LSPDelegate)},
				ERO: srLabels(16004, 16005),
				Attributes: &pcep.Attributes{
					Metrics: []pcep.Metric{{Type: pcep.MetricIGP, Value: 20}},
				},
			}}},
			want: map[string][]string{
				"pcep.msg":                    {"11"},
				"pcep.object":                 {"33", "32", "7", "6"},
				"pcep.obj.srp.id-number":      {"85"},
				"pcep.obj.lsp.plsp-id":        {"703710"},
				"pcep.obj.lsp.flags.delegate": {"1"},
				"pcep.subobj.sr.sid.label":    {"16004", "16005"},
				"pcep.obj.metric.type":        {"1", "1"}, // object type, IGP
			},
		},
		{
			name: "PCUpd control request for every LSP",
			msg: &pcep.PCUpd{Updates: []pcep.Update{{
				SRP: pcep.SRP{SRPID: 0x56, Flags: pcep.SRPControl},
				LSP: pcep.LSP{PLSPID: 0},
			}}},
			want: map[string][]string{
				"pcep.msg":                  {"11"},
				"pcep.object":               {"33", "32", "7"},
				"pcep.obj.srp.id-number":    {"86"},
				"pcep.obj.srp.flags":        {"2"},
				"pcep.obj.srp.flags.remove": {"0"},
				"pcep.obj.lsp.plsp-id":      {"0"},
			},
		},
		{
			name: "PCInitiate instantiation and removal",
			msg: &pcep.PCInitiate{Requests: []pcep.Initiate{
				{
					SRP:          pcep.SRP{SRPID: 9, HasPST: true, PST: pcep.PSTSRMPLS},
					LSP:          pcep.LSP{PLSPID: 0, Flags: pcep.LSPDelegate, SymbolicName: "pce-lsp"},
					HasEndPoints: true,
					EndPoints:    pcep.EndPoints{Source: addr("192.0.2.1"), Destination: addr("192.0.2.9")},
					HasERO:       true,
					ERO:          srLabels(16007, 16008, 16009),
					Attributes:   &pcep.Attributes{Associations: []pcep.Association{srPolicyAssoc()}},
				},
				{
					SRP: pcep.SRP{SRPID: 10, Flags: pcep.SRPRemove},
					LSP: pcep.LSP{PLSPID: 17},
				},
			}},
			want: map[string][]string{
				"pcep.msg":                                       {"12"},
				"pcep.object":                                    {"33", "32", "4", "7", "40", "33", "32"},
				"pcep.obj.srp.id-number":                         {"9", "10"},
				"pcep.obj.srp.flags.remove":                      {"0", "1"},
				"pcep.obj.lsp.plsp-id":                           {"0", "17"},
				"pcep.obj.lsp.flags.delegate":                    {"1", "0"},
				"pcep.tlv.symbolic-path-name":                    {"pce-lsp"},
				"pcep.obj.end_point.destination_ipv4_address":    {"192.0.2.9"},
				"pcep.subobj.sr.sid.label":                       {"16007", "16008", "16009"},
				"pcep.association.type":                          {"6"},
				"pcep.tlv.extended_association_id.ipv4_endpoint": {"192.0.2.9"},
			},
		},
		{
			name: "StartTLS",
			msg:  &pcep.StartTLS{},
			want: map[string][]string{"pcep.msg": {"13"}, "pcep.msg_length": {"4"}, "pcep.object": nil},
		},
	}
}

// expertFields are the tshark fields that flag a frame the dissector found
// wrong. Any occurrence fails the test.
var expertFields = []string{"_ws.malformed", "_ws.expert.message", "_ws.expert.severity"}

// TestWiresharkDissectsEveryEncodedMessage encodes one message of every type
// with the codec, writes them into a pcap file as a TCP stream to port 4189,
// and checks that tshark's PCEP dissector reads back the values encoded, with
// no malformed-packet or expert warning.
func TestWiresharkDissectsEveryEncodedMessage(t *testing.T) {
	tshark := requireProgram(t, "tshark")
	cases := dissectorCases()

	dir := t.TempDir()
	file := filepath.Join(dir, "pcep.pcap")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewPcapWriter(f, netip.MustParseAddrPort("127.0.0.2:40000"),
		netip.MustParseAddrPort("127.0.0.1:4189"), time.Unix(1_700_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	// A message the codec cannot encode is an error of its own; the others
	// are still checked.
	var (
		encoded []dissectorCase
		wire    [][]byte
	)
	for _, c := range cases {
		b, err := pcep.Encode(c.msg)
		if err != nil {
			t.Errorf("%s: encode: %v", c.name, err)
			continue
		}
		if err := w.WriteSegment(b); err != nil {
			t.Fatal(err)
		}
		encoded = append(encoded, c)
		wire = append(wire, b)
	}
	cases = encoded
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	// Framing fields, compared with the bytes themselves.
	framing := []string{"pcep.msg_length", "pcep.object", "pcep.object_length"}
	fields := []string{"frame.number"}
	fields = append(fields, expertFields...)
	fields = append(fields, framing...)
	seen := map[string]bool{}
	for _, f := range framing {
		seen[f] = true
	}
	for _, c := range cases {
		for _, m := range []map[string][]string{c.want, c.sorted} {
			for k := range m {
				if !seen[k] {
					seen[k] = true
					fields = append(fields, k)
				}
			}
		}
	}
	frames := runTshark(t, tshark, file, fields)
	if len(frames) != len(cases) {
		t.Fatalf("tshark reported %d frames, want %d", len(frames), len(cases))
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := frames[i]
			for _, k := range expertFields {
				if v := got[k]; len(v) > 0 {
					t.Errorf("%s: %s = %q", c.name, k, v)
				}
			}
			// The dissector must frame the message as written: its
			// length and each object's class and length, in order.
			classes, lengths := walkObjects(t, wire[i])
			if !sameValues(got["pcep.msg_length"], []string{strconv.Itoa(len(wire[i]))}) {
				t.Errorf("pcep.msg_length = %q, want %d", got["pcep.msg_length"], len(wire[i]))
			}
			if !sameValues(got["pcep.object"], classes) || !sameValues(got["pcep.object_length"], lengths) {
				t.Errorf("objects (class/length) = %q/%q, encoded %q/%q",
					got["pcep.object"], got["pcep.object_length"], classes, lengths)
			}
			for k, want := range c.want {
				if k == "pcep.object" {
					// The objects the message must hold; their order is
					// the codec's (checked above against the bytes).
					g, w := slices.Clone(got[k]), slices.Clone(want)
					slices.SortFunc(g, compareNumeric)
					slices.SortFunc(w, compareNumeric)
					if !sameValues(g, w) {
						t.Errorf("object classes %q, want (any order) %q", got[k], want)
					}
					continue
				}
				if !sameValues(got[k], want) {
					t.Errorf("%s = %q, want %q", k, got[k], want)
				}
			}
			for k, want := range c.sorted {
				g := slices.Clone(got[k])
				slices.SortFunc(g, compareNumeric)
				w := slices.Clone(want)
				slices.SortFunc(w, compareNumeric)
				if !sameValues(g, w) {
					t.Errorf("%s = %q, want (any order) %q", k, got[k], want)
				}
			}
		})
	}
}

// walkObjects returns the class and length of every object in an encoded
// message, read from the object headers.
func walkObjects(t *testing.T, msg []byte) (classes, lengths []string) {
	t.Helper()
	for b := msg[pcep.HeaderLen:]; len(b) > 0; {
		if len(b) < 4 {
			t.Fatalf("encoded message ends inside an object header: % x", msg)
		}
		n := int(b[2])<<8 | int(b[3])
		if n < 4 || n > len(b) {
			t.Fatalf("encoded object length %d does not fit: % x", n, msg)
		}
		classes = append(classes, strconv.Itoa(int(b[0])))
		lengths = append(lengths, strconv.Itoa(n))
		b = b[n:]
	}
	return classes, lengths
}

// runTshark dissects file as PCEP on port 4189 and returns, per frame, every
// occurrence of each requested field.
func runTshark(t *testing.T, tshark, file string, fields []string) []map[string][]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const agg = "\x1f"
	args := []string{"-n", "-r", file, "-d", "tcp.port==4189,pcep",
		"-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
		"-T", "fields", "-E", "header=n", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=" + agg}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	cmd := exec.CommandContext(ctx, tshark, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tshark: %v\n%s", err, stderr.String())
	}
	var frames []map[string][]string
	for _, line := range strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n") {
		cols := strings.Split(line, "\t")
		if len(cols) != len(fields) {
			t.Fatalf("tshark line has %d columns, want %d: %q", len(cols), len(fields), line)
		}
		m := map[string][]string{}
		for i, f := range fields {
			if cols[i] != "" {
				m[f] = strings.Split(cols[i], agg)
			}
		}
		frames = append(frames, m)
	}
	return frames
}

// sameValues compares tshark's values with the expected ones, numbers by
// value whatever their base.
func sameValues(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if compareNumeric(got[i], want[i]) != 0 {
			return false
		}
	}
	return true
}

// compareNumeric orders two field values: numerically when both parse as
// numbers (decimal, 0x hex, or floating point), as strings otherwise.
func compareNumeric(a, b string) int {
	fa, oka := parseNumber(a)
	fb, okb := parseNumber(b)
	if oka && okb {
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	}
	return strings.Compare(a, b)
}

func parseNumber(s string) (float64, bool) {
	if u, err := strconv.ParseUint(s, 0, 64); err == nil {
		return float64(u), true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f, true
	}
	return 0, false
}
