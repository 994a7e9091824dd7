package pcep

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"runtime"
	"testing"
)

// FuzzDecode checks that Decode never panics, that every error it returns
// is a protocol error, and that whatever it accepts re-encodes to a message
// that decodes to the same value and encodes to the same bytes. The corpus
// is seeded with encoded messages of every type; captured messages can be
// added under testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	for _, c := range goldenCases() {
		f.Add(c.wire)
	}
	g := newGen(2)
	for range 100 {
		b, err := Encode(g.message())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(checkDecode)
}

// FuzzDecodeBody is FuzzDecode with the common header's length fixed up, so
// that mutations reach the object and TLV decoders instead of stopping at the
// length check.
func FuzzDecodeBody(f *testing.F) {
	for _, c := range goldenCases() {
		f.Add(c.wire[1], c.wire[4:])
	}
	f.Fuzz(func(t *testing.T, typ byte, body []byte) {
		if len(body) > MaxMessageLen-HeaderLen {
			return
		}
		n := HeaderLen + len(body)
		checkDecode(t, append([]byte{Version << 5, typ, byte(n >> 8), byte(n)}, body...))
	})
}

// checkDecode is the property both fuzz targets check.
func checkDecode(t *testing.T, b []byte) {
	m, err := Decode(b)
	if err != nil {
		var pe *Error
		var ue *UnknownMessageError
		if !errors.As(err, &pe) && !errors.As(err, &ue) {
			t.Fatalf("Decode error %v (%T) is neither *Error nor *UnknownMessageError", err, err)
		}
		return
	}
	enc, err := Encode(m)
	if err != nil {
		t.Fatalf("Encode(Decode(b)) failed: %v\n%s", err, Describe(m))
	}
	m2, err := Decode(enc)
	if err != nil {
		t.Fatalf("Decode(Encode(Decode(b))) failed: %v\n%s\n% x", err, Describe(m), enc)
	}
	enc2, err := Encode(m2)
	if err != nil {
		t.Fatalf("second Encode failed: %v", err)
	}
	if !bytes.Equal(enc, enc2) {
		t.Fatalf("re-encoding differs:\n% x\n% x", enc, enc2)
	}
	clearNaN(reflect.ValueOf(m))
	clearNaN(reflect.ValueOf(m2))
	if !reflect.DeepEqual(m, m2) {
		t.Fatalf("re-decoded message differs:\n%#v\n%#v", m, m2)
	}
}

// clearNaN zeroes every NaN float32 reachable from v, which DeepEqual would
// otherwise report as unequal to itself.
func clearNaN(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			clearNaN(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				clearNaN(v.Field(i))
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			clearNaN(v.Index(i))
		}
	case reflect.Array:
		for i := range v.Len() {
			clearNaN(v.Index(i))
		}
	case reflect.Float32:
		if math.IsNaN(v.Float()) && v.CanSet() {
			v.SetFloat(0)
		}
	}
}

// TestDecodeAllocationIsBoundedByLength decodes messages built to maximise
// the number of decoded values per input byte and checks that the bytes
// allocated stay within a fixed multiple of the message length.
func TestDecodeAllocationIsBoundedByLength(t *testing.T) {
	many := func(n int, part []byte) []byte {
		var b []byte
		for range n {
			b = append(b, part...)
		}
		return b
	}
	asSub := cat([]byte{0x20, 4}, be16(1))
	tests := []struct {
		name    string
		in      []byte
		invalid bool
	}{
		{"TruncatedLSPObjects", msg(TypePCRpt, many(16000, obj(ClassLSP, 1, 0))), true},
		{"TruncatedRPObjects", msg(TypePCRep, many(16000, obj(ClassRP, 1, 0))), true},
		{"EmptyEROsAfterReport", msg(TypePCRpt, okLSP, many(16000, emptyERO)), true},
		{"EROOfTinySubobjects", msg(TypePCRpt, okLSP, obj(ClassERO, 1, 0, many(16000, asSub))), false},
		{"ManyReports", msg(TypePCRpt, many(5000, cat(okLSP, emptyERO))), false},
		{"ManyPaths", msg(TypePCRep, okRP, many(16000, emptyERO)), false},
		{"ManyMetrics", msg(TypePCUpd, okSRP, okLSP, emptyERO, many(5000, okMetric)), false},
		{"ManyAssociations", msg(TypePCUpd, okSRP, okLSP, emptyERO,
			many(4000, obj(ClassAssociation, 1, 0, be16(0), be16(0), be16(1), be16(1), ip("127.0.0.1")))), false},
		{"ManyErrorBlocks", msg(TypePCErr, many(3000, cat(okRP, obj(ClassPCEPError, 1, 0, []byte{0, 0, 1, 1})))), false},
		{"ManyUnknownTLVs", msg(TypePCRpt, obj(ClassLSP, 1, 0, lspWord(1, 0), many(16000, tlv(5000))), emptyERO), false},
		{"ManyRequests", msg(TypePCReq, many(2500, cat(okRP, okEndPts))), false},
	}
	const perByte, slack = 48, 64 << 10
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.in) > MaxMessageLen {
				t.Fatalf("test message of %d bytes is too long", len(tt.in))
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := Decode(tt.in)
			runtime.ReadMemStats(&after)
			if (err != nil) != tt.invalid {
				t.Fatalf("Decode error = %v, want error %v", err, tt.invalid)
			}
			got := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d bytes decoded with %d bytes allocated (%.1f per byte)", len(tt.in), got, float64(got)/float64(len(tt.in)))
			if limit := uint64(perByte*len(tt.in) + slack); got > limit {
				t.Fatalf("decoding %d bytes allocated %d bytes, limit %d", len(tt.in), got, limit)
			}
		})
	}
}
