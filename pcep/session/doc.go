// Package session runs one RFC 5440 PCEP session over an already connected
// TCP connection, in either role: the PCC dials and the PCE accepts, but the
// Open exchange that follows is symmetric, so one implementation serves both.
//
// Establish sends our Open at once and negotiates: it waits OpenWait for the
// peer's Open, judges it with Config.CheckOpen (accept, counter-propose once
// with PCErr 1/4, or refuse with PCErr 1/3), adopts a counter-proposal the
// peer makes to our Open once, and waits KeepWait for the peer's Keepalive.
// Every failure is answered with the PCErr the RFC names before the
// connection is closed.
//
// Once the session is UP, one reader goroutine frames and decodes the
// incoming messages and hands them, in order, to Config.Handler; the handler
// may block, which stops reading and so pushes back on the peer through TCP.
// Keepalives are sent when nothing else has been sent for the keepalive
// interval, and the peer's dead timer ends the session with Close reason 2.
// Malformed messages are answered with the PCErr or Close that the decoder's
// *pcep.Error names, and too many unknown messages end the session with Close
// reason 5.
//
// Send encodes into a pending buffer and returns; one writer goroutine
// flushes everything pending in a single write, so a burst of messages costs
// few system calls. Send blocks while more than Config.MaxPendingWrite bytes
// wait, and a peer that accepts nothing for Config.WriteTimeout ends the
// session, so a stuck peer never blocks callers forever.
//
// Timers run on a clock.Clock, so tests drive OpenWait, KeepWait, the
// keepalive and the dead timer with a fake clock instead of sleeping.
package session
