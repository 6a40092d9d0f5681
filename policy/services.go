package policy

import (
	"fmt"
	"slices"

	"github.com/civicdns/civicdns/blocklists"
	"github.com/civicdns/civicdns/config"
)

// The chat catalogue's approvals: an approved service's domains count as
// allow entries of its category for the clients that approved it (the
// city's approved_chat for everyone, a department's for its own), so the
// service is open and every other messenger stays "unapproved IM".

// ApprovedCategory is the category whose services approved_chat names.
const ApprovedCategory = "chat"

// serviceSet is a set of service indices (blocklists.Set.Services).
type serviceSet []uint64

func (s serviceSet) has(i int) bool { return i>>6 < len(s) && s[i>>6]&(1<<(i&63)) != 0 }

func (s *serviceSet) add(i int) {
	for len(*s) <= i>>6 {
		*s = append(*s, 0)
	}
	(*s)[i>>6] |= 1 << (i & 63)
}

// union is a copy of s with every member of o.
func (s serviceSet) union(o serviceSet) serviceSet {
	out := append(serviceSet(nil), s...)
	for i, w := range o {
		for len(out) <= i {
			out = append(out, 0)
		}
		out[i] |= w
	}
	return out
}

// serviceInfo is what the policy keeps of each service of the catalogues.
type serviceInfo struct {
	id      string // "telegram"
	cat     int    // its category's matcher bit
	name    string // "Telegram"
	edeText string // "Blocked (chat: Telegram)", made once
}

// compileServices keeps the services' categories and reads [policy]
// approved_chat.
func (p *Policy) compileServices(cfg *config.Config, errs *config.Errors) {
	for _, s := range p.lists.Services {
		p.services = append(p.services, serviceInfo{id: s.ID, cat: p.m.Category(s.Category), name: s.Name,
			edeText: "Blocked (" + s.Category + ": " + s.Name + ")"})
	}
	p.approved = p.approvedSet(cfg, "policy.approved_chat", cfg.Policy.ApprovedChat, errs)
	p.ApprovedChat = p.serviceNames(p.approved)
}

// approvedSet resolves service ids written at path.
func (p *Policy) approvedSet(cfg *config.Config, path string, ids []string, errs *config.Errors) serviceSet {
	var set serviceSet
	for _, id := range ids {
		s, ok := p.lists.ServiceByID[id]
		switch {
		case !ok && !cfg.Written(path):
			// The default (microsoft_teams) with lists that have no such
			// service: nothing to approve.
		case !ok:
			*errs = append(*errs, cfg.ErrorAt(path, "unknown chat service %q (`civicdns lists services` prints the catalogue)", id))
		case s.Category != ApprovedCategory:
			*errs = append(*errs, cfg.ErrorAt(path, "%q is a service of category %s, not a chat service", id, s.Category))
		default:
			set.add(s.Index)
		}
	}
	return set
}

// serviceNames lists the services of a set by id.
func (p *Policy) serviceNames(set serviceSet) []string {
	var out []string
	for i, s := range p.lists.Services {
		if set.has(i) {
			out = append(out, s.ID)
		}
	}
	return out
}

// approvedFor is the set of services department d (nil: citywide) approved.
func (p *Policy) approvedFor(d *Department) serviceSet {
	if d == nil {
		return p.approved
	}
	return d.approved
}

// approvedMask is the categories the approved services among hits lift:
// the category of a hit that is an approved service's domain.
func (p *Policy) approvedMask(d *Department, hits []blocklists.Hit) uint32 {
	if len(p.services) == 0 {
		return 0
	}
	set := p.approvedFor(d)
	var mask uint32
	for _, h := range hits {
		if s := p.m.Service(h); s >= 0 && set.has(s) {
			mask |= 1 << p.services[s].cat
		}
	}
	return mask
}

// ServiceApproved reports whether department d (nil: citywide) approved
// the service with that id.
func (p *Policy) ServiceApproved(d *Department, id string) bool {
	i := p.lists.ServiceIndex(id)
	return i >= 0 && p.approvedFor(d).has(i)
}

// ServiceOf is the service whose domain a listed name is (nil: none).
func (p *Policy) ServiceOf(name string) *blocklists.Service {
	for _, h := range p.m.Lookup(name, nil) {
		if s := p.m.Service(h); s >= 0 {
			return p.lists.Services[s]
		}
	}
	return nil
}

// serviceCheck says which service name belongs to, whether d approved it
// and where that is written.
func (p *Policy) serviceCheck(d *Department, name string) *ServiceCheck {
	s := p.ServiceOf(name)
	if s == nil {
		return nil
	}
	c := &ServiceCheck{Service: s, Approved: p.ServiceApproved(d, s.ID)}
	switch {
	case !c.Approved:
	case d != nil && slices.Contains(d.approvedIDs, s.ID):
		c.By = fmt.Sprintf("%s approved_chat (%s)", d.Name, d.Where)
	case p.cfg.Written("policy.approved_chat"):
		c.By = "[policy] approved_chat (" + p.cfg.Where("policy.approved_chat") + ")"
	default:
		c.By = "[policy] approved_chat's default"
	}
	return c
}
