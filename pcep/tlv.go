package pcep

import "net/netip"

// tlvReader iterates over the TLVs of an object body (or of a TLV holding
// sub-TLVs). Each TLV is type (16) | length (16, value only) | value padded
// to a multiple of 4 bytes.
type tlvReader struct {
	b     []byte
	class uint8 // for error messages
	typ   uint16
	val   []byte
	err   error
}

// next advances to the next TLV; it returns false at the end or on error
// (then err is set).
func (r *tlvReader) next() bool {
	if len(r.b) == 0 {
		return false
	}
	if len(r.b) < 4 {
		r.err = malformed(r.class, "truncated TLV header")
		return false
	}
	n := int(be.Uint16(r.b[2:]))
	padded := (n + 3) &^ 3
	if 4+padded > len(r.b) {
		r.err = malformed(r.class, "TLV "+itoa(uint64(be.Uint16(r.b)))+" runs past the end of the object")
		return false
	}
	r.typ = be.Uint16(r.b)
	r.val = r.b[4 : 4+n]
	r.b = r.b[4+padded:]
	return true
}

// badLen records a TLV whose value length is wrong for its type.
func (r *tlvReader) badLen() bool {
	r.err = malformed(r.class, "TLV "+itoa(uint64(r.typ))+" has bad length "+itoa(uint64(len(r.val))))
	return false
}

// unknown appends the current TLV to u as a RawTLV with a copied value.
func (r *tlvReader) unknown(u []RawTLV) []RawTLV {
	return add(u, RawTLV{Type: r.typ, Value: cloneBytes(r.val)})
}

// cloneBytes copies b; an empty b gives nil.
func cloneBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// beginTLV appends a TLV header with a zero length; endTLV fills the length
// in and pads the value to 4 bytes.
func beginTLV(b []byte, t uint16) ([]byte, int) {
	return append(b, byte(t>>8), byte(t), 0, 0), len(b)
}

func endTLV(b []byte, start int) []byte {
	n := len(b) - start - 4
	be.PutUint16(b[start+2:], uint16(n))
	for ; n%4 != 0; n++ {
		b = append(b, 0)
	}
	return b
}

func appendTLV32(b []byte, t uint16, v uint32) []byte {
	return appendU32(append(b, byte(t>>8), byte(t), 0, 4), v)
}

func appendTLV64(b []byte, t uint16, v uint64) []byte {
	return appendU64(append(b, byte(t>>8), byte(t), 0, 8), v)
}

func appendTLVBytes(b []byte, t uint16, v []byte) []byte {
	b, s := beginTLV(b, t)
	return endTLV(append(b, v...), s)
}

func appendTLVString(b []byte, t uint16, v string) []byte {
	b, s := beginTLV(b, t)
	return endTLV(append(b, v...), s)
}

func appendRawTLVs(b []byte, u []RawTLV) []byte {
	for i := range u {
		b = appendTLVBytes(b, u[i].Type, u[i].Value)
	}
	return b
}

// rawTLVsLen checks that unknown TLVs fit in a 16-bit length.
func checkRawTLVs(u []RawTLV) error {
	for i := range u {
		if len(u[i].Value) > MaxMessageLen {
			return encodeErr("TLV " + itoa(uint64(u[i].Type)) + " value longer than 65535 bytes")
		}
	}
	return nil
}

// addr4 and addr16 read addresses from b, which must be long enough.
func addr4(b []byte) netip.Addr { return netip.AddrFrom4([4]byte(b[:4])) }

func addr16(b []byte) netip.Addr { return netip.AddrFrom16([16]byte(b[:16])) }

// appendAddr appends the 4 or 16 bytes of a.
func appendAddr(b []byte, a netip.Addr) []byte {
	if a.Is4() {
		v := a.As4()
		return append(b, v[:]...)
	}
	v := a.As16()
	return append(b, v[:]...)
}

// appendAddrOrZero appends a, or zeros of the family v4 says when a is invalid.
func appendAddrOrZero(b []byte, a netip.Addr, v4 bool) []byte {
	if a.IsValid() {
		return appendAddr(b, a)
	}
	if v4 {
		return append(b, 0, 0, 0, 0)
	}
	return append(b, zero16[:]...)
}

var zero16 [16]byte

// encodeError is a plain error for a value that cannot be encoded.
type encodeError struct{ msg string }

func (e *encodeError) Error() string { return "pcep: cannot encode: " + e.msg }

func encodeErr(msg string) error { return &encodeError{msg: msg} }
