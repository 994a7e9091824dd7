package session

import (
	"context"
	"io"
	"testing"

	"github.com/pccagent/pccagent/pcep"
	"github.com/pccagent/pccagent/pcep/clock"
)

// FuzzSessionInput feeds arbitrary bytes to a session, during establishment
// (up false) or once it is UP, and checks that it neither panics nor hangs:
// it must end when the peer hangs up.
func FuzzSessionInput(f *testing.F) {
	seeds := [][]byte{
		encode(f, marker(1)),
		encode(f, sampleReport()),
		encode(f, &pcep.Open{Open: openObj(30, 120, 9)}),
		encode(f, closeMessage(pcep.CloseNoReason)),
		rawMessage(1, 99, nil),
		rawMessage(2, byte(pcep.TypeKeepalive), nil),
		{1 << 5, byte(pcep.TypeKeepalive), 0, 2},
		{1 << 5, byte(pcep.TypePCRpt), 0xff, 0xff, 1, 2, 3},
	}
	for _, s := range seeds {
		f.Add(false, s)
		f.Add(true, s)
	}
	f.Fuzz(func(t *testing.T, up bool, data []byte) {
		c, peerConn := pipePair(t)
		cfg := baseConfig(clock.NewFake(testStart), openObj(0, 0, 1))
		cfg.Handler = func(*Session, pcep.Message) {}
		cfg.OnError = func(*Session, error) {}
		if up {
			s, _ := establishWith(t, c, peerConn, cfg, openObj(0, 0, 9))
			go io.Copy(io.Discard, peerConn)
			peerConn.Write(data)
			peerConn.Close()
			waitDone(t, s)
			return
		}
		ch := establishAsync(context.Background(), c, cfg)
		go io.Copy(io.Discard, peerConn)
		peerConn.Write(data)
		peerConn.Close()
		if r := waitResult(t, ch); r.err == nil {
			waitDone(t, r.s)
		}
	})
}
