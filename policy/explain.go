package policy

import (
	"net/netip"
	"time"

	"github.com/civicdns/civicdns/config"
)

// Explanation is every reason behind a decision, for `civicdns explain`.
type Explanation struct {
	Client      netip.Addr
	Name        string       // normalised
	Department  *Department  // nil: citywide policy alone
	Network     netip.Prefix // the department's prefix that matched
	Blocked     []string     // the blocked set for the client
	PolicyAllow *Entry       // the [policy] allow entry that covers the name
	Listings    []Listing    // every list entry for the name or a parent
	Exemptions  []ExemptionCheck
	Decision    Decision
}

// Entry is a listed name and where it is written.
type Entry struct {
	Name  string
	Where string
}

// Listing is one entry of a category list that covers the name.
type Listing struct {
	Category   string
	Entry      Entry
	Allow      bool // an allow entry of the category (it then never matches)
	InBlockSet bool // the category is in the client's blocked set
}

// ExemptionCheck is an exemption for the client's department or address.
type ExemptionCheck struct {
	Exemption *Exemption
	Active    bool
	Applies   bool // it lifts the category or names of this decision
}

// Explain decides like Decide and gathers why. It allocates; it is for
// people, not for the query path.
func (p *Policy) Explain(client netip.Addr, name string, now time.Time) (Explanation, error) {
	client = client.Unmap()
	n, err := config.NormalizeName(name)
	if err != nil {
		return Explanation{}, err
	}
	ex := Explanation{Client: client, Name: n}
	ex.Department, ex.Network = p.nets.lookup(client)
	ex.Blocked = p.BlockedFor(ex.Department)
	if s := p.allow.longest(n); s >= 0 {
		ex.PolicyAllow = &Entry{Name: n[s:], Where: p.allow[n[s:]]}
	}
	blockedSet := map[string]bool{}
	for _, c := range ex.Blocked {
		blockedSet[c] = true
	}
	for _, h := range p.m.Lookup(n, nil) {
		for cat := 0; cat < len(p.categories); cat++ {
			for _, allow := range []bool{false, true} {
				src, ok := p.m.Source(h, cat, allow)
				if !ok {
					continue
				}
				c := p.categories[cat].name
				ex.Listings = append(ex.Listings, Listing{
					Category: c, Entry: Entry{Name: n[h.Start:], Where: p.m.Where(src)}, Allow: allow, InBlockSet: blockedSet[c],
				})
			}
		}
	}
	if d := ex.Department; d != nil {
		if s := d.domains.longest(n); s >= 0 {
			ex.Listings = append(ex.Listings, Listing{Category: d.Name, Entry: Entry{Name: n[s:], Where: d.domains[n[s:]]}, InBlockSet: true})
		}
	}
	ex.Decision = p.Decide(ex.Department, client, n, now)
	for _, e := range p.exemptions {
		if !e.covers(ex.Department, client) {
			continue
		}
		ex.Exemptions = append(ex.Exemptions, ExemptionCheck{Exemption: e, Active: e.Active(now), Applies: ex.Decision.Exemption == e})
	}
	return ex, nil
}
