package policy

import (
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/civicdns/civicdns/blocklists"
	"github.com/civicdns/civicdns/config"
)

// Policy is the compiled, immutable policy: safe for concurrent use.
type Policy struct {
	lists      *blocklists.Set
	m          *blocklists.Matcher
	categories []categoryInfo // by matcher bit
	citywide   uint32         // the citywide blocked set
	allow      suffixSet      // [policy] allow
	depts      []*Department
	nets       networks
	clientEx   []*Exemption // exemptions given to listed clients
	exemptions []*Exemption // all, in file order
	loc        *time.Location
	cfg        *config.Config
}

type categoryInfo struct {
	name    string
	edeText string
}

// Department is a [[department]] as compiled.
type Department struct {
	Name       string
	Networks   []netip.Prefix
	Block      []string // its own categories beyond the citywide set
	SafeSearch bool
	Where      string // file:line of its [[department]]

	blocked    uint32    // citywide plus its own categories
	domains    suffixSet // block_domains: a category of its own, named after it
	edeText    string
	exemptions []*Exemption // exemptions given to the whole department
}

// Exemption is an [[exemption]]: a director's written authorization.
type Exemption struct {
	ID         int // its place in the configuration, from 1
	Department string
	Clients    []netip.Prefix
	Category   string
	Domains    []string
	ApprovedBy string
	Reason     string
	Reference  string
	Starts     time.Time // zero: from the start
	Expires    time.Time // the first instant it no longer applies
	ExpiresOn  config.Date
	Where      string // file:line

	catBit  int // -1 when it lifts domains (or the department's own category)
	domains suffixSet
}

// Active reports whether the exemption applies at now.
func (e *Exemption) Active(now time.Time) bool {
	return !now.Before(e.Starts) && now.Before(e.Expires)
}

// covers reports whether the exemption is for client (in department d).
func (e *Exemption) covers(d *Department, client netip.Addr) bool {
	if e.Department != "" {
		return d != nil && d.Name == e.Department
	}
	for _, p := range e.Clients {
		if p.Contains(client) {
			return true
		}
	}
	return false
}

// Compile builds the policy from a validated configuration and the loaded
// lists. Unknown categories are reported with the configuration's file:line.
// Exemption dates are days in loc (nil: the server's local time zone).
func Compile(cfg *config.Config, lists *blocklists.Set, loc *time.Location) (*Policy, error) {
	if loc == nil {
		loc = time.Local
	}
	p := &Policy{lists: lists, m: lists.Matcher, allow: suffixSet{}, loc: loc, cfg: cfg}
	for _, name := range p.m.Categories() {
		p.categories = append(p.categories, categoryInfo{name: name, edeText: "Blocked (" + name + ")"})
	}
	var errs config.Errors
	maskOf := func(path string, cats []string) uint32 {
		var mask uint32
		for _, c := range cats {
			bit := p.m.Category(c)
			if bit < 0 {
				errs = append(errs, cfg.ErrorAt(path, "unknown category %q (the lists define: %v)", c, p.m.Categories()))
				continue
			}
			mask |= 1 << bit
		}
		return mask
	}
	p.citywide = maskOf("policy.block", cfg.Policy.Block)
	for _, a := range cfg.Policy.Allow {
		p.allow[a] = cfg.Where("policy.allow")
	}
	byName := map[string]*Department{}
	for i, dc := range cfg.Department {
		path := fmt.Sprintf("department[%d]", i)
		d := &Department{
			Name: dc.Name, Networks: dc.Prefixes, Block: dc.Block, SafeSearch: dc.SafeSearch,
			Where: cfg.Where(path), domains: suffixSet{}, edeText: "Blocked (" + dc.Name + ")",
		}
		if p.m.Category(dc.Name) >= 0 {
			errs = append(errs, cfg.ErrorAt(path+".name", "department %q has the name of a category: its block_domains would be confused with it", dc.Name))
		}
		d.blocked = p.citywide | maskOf(path+".block", dc.Block)
		for _, n := range dc.BlockDomains {
			d.domains[n] = cfg.Where(path + ".block_domains")
		}
		for _, pfx := range dc.Prefixes {
			p.nets.add(pfx, d)
		}
		p.depts = append(p.depts, d)
		byName[d.Name] = d
	}
	for i, ec := range cfg.Exemption {
		path := fmt.Sprintf("exemption[%d]", i)
		e := &Exemption{
			ID: i + 1, Department: ec.Department, Clients: ec.ClientPrefixes, Category: ec.Category, Domains: ec.Domains,
			ApprovedBy: ec.ApprovedBy, Reason: ec.Reason, Reference: ec.Reference, ExpiresOn: ec.Expires,
			Where: cfg.Where(path), catBit: -1, domains: suffixSet{},
		}
		if !ec.Starts.IsZero() {
			e.Starts = ec.Starts.Start(loc)
		}
		e.Expires = ec.Expires.Start(loc).AddDate(0, 0, 1) // valid through its expiry day
		if ec.Category != "" {
			e.catBit = p.m.Category(ec.Category)
			own := ec.Department != "" && ec.Category == ec.Department
			if e.catBit < 0 && !own {
				errs = append(errs, cfg.ErrorAt(path+".category", "exemption for unknown category %q", ec.Category))
			}
		}
		for _, n := range ec.Domains {
			e.domains[n] = e.Where
		}
		p.exemptions = append(p.exemptions, e)
		if d := byName[ec.Department]; d != nil {
			d.exemptions = append(d.exemptions, e)
		} else {
			p.clientEx = append(p.clientEx, e)
		}
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		return nil, errs
	}
	return p, nil
}

// Lists returns the category lists the policy was built from.
func (p *Policy) Lists() *blocklists.Set { return p.lists }

// Departments lists the departments in configuration order.
func (p *Policy) Departments() []*Department { return p.depts }

// Exemptions lists every exemption in configuration order.
func (p *Policy) Exemptions() []*Exemption { return p.exemptions }

// Citywide lists the categories blocked for every client.
func (p *Policy) Citywide() []string { return p.maskNames(p.citywide) }

// BlockedFor lists the categories blocked for a department (nil: citywide).
func (p *Policy) BlockedFor(d *Department) []string {
	if d == nil {
		return p.Citywide()
	}
	return p.maskNames(d.blocked)
}

func (p *Policy) maskNames(mask uint32) []string {
	var out []string
	for i, c := range p.categories {
		if mask&(1<<i) != 0 {
			out = append(out, c.name)
		}
	}
	return out
}

// ActiveExemptions counts the exemptions in force at now.
func (p *Policy) ActiveExemptions(now time.Time) int {
	n := 0
	for _, e := range p.exemptions {
		if e.Active(now) {
			n++
		}
	}
	return n
}

// Department returns the department of a client (nil: none, the citywide policy alone).
func (p *Policy) Department(client netip.Addr) *Department {
	d, _ := p.nets.lookup(client)
	return d
}
