// Package e2e holds the end-to-end tests of pccagent: the real pccagent and
// pcesim binaries, built once per test run, talk PCEP to each other over
// loopback TCP while the tests drive the agent with real gNMI clients (the
// gnmic client library and the reference gnmi_cli) and with the Operations
// gRPC service, and drive pcesim with its stdin line commands.
//
// The binaries are built from ./cmd/pccagent and ./cmd/pcesim (with -race
// when the tests run with it). E2E_BIN_DIR names a directory of prebuilt
// binaries to test instead (e.g. release artifacts); a binary missing there
// is built.
//
// Every wait is bounded, every child process is stopped when its test ends,
// and the logs of the child processes are attached to a failing test.
package e2e
