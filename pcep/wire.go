package pcep

import (
	"encoding/binary"
	"errors"
	"strconv"
)

var be = binary.BigEndian

// UnknownMessageError is returned by Decode for a message whose type this
// codec does not know. The message framing was valid, so a session can skip
// it and count it towards the unknown-message limit of RFC 5440.
type UnknownMessageError struct {
	Type MessageType
}

// Error implements error.
func (e UnknownMessageError) Error() string {
	return "pcep: unknown message type " + strconv.Itoa(int(e.Type))
}

// ParseHeader checks the common header at the start of b (at least HeaderLen
// bytes) and returns the message type and the whole message length it
// announces. A version other than 1 is a PCErr 1/8 (the length is still
// returned, so the caller may skip the message); a length shorter than the
// header is a Close with reason 3.
func ParseHeader(b []byte) (t MessageType, length int, err error) {
	if len(b) < HeaderLen {
		return 0, 0, NewCloseError(CloseMalformed, "message shorter than the common header")
	}
	t = MessageType(b[1])
	length = int(be.Uint16(b[2:]))
	if v := b[0] >> 5; v != Version {
		return t, length, NewError(ErrSessionEstablishment, ValVersionNotSupported,
			"unsupported PCEP version "+itoa(uint64(v)))
	}
	if length < HeaderLen {
		return t, length, NewCloseError(CloseMalformed, "message length "+itoa(uint64(length))+" shorter than the common header")
	}
	return t, length, nil
}

// Decode decodes b, which must hold exactly one whole message including its
// common header. Protocol errors are *Error values carrying the PCErr
// type/value or Close reason to answer with; an unknown message type is an
// *UnknownMessageError. The returned message does not alias b.
func Decode(b []byte) (Message, error) {
	t, n, err := ParseHeader(b)
	if err != nil {
		return nil, err
	}
	if n != len(b) {
		return nil, NewCloseError(CloseMalformed, "message length field "+itoa(uint64(n))+
			" disagrees with the "+itoa(uint64(len(b)))+" bytes received")
	}
	d := decoder{b: b[HeaderLen:]}
	switch t {
	case TypeOpen:
		return d.openMsg()
	case TypeKeepalive:
		if len(d.b) != 0 {
			return nil, closeMalformed("Keepalive with a body")
		}
		return &Keepalive{}, nil
	case TypeStartTLS:
		if len(d.b) != 0 {
			return nil, closeMalformed("StartTLS with a body")
		}
		return &StartTLS{}, nil
	case TypeClose:
		return d.closeMsg()
	case TypePCErr:
		return d.pcerrMsg()
	case TypePCReq:
		return d.pcreqMsg()
	case TypePCRep:
		return d.pcrepMsg()
	case TypePCNtf:
		return d.pcntfMsg()
	case TypePCRpt:
		return d.pcrptMsg()
	case TypePCUpd:
		return d.pcupdMsg()
	case TypePCInitiate:
		return d.pcinitiateMsg()
	}
	return nil, &UnknownMessageError{Type: t}
}

// Encode returns the encoding of m in a new buffer.
func Encode(m Message) ([]byte, error) {
	return Append(make([]byte, 0, 256), m)
}

// errNilMessage is returned when asked to encode a nil message.
var errNilMessage = errors.New("pcep: cannot encode a nil message")

// Append appends the encoding of m to dst and returns the extended buffer. It
// does not allocate when dst has room for the message. On error dst is
// returned unchanged (its length is not extended). Errors are plain errors
// naming the value that cannot be encoded (a PLSP-ID wider than 20 bits, a
// name too long, mixed address families, a message over 65535 bytes).
func Append(dst []byte, m Message) ([]byte, error) {
	if m == nil {
		return dst, errNilMessage
	}
	start := len(dst)
	b := append(dst, Version<<5, byte(m.MessageType()), 0, 0)
	var err error
	switch m := m.(type) {
	case *Open:
		if m == nil {
			return dst, errNilMessage
		}
		b, err = appendOpenObj(b, &m.Open)
	case *Keepalive, *StartTLS:
	case *Close:
		if m == nil {
			return dst, errNilMessage
		}
		b = appendCloseObj(b, &m.Close)
	case *PCErr:
		if m == nil {
			return dst, errNilMessage
		}
		b, err = appendPCErr(b, m)
	case *PCReq:
		if m == nil {
			return dst, errNilMessage
		}
		b, err = appendPCReq(b, m)
	case *PCRep:
		if m == nil {
			return dst, errNilMessage
		}
		b, err = appendPCRep(b, m)
	case *PCNtf:
		if m == nil {
			return dst, errNilMessage
		}
		b, err = appendPCNtf(b, m)
	case *PCRpt:
		if m == nil {
			return dst, errNilMessage
		}
		b, err = appendPCRpt(b, m)
	case *PCUpd:
		if m == nil {
			return dst, errNilMessage
		}
		b, err = appendPCUpd(b, m)
	case *PCInitiate:
		if m == nil {
			return dst, errNilMessage
		}
		b, err = appendPCInitiate(b, m)
	default:
		return dst, errors.New("pcep: cannot encode message type " + m.MessageType().String())
	}
	if err != nil {
		return dst[:start], err
	}
	n := len(b) - start
	if n > MaxMessageLen {
		return dst[:start], errors.New("pcep: " + m.MessageType().String() + " message of " +
			itoa(uint64(n)) + " bytes exceeds the 65535-byte limit")
	}
	be.PutUint16(b[start+2:], uint16(n))
	return b, nil
}

// objSupport classifies an object class/type pair.
type objSupport uint8

const (
	objDecoded      objSupport = iota // decoded by this codec
	objUnknownClass                   // class not recognised: 3/1 when P is set
	objUnknownType                    // recognised class, unknown type: 3/2 when P is set
	objUnsupported                    // recognised class this codec does not decode: 4/1 when P is set
)

func classifyObject(class, typ uint8) objSupport {
	switch class {
	case ClassOpen, ClassRP, ClassNoPath, ClassMetric, ClassERO, ClassRRO, ClassLSPA, ClassIRO,
		ClassSVEC, ClassNotification, ClassPCEPError, ClassClose, ClassLSP, ClassSRP, ClassVendorInfo:
		if typ == 1 {
			return objDecoded
		}
		return objUnknownType
	case ClassEndPoints, ClassBandwidth, ClassAssociation:
		if typ == 1 || typ == 2 {
			return objDecoded
		}
		return objUnknownType
	case ClassLoadBalancing, ClassPathKey, ClassXRO, ClassOF:
		return objUnsupported
	}
	return objUnknownClass
}

// object is one object of a message being decoded: its header fields and a
// body that aliases the message.
type object struct {
	class uint8
	typ   uint8
	flags ObjFlags
	body  []byte
}

// decoder walks the objects of a message body. Objects of unknown class or
// type without the P flag are skipped; with P they are errors.
type decoder struct {
	b      []byte // objects not yet taken
	next   object // the peeked object, when peeked
	rest   []byte // b after the peeked object
	peeked bool
}

// peek returns the class of the next object to decode, or 0 at the end of the
// message, without consuming it.
func (d *decoder) peek() (uint8, error) {
	if d.peeked {
		return d.next.class, nil
	}
	for len(d.b) > 0 {
		if len(d.b) < 4 {
			return 0, closeMalformed("truncated object header")
		}
		class, typ := d.b[0], d.b[1]>>4
		n := int(be.Uint16(d.b[2:]))
		if n > len(d.b) {
			return 0, closeMalformed("object class " + itoa(uint64(class)) + " runs past the end of the message")
		}
		if n < 4 || n%4 != 0 {
			return 0, NewError(ErrInvalidObject, ValMalformedObject,
				"object class "+itoa(uint64(class))+" has bad length "+itoa(uint64(n)))
		}
		p := d.b[1]&0x02 != 0
		switch classifyObject(class, typ) {
		case objDecoded:
			d.next = object{class: class, typ: typ, flags: ObjFlags{P: p, I: d.b[1]&0x01 != 0}, body: d.b[4:n]}
			d.rest = d.b[n:]
			d.peeked = true
			return class, nil
		case objUnknownClass:
			if p {
				return 0, NewError(ErrUnknownObject, ValObjectClass, "unknown object class "+itoa(uint64(class)))
			}
		case objUnknownType:
			if p {
				return 0, NewError(ErrUnknownObject, ValObjectType,
					"unknown object type "+itoa(uint64(typ))+" of class "+itoa(uint64(class)))
			}
		case objUnsupported:
			if p {
				return 0, NewError(ErrNotSupportedObject, ValObjectClass, "unsupported object class "+itoa(uint64(class)))
			}
		}
		d.b = d.b[n:]
	}
	return 0, nil
}

// take consumes and returns the peeked object; peek must have returned a
// non-zero class.
func (d *decoder) take() object {
	d.b = d.rest
	d.peeked = false
	return d.next
}

// count returns how many objects of class, at least minLen bytes long, the
// rest of the message holds, without validating them beyond their framing.
// It sizes slices exactly; minLen keeps a message of truncated objects from
// reserving more entries than it could ever fill.
func (d *decoder) count(class uint8, minLen int) int {
	n := 0
	b := d.b
	for len(b) >= 4 {
		l := int(be.Uint16(b[2:]))
		if l < 4 || l > len(b) {
			break
		}
		if b[0] == class && l >= minLen {
			n++
		}
		b = b[l:]
	}
	return n
}

func closeMalformed(msg string) *Error {
	return NewCloseError(CloseMalformed, msg)
}

func malformed(class uint8, what string) *Error {
	return NewError(ErrInvalidObject, ValMalformedObject, className(class)+" object: "+what)
}

func missing(v uint8, what string) *Error {
	return NewError(ErrMandatoryMissing, v, what+" object missing")
}

// className names an object class for error messages and Describe.
func className(c uint8) string {
	switch c {
	case ClassOpen:
		return "OPEN"
	case ClassRP:
		return "RP"
	case ClassNoPath:
		return "NO-PATH"
	case ClassEndPoints:
		return "END-POINTS"
	case ClassBandwidth:
		return "BANDWIDTH"
	case ClassMetric:
		return "METRIC"
	case ClassERO:
		return "ERO"
	case ClassRRO:
		return "RRO"
	case ClassLSPA:
		return "LSPA"
	case ClassIRO:
		return "IRO"
	case ClassSVEC:
		return "SVEC"
	case ClassNotification:
		return "NOTIFICATION"
	case ClassPCEPError:
		return "PCEP-ERROR"
	case ClassClose:
		return "CLOSE"
	case ClassLSP:
		return "LSP"
	case ClassSRP:
		return "SRP"
	case ClassVendorInfo:
		return "VENDOR-INFORMATION"
	case ClassAssociation:
		return "ASSOCIATION"
	}
	return "class-" + itoa(uint64(c))
}

// beginObj appends an object header with a zero length and returns where it
// starts; endObj fills the length in.
func beginObj(b []byte, class, typ uint8, f ObjFlags) ([]byte, int) {
	fl := typ << 4
	if f.P {
		fl |= 0x02
	}
	if f.I {
		fl |= 0x01
	}
	return append(b, class, fl, 0, 0), len(b)
}

func endObj(b []byte, start int) []byte {
	be.PutUint16(b[start+2:], uint16(len(b)-start))
	return b
}

func appendU16(b []byte, v uint16) []byte { return append(b, byte(v>>8), byte(v)) }

func appendU32(b []byte, v uint32) []byte {
	return append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func appendU64(b []byte, v uint64) []byte {
	return appendU32(appendU32(b, uint32(v>>32)), uint32(v))
}

// add appends v to s, doubling the capacity when full. Decoders use it for
// lists whose length is not known in advance, so that the garbage left by
// growth stays within twice the final size (append grows large slices by
// only 1.25x, which would leave several times the final size behind).
func add[T any](s []T, v T) []T {
	if len(s) == cap(s) {
		ns := make([]T, len(s), 2*cap(s)+2)
		copy(ns, s)
		s = ns
	}
	return append(s, v)
}

// countUntil returns how many objects of class precede the next object of
// class stop in the rest of the message (framing only, as count).
func (d *decoder) countUntil(class, stop uint8) int {
	n := 0
	b := d.b
	for len(b) >= 4 {
		l := int(be.Uint16(b[2:]))
		if l < 4 || l > len(b) || b[0] == stop {
			break
		}
		if b[0] == class {
			n++
		}
		b = b[l:]
	}
	return n
}
