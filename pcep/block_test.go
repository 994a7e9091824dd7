package pcep

import (
	"reflect"
	"testing"
	"unsafe"
)

// labelERO is an SR-ERO of n MPLS labels (nil subobjects when n is 0, as
// the decoder returns an empty route).
func labelERO(n int) ERO {
	var e ERO
	for i := range n {
		e.Subobjects = append(e.Subobjects, SRLabel(16000+uint32(i)))
	}
	return e
}

// TestDecodeStatefulBlock decodes PCRpt and PCUpd messages with one or
// several entries and routes around the one-block limit, and checks that
// they decode to what was encoded, that every route's capacity is its
// length (appending to it never writes into the message's block) and how
// many allocations a decode costs.
func TestDecodeStatefulBlock(t *testing.T) {
	rpt := func(entries, subs int) Message {
		m := &PCRpt{}
		for i := range entries {
			lsp := LSP{PLSPID: uint32(i + 1), Flags: LSPDelegate, SymbolicName: "policy"}
			m.Reports = append(m.Reports, Report{HasSRP: true, SRP: SRP{SRPID: 7}, LSP: lsp, ERO: labelERO(subs)})
		}
		return m
	}
	upd := func(entries, subs int) Message {
		m := &PCUpd{}
		for i := range entries {
			lsp := LSP{PLSPID: uint32(i + 1), Flags: LSPDelegate, SymbolicName: "policy"}
			m.Updates = append(m.Updates, Update{SRP: SRP{SRPID: 8}, LSP: lsp, ERO: labelERO(subs)})
		}
		return m
	}
	// engineRpt is a report as the PCC engine sends one: LSP-IDENTIFIERS and
	// the SR policy association, which cost one allocation each on top of
	// the block and the name (the association shares its allocation with
	// the attribute list).
	engineRpt := func() Message {
		m := rpt(1, 3).(*PCRpt)
		r := &m.Reports[0]
		src, ep := addr("127.0.0.1"), addr("127.0.0.3")
		r.LSP.Identifiers = &LSPIdentifiers{Sender: src, LSPID: 1, TunnelID: 1, ExtendedTunnelID: src, Endpoint: ep}
		r.Attributes = &Attributes{Associations: []Association{{Type: AssocSRPolicy, ID: 1, Source: src, Color: 7, Endpoint: ep,
			HasCPathID: true, CPathID: CPathID{Origin: OriginConfig, Originator: src, Discriminator: 1},
			HasPreference: true, Preference: 100}}}
		return m
	}
	tests := []struct {
		name string
		m    Message
		// allocs is the allocation count of a decode: the block and the
		// symbolic name, plus a slice per route that does not fit the block;
		// 0 skips the check (several entries).
		allocs float64
	}{
		{"PCRptAsTheEngineSendsIt", engineRpt(), 4},
		{"PCRptEmptyERO", rpt(1, 0), 2},
		{"PCRptOneLabel", rpt(1, 1), 2},
		{"PCRptThreeLabels", rpt(1, 3), 2},
		{"PCRptLargestBlock", rpt(1, maxBlockSubs), 2},
		{"PCRptRouteOutsideBlock", rpt(1, maxBlockSubs+1), 3},
		{"PCRptTwoReports", rpt(2, 3), 0},
		{"PCUpdEmptyERO", upd(1, 0), 2},
		{"PCUpdThreeLabels", upd(1, 3), 2},
		{"PCUpdLargestBlock", upd(1, maxBlockSubs), 2},
		{"PCUpdRouteOutsideBlock", upd(1, maxBlockSubs+1), 3},
		{"PCUpdThreeUpdates", upd(3, 2), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Encode(tt.m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.m) {
				t.Fatalf("Decode = %s, want %s", Describe(got), Describe(tt.m))
			}
			var eros []*ERO
			switch m := got.(type) {
			case *PCRpt:
				for i := range m.Reports {
					eros = append(eros, &m.Reports[i].ERO)
				}
			case *PCUpd:
				for i := range m.Updates {
					eros = append(eros, &m.Updates[i].ERO)
				}
			}
			for i, e := range eros {
				if len(e.Subobjects) != cap(e.Subobjects) {
					t.Errorf("entry %d: ERO of length %d has capacity %d", i, len(e.Subobjects), cap(e.Subobjects))
				}
			}
			if tt.allocs == 0 {
				return
			}
			if n := testing.AllocsPerRun(20, func() { _, _ = Decode(b) }); n != tt.allocs {
				t.Errorf("Decode costs %v allocations, want %v", n, tt.allocs)
			}
		})
	}
}

// TestStatefulBlockSizes pins the sizes the one-block allocation is tuned
// for on 64-bit platforms: with a 24-byte Subobject (its NAI out of line)
// and an 80-byte LSP (its LSP-IDENTIFIERS out of line) and the attribute
// list held by pointer, the block of a PCRpt with a 3-label SR-ERO is 272
// bytes (288-byte size class) and that of a PCUpd 256 bytes. The
// garbage collector's cost of a decode grows with these bytes, so a field
// added to these types must earn its place.
func TestStatefulBlockSizes(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes are tuned for 64-bit platforms")
	}
	tests := []struct {
		name      string
		got, want uintptr
	}{
		{"Subobject", unsafe.Sizeof(Subobject{}), 24},
		{"LSP", unsafe.Sizeof(LSP{}), 80},
		{"PCRptBlock3", unsafe.Sizeof(rptBlock[[3]Subobject]{}), 272},
		{"PCUpdBlock3", unsafe.Sizeof(updBlock[[3]Subobject]{}), 256},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("size of %s = %d, want %d", tt.name, tt.got, tt.want)
		}
	}
}
