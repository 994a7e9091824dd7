package pcep

import (
	"encoding/hex"
	"testing"
)

// TestPCErrWithSRPAfterErrorIsOneBlock checks the object order FRR pathd
// uses when it refuses a PCE request: PCEP-ERROR first, then the SRP it is
// about. Both belong to one error block.
func TestPCErrWithSRPAfterErrorIsOneBlock(t *testing.T) {
	tests := []struct {
		name   string
		hex    string
		blocks int
		srps   []int // SRP count per block
	}{
		{"frr pathd: error then SRP", "200600200d10000800001303211000140000000100000001001c000400000001", 1, []int{1}},
		{"SRP then error", "20060020211000140000000100000001001c0004000000010d10000800001303", 1, []int{1}},
		{"error, SRP, error: SRP opens the second block", "20060028" + "0d10000800001303" + "211000140000000100000001001c000400000001" + "0d10000800001301", 2, []int{0, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := hex.DecodeString(tc.hex)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			e := m.(*PCErr)
			if len(e.Errors) != tc.blocks {
				t.Fatalf("got %d blocks, want %d", len(e.Errors), tc.blocks)
			}
			for i, n := range tc.srps {
				if len(e.Errors[i].SRPs) != n {
					t.Errorf("block %d: %d SRPs, want %d", i, len(e.Errors[i].SRPs), n)
				}
				if n > 0 && e.Errors[i].SRPs[0].SRPID != 1 {
					t.Errorf("block %d: SRP-ID %d, want 1", i, e.Errors[i].SRPs[0].SRPID)
				}
			}
			if got := e.Errors[0].Errors[0]; got.Type != 19 || got.Value != 3 {
				t.Errorf("first error %d/%d, want 19/3", got.Type, got.Value)
			}
		})
	}
}
