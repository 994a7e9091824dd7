package main

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/pccagent/pccagent/pcep/pce"
)

// fakePeer records the calls the shell makes.
type fakePeer struct {
	addr  netip.AddrPort
	lsps  []pce.LSP
	calls *[]string
	fail  error
}

func (f *fakePeer) RemoteAddr() netip.AddrPort { return f.addr }
func (f *fakePeer) Synced() bool               { return true }
func (f *fakePeer) LSPs() []pce.LSP            { return f.lsps }
func (f *fakePeer) LSP(id uint32) (pce.LSP, bool) {
	for _, l := range f.lsps {
		if l.PLSPID == id {
			return l, true
		}
	}
	return pce.LSP{}, false
}

func (f *fakePeer) call(s string) (uint32, error) {
	*f.calls = append(*f.calls, f.addr.String()+" "+s)
	if f.fail != nil {
		return 0, f.fail
	}
	return 7, nil
}

func (f *fakePeer) Update(id uint32, labels []uint32) (uint32, error) {
	return f.call(fmt.Sprintf("Update(%d, %v)", id, labels))
}

func (f *fakePeer) Initiate(name string, ep netip.Addr, color uint32, labels []uint32) (uint32, error) {
	return f.call(fmt.Sprintf("Initiate(%s, %s, %d, %v)", name, ep, color, labels))
}
func (f *fakePeer) Remove(id uint32) (uint32, error) { return f.call(fmt.Sprintf("Remove(%d)", id)) }
func (f *fakePeer) RequestControl(id uint32) (uint32, error) {
	return f.call(fmt.Sprintf("RequestControl(%d)", id))
}
func (f *fakePeer) ReturnDelegation(id uint32) (uint32, error) {
	return f.call(fmt.Sprintf("ReturnDelegation(%d)", id))
}
func (f *fakePeer) Close(reason uint8) error {
	_, err := f.call(fmt.Sprintf("Close(%d)", reason))
	return err
}

func TestShellCommands(t *testing.T) {
	a := netip.MustParseAddrPort("127.0.0.1:40001")
	b := netip.MustParseAddrPort("127.0.0.2:40002")
	lsps := []pce.LSP{
		{PLSPID: 1, Name: "a", Delegated: true, Labels: []uint32{16001}},
		{PLSPID: 2, Name: "b"},
	}
	tests := []struct {
		name  string
		peers []netip.AddrPort
		fail  error
		line  string
		call  string // "" = no call
		out   string // last output line
	}{
		{"empty line", []netip.AddrPort{a}, nil, "   ", "", "ok"},
		{"update", []netip.AddrPort{a}, nil, "update 1 16005 16006", "127.0.0.1:40001 Update(1, [16005 16006])", "ok srp-id 7"},
		{"update unknown LSP", []netip.AddrPort{a}, nil, "update 9 16005", "", "error: no LSP with PLSP-ID 9"},
		{"update not delegated", []netip.AddrPort{a}, nil, "update 2 16005", "", "error: LSP 2 is not delegated"},
		{"update bad label", []netip.AddrPort{a}, nil, "update 1 15", "", `error: bad label "15" (16..1048575)`},
		{"update no labels", []netip.AddrPort{a}, nil, "update 1", "", "error: usage: update PLSPID LABEL..."},
		{"initiate", []netip.AddrPort{a}, nil, "initiate pol 192.0.2.3 100 16003 16004",
			"127.0.0.1:40001 Initiate(pol, 192.0.2.3, 100, [16003 16004])", "ok srp-id 7"},
		{"initiate without labels", []netip.AddrPort{a}, nil, "initiate pol 192.0.2.3 100",
			"127.0.0.1:40001 Initiate(pol, 192.0.2.3, 100, [])", "ok srp-id 7"},
		{"initiate bad endpoint", []netip.AddrPort{a}, nil, "initiate pol nowhere 100", "", `error: bad endpoint "nowhere"`},
		{"initiate bad color", []netip.AddrPort{a}, nil, "initiate pol 192.0.2.3 -1", "", `error: bad color "-1"`},
		{"request control", []netip.AddrPort{a}, nil, "request-control 2", "127.0.0.1:40001 RequestControl(2)", "ok srp-id 7"},
		{"request control all", []netip.AddrPort{a}, nil, "request-control all", "127.0.0.1:40001 RequestControl(0)", "ok srp-id 7"},
		{"request control unknown", []netip.AddrPort{a}, nil, "request-control 5", "", "error: no LSP with PLSP-ID 5"},
		{"return", []netip.AddrPort{a}, nil, "return 1", "127.0.0.1:40001 ReturnDelegation(1)", "ok srp-id 7"},
		{"return all is not a thing", []netip.AddrPort{a}, nil, "return all", "", `error: bad PLSP-ID "all"`},
		{"return not delegated", []netip.AddrPort{a}, nil, "return 2", "", "error: LSP 2 is not delegated"},
		{"remove", []netip.AddrPort{a}, nil, "remove 1", "127.0.0.1:40001 Remove(1)", "ok srp-id 7"},
		{"remove all", []netip.AddrPort{a}, nil, "remove all", "127.0.0.1:40001 Remove(0)", "ok srp-id 7"},
		{"remove bad PLSP-ID", []netip.AddrPort{a}, nil, "remove 0", "", `error: bad PLSP-ID "0"`},
		{"close", []netip.AddrPort{a}, nil, "close", "127.0.0.1:40001 Close(1)", "ok"},
		{"call fails", []netip.AddrPort{a}, errors.New("boom"), "remove all", "127.0.0.1:40001 Remove(0)", "error: boom"},
		{"no PCC", nil, nil, "remove all", "", "error: no PCC connected"},
		{"two PCCs need a prefix", []netip.AddrPort{a, b}, nil, "remove all", "", "error: 2 PCCs connected: prefix the command with pcc ADDR"},
		{"prefix by address", []netip.AddrPort{a, b}, nil, "pcc 127.0.0.2 remove all", "127.0.0.2:40002 Remove(0)", "ok srp-id 7"},
		{"prefix by address and port", []netip.AddrPort{a, b}, nil, "pcc 127.0.0.1:40001 close", "127.0.0.1:40001 Close(1)", "ok"},
		{"prefix unknown", []netip.AddrPort{a, b}, nil, "pcc 127.0.0.9 close", "", "error: no PCC at 127.0.0.9"},
		{"prefix bad", []netip.AddrPort{a}, nil, "pcc x close", "", `error: bad PCC address "x"`},
		{"prefix alone", []netip.AddrPort{a}, nil, "pcc 127.0.0.1", "", "error: pcc ADDR needs a command"},
		{"unknown command", []netip.AddrPort{a}, nil, "frobnicate", "", `error: unknown command "frobnicate" (try help)`},
		{"show with arguments", []netip.AddrPort{a}, nil, "show all", "", "error: show takes no arguments"},
		{"help", nil, nil, "help", "", "ok"},
		{"show", []netip.AddrPort{a, b}, nil, "show", "", "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []string
			var peers []peer
			for _, ap := range tt.peers {
				peers = append(peers, &fakePeer{addr: ap, lsps: lsps, calls: &calls, fail: tt.fail})
			}
			sh := &shell{peers: func() []peer { return peers }}
			var out strings.Builder
			sh.run(&out, tt.line)
			lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
			if last := lines[len(lines)-1]; last != tt.out {
				t.Errorf("output %q, want last line %q", out.String(), tt.out)
			}
			want := []string(nil)
			if tt.call != "" {
				want = []string{tt.call}
			}
			if strings.Join(calls, "|") != strings.Join(want, "|") {
				t.Errorf("calls %q, want %q", calls, want)
			}
		})
	}
}

func TestShowListsPCCsAndLSPs(t *testing.T) {
	var calls []string
	a := &fakePeer{addr: netip.MustParseAddrPort("127.0.0.1:40001"), calls: &calls, lsps: []pce.LSP{
		{PLSPID: 1, Name: "to-pe3", Delegated: true, Oper: 2, Labels: []uint32{16001, 16003},
			Color: 100, Endpoint: netip.MustParseAddr("192.0.2.3"), Preference: 200},
	}}
	b := &fakePeer{addr: netip.MustParseAddrPort("127.0.0.2:40002"), calls: &calls}
	sh := &shell{peers: func() []peer { return []peer{a, b} }}
	var out strings.Builder
	sh.run(&out, "show")
	got := out.String()
	for _, want := range []string{"PLSP-ID", "127.0.0.1:40001", "to-pe3", "active", "16001/16003", "192.0.2.3", "127.0.0.2:40002"} {
		if !strings.Contains(got, want) {
			t.Errorf("show output lacks %q:\n%s", want, got)
		}
	}
	out.Reset()
	sh.run(&out, "pcc 127.0.0.2 show")
	if strings.Contains(out.String(), "127.0.0.1:40001") {
		t.Errorf("show for one PCC lists another:\n%s", out.String())
	}
}

func TestNextLabelsChangesTheStack(t *testing.T) {
	tests := []struct {
		in   pce.LSP
		want []uint32
	}{
		{pce.LSP{Labels: []uint32{16001, 16003}}, []uint32{16001, 16004}},
		{pce.LSP{Labels: []uint32{23999}}, []uint32{16000}},
		{pce.LSP{Labels: []uint32{100}}, []uint32{16000}},
		{pce.LSP{Endpoint: netip.MustParseAddr("192.0.2.7")}, []uint32{16007}},
		{pce.LSP{}, []uint32{16000}},
	}
	for _, tt := range tests {
		if got := nextLabels(tt.in); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("nextLabels(%v) = %v, want %v", tt.in.Labels, got, tt.want)
		}
	}
}

func TestFlagsAreChecked(t *testing.T) {
	tests := []struct {
		args []string
		err  string
	}{
		{[]string{"--keepalive", "256"}, "--keepalive 256: must be 0-255"},
		{[]string{"--msd", "300"}, "--msd 300: must be 0-255"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--update-every", "-1s"}, "--update-every -1s: must not be negative"},
		{[]string{"--listen", "127.0.0.1:0", "--dead-timer", "40", "--stdin=false"}, ""},
	}
	for _, tt := range tests {
		_, err := parseFlags(tt.args, new(strings.Builder))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.err {
			t.Errorf("parseFlags(%q) = %q, want %q", tt.args, got, tt.err)
		}
	}
	if _, err := parseLevel("loud"); err == nil {
		t.Error("parseLevel(loud) accepted")
	}
}
