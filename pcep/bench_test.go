package pcep

import "testing"

// benchERO is the SR-ERO of the benchmark messages: three MPLS labels.
func benchERO() ERO {
	return ERO{Subobjects: []Subobject{SRLabel(16001), SRLabel(16002), SRLabel(16003)}}
}

func benchPCRpt() *PCRpt {
	lsp := LSP{PLSPID: 42, Flags: LSPDelegate | LSPAdmin, SymbolicName: "sr-policy-blue-to-pe3"}
	lsp.SetOper(OperUp)
	return &PCRpt{Reports: []Report{{
		HasSRP: true,
		SRP:    SRP{SRPID: 7, HasPST: true, PST: PSTSRMPLS},
		LSP:    lsp,
		ERO:    benchERO(),
	}}}
}

func benchPCUpd() *PCUpd {
	return &PCUpd{Updates: []Update{{
		SRP: SRP{SRPID: 8, HasPST: true, PST: PSTSRMPLS},
		LSP: LSP{PLSPID: 42, Flags: LSPDelegate | LSPAdmin, SymbolicName: "sr-policy-blue-to-pe3"},
		ERO: benchERO(),
	}}}
}

func benchDecode(b *testing.B, m Message) {
	buf, err := Encode(m)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if _, err := Decode(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func benchEncode(b *testing.B, m Message) {
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = Append(buf[:0], m); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodePCRpt(b *testing.B) { benchDecode(b, benchPCRpt()) }

func BenchmarkEncodePCRpt(b *testing.B) { benchEncode(b, benchPCRpt()) }

func BenchmarkDecodePCUpd(b *testing.B) { benchDecode(b, benchPCUpd()) }

func BenchmarkEncodePCUpd(b *testing.B) { benchEncode(b, benchPCUpd()) }
