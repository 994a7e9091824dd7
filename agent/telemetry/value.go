package telemetry

import (
	"encoding/binary"
	"math"
	"unsafe"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/protobuf/proto"
)

// kind says how a leaf's value is stored in a leaf's p and u fields.
type kind uint8

const (
	kindString   kind = iota + 1 // p, u: the string
	kindUint                     // u
	kindInt                      // u holds the int64 bits
	kindBool                     // u is 0 or 1
	kindDouble                   // u holds the float64 bits
	kindFloat                    // u holds the float32 bits (deprecated gNMI float_val)
	kindUintList                 // p, u: the values as consecutive uvarints (a leaf-list of unsigned integers)
	kindProto                    // p, u: the deterministic protobuf encoding of the TypedValue
)

// hasText says whether values of kind k are held as a string (p, u).
func (k kind) hasText() bool { return k == kindString || k == kindUintList || k == kindProto }

// leaf is one stored leaf value. It is kept small (24 bytes, three words)
// because a cache with 100,000 LSPs and policies holds over two million of
// them: the leaf's name is not stored here but in the shape of the node
// that holds it (see shape), and the value is stored in compact form and
// turned back into a gNMI TypedValue only when sent.
//
// A value held as a string (kind.hasText) is kept as its data pointer p and
// its length u, so that a string costs no more than a number: p is the
// first byte of an immutable string (nil when the string is empty), which
// keeps the string's memory alive for the garbage collector.
type leaf struct {
	p    unsafe.Pointer
	u    uint64
	meta uint64 // seq<<8 | kind: seq is the cache sequence number of the last value change
}

func (l *leaf) kind() kind             { return kind(l.meta & 0xff) }
func (l *leaf) seq() uint64            { return l.meta >> 8 }
func mkMeta(seq uint64, k kind) uint64 { return seq<<8 | uint64(k) }

// text returns the string of a value held as a string ("" for others).
func (l *leaf) text() string {
	if !l.kind().hasText() || l.p == nil {
		return ""
	}
	return unsafe.String((*byte)(l.p), int(l.u))
}

// makeLeaf returns the leaf holding a value in the form encodeValue gives.
func makeLeaf(k kind, s string, u uint64, seq uint64) leaf {
	l := leaf{u: u, meta: mkMeta(seq, k)}
	if k.hasText() {
		l.u = uint64(len(s))
		if len(s) > 0 {
			l.p = unsafe.Pointer(unsafe.StringData(s))
		}
	}
	return l
}

// sameValue says whether l holds the value of kind k given as s and u.
func (l *leaf) sameValue(k kind, s string, u uint64) bool {
	if l.kind() != k {
		return false
	}
	if k.hasText() {
		return l.text() == s
	}
	return l.u == u
}

// encodeValue converts v into the compact form. ok is false for a nil or
// empty value, which the cache does not store.
func encodeValue(v *gpb.TypedValue) (k kind, s string, u uint64, ok bool) {
	switch x := v.GetValue().(type) {
	case *gpb.TypedValue_StringVal:
		return kindString, x.StringVal, 0, true
	case *gpb.TypedValue_UintVal:
		return kindUint, "", x.UintVal, true
	case *gpb.TypedValue_IntVal:
		return kindInt, "", uint64(x.IntVal), true
	case *gpb.TypedValue_BoolVal:
		if x.BoolVal {
			return kindBool, "", 1, true
		}
		return kindBool, "", 0, true
	case *gpb.TypedValue_DoubleVal:
		return kindDouble, "", math.Float64bits(x.DoubleVal), true
	case *gpb.TypedValue_FloatVal:
		return kindFloat, "", uint64(math.Float32bits(x.FloatVal)), true
	case *gpb.TypedValue_LeaflistVal:
		if s, ok := packUintList(x.LeaflistVal.GetElement()); ok {
			return kindUintList, s, 0, true
		}
	case nil:
		return 0, "", 0, false
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(v)
	if err != nil {
		return 0, "", 0, false
	}
	return kindProto, string(b), 0, true
}

// packUintList packs a leaf-list whose elements are all unsigned integers.
func packUintList(elems []*gpb.TypedValue) (string, bool) {
	var buf [64]byte
	b, ok := appendUintList(buf[:0], elems)
	if !ok {
		return "", false
	}
	return string(b), true
}

// appendUintList appends to b the packed form of a leaf-list whose
// elements are all unsigned integers: each as a uvarint.
func appendUintList(b []byte, elems []*gpb.TypedValue) ([]byte, bool) {
	for _, e := range elems {
		x, ok := e.GetValue().(*gpb.TypedValue_UintVal)
		if !ok {
			return b, false
		}
		b = binary.AppendUvarint(b, x.UintVal)
	}
	return b, true
}

// typedValue rebuilds the gNMI value of l.
func (l *leaf) typedValue() *gpb.TypedValue {
	switch l.kind() {
	case kindString:
		return &gpb.TypedValue{Value: &gpb.TypedValue_StringVal{StringVal: l.text()}}
	case kindUint:
		return &gpb.TypedValue{Value: &gpb.TypedValue_UintVal{UintVal: l.u}}
	case kindInt:
		return &gpb.TypedValue{Value: &gpb.TypedValue_IntVal{IntVal: int64(l.u)}}
	case kindBool:
		return &gpb.TypedValue{Value: &gpb.TypedValue_BoolVal{BoolVal: l.u != 0}}
	case kindDouble:
		return &gpb.TypedValue{Value: &gpb.TypedValue_DoubleVal{DoubleVal: math.Float64frombits(l.u)}}
	case kindFloat:
		return &gpb.TypedValue{Value: &gpb.TypedValue_FloatVal{FloatVal: math.Float32frombits(uint32(l.u))}}
	case kindUintList:
		arr := &gpb.ScalarArray{}
		b := l.text()
		for len(b) > 0 {
			x, n := uvarint(b)
			if n <= 0 {
				break
			}
			b = b[n:]
			arr.Element = append(arr.Element, &gpb.TypedValue{Value: &gpb.TypedValue_UintVal{UintVal: x}})
		}
		return &gpb.TypedValue{Value: &gpb.TypedValue_LeaflistVal{LeaflistVal: arr}}
	case kindProto:
		v := &gpb.TypedValue{}
		if err := proto.Unmarshal([]byte(l.text()), v); err != nil {
			return nil
		}
		return v
	}
	return nil
}

// valueArena allocates the TypedValues of one notification in arrays, one
// per common kind, instead of two objects per leaf.
type valueArena struct {
	tvs   []gpb.TypedValue
	strs  []gpb.TypedValue_StringVal
	uints []gpb.TypedValue_UintVal
	bools []gpb.TypedValue_BoolVal
}

// reserve sizes the arena for leaves.
func (a *valueArena) reserve(leaves []snapLeaf) {
	var ns, nu, nb int
	for i := range leaves {
		switch leaves[i].l.kind() {
		case kindString:
			ns++
		case kindUint:
			nu++
		case kindBool:
			nb++
		}
	}
	a.tvs = make([]gpb.TypedValue, 0, len(leaves))
	a.strs = make([]gpb.TypedValue_StringVal, 0, ns)
	a.uints = make([]gpb.TypedValue_UintVal, 0, nu)
	a.bools = make([]gpb.TypedValue_BoolVal, 0, nb)
}

// value returns the gNMI value of l, from the arena when it has room.
func (a *valueArena) value(l *leaf) *gpb.TypedValue {
	if len(a.tvs) == cap(a.tvs) {
		return l.typedValue()
	}
	var tv *gpb.TypedValue
	take := func() *gpb.TypedValue {
		a.tvs = a.tvs[:len(a.tvs)+1]
		return &a.tvs[len(a.tvs)-1]
	}
	switch l.kind() {
	case kindString:
		if len(a.strs) < cap(a.strs) {
			a.strs = a.strs[:len(a.strs)+1]
			w := &a.strs[len(a.strs)-1]
			w.StringVal = l.text()
			tv = take()
			tv.Value = w
		}
	case kindUint:
		if len(a.uints) < cap(a.uints) {
			a.uints = a.uints[:len(a.uints)+1]
			w := &a.uints[len(a.uints)-1]
			w.UintVal = l.u
			tv = take()
			tv.Value = w
		}
	case kindBool:
		if len(a.bools) < cap(a.bools) {
			a.bools = a.bools[:len(a.bools)+1]
			w := &a.bools[len(a.bools)-1]
			w.BoolVal = l.u != 0
			tv = take()
			tv.Value = w
		}
	}
	if tv == nil {
		return l.typedValue()
	}
	return tv
}

// uvarint decodes a uvarint from the start of s as binary.Uvarint does from
// a byte slice: the value and the number of bytes read, or n <= 0 on error.
func uvarint(s string) (uint64, int) {
	var x uint64
	var shift uint
	for i := 0; i < len(s); i++ {
		if i == binary.MaxVarintLen64 {
			return 0, -(i + 1) // overflow
		}
		c := s[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				return 0, -(i + 1) // overflow
			}
			return x | uint64(c)<<shift, i + 1
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	return 0, 0
}
