package pcep

// Session messages: Open, Close, PCErr (RFC 5440 sections 6.2, 6.7, 6.8).

func (d *decoder) openMsg() (Message, error) {
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	if c != ClassOpen {
		return nil, NewError(ErrSessionEstablishment, ValOpenBad, "Open message without OPEN object")
	}
	m := &Open{}
	if err := decodeOpenObj(d.take(), &m.Open); err != nil {
		return nil, err
	}
	if c, err := d.peek(); err != nil {
		return nil, err
	} else if c != 0 {
		return nil, NewError(ErrSessionEstablishment, ValOpenBad, "Open message with a "+className(c)+" object after OPEN")
	}
	return m, nil
}

func (d *decoder) closeMsg() (Message, error) {
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	if c != ClassClose {
		return nil, closeMalformed("Close message without CLOSE object")
	}
	m := &Close{}
	if err := decodeCloseObj(d.take(), &m.Close); err != nil {
		return nil, err
	}
	if c, err := d.peek(); err != nil {
		return nil, err
	} else if c != 0 {
		return nil, closeMalformed("Close message with a " + className(c) + " object after CLOSE")
	}
	return m, nil
}

// pcerrMsg decodes
//
//	<PCErr> ::= ( <error-obj-list> [<Open>] ) | <error> [<error-list>]
//	<error> ::= [<request-id-list> | <stateful-request-id-list>] <error-obj-list>
//
// accepting RP and SRP objects in any mix before each error-obj-list, and the
// OPEN object only at the end.
func (d *decoder) pcerrMsg() (Message, error) {
	m := &PCErr{}
	for {
		c, err := d.peek()
		if err != nil {
			return nil, err
		}
		if c == 0 {
			break
		}
		if c == ClassOpen {
			if len(m.Errors) == 0 {
				return nil, closeMalformed("PCErr with OPEN before any PCEP-ERROR")
			}
			m.Open = &OpenObject{}
			if err := decodeOpenObj(d.take(), m.Open); err != nil {
				return nil, err
			}
			if c, err := d.peek(); err != nil {
				return nil, err
			} else if c != 0 {
				return nil, closeMalformed("PCErr with a " + className(c) + " object after OPEN")
			}
			break
		}
		var blk ErrorBlock
		for c == ClassRP || c == ClassSRP {
			o := d.take()
			if c == ClassRP {
				var rp RP
				if err := decodeRP(o, &rp); err != nil {
					return nil, err
				}
				blk.RPs = add(blk.RPs, rp)
			} else {
				var srp SRP
				if err := decodeSRP(o, &srp); err != nil {
					return nil, err
				}
				blk.SRPs = add(blk.SRPs, srp)
			}
			if c, err = d.peek(); err != nil {
				return nil, err
			}
		}
		for c == ClassPCEPError {
			var e PCEPError
			if err := decodePCEPError(d.take(), &e); err != nil {
				return nil, err
			}
			blk.Errors = add(blk.Errors, e)
			if c, err = d.peek(); err != nil {
				return nil, err
			}
		}
		// Some PCCs (FRR pathd) put the SRP after the PCEP-ERROR objects it
		// refers to. Request IDs that follow the errors and are not
		// themselves followed by a PCEP-ERROR belong to this block; if a
		// PCEP-ERROR follows them, they open the next block.
		if len(blk.Errors) > 0 && (c == ClassRP || c == ClassSRP) {
			saved := *d
			var rps []RP
			var srps []SRP
			for c == ClassRP || c == ClassSRP {
				o := d.take()
				if c == ClassRP {
					var rp RP
					if err := decodeRP(o, &rp); err != nil {
						return nil, err
					}
					rps = add(rps, rp)
				} else {
					var srp SRP
					if err := decodeSRP(o, &srp); err != nil {
						return nil, err
					}
					srps = add(srps, srp)
				}
				if c, err = d.peek(); err != nil {
					return nil, err
				}
			}
			if c == ClassPCEPError {
				*d = saved
			} else {
				blk.RPs = append(blk.RPs, rps...)
				blk.SRPs = append(blk.SRPs, srps...)
			}
		}
		if len(blk.Errors) == 0 {
			if c == 0 {
				return nil, closeMalformed("PCErr block without PCEP-ERROR object")
			}
			return nil, closeMalformed("unexpected " + className(c) + " object in PCErr")
		}
		m.Errors = add(m.Errors, blk)
	}
	if len(m.Errors) == 0 {
		return nil, closeMalformed("PCErr without PCEP-ERROR object")
	}
	return m, nil
}

func appendPCErr(b []byte, m *PCErr) ([]byte, error) {
	if len(m.Errors) == 0 {
		return b, encodeErr("PCErr without error block")
	}
	var err error
	for i := range m.Errors {
		blk := &m.Errors[i]
		if len(blk.Errors) == 0 {
			return b, encodeErr("PCErr error block without PCEP-ERROR object")
		}
		for j := range blk.RPs {
			if b, err = appendRP(b, &blk.RPs[j]); err != nil {
				return b, err
			}
		}
		for j := range blk.SRPs {
			if b, err = appendSRP(b, &blk.SRPs[j]); err != nil {
				return b, err
			}
		}
		for j := range blk.Errors {
			if err := checkRawTLVs(blk.Errors[j].Unknown); err != nil {
				return b, err
			}
			b = appendPCEPError(b, &blk.Errors[j])
		}
	}
	if m.Open != nil {
		return appendOpenObj(b, m.Open)
	}
	return b, nil
}
