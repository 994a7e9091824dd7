package interop

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

func TestChecksumMatchesKnownIPv4Header(t *testing.T) {
	// A well-known IPv4 header (192.168.0.1 -> 192.168.0.199, UDP) whose
	// checksum is 0xb861.
	hdr := []byte{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7}
	if got := checksum(0, hdr); got != 0xb861 {
		t.Fatalf("checksum = %#04x, want 0xb861", got)
	}
	binary.BigEndian.PutUint16(hdr[10:], 0xb861)
	if got := checksum(0, hdr); got != 0 {
		t.Fatalf("checksum over a header with its checksum = %#04x, want 0", got)
	}
}

func TestPcapWriterFramesConsecutiveSegments(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewPcapWriter(&buf, netip.MustParseAddrPort("127.0.0.2:40000"),
		netip.MustParseAddrPort("127.0.0.1:4189"), time.Unix(1_700_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	payloads := [][]byte{{0x20, 0x02, 0x00, 0x04}, {0x20, 0x0d, 0x00, 0x04, 0xff}}
	for _, p := range payloads {
		if err := w.WriteSegment(p); err != nil {
			t.Fatal(err)
		}
	}
	b := buf.Bytes()
	if got := binary.LittleEndian.Uint32(b); got != 0xa1b2c3d4 {
		t.Fatalf("magic %#x", got)
	}
	b = b[24:]
	var seq uint32
	for i, p := range payloads {
		incl := int(binary.LittleEndian.Uint32(b[8:]))
		frame := b[16 : 16+incl]
		b = b[16+incl:]
		if want := ethernetHeaderLen + ipv4HeaderLen + tcpHeaderLen + len(p); incl != want {
			t.Fatalf("frame %d: length %d, want %d", i, incl, want)
		}
		ip := frame[ethernetHeaderLen : ethernetHeaderLen+ipv4HeaderLen]
		if checksum(0, ip) != 0 {
			t.Errorf("frame %d: bad IPv4 checksum", i)
		}
		if got := int(binary.BigEndian.Uint16(ip[2:])); got != ipv4HeaderLen+tcpHeaderLen+len(p) {
			t.Errorf("frame %d: IPv4 total length %d", i, got)
		}
		tcp := frame[ethernetHeaderLen+ipv4HeaderLen:]
		var pseudo [12]byte
		copy(pseudo[0:4], ip[12:16])
		copy(pseudo[4:8], ip[16:20])
		pseudo[9] = 6
		binary.BigEndian.PutUint16(pseudo[10:], uint16(len(tcp)))
		if checksum(sum(0, pseudo[:]), tcp) != 0 {
			t.Errorf("frame %d: bad TCP checksum", i)
		}
		s := binary.BigEndian.Uint32(tcp[4:])
		if i > 0 && s != seq {
			t.Errorf("frame %d: sequence %d, want %d", i, s, seq)
		}
		seq = s + uint32(len(p))
		if !bytes.Equal(tcp[tcpHeaderLen:], p) {
			t.Errorf("frame %d: payload % x, want % x", i, tcp[tcpHeaderLen:], p)
		}
	}
	if len(b) != 0 {
		t.Errorf("%d trailing bytes", len(b))
	}
}

func TestSplitMessagesFramesByHeaderLength(t *testing.T) {
	ka := []byte{0x20, 0x02, 0x00, 0x04}
	closeMsg := []byte{0x20, 0x07, 0x00, 0x0c, 0x0f, 0x10, 0x00, 0x08, 0x00, 0x00, 0x00, 0x01}
	tests := []struct {
		name     string
		stream   []byte
		wantMsgs int
		wantRest int
		wantErr  bool
	}{
		{"empty", nil, 0, 0, false},
		{"two whole messages", append(append([]byte{}, ka...), closeMsg...), 2, 0, false},
		{"partial header left over", append(append([]byte{}, ka...), 0x20, 0x02), 1, 2, false},
		{"partial body left over", append(append([]byte{}, ka...), closeMsg[:7]...), 1, 7, false},
		{"length below header size", []byte{0x20, 0x02, 0x00, 0x03}, 0, 4, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs, rest, err := SplitMessages(tt.stream)
			if (err != nil) != tt.wantErr || len(msgs) != tt.wantMsgs || len(rest) != tt.wantRest {
				t.Fatalf("got %d messages, %d rest, err %v; want %d, %d, error %t",
					len(msgs), len(rest), err, tt.wantMsgs, tt.wantRest, tt.wantErr)
			}
		})
	}
}
