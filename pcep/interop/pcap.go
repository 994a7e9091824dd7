package interop

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"
)

// Sizes of the headers PcapWriter puts in front of each payload.
const (
	ethernetHeaderLen = 14
	ipv4HeaderLen     = 20
	tcpHeaderLen      = 20
	maxTCPPayload     = 65535 - ipv4HeaderLen - tcpHeaderLen
)

// PcapWriter writes a classic libpcap file (microsecond timestamps, link
// type Ethernet) holding one unidirectional TCP stream. Each WriteSegment
// call becomes one frame whose TCP payload is exactly the bytes given, with
// sequence numbers that follow on from the previous segment, so that a
// dissector reassembles the stream as it would a live capture.
//
// The frames carry correct IPv4 and TCP checksums and lengths: a capture
// tool that validates them sees a clean stream.
type PcapWriter struct {
	w        io.Writer
	src, dst netip.AddrPort
	seq      uint32
	ipID     uint16
	ts       time.Time
	err      error
}

// NewPcapWriter writes the pcap global header to w and returns a writer for
// the stream from src to dst (IPv4 addresses only). Timestamps start at
// start and advance by one millisecond per frame, so files are reproducible.
func NewPcapWriter(w io.Writer, src, dst netip.AddrPort, start time.Time) (*PcapWriter, error) {
	if !src.Addr().Is4() || !dst.Addr().Is4() {
		return nil, errors.New("pcap writer: only IPv4 endpoints are supported")
	}
	var hdr [24]byte
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4) // magic, microseconds
	binary.LittleEndian.PutUint16(hdr[4:], 2)          // version 2.4
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	// thiszone and sigfigs stay 0.
	binary.LittleEndian.PutUint32(hdr[16:], 262144) // snaplen
	binary.LittleEndian.PutUint32(hdr[20:], 1)      // LINKTYPE_ETHERNET
	if _, err := w.Write(hdr[:]); err != nil {
		return nil, fmt.Errorf("pcap writer: global header: %w", err)
	}
	return &PcapWriter{w: w, src: src, dst: dst, seq: 1000, ipID: 1, ts: start}, nil
}

// WriteSegment writes one Ethernet/IPv4/TCP frame (flags PSH+ACK) carrying
// payload. The first error is sticky.
func (p *PcapWriter) WriteSegment(payload []byte) error {
	if p.err != nil {
		return p.err
	}
	if len(payload) > maxTCPPayload {
		p.err = fmt.Errorf("pcap writer: payload of %d bytes does not fit one IPv4 packet", len(payload))
		return p.err
	}
	frame := make([]byte, ethernetHeaderLen+ipv4HeaderLen+tcpHeaderLen+len(payload))

	eth := frame[:ethernetHeaderLen]
	copy(eth[0:6], []byte{0x02, 0, 0, 0, 0, 0x02})  // destination MAC (locally administered)
	copy(eth[6:12], []byte{0x02, 0, 0, 0, 0, 0x01}) // source MAC
	binary.BigEndian.PutUint16(eth[12:], 0x0800)    // IPv4

	ip := frame[ethernetHeaderLen : ethernetHeaderLen+ipv4HeaderLen]
	ip[0] = 0x45 // version 4, IHL 5
	binary.BigEndian.PutUint16(ip[2:], uint16(ipv4HeaderLen+tcpHeaderLen+len(payload)))
	binary.BigEndian.PutUint16(ip[4:], p.ipID)
	binary.BigEndian.PutUint16(ip[6:], 0x4000) // DF
	ip[8] = 64                                 // TTL
	ip[9] = 6                                  // TCP
	src, dst := p.src.Addr().As4(), p.dst.Addr().As4()
	copy(ip[12:16], src[:])
	copy(ip[16:20], dst[:])
	binary.BigEndian.PutUint16(ip[10:], checksum(0, ip))

	tcp := frame[ethernetHeaderLen+ipv4HeaderLen:]
	binary.BigEndian.PutUint16(tcp[0:], p.src.Port())
	binary.BigEndian.PutUint16(tcp[2:], p.dst.Port())
	binary.BigEndian.PutUint32(tcp[4:], p.seq)
	binary.BigEndian.PutUint32(tcp[8:], 1) // ack
	tcp[12] = tcpHeaderLen / 4 << 4        // data offset
	tcp[13] = 0x18                         // PSH, ACK
	binary.BigEndian.PutUint16(tcp[14:], 65535)
	copy(tcp[tcpHeaderLen:], payload)
	// Pseudo-header: source, destination, zero, protocol, TCP length.
	var pseudo [12]byte
	copy(pseudo[0:4], src[:])
	copy(pseudo[4:8], dst[:])
	pseudo[9] = 6
	binary.BigEndian.PutUint16(pseudo[10:], uint16(len(tcp)))
	binary.BigEndian.PutUint16(tcp[16:], checksum(sum(0, pseudo[:]), tcp))

	var rec [16]byte
	binary.LittleEndian.PutUint32(rec[0:], uint32(p.ts.Unix()))
	binary.LittleEndian.PutUint32(rec[4:], uint32(p.ts.Nanosecond()/1000))
	binary.LittleEndian.PutUint32(rec[8:], uint32(len(frame)))
	binary.LittleEndian.PutUint32(rec[12:], uint32(len(frame)))
	if _, err := p.w.Write(rec[:]); err != nil {
		p.err = fmt.Errorf("pcap writer: record header: %w", err)
		return p.err
	}
	if _, err := p.w.Write(frame); err != nil {
		p.err = fmt.Errorf("pcap writer: frame: %w", err)
		return p.err
	}
	p.seq += uint32(len(payload))
	p.ipID++
	p.ts = p.ts.Add(time.Millisecond)
	return nil
}

// sum adds b to the running one's complement sum s (RFC 1071).
func sum(s uint32, b []byte) uint32 {
	for len(b) >= 2 {
		s += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

// checksum returns the Internet checksum of b with the partial sum s folded
// in. The checksum field inside b must be zero.
func checksum(s uint32, b []byte) uint16 {
	s = sum(s, b)
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// SplitMessages cuts a recorded PCEP byte stream into whole messages using
// the length field of each common header. It returns the messages and the
// bytes of an incomplete message left at the end, if any. A length below the
// header size is an error: the stream cannot be framed past it.
func SplitMessages(stream []byte) (msgs [][]byte, rest []byte, err error) {
	for len(stream) >= 4 {
		n := int(binary.BigEndian.Uint16(stream[2:4]))
		if n < 4 {
			return msgs, stream, fmt.Errorf("split: message length %d below header size", n)
		}
		if n > len(stream) {
			break
		}
		msgs = append(msgs, stream[:n:n])
		stream = stream[n:]
	}
	return msgs, stream, nil
}
