package pcep

// Attribute lists and the stateful messages PCRpt, PCUpd (RFC 8231) and
// PCInitiate (RFC 8281).

// attrList says where an attribute list puts the optional RRO and the
// BANDWIDTH that follows it; nil pointers mean the list accepts no RRO.
type attrList struct {
	a     **Attributes // allocated on first use
	rro   **ERO
	rroBW **Bandwidth
}

// attrsWithAssoc is an Attributes allocated together with room for one
// association (see Attributes).
type attrsWithAssoc struct {
	a  Attributes
	as [1]Association
}

// attrs returns *p, allocating it when nil.
func attrs(p **Attributes) *Attributes {
	if *p == nil {
		*p = new(Attributes)
	}
	return *p
}

// addAssoc appends as to the associations of *p; an Attributes that does not
// exist yet is allocated with room for it.
func addAssoc(p **Attributes, as *Association) {
	if *p == nil {
		b := new(attrsWithAssoc)
		b.as[0] = *as
		b.a.Associations = b.as[:]
		*p = &b.a
		return
	}
	(*p).Associations = add((*p).Associations, *as)
}

// attributes decodes attribute objects in any order until an object that
// does not belong to an attribute list, which it leaves for the caller.
// Lists (BANDWIDTH, METRIC, ASSOCIATION, VENDOR-INFORMATION) accumulate; a
// second LSPA, IRO or RRO is a malformed message.
func (d *decoder) attributes(l attrList) error {
	afterRRO := false
	for {
		c, err := d.peek()
		if err != nil {
			return err
		}
		wasAfterRRO := afterRRO
		afterRRO = false
		switch c {
		case ClassLSPA:
			a := attrs(l.a)
			if a.LSPA != nil {
				return closeMalformed("second LSPA object in an attribute list")
			}
			if a.LSPA, err = decodeLSPA(d.take()); err != nil {
				return err
			}
		case ClassBandwidth:
			bw, err := decodeBandwidth(d.take())
			if err != nil {
				return err
			}
			if wasAfterRRO && l.rroBW != nil && *l.rroBW == nil {
				*l.rroBW = &bw
			} else {
				a := attrs(l.a)
				a.Bandwidths = add(a.Bandwidths, bw)
			}
		case ClassMetric:
			m, err := decodeMetric(d.take())
			if err != nil {
				return err
			}
			a := attrs(l.a)
			a.Metrics = add(a.Metrics, m)
		case ClassIRO:
			a := attrs(l.a)
			if a.IRO != nil {
				return closeMalformed("second IRO object in an attribute list")
			}
			a.IRO = &ERO{}
			if err := decodeERO(d.take(), a.IRO, nil); err != nil {
				return err
			}
		case ClassRRO:
			if l.rro == nil {
				return nil
			}
			if *l.rro != nil {
				return closeMalformed("second RRO object in a path")
			}
			*l.rro = &ERO{}
			if err := decodeERO(d.take(), *l.rro, nil); err != nil {
				return err
			}
			afterRRO = true
		case ClassAssociation:
			as, err := decodeAssociation(d.take())
			if err != nil {
				return err
			}
			addAssoc(l.a, &as)
		case ClassVendorInfo:
			v, err := decodeVendorInfo(d.take())
			if err != nil {
				return err
			}
			a := attrs(l.a)
			a.VendorInfo = add(a.VendorInfo, v)
		default:
			return nil
		}
	}
}

// assocsBeforePath decodes the ASSOCIATION objects that RFC 8697 places
// between the LSP object and the path of a PCRpt, PCUpd or PCInitiate, and
// the VENDOR-INFORMATION objects some speakers send there.
func (d *decoder) assocsBeforePath(p **Attributes) (uint8, error) {
	for {
		c, err := d.peek()
		if err != nil {
			return 0, err
		}
		switch c {
		case ClassAssociation:
			as, err := decodeAssociation(d.take())
			if err != nil {
				return 0, err
			}
			addAssoc(p, &as)
		case ClassVendorInfo:
			v, err := decodeVendorInfo(d.take())
			if err != nil {
				return 0, err
			}
			a := attrs(p)
			a.VendorInfo = add(a.VendorInfo, v)
		default:
			return c, nil
		}
	}
}

// appendAssocs appends the ASSOCIATION objects of a (the RFC 8697
// association-list).
func appendAssocs(b []byte, a *Attributes) ([]byte, error) {
	if a == nil {
		return b, nil
	}
	var err error
	for i := range a.Associations {
		if b, err = appendAssociation(b, &a.Associations[i]); err != nil {
			return b, err
		}
	}
	return b, nil
}

// appendAttrsHead appends LSPA, BANDWIDTH and METRIC objects; appendAttrsTail
// appends IRO and VENDOR-INFORMATION objects. Callers place the RRO and the
// association list where each message's grammar puts them.
func appendAttrsHead(b []byte, a *Attributes) ([]byte, error) {
	if a == nil {
		return b, nil
	}
	var err error
	if a.LSPA != nil {
		if err := checkRawTLVs(a.LSPA.Unknown); err != nil {
			return b, err
		}
		b = appendLSPA(b, a.LSPA)
	}
	for i := range a.Bandwidths {
		if b, err = appendBandwidth(b, &a.Bandwidths[i]); err != nil {
			return b, err
		}
	}
	for i := range a.Metrics {
		b = appendMetric(b, &a.Metrics[i])
	}
	return b, nil
}

func appendAttrsTail(b []byte, a *Attributes) ([]byte, error) {
	if a == nil {
		return b, nil
	}
	var err error
	if a.IRO != nil {
		if b, err = appendERO(b, ClassIRO, a.IRO); err != nil {
			return b, err
		}
	}
	for i := range a.VendorInfo {
		b = appendVendorInfo(b, &a.VendorInfo[i])
	}
	return b, nil
}

// appendAttributes appends the association list (when withAssocs) and the
// attribute list of a.
func appendAttributes(b []byte, a *Attributes, withAssocs bool) ([]byte, error) {
	var err error
	if withAssocs {
		if b, err = appendAssocs(b, a); err != nil {
			return b, err
		}
	}
	if b, err = appendAttrsHead(b, a); err != nil {
		return b, err
	}
	return appendAttrsTail(b, a)
}

// pcrptMsg decodes <PCRpt> ::= <Common Header> <state-report-list> with
// <state-report> ::= [<SRP>] <LSP> [<association-list>] <path> (RFC 8231,
// RFC 8697). Associations are also accepted among the attributes after the
// ERO; the encoder puts them before the ERO.
//
// A message with one report, the common case on the wire, is allocated in
// one block together with the subobjects of its ERO (see newRpt).
func (d *decoder) pcrptMsg() (Message, error) {
	var m *PCRpt
	var subs []Subobject // room for the first ERO, in the message's block
	if n, k := d.shape(); n <= 1 {
		m, subs = newRpt(k)
	} else {
		m = &PCRpt{Reports: make([]Report, 0, n)}
	}
	for {
		c, err := d.peek()
		if err != nil {
			return nil, err
		}
		if c == 0 && len(m.Reports) > 0 {
			return m, nil
		}
		grow(&m.Reports)
		r := &m.Reports[len(m.Reports)-1]
		if c == ClassSRP {
			r.HasSRP = true
			if err := decodeSRP(d.take(), &r.SRP); err != nil {
				return nil, err
			}
			if c, err = d.peek(); err != nil {
				return nil, err
			}
		}
		if c != ClassLSP {
			return nil, missing(ValMissingLSP, "PCRpt: LSP")
		}
		if err := decodeLSP(d.take(), &r.LSP); err != nil {
			return nil, err
		}
		if c, err = d.assocsBeforePath(&r.Attributes); err != nil {
			return nil, err
		}
		if c != ClassERO {
			return nil, missing(ValMissingERO, "PCRpt: ERO")
		}
		if err := decodeERO(d.take(), &r.ERO, subs); err != nil {
			return nil, err
		}
		subs = nil
		if err := d.attributes(attrList{a: &r.Attributes, rro: &r.RRO}); err != nil {
			return nil, err
		}
	}
}

func appendPCRpt(b []byte, m *PCRpt) ([]byte, error) {
	if len(m.Reports) == 0 {
		return b, encodeErr("PCRpt without report")
	}
	var err error
	for i := range m.Reports {
		r := &m.Reports[i]
		if r.HasSRP {
			if b, err = appendSRP(b, &r.SRP); err != nil {
				return b, err
			}
		}
		if b, err = appendLSP(b, &r.LSP); err != nil {
			return b, err
		}
		if b, err = appendAssocs(b, r.Attributes); err != nil {
			return b, err
		}
		if b, err = appendERO(b, ClassERO, &r.ERO); err != nil {
			return b, err
		}
		if r.RRO != nil {
			if b, err = appendERO(b, ClassRRO, r.RRO); err != nil {
				return b, err
			}
		}
		if b, err = appendAttributes(b, r.Attributes, false); err != nil {
			return b, err
		}
	}
	return b, nil
}

// pcupdMsg decodes <PCUpd> ::= <Common Header> <update-request-list> with
// <update-request> ::= <SRP> <LSP> [<association-list>] <path> (RFC 8231,
// RFC 8697), accepting associations after the ERO too. A message with one
// update is allocated in one block, as in pcrptMsg.
func (d *decoder) pcupdMsg() (Message, error) {
	var m *PCUpd
	var subs []Subobject
	if n, k := d.shape(); n <= 1 {
		m, subs = newUpd(k)
	} else {
		m = &PCUpd{Updates: make([]Update, 0, n)}
	}
	for {
		c, err := d.peek()
		if err != nil {
			return nil, err
		}
		if c == 0 && len(m.Updates) > 0 {
			return m, nil
		}
		if c != ClassSRP {
			return nil, missing(ValMissingSRP, "PCUpd: SRP")
		}
		grow(&m.Updates)
		u := &m.Updates[len(m.Updates)-1]
		if err := decodeSRP(d.take(), &u.SRP); err != nil {
			return nil, err
		}
		if c, err = d.peek(); err != nil {
			return nil, err
		}
		if c != ClassLSP {
			return nil, missing(ValMissingLSP, "PCUpd: LSP")
		}
		if err := decodeLSP(d.take(), &u.LSP); err != nil {
			return nil, err
		}
		if c, err = d.assocsBeforePath(&u.Attributes); err != nil {
			return nil, err
		}
		if c != ClassERO {
			return nil, missing(ValMissingERO, "PCUpd: ERO")
		}
		if err := decodeERO(d.take(), &u.ERO, subs); err != nil {
			return nil, err
		}
		subs = nil
		if err := d.attributes(attrList{a: &u.Attributes}); err != nil {
			return nil, err
		}
	}
}

func appendPCUpd(b []byte, m *PCUpd) ([]byte, error) {
	if len(m.Updates) == 0 {
		return b, encodeErr("PCUpd without update request")
	}
	var err error
	for i := range m.Updates {
		u := &m.Updates[i]
		if b, err = appendSRP(b, &u.SRP); err != nil {
			return b, err
		}
		if b, err = appendLSP(b, &u.LSP); err != nil {
			return b, err
		}
		if b, err = appendAssocs(b, u.Attributes); err != nil {
			return b, err
		}
		if b, err = appendERO(b, ClassERO, &u.ERO); err != nil {
			return b, err
		}
		if b, err = appendAttributes(b, u.Attributes, false); err != nil {
			return b, err
		}
	}
	return b, nil
}

// pcinitiateMsg decodes <PCInitiate> ::= <Common Header>
// <PCE-initiated-lsp-list>, each entry <SRP> <LSP> [<END-POINTS>] [<ERO>]
// [<association-list>] [<attribute-list>] (RFC 8281, RFC 8697); associations
// are accepted before the ERO too. The ERO is mandatory for an instantiation of a new LSP
// (SRP R clear, PLSP-ID 0); a deletion (R set) or an adoption (non-zero
// PLSP-ID) may omit it.
func (d *decoder) pcinitiateMsg() (Message, error) {
	m := &PCInitiate{}
	if n := d.count(ClassLSP, 8); n > 0 {
		m.Requests = make([]Initiate, 0, n)
	}
	for {
		c, err := d.peek()
		if err != nil {
			return nil, err
		}
		if c == 0 && len(m.Requests) > 0 {
			return m, nil
		}
		if c != ClassSRP {
			return nil, missing(ValMissingSRP, "PCInitiate: SRP")
		}
		grow(&m.Requests)
		r := &m.Requests[len(m.Requests)-1]
		if err := decodeSRP(d.take(), &r.SRP); err != nil {
			return nil, err
		}
		if c, err = d.peek(); err != nil {
			return nil, err
		}
		if c != ClassLSP {
			return nil, missing(ValMissingLSP, "PCInitiate: LSP")
		}
		if err := decodeLSP(d.take(), &r.LSP); err != nil {
			return nil, err
		}
		if c, err = d.peek(); err != nil {
			return nil, err
		}
		if c == ClassEndPoints {
			r.HasEndPoints = true
			if err := decodeEndPoints(d.take(), &r.EndPoints); err != nil {
				return nil, err
			}
		}
		if c, err = d.assocsBeforePath(&r.Attributes); err != nil {
			return nil, err
		}
		if c == ClassERO {
			r.HasERO = true
			if err := decodeERO(d.take(), &r.ERO, nil); err != nil {
				return nil, err
			}
		} else if r.SRP.Flags&SRPRemove == 0 && r.LSP.PLSPID == 0 {
			return nil, missing(ValMissingERO, "PCInitiate: ERO")
		}
		if err := d.attributes(attrList{a: &r.Attributes}); err != nil {
			return nil, err
		}
	}
}

func appendPCInitiate(b []byte, m *PCInitiate) ([]byte, error) {
	if len(m.Requests) == 0 {
		return b, encodeErr("PCInitiate without request")
	}
	var err error
	for i := range m.Requests {
		r := &m.Requests[i]
		if b, err = appendSRP(b, &r.SRP); err != nil {
			return b, err
		}
		if b, err = appendLSP(b, &r.LSP); err != nil {
			return b, err
		}
		if r.HasEndPoints {
			if b, err = appendEndPoints(b, &r.EndPoints); err != nil {
				return b, err
			}
		}
		if r.HasERO {
			if b, err = appendERO(b, ClassERO, &r.ERO); err != nil {
				return b, err
			}
		}
		if b, err = appendAttributes(b, r.Attributes, true); err != nil {
			return b, err
		}
	}
	return b, nil
}
