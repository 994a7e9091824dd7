package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/pccagent/pccagent/pcep"
	"github.com/pccagent/pccagent/pcep/pce"
)

// peer is what the shell needs of a connected PCC; *pce.PCC implements it.
type peer interface {
	RemoteAddr() netip.AddrPort
	Synced() bool
	LSPs() []pce.LSP
	LSP(plspID uint32) (pce.LSP, bool)
	Update(plspID uint32, labels []uint32) (uint32, error)
	Initiate(name string, endpoint netip.Addr, color uint32, labels []uint32) (uint32, error)
	Remove(plspID uint32) (uint32, error)
	RequestControl(plspID uint32) (uint32, error)
	ReturnDelegation(plspID uint32) (uint32, error)
	Close(reason uint8) error
}

// shell runs the line commands that drive a demo.
type shell struct {
	// peers returns the connected PCCs.
	peers func() []peer
}

const helpText = `commands (prefix with "pcc ADDR" when more than one PCC is connected):
  show                                 PCCs and their LSPs
  initiate NAME ENDPOINT COLOR LABEL...  create a PCE-initiated SR policy
  update PLSPID LABEL...               new label stack for a delegated LSP
  request-control PLSPID|all           ask the PCC to delegate (RFC 8741)
  return PLSPID                        give a delegation back
  remove PLSPID|all                    delete PCE-initiated LSPs
  close                                close the session
  help                                 this text`

// command is one parsed command line.
type command struct {
	// pcc is the PCC named by a "pcc ADDR" prefix; invalid when absent.
	pcc    netip.AddrPort
	pccIP  netip.Addr // set when the prefix has no port
	verb   string
	name   string
	plsp   uint32
	addr   netip.Addr
	color  uint32
	labels []uint32
}

// parse parses one command line. An empty line is the command "".
func parse(line string) (command, error) {
	var c command
	f := strings.Fields(line)
	if len(f) >= 1 && f[0] == "pcc" {
		if len(f) < 2 {
			return c, errors.New("pcc needs an address")
		}
		if ap, err := netip.ParseAddrPort(f[1]); err == nil {
			c.pcc = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		} else if a, err := netip.ParseAddr(f[1]); err == nil {
			c.pccIP = a.Unmap()
		} else {
			return c, fmt.Errorf("bad PCC address %q", f[1])
		}
		f = f[2:]
		if len(f) == 0 {
			return c, errors.New("pcc ADDR needs a command")
		}
	}
	if len(f) == 0 {
		return c, nil
	}
	c.verb = f[0]
	args := f[1:]
	var err error
	switch c.verb {
	case "show", "close", "help":
		if len(args) != 0 {
			return c, fmt.Errorf("%s takes no arguments", c.verb)
		}
	case "initiate":
		if len(args) < 3 {
			return c, errors.New("usage: initiate NAME ENDPOINT COLOR LABEL...")
		}
		c.name = args[0]
		if c.addr, err = netip.ParseAddr(args[1]); err != nil {
			return c, fmt.Errorf("bad endpoint %q", args[1])
		}
		c.addr = c.addr.Unmap()
		if c.color, err = parseUint32(args[2], "color"); err != nil {
			return c, err
		}
		if c.labels, err = parseLabels(args[3:]); err != nil {
			return c, err
		}
	case "update":
		if len(args) < 2 {
			return c, errors.New("usage: update PLSPID LABEL...")
		}
		if c.plsp, err = parsePLSPID(args[0], false); err != nil {
			return c, err
		}
		if c.labels, err = parseLabels(args[1:]); err != nil {
			return c, err
		}
	case "request-control", "remove", "return":
		if len(args) != 1 {
			all := "|all"
			if c.verb == "return" {
				all = ""
			}
			return c, fmt.Errorf("usage: %s PLSPID%s", c.verb, all)
		}
		if c.plsp, err = parsePLSPID(args[0], c.verb != "return"); err != nil {
			return c, err
		}
	default:
		return c, fmt.Errorf("unknown command %q (try help)", c.verb)
	}
	return c, nil
}

func parseUint32(s, what string) (uint32, error) {
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("bad %s %q", what, s)
	}
	return uint32(v), nil
}

func parsePLSPID(s string, allOK bool) (uint32, error) {
	if allOK && s == "all" {
		return 0, nil
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil || v == 0 || v >= uint64(pcep.MaxPLSPID) {
		return 0, fmt.Errorf("bad PLSP-ID %q", s)
	}
	return uint32(v), nil
}

func parseLabels(args []string) ([]uint32, error) {
	out := make([]uint32, 0, len(args))
	for _, a := range args {
		v, err := strconv.ParseUint(a, 10, 32)
		if err != nil || v < 16 || v > 0xFFFFF {
			return nil, fmt.Errorf("bad label %q (16..1048575)", a)
		}
		out = append(out, uint32(v))
	}
	return out, nil
}

// run executes one command line, writes its output to w and ends with one
// line that starts with "ok" or "error:".
func (sh *shell) run(w io.Writer, line string) {
	out, err := sh.exec(w, line)
	if err != nil {
		fmt.Fprintf(w, "error: %v\n", err)
		return
	}
	if out == "" {
		fmt.Fprintln(w, "ok")
		return
	}
	fmt.Fprintf(w, "ok %s\n", out)
}

// exec executes one command line; w receives multi-line output (show, help).
func (sh *shell) exec(w io.Writer, line string) (string, error) {
	c, err := parse(line)
	if err != nil {
		return "", err
	}
	switch c.verb {
	case "":
		return "", nil
	case "help":
		fmt.Fprintln(w, helpText)
		return "", nil
	case "show":
		return "", sh.show(w, c)
	}
	p, err := sh.target(c)
	if err != nil {
		return "", err
	}
	var srp uint32
	switch c.verb {
	case "close":
		return "", p.Close(pcep.CloseNoReason)
	case "initiate":
		srp, err = p.Initiate(c.name, c.addr, c.color, c.labels)
	case "update":
		l, ok := p.LSP(c.plsp)
		if !ok {
			return "", fmt.Errorf("no LSP with PLSP-ID %d", c.plsp)
		}
		if !l.Delegated {
			return "", fmt.Errorf("LSP %d is not delegated", c.plsp)
		}
		srp, err = p.Update(c.plsp, c.labels)
	case "request-control":
		if err := known(p, c.plsp); err != nil {
			return "", err
		}
		srp, err = p.RequestControl(c.plsp)
	case "return":
		l, ok := p.LSP(c.plsp)
		if !ok {
			return "", fmt.Errorf("no LSP with PLSP-ID %d", c.plsp)
		}
		if !l.Delegated {
			return "", fmt.Errorf("LSP %d is not delegated", c.plsp)
		}
		srp, err = p.ReturnDelegation(c.plsp)
	case "remove":
		if err := known(p, c.plsp); err != nil {
			return "", err
		}
		srp, err = p.Remove(c.plsp)
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("srp-id %d", srp), nil
}

func known(p peer, plsp uint32) error {
	if plsp == 0 {
		return nil
	}
	if _, ok := p.LSP(plsp); !ok {
		return fmt.Errorf("no LSP with PLSP-ID %d", plsp)
	}
	return nil
}

// target picks the PCC a command applies to: the one named by the prefix, or
// the only one connected.
func (sh *shell) target(c command) (peer, error) {
	ps := sh.peers()
	if !c.pcc.IsValid() && !c.pccIP.IsValid() {
		switch len(ps) {
		case 0:
			return nil, errors.New("no PCC connected")
		case 1:
			return ps[0], nil
		}
		return nil, fmt.Errorf("%d PCCs connected: prefix the command with pcc ADDR", len(ps))
	}
	var found peer
	for _, p := range ps {
		ra := p.RemoteAddr()
		if ra == c.pcc || (c.pccIP.IsValid() && ra.Addr() == c.pccIP) {
			if found != nil {
				return nil, fmt.Errorf("several PCCs at %s: give ADDR:PORT", c.pccIP)
			}
			found = p
		}
	}
	if found == nil {
		if c.pcc.IsValid() {
			return nil, fmt.Errorf("no PCC at %s", c.pcc)
		}
		return nil, fmt.Errorf("no PCC at %s", c.pccIP)
	}
	return found, nil
}

// show writes the PCCs (or the one named) and their LSPs as a table.
func (sh *shell) show(w io.Writer, c command) error {
	ps := sh.peers()
	if c.pcc.IsValid() || c.pccIP.IsValid() {
		p, err := sh.target(c)
		if err != nil {
			return err
		}
		ps = []peer{p}
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "PCC\tSYNCED\tPLSP-ID\tNAME\tDELEGATED\tCREATE\tOPER\tCOLOR\tENDPOINT\tPREF\tLABELS")
	for _, p := range ps {
		lsps := p.LSPs()
		if len(lsps) == 0 {
			fmt.Fprintf(tw, "%s\t%t\t-\t\t\t\t\t\t\t\t\n", p.RemoteAddr(), p.Synced())
		}
		for _, l := range lsps {
			ep := "-"
			if l.Endpoint.IsValid() {
				ep = l.Endpoint.String()
			}
			fmt.Fprintf(tw, "%s\t%t\t%d\t%s\t%t\t%t\t%s\t%d\t%s\t%d\t%s\n",
				p.RemoteAddr(), p.Synced(), l.PLSPID, l.Name, l.Delegated, l.Create,
				operName(l.Oper), l.Color, ep, l.Preference, labelString(l.Labels))
		}
	}
	return tw.Flush()
}

func operName(o uint8) string {
	switch o {
	case pcep.OperDown:
		return "down"
	case pcep.OperUp:
		return "up"
	case pcep.OperActive:
		return "active"
	case pcep.OperGoingDown:
		return "going-down"
	case pcep.OperGoingUp:
		return "going-up"
	}
	return strconv.Itoa(int(o))
}

func labelString(ls []uint32) string {
	if len(ls) == 0 {
		return "-"
	}
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = strconv.FormatUint(uint64(l), 10)
	}
	return strings.Join(s, "/")
}
