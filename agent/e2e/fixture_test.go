package e2e

import (
	"net/netip"
	"testing"

	"github.com/openconfig/gnmic/pkg/api/target"
)

// fixture is one pcesim and one pccagent configured with it as the only
// server and the sample policies, with every policy delegated.
type fixture struct {
	sim   *pcesim
	agent *agentProc
	tg    *target.Target
}

// newFixture starts pcesim on 127.0.0.1, then pccagent with a config file
// that has pcesim as its server (preference 7) and samplePolicies, connects
// the gnmic client and waits until pcesim holds every delegation.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	sim := startPCESim(t, "127.0.0.1")
	cfg := configJSON(nil, []serverConf{{addr: sim.addr, pref: 7}}, samplePolicies)
	a := startAgent(t, t.TempDir(), cfg)
	tg := newTarget(t, a.addr)
	sim.waitShow(t, "delegation of every sample policy", allDelegated(policyNames(samplePolicies)...))
	return &fixture{sim: sim, agent: a, tg: tg}
}

// plspID returns the PLSP-ID pcesim knows the LSP name by.
func (f *fixture) plspID(t *testing.T, name string) uint32 {
	t.Helper()
	return plspIDAt(t, f.sim, name)
}

func plspIDAt(t *testing.T, sim *pcesim, name string) uint32 {
	t.Helper()
	r, ok := lspRow(sim.show(t), name)
	if !ok {
		t.Fatalf("pcesim %s does not know LSP %s", sim.addr, name)
	}
	return r.PLSPID
}

// serverAddr is the address of the fixture's server as configured.
func (f *fixture) serverAddr() netip.Addr { return f.sim.addr.Addr() }
