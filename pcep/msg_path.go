package pcep

// Path computation messages: PCReq, PCRep, PCNtf (RFC 5440 sections 6.4-6.6).

// pcreqMsg decodes <PCReq> ::= <Common Header> [<svec-list>] <request-list>.
func (d *decoder) pcreqMsg() (Message, error) {
	m := &PCReq{}
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	for c == ClassSVEC {
		sv, err := decodeSVEC(d.take())
		if err != nil {
			return nil, err
		}
		m.SVECs = add(m.SVECs, sv)
		if c, err = d.peek(); err != nil {
			return nil, err
		}
	}
	if n := d.count(ClassRP, 12); n > 0 {
		m.Requests = make([]Request, 0, n)
	}
	for {
		if c == 0 && len(m.Requests) > 0 {
			return m, nil
		}
		if c != ClassRP {
			return nil, missing(ValMissingRP, "PCReq: RP")
		}
		m.Requests = add(m.Requests, Request{})
		r := &m.Requests[len(m.Requests)-1]
		if err := decodeRP(d.take(), &r.RP); err != nil {
			return nil, err
		}
		if c, err = d.peek(); err != nil {
			return nil, err
		}
		if c != ClassEndPoints {
			return nil, missing(ValMissingEndPoints, "PCReq: END-POINTS")
		}
		if err := decodeEndPoints(d.take(), &r.EndPoints); err != nil {
			return nil, err
		}
		if c, err = d.peek(); err != nil {
			return nil, err
		}
		if c == ClassLSP {
			r.HasLSP = true
			if err := decodeLSP(d.take(), &r.LSP); err != nil {
				return nil, err
			}
		}
		if err := d.attributes(attrList{a: &r.Attributes, rro: &r.RRO, rroBW: &r.RROBandwidth}); err != nil {
			return nil, err
		}
		if c, err = d.peek(); err != nil {
			return nil, err
		}
	}
}

func appendPCReq(b []byte, m *PCReq) ([]byte, error) {
	if len(m.Requests) == 0 {
		return b, encodeErr("PCReq without request")
	}
	var err error
	for i := range m.SVECs {
		if b, err = appendSVEC(b, &m.SVECs[i]); err != nil {
			return b, err
		}
	}
	for i := range m.Requests {
		r := &m.Requests[i]
		if b, err = appendRP(b, &r.RP); err != nil {
			return b, err
		}
		if b, err = appendEndPoints(b, &r.EndPoints); err != nil {
			return b, err
		}
		if r.HasLSP {
			if b, err = appendLSP(b, &r.LSP); err != nil {
				return b, err
			}
		}
		if b, err = appendAttrsHead(b, r.Attributes); err != nil {
			return b, err
		}
		if b, err = appendAssocs(b, r.Attributes); err != nil {
			return b, err
		}
		if r.RRO != nil {
			if b, err = appendERO(b, ClassRRO, r.RRO); err != nil {
				return b, err
			}
			if r.RROBandwidth != nil {
				if b, err = appendBandwidth(b, r.RROBandwidth); err != nil {
					return b, err
				}
			}
		} else if r.RROBandwidth != nil {
			return b, encodeErr("PCReq request with an RRO bandwidth but no RRO")
		}
		if b, err = appendAttrsTail(b, r.Attributes); err != nil {
			return b, err
		}
	}
	return b, nil
}

// pcrepMsg decodes <PCRep> ::= <Common Header> <response-list> with
// <response> ::= <RP> [<LSP>] [<NO-PATH>] [<attribute-list>] [<path-list>].
func (d *decoder) pcrepMsg() (Message, error) {
	m := &PCRep{}
	if n := d.count(ClassRP, 12); n > 0 {
		m.Responses = make([]Response, 0, n)
	}
	for {
		c, err := d.peek()
		if err != nil {
			return nil, err
		}
		if c == 0 && len(m.Responses) > 0 {
			return m, nil
		}
		if c != ClassRP {
			return nil, missing(ValMissingRP, "PCRep: RP")
		}
		m.Responses = add(m.Responses, Response{})
		r := &m.Responses[len(m.Responses)-1]
		if err := decodeRP(d.take(), &r.RP); err != nil {
			return nil, err
		}
		if c, err = d.peek(); err != nil {
			return nil, err
		}
		if c == ClassLSP {
			r.HasLSP = true
			if err := decodeLSP(d.take(), &r.LSP); err != nil {
				return nil, err
			}
			if c, err = d.peek(); err != nil {
				return nil, err
			}
		}
		if c == ClassNoPath {
			if r.NoPath, err = decodeNoPath(d.take()); err != nil {
				return nil, err
			}
		}
		if err := d.attributes(attrList{a: &r.Attributes}); err != nil {
			return nil, err
		}
		if n := d.countUntil(ClassERO, ClassRP); n > 0 {
			r.Paths = make([]Path, 0, n)
		}
		for {
			if c, err = d.peek(); err != nil {
				return nil, err
			}
			if c != ClassERO {
				break
			}
			r.Paths = add(r.Paths, Path{})
			p := &r.Paths[len(r.Paths)-1]
			if err := decodeERO(d.take(), &p.ERO, nil); err != nil {
				return nil, err
			}
			if err := d.attributes(attrList{a: &p.Attributes}); err != nil {
				return nil, err
			}
		}
	}
}

func appendPCRep(b []byte, m *PCRep) ([]byte, error) {
	if len(m.Responses) == 0 {
		return b, encodeErr("PCRep without response")
	}
	var err error
	for i := range m.Responses {
		r := &m.Responses[i]
		if b, err = appendRP(b, &r.RP); err != nil {
			return b, err
		}
		if r.HasLSP {
			if b, err = appendLSP(b, &r.LSP); err != nil {
				return b, err
			}
		}
		if r.NoPath != nil {
			if err := checkRawTLVs(r.NoPath.Unknown); err != nil {
				return b, err
			}
			b = appendNoPath(b, r.NoPath)
		}
		if b, err = appendAttributes(b, r.Attributes, true); err != nil {
			return b, err
		}
		for j := range r.Paths {
			p := &r.Paths[j]
			if b, err = appendERO(b, ClassERO, &p.ERO); err != nil {
				return b, err
			}
			if b, err = appendAttributes(b, p.Attributes, true); err != nil {
				return b, err
			}
		}
	}
	return b, nil
}

// pcntfMsg decodes <PCNtf> ::= <Common Header> <notify-list> with
// <notify> ::= [<request-id-list>] <notification-list>.
func (d *decoder) pcntfMsg() (Message, error) {
	m := &PCNtf{}
	for {
		c, err := d.peek()
		if err != nil {
			return nil, err
		}
		if c == 0 {
			break
		}
		var n Notify
		for c == ClassRP {
			var rp RP
			if err := decodeRP(d.take(), &rp); err != nil {
				return nil, err
			}
			n.RPs = add(n.RPs, rp)
			if c, err = d.peek(); err != nil {
				return nil, err
			}
		}
		for c == ClassNotification {
			var no Notification
			if err := decodeNotification(d.take(), &no); err != nil {
				return nil, err
			}
			n.Notifications = add(n.Notifications, no)
			if c, err = d.peek(); err != nil {
				return nil, err
			}
		}
		if len(n.Notifications) == 0 {
			if c == 0 {
				return nil, closeMalformed("PCNtf block without NOTIFICATION object")
			}
			return nil, closeMalformed("unexpected " + className(c) + " object in PCNtf")
		}
		m.Notifies = add(m.Notifies, n)
	}
	if len(m.Notifies) == 0 {
		return nil, closeMalformed("PCNtf without NOTIFICATION object")
	}
	return m, nil
}

func appendPCNtf(b []byte, m *PCNtf) ([]byte, error) {
	if len(m.Notifies) == 0 {
		return b, encodeErr("PCNtf without notify block")
	}
	var err error
	for i := range m.Notifies {
		n := &m.Notifies[i]
		if len(n.Notifications) == 0 {
			return b, encodeErr("PCNtf notify block without NOTIFICATION object")
		}
		for j := range n.RPs {
			if b, err = appendRP(b, &n.RPs[j]); err != nil {
				return b, err
			}
		}
		for j := range n.Notifications {
			if err := checkRawTLVs(n.Notifications[j].Unknown); err != nil {
				return b, err
			}
			b = appendNotification(b, &n.Notifications[j])
		}
	}
	return b, nil
}
