package pcep

// PCErr error types (RFC 5440 and later; see PCEP-CODEPOINTS).
const (
	ErrSessionEstablishment uint8 = 1
	ErrCapability           uint8 = 2
	ErrUnknownObject        uint8 = 3
	ErrNotSupportedObject   uint8 = 4
	ErrPolicyViolation      uint8 = 5
	ErrMandatoryMissing     uint8 = 6
	ErrInvalidObject        uint8 = 10
	ErrInvalidOperation     uint8 = 19
	ErrStateSync            uint8 = 20
	ErrPathSetupType        uint8 = 21
	ErrBadParameter         uint8 = 23
	ErrInstantiation        uint8 = 24
	ErrStartTLS             uint8 = 25
	ErrAssociation          uint8 = 26
)

// Error values, named <Type><Value>.
const (
	// Type 1: session establishment.
	ValOpenBad             uint8 = 1
	ValOpenWaitExpired     uint8 = 2
	ValOpenNotNegotiable   uint8 = 3
	ValOpenNegotiable      uint8 = 4
	ValOpenSecondBad       uint8 = 5
	ValOpenPCErrUnaccept   uint8 = 6
	ValKeepWaitExpired     uint8 = 7
	ValVersionNotSupported uint8 = 8

	// Type 3 and 4: unknown / not supported object.
	ValObjectClass     uint8 = 1
	ValObjectType      uint8 = 2
	ValObjectParameter uint8 = 4

	// Type 6: mandatory object missing.
	ValMissingRP            uint8 = 1
	ValMissingEndPoints     uint8 = 3
	ValMissingLSP           uint8 = 8
	ValMissingERO           uint8 = 9
	ValMissingSRP           uint8 = 10
	ValMissingLSPIdentifier uint8 = 11
	ValMissingSymbolicName  uint8 = 14

	// Type 10: invalid object.
	ValSRERONumber        uint8 = 3
	ValSREROMixed         uint8 = 5
	ValSIDAndNAIAbsent    uint8 = 6
	ValSymbolicNameAbsent uint8 = 8
	ValMSDExceeded        uint8 = 9
	ValMalformedObject    uint8 = 11
	ValUnsupportedNAI     uint8 = 13
	ValMSDZero            uint8 = 21

	// Type 19: invalid operation.
	ValNonDelegatedUpdate     uint8 = 1
	ValUpdateNoStateful       uint8 = 2
	ValUnknownPLSPID          uint8 = 3
	ValReportNoStateful       uint8 = 5
	ValInitiateLimit          uint8 = 6
	ValDelegationNotRevocable uint8 = 7
	ValNonZeroPLSPID          uint8 = 8
	ValNotPCEInitiated        uint8 = 9

	// Type 20: state synchronisation.
	ValSyncPCECannotProcess  uint8 = 1
	ValSyncPCCCannotComplete uint8 = 5

	// Type 21: path setup type.
	ValPSTUnsupported uint8 = 1
	ValPSTMismatch    uint8 = 2

	// Type 23: bad parameter.
	ValSymbolicNameInUse uint8 = 1

	// Type 24: instantiation.
	ValInitUnacceptable uint8 = 1
	ValInitInternal     uint8 = 2
	ValInitSignalling   uint8 = 3

	// Type 26: association.
	ValAssocTypeUnsupported uint8 = 1
	ValAssocUnknown         uint8 = 4
	ValAssocSRPolicyIDs     uint8 = 20
	ValAssocCPathIDs        uint8 = 21
)

// Error is a protocol error found while decoding or processing a message. It
// carries what the receiver must answer: a PCErr with Type and Value, or,
// when CloseReason is non-zero, a Close with that reason and no PCErr.
type Error struct {
	Type        uint8
	Value       uint8
	CloseReason uint8
	// Message names the problem for logs: which object, which field.
	Message string
}

// Error implements error.
func (e *Error) Error() string {
	if e.CloseReason != 0 {
		return "pcep: " + e.Message + " (close reason " + itoa(uint64(e.CloseReason)) + ")"
	}
	return "pcep: " + e.Message + " (PCErr " + itoa(uint64(e.Type)) + "/" + itoa(uint64(e.Value)) + ")"
}

// NewError returns an *Error for PCErr type t, value v.
func NewError(t, v uint8, msg string) *Error {
	return &Error{Type: t, Value: v, Message: msg}
}

// NewCloseError returns an *Error that must be answered by a Close with reason.
func NewCloseError(reason uint8, msg string) *Error {
	return &Error{CloseReason: reason, Message: msg}
}
