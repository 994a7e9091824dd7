package pcep

import (
	"reflect"
	"testing"
)

// TestRoundTripRandomMessages checks Decode(Encode(m)) == m for thousands of
// random valid messages of every type.
func TestRoundTripRandomMessages(t *testing.T) {
	g := newGen(1)
	for i := range 5000 {
		m := g.message()
		b, err := Encode(m)
		if err != nil {
			t.Fatalf("message %d: Encode(%s): %v", i, Describe(m), err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("message %d: Decode(Encode(%s)): %v\n% x", i, Describe(m), err, b)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("message %d: round trip differs\n got %#v\nwant %#v", i, got, m)
		}
		if _, err := Append(b[:0], m); err != nil {
			t.Fatalf("message %d: Append into reused buffer: %v", i, err)
		}
	}
}
