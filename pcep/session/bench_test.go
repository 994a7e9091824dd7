package session

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pccagent/pccagent/pcep"
)

// sampleReport is a typical state report of an SR policy with a three-label
// segment list.
func sampleReport() *pcep.PCRpt {
	lsp := pcep.LSP{PLSPID: 42, Flags: pcep.LSPDelegate | pcep.LSPAdmin, SymbolicName: "sr-policy-blue-to-pe3"}
	lsp.SetOper(pcep.OperUp)
	return &pcep.PCRpt{Reports: []pcep.Report{{
		HasSRP: true,
		SRP:    pcep.SRP{SRPID: 7, HasPST: true, PST: pcep.PSTSRMPLS},
		LSP:    lsp,
		ERO:    pcep.ERO{Subobjects: []pcep.Subobject{pcep.SRLabel(16001), pcep.SRLabel(16002), pcep.SRLabel(16003)}},
	}}}
}

// BenchmarkSessionThroughput sends PCRpt messages from one session to
// another over loopback TCP and reports the messages per second the
// receiving handler sees.
func BenchmarkSessionThroughput(b *testing.B) {
	pccConn, pceConn := tcpPair(b)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var got atomic.Int64
	all := make(chan struct{})
	n := int64(b.N)
	pceCfg := Config{Role: RolePCE, Local: openObj(30, 120, 1), Logger: logger,
		Handler: func(_ *Session, m pcep.Message) {
			if got.Add(1) == n {
				close(all)
			}
		}}
	pccCfg := Config{Role: RolePCC, Local: openObj(30, 120, 2), Logger: logger}
	pceCh := establishAsync(context.Background(), pceConn, pceCfg)
	pccCh := establishAsync(context.Background(), pccConn, pccCfg)
	pcc, pce := waitResult(b, pccCh), waitResult(b, pceCh)
	if pcc.err != nil || pce.err != nil {
		b.Fatalf("Establish: pcc %v, pce %v", pcc.err, pce.err)
	}
	m := sampleReport()
	b.SetBytes(int64(len(encode(b, m))))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := pcc.s.Send(m); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-all:
	case <-time.After(time.Minute):
		b.Fatalf("received %d of %d messages", got.Load(), b.N)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
