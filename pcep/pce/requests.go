package pce

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/pccagent/pccagent/pcep"
)

// Errors of the calls that build a request, found before anything is sent.
var (
	// ErrBadLabel: a label does not fit in 20 bits or is a reserved label (0-15).
	ErrBadLabel = errors.New("pce: label out of range 16..1048575")
	// ErrBadPLSPID: a PLSP-ID above 20 bits or the reserved 0xFFFFF.
	ErrBadPLSPID = errors.New("pce: PLSP-ID out of range")
	// ErrNoInstantiation: the server was made WithInstantiation(false).
	ErrNoInstantiation = errors.New("pce: PCE-initiated LSPs are turned off")
	// ErrBadInitiate: a PCInitiate needs a name and a valid endpoint.
	ErrBadInitiate = errors.New("pce: initiate needs a symbolic name and an endpoint")
)

// maxPendingInitiations bounds the PCInitiates remembered until their LSP is
// reported; the oldest is forgotten first.
const maxPendingInitiations = 4096

// maxControlRequests bounds the control requests kept per PCC with their
// answers; the oldest is forgotten first.
const maxControlRequests = 4096

// DefaultPreference is the candidate-path preference of PCE-initiated SR
// policies.
const DefaultPreference = 100

// Update sends a PCUpd that gives the LSP plspID the label stack labels (top
// first): a fresh SRP-ID, the LSP object with D=1 and an SR-ERO. It does not
// check the database, so that tests can provoke the PCC's errors (an update
// of an LSP that is not delegated, an unknown PLSP-ID).
func (p *PCC) Update(plspID uint32, labels []uint32) (uint32, error) {
	if err := checkPLSPID(plspID, false); err != nil {
		return 0, err
	}
	ero, err := labelERO(labels)
	if err != nil {
		return 0, err
	}
	return p.request(func(id uint32) pcep.Message {
		return &pcep.PCUpd{Updates: []pcep.Update{{
			SRP: p.srp(id, 0),
			LSP: pcep.LSP{PLSPID: plspID, Flags: pcep.LSPDelegate},
			ERO: ero,
		}}}
	}, nil)
}

// Initiate sends a PCInitiate that asks the PCC to create the SR policy
// candidate path name towards endpoint with color and the label stack labels
// (RFC 8281, 9862): SRP with a fresh SRP-ID and PATH-SETUP-TYPE SR, LSP with
// PLSP-ID 0 and the SYMBOLIC-PATH-NAME, END-POINTS, the SR-ERO, an SR Policy
// ASSOCIATION with color, endpoint and preference 100, and the color also in
// a VENDOR-INFORMATION object of enterprise 9 (how FRR pathd reads it) and,
// when the PCC advertised color capability, in the COLOR TLV. The PCC
// answers with a report echoing the SRP-ID (LastSRPID of the new LSP).
func (p *PCC) Initiate(name string, endpoint netip.Addr, color uint32, labels []uint32) (uint32, error) {
	if !p.srv.instantiation {
		return 0, ErrNoInstantiation
	}
	endpoint = endpoint.Unmap()
	if name == "" || !endpoint.IsValid() || endpoint.IsUnspecified() {
		return 0, ErrBadInitiate
	}
	ero, err := labelERO(labels)
	if err != nil {
		return 0, err
	}
	s := p.Session()
	if s == nil {
		return 0, ErrSessionClosed
	}
	headend := p.remote.Addr()
	source := headend
	if source.Is4() != endpoint.Is4() {
		source = unspecified(endpoint)
	}
	local := addrPort(s.LocalAddr()).Addr()
	if !local.IsValid() {
		local = unspecified(endpoint)
	}
	peer := s.PeerOpen()
	colorTLV := peer.Stateful != nil && peer.Stateful.Flags&pcep.StatefulColor != 0
	register := func(id uint32) {
		if len(p.initiated) >= maxPendingInitiations {
			p.initiated = slices.Delete(p.initiated, 0, 1)
		}
		p.initiated = append(p.initiated, initiation{srpID: id, color: color, endpoint: endpoint})
	}
	return p.request(func(id uint32) pcep.Message {
		lsp := pcep.LSP{Flags: pcep.LSPDelegate, SymbolicName: name}
		if colorTLV {
			lsp.HasColor, lsp.Color = true, color
		}
		return &pcep.PCInitiate{Requests: []pcep.Initiate{{
			SRP:          p.srp(id, 0),
			LSP:          lsp,
			HasEndPoints: true,
			EndPoints:    pcep.EndPoints{Source: source, Destination: endpoint},
			HasERO:       true,
			ERO:          ero,
			Attributes: &pcep.Attributes{
				Associations: []pcep.Association{{
					Type:       pcep.AssocSRPolicy,
					ID:         1,
					Source:     headend,
					Color:      color,
					Endpoint:   endpoint,
					HasCPathID: true,
					CPathID: pcep.CPathID{
						Origin:        pcep.OriginPCEP,
						Originator:    local,
						Discriminator: id,
					},
					HasPreference: true,
					Preference:    DefaultPreference,
				}},
				VendorInfo: []pcep.VendorInformation{{
					Enterprise: enterpriseCisco,
					Data:       vendorColorData(color),
				}},
			},
		}}}
	}, register)
}

// Remove sends a PCInitiate with SRP R=1 that asks the PCC to delete the
// PCE-initiated LSP plspID, or all of them for 0 (RFC 8281 section 5.4). The
// LSP object has D=1, the LSP being delegated to this PCE: FRR pathd refuses
// a removal without it (PCErr 19/1).
func (p *PCC) Remove(plspID uint32) (uint32, error) {
	if !p.srv.instantiation {
		return 0, ErrNoInstantiation
	}
	if err := checkPLSPID(plspID, true); err != nil {
		return 0, err
	}
	return p.request(func(id uint32) pcep.Message {
		return &pcep.PCInitiate{Requests: []pcep.Initiate{{
			SRP: p.srp(id, pcep.SRPRemove),
			LSP: pcep.LSP{PLSPID: plspID, Flags: pcep.LSPDelegate},
		}}}
	}, nil)
}

// RequestControl asks the PCC to delegate the LSP plspID, or every LSP for 0
// (RFC 8741): a PCUpd whose SRP has C=1, with the LSP object's D=0 and an
// empty ERO. The answer (grant, denial, or a legacy PCC's PCErr 19/1 or
// 19/3, which counts as a denial) shows in ControlRequests and
// WaitControlAnswer (the last 4096 requests are kept).
func (p *PCC) RequestControl(plspID uint32) (uint32, error) {
	if err := checkPLSPID(plspID, true); err != nil {
		return 0, err
	}
	return p.request(func(id uint32) pcep.Message {
		return &pcep.PCUpd{Updates: []pcep.Update{{
			SRP: p.srp(id, pcep.SRPControl),
			LSP: pcep.LSP{PLSPID: plspID},
		}}}
	}, func(id uint32) {
		if len(p.controls) >= maxControlRequests {
			p.controls = slices.Delete(p.controls, 0, 1)
		}
		p.controls = append(p.controls, ControlRequest{SRPID: id, PLSPID: plspID})
	})
}

// ReturnDelegation gives the LSP plspID back to the PCC (RFC 8231 section
// 5.7.1): a PCUpd with the LSP object's D=0 and the LSP's current path.
func (p *PCC) ReturnDelegation(plspID uint32) (uint32, error) {
	if err := checkPLSPID(plspID, false); err != nil {
		return 0, err
	}
	var ero pcep.ERO
	if l, ok := p.LSP(plspID); ok {
		ero, _ = labelERO(l.Labels)
	}
	return p.request(func(id uint32) pcep.Message {
		return &pcep.PCUpd{Updates: []pcep.Update{{
			SRP: p.srp(id, 0),
			LSP: pcep.LSP{PLSPID: plspID},
			ERO: ero,
		}}}
	}, nil)
}

// srp returns the SRP object of a request with the PATH-SETUP-TYPE SR-MPLS
// when segment routing is on.
func (p *PCC) srp(id, flags uint32) pcep.SRP {
	s := pcep.SRP{Flags: flags, SRPID: id}
	if p.srv.msd != 0 {
		s.HasPST, s.PST = true, pcep.PSTSRMPLS
	}
	return s
}

// reply answers a PCReq: for each request a path from the path computer, or
// NO-PATH.
func (s *Server) reply(req *pcep.PCReq) *pcep.PCRep {
	rep := &pcep.PCRep{Responses: make([]pcep.Response, 0, len(req.Requests))}
	for i := range req.Requests {
		r := &req.Requests[i]
		resp := pcep.Response{RP: r.RP, HasLSP: r.HasLSP, LSP: r.LSP}
		resp.RP.Unknown = nil
		labels, ok := s.compute(r)
		var ero pcep.ERO
		if ok {
			var err error
			ero, err = labelERO(labels)
			ok = err == nil
		}
		if ok {
			resp.Paths = []pcep.Path{{ERO: ero}}
		} else {
			resp.NoPath = &pcep.NoPath{}
		}
		rep.Responses = append(rep.Responses, resp)
	}
	return rep
}

// labelERO returns the SR-ERO for a label stack.
func labelERO(labels []uint32) (pcep.ERO, error) {
	ero := pcep.ERO{Subobjects: make([]pcep.Subobject, 0, len(labels))}
	for _, l := range labels {
		if l < 16 || l > 0xFFFFF {
			return pcep.ERO{}, fmt.Errorf("%w: %d", ErrBadLabel, l)
		}
		ero.Subobjects = append(ero.Subobjects, pcep.SRLabel(l))
	}
	return ero, nil
}

func checkPLSPID(id uint32, zeroOK bool) error {
	if id >= pcep.MaxPLSPID || (id == 0 && !zeroOK) {
		return fmt.Errorf("%w: %d", ErrBadPLSPID, id)
	}
	return nil
}

// unspecified returns 0.0.0.0 or :: in the family of a.
func unspecified(a netip.Addr) netip.Addr {
	if a.Is4() {
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}
