package policy

import (
	"net/netip"
	"time"

	"github.com/civicdns/civicdns/blocklists"
)

// The actions a decision can take.
const (
	Allowed  = "allowed"
	Blocked  = "blocked"
	Exempted = "exempted"
)

// Canary is the name browsers ask before turning on their own DNS over
// HTTPS; it is always answered NXDOMAIN so that they leave it off and the
// policy stays in force (category bypass).
const Canary = "use-application-dns.net"

// Decision is the policy's answer for one client and name, and why.
type Decision struct {
	Action     string
	Category   string      // the category that blocked (or was exempted)
	Department *Department // nil: the citywide policy alone
	Exemption  *Exemption  // the exemption that lifted the block
	Matched    string      // the listed name that matched (the name or a parent)
	EDEText    string      // the Extended DNS Error text for a block
	SafeSearch string      // the safe-search host to answer with (CNAME)
	NXDomain   bool        // answer NXDOMAIN whatever [block] answer says

	m      *blocklists.Matcher
	source blocklists.Source
	hasSrc bool
	where  string
}

// Where names the list file and line of the match ("" when none).
func (d *Decision) Where() string {
	switch {
	case d.hasSrc:
		return d.m.Where(d.source)
	case d.where != "":
		return d.where
	}
	return ""
}

// match is a candidate reason to block.
type match struct {
	cat   int // matcher bit, or ownCategory
	start int // where the matched suffix begins in the name (smaller: longer)
	hit   int // index in hits, -1 for the department's own domains
}

const ownCategory = -2

// maxHits bounds the listed suffixes one name can have that are looked at
// (a name with more listed parents than this is still blocked by the others).
const maxHits = 16

// Decide applies the policy to client in department d (see Department)
// asking for name (lower case, no trailing dot) at now. It does not
// allocate; the Decision's Matched is a substring of name.
func (p *Policy) Decide(d *Department, client netip.Addr, name string, now time.Time) Decision {
	dec := Decision{Action: Allowed, Department: d, m: p.m}
	if name == Canary {
		dec.Action, dec.Category, dec.Matched, dec.NXDomain = Blocked, "bypass", name, true
		dec.EDEText = "Blocked (bypass)"
		return dec
	}
	if p.allow.longest(name) >= 0 {
		return p.safeSearch(dec, name)
	}
	blocked := p.citywide
	if d != nil {
		blocked = d.blocked
	}
	var buf [maxHits]blocklists.Hit
	hits := p.m.Lookup(name, buf[:0])
	var allowMask uint32
	for _, h := range hits {
		allowMask |= h.Allow
	}
	cand := blocked &^ allowMask
	best := p.best(d, name, hits, cand, true)
	if best.cat == -1 {
		return p.safeSearch(dec, name)
	}
	// Exemptions covering the client lift categories or names.
	var lifted uint32
	var liftOwn bool
	var byCat, byName *Exemption
	consider := func(e *Exemption) {
		if !e.Active(now) || !e.covers(d, client) {
			return
		}
		switch {
		case len(e.domains) > 0:
			if byName == nil && e.domains.longest(name) >= 0 {
				byName = e
			}
		case e.catBit >= 0:
			lifted |= 1 << e.catBit
			if best.cat == e.catBit && byCat == nil {
				byCat = e
			}
		case d != nil && e.Category == d.Name:
			liftOwn = true
			if best.cat == ownCategory && byCat == nil {
				byCat = e
			}
		}
	}
	if d != nil {
		for _, e := range d.exemptions {
			consider(e)
		}
	}
	for _, e := range p.clientEx {
		consider(e)
	}
	dec.fill(p, d, name, hits, best)
	if byName != nil {
		dec.Action, dec.Exemption = Exempted, byName
		return dec
	}
	rest := p.best(d, name, hits, cand&^lifted, !liftOwn)
	if rest.cat == -1 {
		dec.Action, dec.Exemption = Exempted, byCat
		return dec
	}
	dec.fill(p, d, name, hits, rest)
	dec.Action = Blocked
	return dec
}

// best finds the category with the longest matching name among cand (and
// the department's own domains when own); ties go to the alphabetically
// first category, the department's own category sorting by its name.
func (p *Policy) best(d *Department, name string, hits []blocklists.Hit, cand uint32, own bool) match {
	m := match{cat: -1, start: len(name) + 1, hit: -1}
	for i, h := range hits {
		if c := h.Block & cand; c != 0 {
			m = match{cat: blocklists.LowestCategory(c), start: h.Start, hit: i}
			break
		}
	}
	if own && d != nil {
		if s := d.domains.longest(name); s >= 0 && (s < m.start || s == m.start && d.Name < p.categories[m.cat].name) {
			m = match{cat: ownCategory, start: s, hit: -1}
		}
	}
	return m
}

// fill records a match in the decision.
func (dec *Decision) fill(p *Policy, d *Department, name string, hits []blocklists.Hit, m match) {
	dec.Matched = name[m.start:]
	if m.cat == ownCategory {
		dec.Category, dec.EDEText, dec.where, dec.hasSrc = d.Name, d.edeText, d.domains[dec.Matched], false
		return
	}
	dec.Category, dec.EDEText = p.categories[m.cat].name, p.categories[m.cat].edeText
	dec.source, dec.hasSrc = p.m.Source(hits[m.hit], m.cat, false)
}
