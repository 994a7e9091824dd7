// Package interop checks the pcep library against independent PCEP
// implementations: the Wireshark dissector (through tshark) reads what the
// codec writes, and FRRouting's pathd, a real PCC, talks to the PCE role over
// loopback.
//
// The checks are tests; this package's non-test code is the small machinery
// they share: a pcap file writer that frames PCEP messages as TCP payload, and
// a helper that splits a recorded byte stream into PCEP messages.
//
// The tests need third-party programs (tshark, FRR). Without them a test is
// skipped, except under CI (environment CI=true), where a missing program is
// a failure: the CI script installs them.
package interop
