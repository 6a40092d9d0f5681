package policy

import (
	"fmt"
	"net/netip"
	"sort"
	"sync/atomic"
	"time"

	"github.com/civicdns/civicdns/blocklists"
	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/localzones"
)

// Policy is the compiled, immutable policy: safe for concurrent use. The
// exemptions are a set of their own (Exemptions), swapped without it.
type Policy struct {
	lists      *blocklists.Set
	m          *blocklists.Matcher
	categories []categoryInfo // by matcher bit
	order      []int          // matcher bits, the reported category first (priority, then name)
	citywide   uint32         // the citywide blocked set
	allow      suffixSet      // [policy] allow
	depts      []*Department
	deptByName map[string]*Department // by config.DepartmentKey
	nets       networks
	served     networks    // [server] allow (or loopback and the departments' networks)
	configEx   *Exemptions // the configuration's [[exemption]] entries
	loc        *time.Location
	hasWindows bool                        // some department has personal-use hours
	windowMemo atomic.Pointer[windowState] // the windows in force this minute
	cfg        *config.Config
	quietNames *quietNames     // names nothing in the policy touches
	local      *localzones.Set // the names answered locally
	services   []serviceInfo   // by index in lists.Services
	approved   serviceSet      // [policy] approved_chat
	// ApprovedChat lists the ids of the chat services the city approved.
	ApprovedChat []string
}

type categoryInfo struct {
	name    string
	edeText string
}

// Department is a [[department]] as compiled.
type Department struct {
	Name         string
	Networks     []netip.Prefix
	Block        []string // its own categories beyond the citywide set
	BlockDomains []string // its own names, a category named after it
	SafeSearch   bool
	Where        string   // file:line of its [[department]]
	ApprovedChat []string // the chat services it may use: the city's and its own

	index   int       // in Policy.depts, and in Exemptions.byDept
	windows []window  // personal-use hours
	blocked uint32    // citywide plus its own categories
	domains suffixSet // block_domains: a category of its own, named after it
	edeText string
	// approved: the chat services the city and the department approved;
	// approvedIDs the department's own.
	approved    serviceSet
	approvedIDs []string
}

// Compile builds the policy from a validated configuration and the loaded
// lists. Unknown categories are reported with the configuration's file:line.
// Exemption dates and personal-use hours are in [policy] timezone, else in
// loc (nil: the server's local time zone).
func Compile(cfg *config.Config, lists *blocklists.Set, loc *time.Location) (*Policy, error) {
	if cfg.Policy.Timezone != "" || loc == nil {
		loc = cfg.Policy.Location // [policy] timezone, when given, is the city's zone
	}
	if loc == nil {
		loc = time.Local
	}
	p := &Policy{lists: lists, m: lists.Matcher, allow: suffixSet{}, loc: loc, cfg: cfg, deptByName: map[string]*Department{}, quietNames: newQuietNames()}
	for _, name := range p.m.Categories() {
		p.categories = append(p.categories, categoryInfo{name: name, edeText: "Blocked (" + name + ")"})
	}
	// The order a name listed in several categories is reported in:
	// priority first, then name.
	for i := range p.categories {
		p.order = append(p.order, i)
	}
	prio := func(i int) int {
		if c := lists.Categories[p.categories[i].name]; c != nil {
			return c.Priority
		}
		return 0
	}
	sort.SliceStable(p.order, func(a, b int) bool { return prio(p.order[a]) > prio(p.order[b]) })
	var errs config.Errors
	p.citywide = p.categoryMask(cfg, "policy.block", cfg.Policy.Block, &errs)
	p.compileServices(cfg, &errs)
	p.compileLocal(cfg, &errs)
	for _, a := range cfg.Policy.Allow {
		p.allow[a] = cfg.Where("policy.allow")
	}
	for i, dc := range cfg.Department {
		p.addDepartment(cfg, i, dc, &errs)
	}
	for _, pfx := range cfg.Server.AllowPrefixes {
		p.served.add(pfx, nil)
	}
	p.configEx = newExemptions(len(p.depts))
	for i, ec := range cfg.Exemption {
		path := fmt.Sprintf("exemption[%d]", i)
		e := FromConfig(ec, cfg.Where(path), loc)
		if err := p.addExemption(p.configEx, e); err != nil {
			errs = append(errs, cfg.ErrorAt(path+".category", "exemption for unknown category %q", ec.Category))
		}
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		return nil, errs
	}
	return p, nil
}

// categoryMask turns category names into matcher bits, reporting unknown ones at path.
func (p *Policy) categoryMask(cfg *config.Config, path string, cats []string, errs *config.Errors) uint32 {
	var mask uint32
	for _, c := range cats {
		bit := p.m.Category(c)
		if bit < 0 {
			*errs = append(*errs, cfg.ErrorAt(path, "unknown category %q (the lists define: %v)", c, p.m.Categories()))
			continue
		}
		mask |= 1 << bit
	}
	return mask
}

func (p *Policy) addDepartment(cfg *config.Config, i int, dc config.Department, errs *config.Errors) {
	path := fmt.Sprintf("department[%d]", i)
	d := &Department{
		Name: dc.Name, Networks: dc.Prefixes, Block: dc.Block, BlockDomains: dc.BlockDomains, SafeSearch: dc.SafeSearch,
		Where: cfg.Where(path), index: len(p.depts), domains: suffixSet{}, edeText: "Blocked (" + dc.Name + ")",
	}
	if p.m.Category(dc.Name) >= 0 {
		*errs = append(*errs, cfg.ErrorAt(path+".name", "department %q has the name of a category: its block_domains would be confused with it", dc.Name))
	}
	d.blocked = p.citywide | p.categoryMask(cfg, path+".block", dc.Block, errs)
	d.approved = p.approved.union(p.approvedSet(cfg, path+".approved_chat", dc.ApprovedChat, errs))
	d.approvedIDs, d.ApprovedChat = dc.ApprovedChat, p.serviceNames(d.approved)
	for _, n := range dc.BlockDomains {
		d.domains[n] = cfg.Where(path + ".block_domains")
	}
	for j, h := range dc.Hours {
		hp := fmt.Sprintf("%s.hours[%d]", path, j)
		d.windows = append(d.windows, window{
			days: h.DayMask, start: h.Start, end: h.End, where: cfg.Where(hp), text: h.Hours, dayNames: h.Days,
			open: p.categoryMask(cfg, hp+".open", h.Open, errs), block: p.categoryMask(cfg, hp+".block", h.Block, errs),
		})
		p.hasWindows = true
	}
	for _, pfx := range dc.Prefixes {
		p.nets.add(pfx, d)
	}
	p.depts = append(p.depts, d)
	p.deptByName[config.DepartmentKey(d.Name)] = d
}

// Served reports whether client may ask at all ([server] allow): anyone
// else gets REFUSED and is never resolved for.
func (p *Policy) Served(client netip.Addr) bool {
	_, pfx := p.served.lookup(client)
	return pfx.IsValid()
}

// Lists returns the category lists the policy was built from.
func (p *Policy) Lists() *blocklists.Set { return p.lists }

// Departments lists the departments in configuration order.
func (p *Policy) Departments() []*Department { return p.depts }

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

// DepartmentNamed returns the department of that name (compared as
// config.DepartmentKey does), or nil.
func (p *Policy) DepartmentNamed(name string) *Department {
	return p.deptByName[config.DepartmentKey(name)]
}

// DepartmentByKey is DepartmentNamed for a name already made a key
// (config.DepartmentKey): no copy on the query path.
func (p *Policy) DepartmentByKey(key string) *Department { return p.deptByName[key] }

// Location is the time zone exemption dates are days in.
func (p *Policy) Location() *time.Location { return p.loc }

// Department returns the department of a client (nil: none, the citywide policy alone).
func (p *Policy) Department(client netip.Addr) *Department {
	d, _ := p.nets.lookup(client)
	return d
}
