package pcep

import (
	"errors"
	"net/netip"
	"testing"
)

// Hand-written wire builders for tests. They follow the RFC layouts directly
// and share no code with the encoder, so that golden tests check the encoder
// independently.

// msg builds a message: common header (version 1, flags 0, type, length)
// followed by the objects.
func msg(t MessageType, objs ...[]byte) []byte {
	n := 4
	for _, o := range objs {
		n += len(o)
	}
	b := []byte{0x20, byte(t), byte(n >> 8), byte(n)}
	for _, o := range objs {
		b = append(b, o...)
	}
	return b
}

// obj builds an object: class, type<<4 | P<<1 | I, length, body. The body is
// used as given (callers keep it 4-byte aligned unless testing misalignment).
func obj(class, typ uint8, pi byte, body ...[]byte) []byte {
	var bb []byte
	for _, p := range body {
		bb = append(bb, p...)
	}
	n := 4 + len(bb)
	return append([]byte{class, typ<<4 | pi, byte(n >> 8), byte(n)}, bb...)
}

// tlv builds a TLV with its value padded to 4 bytes; the length field is
// the unpadded value length.
func tlv(t uint16, v ...byte) []byte {
	b := []byte{byte(t >> 8), byte(t), byte(len(v) >> 8), byte(len(v))}
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func be16(v uint16) []byte { return []byte{byte(v >> 8), byte(v)} }

func be32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

func ip(s string) []byte { return netip.MustParseAddr(s).AsSlice() }

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// srLabelSub is an SR-ERO subobject: NT 0, F and M set, label in the top 20
// bits of the SID (RFC 8664 section 4.3.1).
func srLabelSub(label uint32) []byte {
	return cat([]byte{0x24, 8}, be16(0<<12|0x008|0x001), be32(label<<12))
}

// lspWord is the first word of an LSP object: PLSP-ID (20) | flags (12).
func lspWord(plspID uint32, flags uint16) []byte { return be32(plspID<<12 | uint32(flags)) }

// wantErr checks that err is a *Error with the given PCErr type/value and
// close reason.
func wantErr(t *testing.T, err error, typ, val, closeReason uint8) {
	t.Helper()
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("error = %v (%T), want *pcep.Error %d/%d close %d", err, err, typ, val, closeReason)
	}
	if pe.Type != typ || pe.Value != val || pe.CloseReason != closeReason {
		t.Fatalf("error = %v, want PCErr %d/%d close reason %d", pe, typ, val, closeReason)
	}
}
