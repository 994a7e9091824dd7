package telemetry

import (
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// The protobuf field numbers of the gNMI messages a notification is made
// of, as gnmi.proto declares them.
const (
	fieldResponseUpdate = 1 // SubscribeResponse.update

	fieldNoteTimestamp = 1 // Notification.timestamp
	fieldNotePrefix    = 2 // Notification.prefix
	fieldNoteUpdate    = 4 // Notification.update
	fieldNoteDelete    = 5 // Notification.delete

	fieldPathElem = 3 // Path.elem

	fieldElemName = 1 // PathElem.name
	fieldElemKey  = 2 // PathElem.key (map<string, string>)
	fieldMapKey   = 1 // a map entry's key
	fieldMapValue = 2 // a map entry's value

	fieldUpdatePath = 1 // Update.path
	fieldUpdateVal  = 3 // Update.val

	fieldValString   = 1  // TypedValue.string_val
	fieldValInt      = 2  // TypedValue.int_val
	fieldValUint     = 3  // TypedValue.uint_val
	fieldValBool     = 4  // TypedValue.bool_val
	fieldValFloat    = 6  // TypedValue.float_val
	fieldValLeaflist = 8  // TypedValue.leaflist_val
	fieldValDouble   = 14 // TypedValue.double_val

	fieldArrayElement = 1 // ScalarArray.element
)

// errInvalidUTF8 is returned for a string that protobuf would refuse to
// marshal: proto3 string fields must hold valid UTF-8.
var errInvalidUTF8 = errors.New("string field contains invalid UTF-8")

// notePrefix is the prefix of the notifications a subscriber sends, in wire
// form: set is false when they carry none.
type notePrefix struct {
	set  bool
	wire []byte
}

// newNotePrefix returns the wire form of p (no prefix for nil).
func newNotePrefix(p *gpb.Path) (notePrefix, error) {
	if p == nil {
		return notePrefix{}, nil
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(p)
	if err != nil {
		return notePrefix{}, err
	}
	return notePrefix{set: true, wire: b}, nil
}

// bytesField returns the size of a length-delimited field with n bytes of
// content and a one-byte tag (every field number used here is below 16).
func bytesField(n int) int { return 1 + protowire.SizeBytes(n) }

// appendBytesHeader appends the tag and length of a length-delimited field.
func appendBytesHeader(b []byte, num protowire.Number, n int) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(n))
}

// stringField returns the size of string field s as protobuf writes it in
// a message: nothing for the empty string (proto3 omits it).
func stringField(s string) int {
	if s == "" {
		return 0
	}
	return bytesField(len(s))
}

func appendStringField(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// mapEntrySize returns the size of the content of a map<string, string>
// entry: protobuf writes both its key and its value, even empty ones.
func mapEntrySize(k, v string) int { return bytesField(len(k)) + bytesField(len(v)) }

// nameElemRecord returns the size of the Path.elem field of a PathElem
// holding only name.
func nameElemRecord(name string) int { return bytesField(stringField(name)) }

// appendNameElem appends the Path.elem field of a PathElem holding only name.
func appendNameElem(b []byte, name string) []byte {
	b = appendBytesHeader(b, fieldPathElem, stringField(name))
	return appendStringField(b, fieldElemName, name)
}

// appendEntityElems appends the Path.elem fields of the path es, keys
// sorted by name (protobuf gives map entries in no particular order).
func appendEntityElems(b []byte, es []celem) ([]byte, error) {
	for i := range es {
		e := &es[i]
		if !utf8.ValidString(e.name) {
			return nil, errInvalidUTF8
		}
		size := stringField(e.name)
		var names, vals []string
		if e.entry != nil {
			names = e.entry.parent.list.keyNames
			if len(names) == 1 {
				vals = []string{e.entry.name}
			} else {
				vals = e.entry.keyValues()
			}
			for j, k := range names {
				if !utf8.ValidString(k) || !utf8.ValidString(vals[j]) {
					return nil, errInvalidUTF8
				}
				size += bytesField(mapEntrySize(k, vals[j]))
			}
		}
		b = appendBytesHeader(b, fieldPathElem, size)
		b = appendStringField(b, fieldElemName, e.name)
		for j, k := range names {
			b = appendBytesHeader(b, fieldElemKey, mapEntrySize(k, vals[j]))
			b = appendBytesHeader(b, fieldMapKey, len(k))
			b = append(b, k...)
			b = appendBytesHeader(b, fieldMapValue, len(vals[j]))
			b = append(b, vals[j]...)
		}
	}
	return b, nil
}

// uintListSize returns the size of the ScalarArray of the unsigned
// integers packed in s (see packUintList).
func uintListSize(s string) int {
	n := 0
	for len(s) > 0 {
		x, k := uvarint(s)
		if k <= 0 {
			break
		}
		s = s[k:]
		n += bytesField(1 + protowire.SizeVarint(x))
	}
	return n
}

// valueSize returns the size of the TypedValue of l; ok is false when l
// holds no value (such a leaf is left out of a notification, as
// leaf.typedValue returns nil for it).
func valueSize(l *leaf) (n int, ok bool, err error) {
	switch l.kind() {
	case kindString:
		s := l.text()
		if !utf8.ValidString(s) {
			return 0, false, errInvalidUTF8
		}
		return bytesField(len(s)), true, nil
	case kindUint, kindInt:
		return 1 + protowire.SizeVarint(l.u), true, nil
	case kindBool:
		return 2, true, nil
	case kindDouble:
		return 1 + 8, true, nil
	case kindFloat:
		return 1 + 4, true, nil
	case kindUintList:
		return bytesField(uintListSize(l.text())), true, nil
	case kindProto:
		// The value is held in its own wire form, made by proto.Marshal.
		return len(l.text()), true, nil
	}
	return 0, false, nil
}

// appendValue appends the TypedValue of l, for which valueSize said ok.
func appendValue(b []byte, l *leaf) []byte {
	switch l.kind() {
	case kindString:
		b = protowire.AppendTag(b, fieldValString, protowire.BytesType)
		return protowire.AppendString(b, l.text())
	case kindUint:
		b = protowire.AppendTag(b, fieldValUint, protowire.VarintType)
		return protowire.AppendVarint(b, l.u)
	case kindInt:
		b = protowire.AppendTag(b, fieldValInt, protowire.VarintType)
		return protowire.AppendVarint(b, l.u)
	case kindBool:
		b = protowire.AppendTag(b, fieldValBool, protowire.VarintType)
		return protowire.AppendVarint(b, protowire.EncodeBool(l.u != 0))
	case kindDouble:
		b = protowire.AppendTag(b, fieldValDouble, protowire.Fixed64Type)
		return protowire.AppendFixed64(b, l.u)
	case kindFloat:
		b = protowire.AppendTag(b, fieldValFloat, protowire.Fixed32Type)
		return protowire.AppendFixed32(b, uint32(l.u))
	case kindUintList:
		s := l.text()
		b = appendBytesHeader(b, fieldValLeaflist, uintListSize(s))
		for len(s) > 0 {
			x, k := uvarint(s)
			if k <= 0 {
				break
			}
			s = s[k:]
			b = appendBytesHeader(b, fieldArrayElement, 1+protowire.SizeVarint(x))
			b = protowire.AppendTag(b, fieldValUint, protowire.VarintType)
			b = protowire.AppendVarint(b, x)
		}
		return b
	case kindProto:
		return append(b, l.text()...)
	}
	return b
}

// leafPathSize returns the size of the Path of leaf sl, entElems being the
// size of the entity's Path.elem fields.
func leafPathSize(sl *snapLeaf, entElems int) (int, error) {
	n := entElems
	for _, r := range sl.rel {
		if !utf8.ValidString(r) {
			return 0, errInvalidUTF8
		}
		n += nameElemRecord(r)
	}
	if !utf8.ValidString(sl.name) {
		return 0, errInvalidUTF8
	}
	return n + nameElemRecord(sl.name), nil
}

// delPathSize returns the size of the Path.elem fields of the elements of
// dp, a '/'-separated path relative to the entity.
func delPathSize(dp string) (int, error) {
	if !utf8.ValidString(dp) {
		return 0, errInvalidUTF8
	}
	n := 0
	for {
		i := strings.IndexByte(dp, '/')
		if i < 0 {
			return n + nameElemRecord(dp), nil
		}
		n += nameElemRecord(dp[:i])
		dp = dp[i+1:]
	}
}

// appendDelPathElems appends the Path.elem fields of the elements of dp.
func appendDelPathElems(b []byte, dp string) []byte {
	for {
		i := strings.IndexByte(dp, '/')
		if i < 0 {
			return appendNameElem(b, dp)
		}
		b = appendNameElem(b, dp[:i])
		dp = dp[i+1:]
	}
}

// maxInlineEntityElems is the size of the entity path that appendResponse
// keeps on the stack.
const maxInlineEntityElems = 256

// appendResponse appends to b the wire form of the SubscribeResponse that
// carries the notification sn.note gives for prefix: bytes that decode to
// the same message, written straight from the snapshot instead of building
// the notification's objects and marshalling them. Like proto.Marshal, it
// refuses strings that are not valid UTF-8.
func (sn *snap) appendResponse(b []byte, prefix notePrefix) ([]byte, error) {
	var entBuf [maxInlineEntityElems]byte
	ent, err := appendEntityElems(entBuf[:0], sn.elems)
	if err != nil {
		return nil, err
	}
	// Sizes first: every message is preceded by its length.
	size := 0
	if sn.ts != 0 {
		size += 1 + protowire.SizeVarint(uint64(sn.ts))
	}
	if prefix.set {
		size += bytesField(len(prefix.wire))
	}
	for i := range sn.leaves {
		sl := &sn.leaves[i]
		vs, ok, err := valueSize(&sl.l)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		ps, err := leafPathSize(sl, len(ent))
		if err != nil {
			return nil, err
		}
		size += bytesField(bytesField(ps) + bytesField(vs))
	}
	if sn.deleted {
		size += bytesField(len(ent))
	}
	for _, dp := range sn.delPaths {
		ds, err := delPathSize(dp)
		if err != nil {
			return nil, err
		}
		size += bytesField(len(ent) + ds)
	}
	b = slices.Grow(b, bytesField(size))
	b = appendBytesHeader(b, fieldResponseUpdate, size)
	if sn.ts != 0 {
		b = protowire.AppendTag(b, fieldNoteTimestamp, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(sn.ts))
	}
	if prefix.set {
		b = appendBytesHeader(b, fieldNotePrefix, len(prefix.wire))
		b = append(b, prefix.wire...)
	}
	for i := range sn.leaves {
		sl := &sn.leaves[i]
		vs, ok, _ := valueSize(&sl.l)
		if !ok {
			continue
		}
		ps, _ := leafPathSize(sl, len(ent))
		b = appendBytesHeader(b, fieldNoteUpdate, bytesField(ps)+bytesField(vs))
		b = appendBytesHeader(b, fieldUpdatePath, ps)
		b = append(b, ent...)
		for _, r := range sl.rel {
			b = appendNameElem(b, r)
		}
		b = appendNameElem(b, sl.name)
		b = appendBytesHeader(b, fieldUpdateVal, vs)
		b = appendValue(b, &sl.l)
	}
	if sn.deleted {
		b = appendBytesHeader(b, fieldNoteDelete, len(ent))
		b = append(b, ent...)
	}
	for _, dp := range sn.delPaths {
		ds, _ := delPathSize(dp)
		b = appendBytesHeader(b, fieldNoteDelete, len(ent)+ds)
		b = append(b, ent...)
		b = appendDelPathElems(b, dp)
	}
	return b, nil
}
