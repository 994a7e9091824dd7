package session

import (
	"sync/atomic"

	"github.com/pccagent/pccagent/pcep"
)

// Stats counts what a session sent and received. Messages are counted per
// message type from the common header, so unknown and malformed messages
// count too.
type Stats struct {
	// MessagesSent counts messages queued for the peer (Send and the
	// session's own Open, Keepalive, PCErr and Close).
	MessagesSent uint64
	// MessagesReceived counts framed messages read from the peer.
	MessagesReceived uint64
	// BytesSent counts bytes written to the connection.
	BytesSent uint64
	// BytesReceived counts bytes of framed messages read from the peer.
	BytesReceived uint64
	// SentByType and ReceivedByType hold the non-zero per-type counts.
	SentByType     map[pcep.MessageType]uint64
	ReceivedByType map[pcep.MessageType]uint64
}

// counters are the live, lock-free counters behind Stats.
type counters struct {
	sent, received    [256]atomic.Uint64
	bytesOut, bytesIn atomic.Uint64
	msgsOut, msgsIn   atomic.Uint64
}

func (c *counters) countOut(t pcep.MessageType) {
	c.sent[t].Add(1)
	c.msgsOut.Add(1)
}

func (c *counters) countIn(t pcep.MessageType, n int) {
	c.received[t].Add(1)
	c.msgsIn.Add(1)
	c.bytesIn.Add(uint64(n))
}

func (c *counters) snapshot() Stats {
	st := Stats{
		MessagesSent:     c.msgsOut.Load(),
		MessagesReceived: c.msgsIn.Load(),
		BytesSent:        c.bytesOut.Load(),
		BytesReceived:    c.bytesIn.Load(),
		SentByType:       make(map[pcep.MessageType]uint64),
		ReceivedByType:   make(map[pcep.MessageType]uint64),
	}
	for i := range c.sent {
		if n := c.sent[i].Load(); n != 0 {
			st.SentByType[pcep.MessageType(i)] = n
		}
		if n := c.received[i].Load(); n != 0 {
			st.ReceivedByType[pcep.MessageType(i)] = n
		}
	}
	return st
}
