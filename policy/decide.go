package policy

import (
	"net/netip"
	"time"

	"github.com/civicdns/civicdns/blocklists"
	"github.com/civicdns/civicdns/config"
)

// The actions a query can end with. The policy decides the first three;
// Refused and Malformed are recorded by the resolver for queries it
// refuses (ANY, AXFR, other classes) or cannot read, before any policy.
const (
	Allowed   = "allowed"
	Blocked   = "blocked"
	Exempted  = "exempted"
	Refused   = "refused"
	Malformed = "malformed"
	// Limited is a query over [server.rate_limit]: counted in
	// civicdns_rate_limited_total and logged once a minute per client,
	// never recorded one by one (a flood would fill the query log).
	Limited = "limited"
)

// Canary is the name browsers ask before turning on their own DNS over
// HTTPS; it is always answered NXDOMAIN so that they leave it off and the
// policy stays in force (category bypass).
const Canary = "use-application-dns.net"

// CanaryWhere is where the canary's rule is written: in civicdns itself.
const CanaryWhere = "built in: the DNS-over-HTTPS canary"

// Decision is the policy's answer for one client and name, and why.
type Decision struct {
	Action     string
	Category   string      // the category that blocked (or was exempted)
	Department *Department // nil: the citywide policy alone
	Exemption  *Exemption  // the exemption that lifted the block
	Matched    string      // the listed name that matched (the name or a parent)
	EDEText    string      // the Extended DNS Error text for a block
	Service    string      // the catalogue's service that blocked ("Telegram"), or ""
	ServiceID  string      // its id ("telegram")
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

// Rule is where a decision's rule is written, kept without formatting it:
// the query log copies it on the query path and writes it later.
type Rule struct {
	m      *blocklists.Matcher
	source blocklists.Source
	hasSrc bool
	where  string
}

// Rule returns where the decision's rule is written, unformatted. For an
// exemption it is the exemption's ID.
func (d *Decision) Rule() Rule {
	if d.Exemption != nil && d.Action == Exempted {
		return Rule{where: d.Exemption.ID}
	}
	return Rule{m: d.m, source: d.source, hasSrc: d.hasSrc, where: d.where}
}

// String formats the rule: a list file:line, a configuration file:line, an
// exemption ID, or "".
func (r Rule) String() string {
	if r.hasSrc {
		return r.m.Where(r.source)
	}
	return r.where
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
// asking for name (lower case, no trailing dot) at now, with the exemptions
// ex (compiled for this policy; nil: none). It does not allocate; the
// Decision's Matched is a substring of name. Three steps: the blocked set,
// the best match in it, then the exemptions that lift it.
func (p *Policy) Decide(ex *Exemptions, d *Department, client netip.Addr, name string, now time.Time) Decision {
	dec := Decision{Action: Allowed, Department: d, m: p.m}
	if name == Canary {
		dec.Action, dec.Category, dec.Matched, dec.NXDomain = Blocked, "bypass", name, true
		dec.EDEText, dec.where = "Blocked (bypass)", CanaryWhere
		return dec
	}
	h := p.quietNames.hash(name)
	if p.quietNames.has(h) {
		return dec
	}
	if p.allow.longest(name) >= 0 {
		return p.safeSearch(dec, name)
	}
	var buf [maxHits]blocklists.Hit
	hits := p.m.Lookup(name, buf[:0])
	if len(hits) == 0 && p.quiet(name) {
		p.quietNames.add(h)
		return dec
	}
	cand := p.blockedSet(d, hits, now)
	best := p.best(d, name, hits, cand, true)
	if best.cat == -1 {
		return p.safeSearch(dec, name)
	}
	dec.fill(p, d, name, hits, best)
	l := ex.lifting(d, client, name, now, best.cat)
	if l.byName != nil {
		dec.Action, dec.Exemption = Exempted, l.byName
		return dec
	}
	rest := p.best(d, name, hits, cand&^l.cats, !l.own)
	if rest.cat == -1 {
		dec.Action, dec.Exemption = Exempted, l.byCat
		return dec
	}
	dec.fill(p, d, name, hits, rest)
	dec.Action = Blocked
	return dec
}

// blockedSet is the categories that may block the name for department d at
// now: the citywide set plus d's own (as its personal-use hours open and
// block them), less those whose allow entries cover the name.
func (p *Policy) blockedSet(d *Department, hits []blocklists.Hit, now time.Time) uint32 {
	blocked := p.deptBlocked(d, now)
	allowMask := p.approvedMask(d, hits)
	for _, h := range hits {
		allowMask |= h.Allow
	}
	return blocked &^ allowMask
}

// lift is what the active exemptions covering a client lift for one name.
type lift struct {
	cats   uint32     // categories lifted
	own    bool       // the department's own category lifted
	byCat  *Exemption // the one that lifts the best match's category
	byName *Exemption // the first that lifts the name itself (domains)
}

// lifting gathers the active exemptions covering client in department d
// for name, whose best match is category bestCat (ownCategory: d's own).
// The department's come first, then the client's.
func (x *Exemptions) lifting(d *Department, client netip.Addr, name string, now time.Time, bestCat int) lift {
	var l lift
	if x == nil {
		return l
	}
	if d != nil && d.index < len(x.byDept) {
		x.byDept[d.index].lift(&l, name, now, bestCat)
	}
	if len(x.byClient) > 0 {
		if s := x.byClient[client]; s != nil {
			s.lift(&l, name, now, bestCat)
		}
	}
	for i := range x.wide {
		e := &x.wide[i]
		if !e.e.Active(now) || !covers(e.e, d, client) {
			continue
		}
		if e.domains != nil {
			if l.byName == nil && e.domains.longest(name) >= 0 {
				l.byName = e.e
			}
			continue
		}
		l.category(e, bestCat)
	}
	return l
}

// lift adds what the set lifts for name at now.
func (s *liftSet) lift(l *lift, name string, now time.Time, bestCat int) {
	if l.byName == nil && len(s.names) > 0 {
		for start := 0; start < len(name); {
			for _, e := range s.names[name[start:]] {
				if e.Active(now) {
					l.byName = e
					break
				}
			}
			if l.byName != nil {
				break
			}
			i := config.LabelEnd(name[start:])
			if i < 0 {
				break
			}
			start += i + 1
		}
	}
	for i := range s.cats {
		if e := &s.cats[i]; e.e.Active(now) {
			l.category(e, bestCat)
		}
	}
}

// category adds an active category exemption.
func (l *lift) category(e *liftEntry, bestCat int) {
	switch {
	case e.own:
		l.own = true
		if bestCat == ownCategory && l.byCat == nil {
			l.byCat = e.e
		}
	case e.catBit >= 0:
		l.cats |= 1 << e.catBit
		if bestCat == e.catBit && l.byCat == nil {
			l.byCat = e.e
		}
	}
}

// best finds the category with the longest matching name among cand (and
// the department's own domains when own); a name listed in several
// categories is reported as the one of highest priority, then the
// alphabetically first; the department's own category sorts by its name.
func (p *Policy) best(d *Department, name string, hits []blocklists.Hit, cand uint32, own bool) match {
	m := match{cat: -1, start: len(name) + 1, hit: -1}
	for i, h := range hits {
		if c := h.Block & cand; c != 0 {
			m = match{cat: p.first(c), start: h.Start, hit: i}
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

// first is the category of mask reported first: the highest priority, then
// the first by name.
func (p *Policy) first(mask uint32) int {
	for _, bit := range p.order {
		if mask&(1<<bit) != 0 {
			return bit
		}
	}
	return blocklists.LowestCategory(mask)
}

// fill records a match in the decision.
func (dec *Decision) fill(p *Policy, d *Department, name string, hits []blocklists.Hit, m match) {
	dec.Matched = name[m.start:]
	if m.cat == ownCategory {
		dec.Category, dec.EDEText, dec.where, dec.hasSrc = d.Name, d.edeText, d.domains[dec.Matched], false
		return
	}
	dec.Category, dec.EDEText, dec.Service, dec.ServiceID = p.categories[m.cat].name, p.categories[m.cat].edeText, "", ""
	dec.source, dec.hasSrc = p.m.Source(hits[m.hit], m.cat, false)
	if s := p.m.Service(hits[m.hit]); s >= 0 && p.services[s].cat == m.cat {
		dec.Service, dec.ServiceID, dec.EDEText = p.services[s].name, p.services[s].id, p.services[s].edeText
	}
}
