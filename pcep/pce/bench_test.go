package pce_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/pccagent/pccagent/pcep"
	"github.com/pccagent/pccagent/pcep/pce"
)

// BenchmarkSyncLSPs measures a full state synchronisation of n LSPs (one
// report per PCRpt, as PCCs send them) into the PCE's database, recording
// off, end to end over loopback TCP.
func BenchmarkSyncLSPs(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("lsps=%d", n), func(b *testing.B) {
			reports := make([]*pcep.PCRpt, n)
			for i := range reports {
				r := report(uint32(i+1), fmt.Sprintf("lsp-%d", i+1), pcep.LSPDelegate|pcep.LSPSync, 16001, 16002, 16003)
				r.Attributes = &pcep.Attributes{Associations: []pcep.Association{{
					Type: pcep.AssocSRPolicy, ID: 1, Source: loopback1, Color: uint32(i),
					Endpoint: netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}),
				}}}
				reports[i] = &pcep.PCRpt{Reports: []pcep.Report{r}}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				srv, addr := startServer(b, pce.WithRecording(false))
				c := dialPCC(b, addr)
				for _, r := range reports {
					if err := c.sess.Send(r); err != nil {
						b.Fatal(err)
					}
				}
				if err := c.sess.Send(endOfSync()); err != nil {
					b.Fatal(err)
				}
				p, err := srv.WaitPCC(testContext(b), nil)
				if err != nil {
					b.Fatal(err)
				}
				if err := p.WaitSynced(testContext(b)); err != nil {
					b.Fatal(err)
				}
				if got := p.LSPCount(); got != n {
					b.Fatalf("%d LSPs, want %d", got, n)
				}
				b.StopTimer()
				c.sess.Close(pcep.CloseNoReason)
				<-c.sess.Done()
				srv.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "lsps/s")
		})
	}
}

// BenchmarkUpdate measures Update calls to a delegated LSP (recording off),
// the PCC draining what it receives.
func BenchmarkUpdate(b *testing.B) {
	srv, addr := startServer(b, pce.WithRecording(false))
	c := dialPCC(b, addr)
	r := report(1, "a", pcep.LSPDelegate|pcep.LSPSync, 16001)
	if err := c.sess.Send(&pcep.PCRpt{Reports: []pcep.Report{r}}); err != nil {
		b.Fatal(err)
	}
	if err := c.sess.Send(endOfSync()); err != nil {
		b.Fatal(err)
	}
	p, err := srv.WaitPCC(testContext(b), func(p *pce.PCC) bool { return p.Synced() })
	if err != nil {
		b.Fatal(err)
	}
	labels := []uint32{16001, 16002, 16003}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := p.Update(1, labels); err != nil {
			b.Fatal(err)
		}
		<-c.msgs
	}
}
