package pcc

import (
	"net/netip"
	"slices"
)

// apply makes a validated configuration the engine's (actor).
func (e *Engine) apply(c Config) {
	old := e.cfg
	e.cfg = c
	e.epoch++

	e.routerID4, e.routerID6 = netip.Addr{}, netip.Addr{}
	if c.SourceInterface != "" {
		if a, err := e.ifaceAddr(c.SourceInterface, false); err == nil {
			e.routerID4 = a
		}
		if a, err := e.ifaceAddr(c.SourceInterface, true); err == nil {
			e.routerID6 = a
		}
	} else if c.LSRID.IsValid() {
		if c.LSRID.Is6() {
			e.routerID6 = c.LSRID
		} else {
			e.routerID4 = c.LSRID
		}
	}

	// Servers: what the Open carries or where it comes from restarts sessions.
	restartAll := old.Enabled != c.Enabled ||
		old.SourceInterface != c.SourceInterface || old.LSRID != c.LSRID ||
		old.Keepalive != c.Keepalive || old.DeadTimer != c.DeadTimer ||
		old.SegmentRouting != c.SegmentRouting || old.MSD != c.MSD ||
		old.PCEInitiated != c.PCEInitiated
	keep := make(map[netip.Addr]bool, len(c.Servers))
	for _, sc := range c.Servers {
		keep[sc.Address] = true
	}
	for _, s := range slices.Clone(e.srvList) {
		if !keep[s.cfg.Address] {
			e.removeServer(s)
		}
	}
	var started []*server
	for _, sc := range c.Servers {
		s := e.servers[sc.Address]
		if s == nil {
			s = &server{cfg: sc}
			e.servers[sc.Address] = s
			e.srvList = append(e.srvList, s)
			started = append(started, s)
			continue
		}
		restart := restartAll || s.cfg.Port != sc.Port || s.waitConfig
		changed := s.cfg != sc
		s.cfg = sc
		switch {
		case restart:
			e.restart(s, "configuration changed")
		case changed:
			e.pushServer(s)
		}
	}
	slices.SortFunc(e.srvList, func(a, b *server) int {
		if rankAbove(a, b) {
			return -1
		}
		if rankAbove(b, a) {
			return 1
		}
		return 0
	})
	for _, s := range started {
		e.start(s)
		e.pushServer(s)
	}
	e.reselect()

	// Policies.
	var fresh, contentChanged []*lsp
	for i := range c.Policies {
		p := &c.Policies[i]
		l := e.byName[p.Name]
		if l == nil {
			id, _ := e.allocPLSPID() // validate checked the space
			l = &lsp{
				name:        p.Name,
				plspID:      id,
				origin:      OriginPCC,
				color:       p.Color,
				hasColor:    true,
				endpoint:    p.Endpoint,
				preference:  p.Preference,
				cfgDelegate: p.Delegate,
				cfgLabels:   p.Labels,
			}
			l.setLabels(p.Labels)
			l.mark = e.epoch
			e.addLSP(l)
			fresh = append(fresh, l)
			continue
		}
		l.mark = e.epoch
		content := false
		if l.color != p.Color || l.endpoint != p.Endpoint || l.preference != p.Preference {
			l.color, l.endpoint, l.preference = p.Color, p.Endpoint, p.Preference
			l.noPath = false
			content = true
		}
		if !slices.Equal(l.cfgLabels, p.Labels) {
			// The operator's segment list replaces whatever was in force.
			l.cfgLabels = p.Labels
			l.pceSet = false
			l.noPath = false
			l.setLabels(p.Labels)
			content = true
		}
		if l.cfgDelegate != p.Delegate {
			l.cfgDelegate = p.Delegate
			if !p.Delegate {
				// Taking control back also ends a control-request grant.
				l.grant = nil
			} else {
				l.returnedTo = nil
			}
		}
		if content {
			contentChanged = append(contentChanged, l)
		}
	}
	var gone []*lsp
	for _, l := range e.lsps {
		if l.origin == OriginPCC && l.mark != e.epoch {
			gone = append(gone, l)
		}
	}
	for _, l := range gone {
		e.removeLSP(l, nil, 0, "policy removed")
	}
	for _, l := range fresh {
		l.delegatedTo = e.want(l)
		e.reportAll(l, nil, 0)
		e.changed(l)
		e.emit(EventLSPReported, nil, l, 0, "policy added")
		if l.delegatedTo != nil {
			e.emit(EventLSPDelegated, l.delegatedTo, l, 0, "")
		}
	}
	e.reconcile(nil)
	for _, l := range contentChanged {
		e.reportAll(l, nil, 0)
		e.changed(l)
		e.emit(EventLSPReported, nil, l, 0, "policy changed")
	}
	e.requestPaths()
}

// removeServer stops s's session and forgets it; delegations it held move at
// once (no delegate-hold for a server that is no longer configured).
func (e *Engine) removeServer(s *server) {
	delete(e.servers, s.cfg.Address)
	e.srvList = slices.DeleteFunc(e.srvList, func(x *server) bool { return x == s })
	if e.selected == s {
		e.selected = nil
	}
	for _, l := range e.lsps {
		if l.grant == s {
			l.grant = nil
		}
		if l.returnedTo == s {
			l.returnedTo = nil
		}
		if l.owner == s {
			l.owner = nil
		}
	}
	e.stop(s, "server removed", false)
	e.reselect()
	e.reconcile(nil)
	e.changes.Push(Change{Server: &ServerState{Config: s.cfg}, Removed: true})
	e.log.Info("pcep server removed", "server", s.cfg.Address)
}
