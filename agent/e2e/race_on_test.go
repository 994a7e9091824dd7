//go:build race

package e2e

// raceEnabled says the tests run with the race detector; the binaries under
// test are then built with it too, so that a data race in pccagent or
// pcesim fails the test that provoked it.
const raceEnabled = true
