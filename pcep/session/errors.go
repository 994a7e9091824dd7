package session

import (
	"errors"
	"strconv"
	"strings"

	"github.com/pccagent/pccagent/pcep"
)

// ErrClosed is returned by Send and Close once the session has ended. The
// error Send returns also wraps the reason the session ended (see Err).
var ErrClosed = errors.New("pcep session: closed")

// ClosedError says that the session ended with a Close message: sent by the
// peer (ByPeer) or by this side, because the caller asked (Session.Close),
// because the dead timer expired (reason 2), or because of the peer's input
// (reasons 3 and 5; Cause then says what was wrong).
type ClosedError struct {
	Reason uint8
	ByPeer bool
	// Cause is the error that made this side close, nil when the peer
	// closed or the caller asked.
	Cause error
}

// Error implements error.
func (e *ClosedError) Error() string {
	var b strings.Builder
	b.WriteString("pcep session: closed by ")
	if e.ByPeer {
		b.WriteString("peer")
	} else {
		b.WriteString("us")
	}
	b.WriteString(" (reason ")
	b.WriteString(strconv.Itoa(int(e.Reason)))
	if s := closeReasonText(e.Reason); s != "" {
		b.WriteString(": ")
		b.WriteString(s)
	}
	b.WriteString(")")
	if e.Cause != nil {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	return b.String()
}

// Unwrap returns the cause of a close this side initiated.
func (e *ClosedError) Unwrap() error { return e.Cause }

// closeReasonText names the RFC 5440 close reasons.
func closeReasonText(r uint8) string {
	switch r {
	case pcep.CloseNoReason:
		return "no explanation"
	case pcep.CloseDeadTimer:
		return "dead timer expired"
	case pcep.CloseMalformed:
		return "malformed message"
	case pcep.CloseTooManyUnknownReq:
		return "too many unknown requests or replies"
	case pcep.CloseTooManyUnknownMsg:
		return "too many unrecognised messages"
	}
	return ""
}

// PeerError says that the peer refused the session during establishment
// with a PCErr (for example 1/3, 1/5, or a second 1/4): the PCEP-ERROR
// objects it sent. Establish closes the connection without answering it.
type PeerError struct {
	Errors []pcep.PCEPError
}

// Error implements error.
func (e *PeerError) Error() string {
	var b strings.Builder
	b.WriteString("pcep session: peer refused the session with PCErr")
	for i, pe := range e.Errors {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(" ")
		b.WriteString(strconv.Itoa(int(pe.Type)))
		b.WriteString("/")
		b.WriteString(strconv.Itoa(int(pe.Value)))
	}
	return b.String()
}

// Has reports whether the peer sent PCErr type t, value v.
func (e *PeerError) Has(t, v uint8) bool {
	for _, pe := range e.Errors {
		if pe.Type == t && pe.Value == v {
			return true
		}
	}
	return false
}

// frameError is a common header that cannot be framed (bad version or
// length): the stream cannot be followed past it.
type frameError struct {
	err error
}

func (e *frameError) Error() string { return "pcep session: bad message header: " + e.err.Error() }
func (e *frameError) Unwrap() error { return e.err }

// pcerrMessage builds a PCErr with one PCEP-ERROR object, and the OPEN
// object of a counter-proposal when open is non-nil.
func pcerrMessage(t, v uint8, open *pcep.OpenObject) *pcep.PCErr {
	return &pcep.PCErr{
		Errors: []pcep.ErrorBlock{{Errors: []pcep.PCEPError{{Type: t, Value: v}}}},
		Open:   open,
	}
}

// closeMessage builds a Close with reason r.
func closeMessage(r uint8) *pcep.Close {
	return &pcep.Close{Close: pcep.CloseObject{Reason: r}}
}

// pcerrObjects flattens the PCEP-ERROR objects of a PCErr.
func pcerrObjects(m *pcep.PCErr) []pcep.PCEPError {
	var out []pcep.PCEPError
	for _, b := range m.Errors {
		out = append(out, b.Errors...)
	}
	return out
}
