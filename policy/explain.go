package policy

import (
	"net/netip"
	"time"

	"github.com/civicdns/civicdns/blocklists"
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
	Windows     []WindowCheck // the department's personal-use hours at that time
	Service     *ServiceCheck // the catalogue's service whose domain the name is
	Local       *LocalCheck   // a locally served zone that holds the name
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

// ServiceCheck is the named service a name belongs to, and whether the
// client's department (or the city) approved it.
type ServiceCheck struct {
	*blocklists.Service
	Approved bool
	By       string // where the approval is written
}

// LocalCheck says how the locally served zones bear on a name.
type LocalCheck struct {
	Zone     string // the default zone that holds it ("" for a wpad name)
	Why      string
	WPAD     bool
	Answered bool   // answered by civicdns itself
	City     string // the [[upstream.zone]] that takes it instead
	Off      bool   // turned off by [server] local_zones_off
}

// ExemptionCheck is an exemption for the client's department or address.
type ExemptionCheck struct {
	Exemption *Exemption
	Active    bool
	Applies   bool // it lifts the category or names of this decision
}

// Explain decides like Decide and gathers why. It allocates; it is for
// people, not for the query path.
func (p *Policy) Explain(ex *Exemptions, client netip.Addr, name string, now time.Time) (Explanation, error) {
	client = client.Unmap()
	n, err := config.NormalizeName(name)
	if err != nil {
		return Explanation{}, err
	}
	x := Explanation{Client: client, Name: n}
	x.Department, x.Network = p.nets.lookup(client)
	x.Blocked = p.maskNames(p.deptBlocked(x.Department, now))
	x.Windows = p.Windows(x.Department, now)
	if s := p.allow.longest(n); s >= 0 {
		x.PolicyAllow = &Entry{Name: n[s:], Where: p.allow[n[s:]]}
	}
	blockedSet := map[string]bool{}
	for _, c := range x.Blocked {
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
				x.Listings = append(x.Listings, Listing{
					Category: c, Entry: Entry{Name: n[h.Start:], Where: p.m.Where(src)}, Allow: allow, InBlockSet: blockedSet[c],
				})
			}
		}
	}
	if d := x.Department; d != nil {
		if s := d.domains.longest(n); s >= 0 {
			x.Listings = append(x.Listings, Listing{Category: d.Name, Entry: Entry{Name: n[s:], Where: d.domains[n[s:]]}, InBlockSet: true})
		}
	}
	x.Service = p.serviceCheck(x.Department, n)
	x.Decision = p.Decide(ex, x.Department, client, n, now)
	if m := p.LocalMatch(n); m.Local() {
		x.Local = &LocalCheck{WPAD: m.WPAD, Answered: true}
		if m.Zone != nil {
			x.Local.Zone, x.Local.Why = m.Zone.Name, m.Zone.Why
		}
		x.Decision = LocalDecision(m) // answered before the policy is asked
	} else if z, city, off := p.local.NotLocal(n); z != nil {
		x.Local = &LocalCheck{Zone: z.Name, Why: z.Why, City: city, Off: off}
	}
	for _, e := range ex.For(x.Department, client) {
		x.Exemptions = append(x.Exemptions, ExemptionCheck{Exemption: e, Active: e.Active(now), Applies: x.Decision.Exemption == e})
	}
	return x, nil
}
