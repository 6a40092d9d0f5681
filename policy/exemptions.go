package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/civicdns/civicdns/config"
)

// Exemption is a director's written authorization: it lifts one category
// or a list of domains for a department or for listed clients. It comes
// from an [[exemption]] of the configuration or from the state store (an
// approved request); Source says which.
type Exemption struct {
	// ID is stable across reloads: a hash of what the exemption says for
	// the configuration's entries ("c-…"), the store's own id otherwise.
	ID         string
	Department string // or Clients
	Clients    []netip.Prefix
	Category   string // or Domains
	Domains    []string
	ApprovedBy string
	Reason     string
	Reference  string
	Starts     time.Time // zero: from the start
	Expires    time.Time // the first instant it no longer applies
	ExpiresOn  config.Date
	// Source is where the exemption is written: the configuration's
	// file:line, or "state store" for an approval made in the console or CLI.
	Source string
}

// SourceStore is the Source of exemptions approved through the state store.
const SourceStore = "state store"

// Active reports whether the exemption applies at now.
func (e *Exemption) Active(now time.Time) bool {
	return !now.Before(e.Starts) && now.Before(e.Expires)
}

// For names whom the exemption is for: "department X" or "clients a, b".
func (e *Exemption) For() string {
	if e.Department != "" {
		return "department " + e.Department
	}
	s := make([]string, len(e.Clients))
	for i, c := range e.Clients {
		s[i] = c.String()
	}
	return "clients " + strings.Join(s, ", ")
}

// Lifts names what the exemption lifts: its category or its domains.
func (e *Exemption) Lifts() string {
	if len(e.Domains) > 0 {
		return strings.Join(e.Domains, ", ")
	}
	return e.Category
}

// FromConfig makes the exemption an [[exemption]] entry describes; dates
// are days in loc. Its ID is a hash of its content, so it stays the same
// across reloads and edits of other entries.
func FromConfig(ec config.Exemption, where string, loc *time.Location) *Exemption {
	e := &Exemption{
		Department: ec.Department, Clients: ec.ClientPrefixes, Category: ec.Category, Domains: ec.Domains,
		ApprovedBy: ec.ApprovedBy, Reason: ec.Reason, Reference: ec.Reference, ExpiresOn: ec.Expires,
		Source: where,
	}
	if !ec.Starts.IsZero() {
		e.Starts = ec.Starts.Start(loc)
	}
	e.Expires = ec.Expires.Start(loc).AddDate(0, 0, 1) // valid through its expiry day
	h := sha256.Sum256(fmt.Appendf(nil, "%s|%v|%s|%v|%s|%s|%s|%s", ec.Department, ec.ClientPrefixes, ec.Category,
		ec.Domains, ec.ApprovedBy, ec.Reference, ec.Starts, ec.Expires))
	e.ID = "c-" + hex.EncodeToString(h[:4])
	return e
}

// Exemptions is an immutable set of exemptions compiled against one Policy:
// the configuration's and the state store's together. It is swapped whole
// when an approval or revocation changes it, without rebuilding the policy.
// It is indexed so that a decision costs a few map probes however many
// exemptions there are: by department, by single client address, and in
// each by the names they lift.
type Exemptions struct {
	all      []*Exemption // configuration first, then the store's
	byDept   []liftSet    // by department index: the whole department's
	byClient map[netip.Addr]*liftSet
	wide     []liftEntry // those given to networks of clients (a few)
}

// liftSet is what the exemptions of one department or one client lift.
type liftSet struct {
	names map[string][]*Exemption // domain exemptions by the name they lift (with its subdomains)
	cats  []liftEntry             // category exemptions
}

// liftEntry is an exemption with what it lifts resolved against the policy.
type liftEntry struct {
	e       *Exemption
	catBit  int       // the matcher bit of its category; -1 for domains or the department's own
	own     bool      // it lifts the department's own category (block_domains)
	domains suffixSet // for the wide entries' domains
}

// All lists every exemption, the configuration's in file order first.
func (x *Exemptions) All() []*Exemption {
	if x == nil {
		return nil
	}
	return x.all
}

// Active counts the exemptions in force at now.
func (x *Exemptions) Active(now time.Time) int {
	n := 0
	for _, e := range x.All() {
		if e.Active(now) {
			n++
		}
	}
	return n
}

// Find returns the exemption with that ID, or nil.
func (x *Exemptions) Find(id string) *Exemption {
	for _, e := range x.All() {
		if e.ID == id {
			return e
		}
	}
	return nil
}

// ConfigExemptions is the set of the configuration's exemptions alone.
func (p *Policy) ConfigExemptions() *Exemptions { return p.configEx }

func newExemptions(depts int) *Exemptions {
	return &Exemptions{byDept: make([]liftSet, depts), byClient: map[netip.Addr]*liftSet{}}
}

// WithExemptions compiles the configuration's exemptions and more (the
// state store's) into one set for this policy. An exemption that no longer
// fits the policy (its department or category is gone) lifts nothing and
// is reported in the error; the others are in the set.
func (p *Policy) WithExemptions(more []*Exemption) (*Exemptions, error) {
	x := newExemptions(len(p.depts))
	var errs []error
	cfg := p.configEx.All()
	for _, e := range append(cfg[:len(cfg):len(cfg)], more...) {
		if err := p.addExemption(x, e); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return x, fmt.Errorf("exemptions that lift nothing: %w", errors.Join(errs...))
	}
	return x, nil
}

func (p *Policy) addExemption(x *Exemptions, e *Exemption) error {
	l := liftEntry{e: e, catBit: -1}
	var d *Department
	if e.Department != "" {
		if d = p.deptByName[config.DepartmentKey(e.Department)]; d == nil {
			return fmt.Errorf("exemption %s (%s): unknown department %q", e.ID, e.Source, e.Department)
		}
	}
	switch {
	case len(e.Domains) > 0:
	case d != nil && strings.EqualFold(e.Category, d.Name):
		l.own = true
	default:
		if l.catBit = p.m.Category(e.Category); l.catBit < 0 {
			return fmt.Errorf("exemption %s (%s): unknown category %q", e.ID, e.Source, e.Category)
		}
	}
	x.all = append(x.all, e)
	if d != nil {
		x.byDept[d.index].add(l)
		return nil
	}
	for _, pfx := range e.Clients {
		if pfx.IsSingleIP() {
			s := x.byClient[pfx.Addr().Unmap()]
			if s == nil {
				s = &liftSet{}
				x.byClient[pfx.Addr().Unmap()] = s
			}
			s.add(l)
			continue
		}
		w := l
		if len(e.Domains) > 0 {
			w.domains = suffixSet{}
			for _, n := range e.Domains {
				w.domains[n] = e.Source
			}
		}
		x.wide = append(x.wide, w)
	}
	return nil
}

func (s *liftSet) add(l liftEntry) {
	if len(l.e.Domains) == 0 {
		s.cats = append(s.cats, l)
		return
	}
	if s.names == nil {
		s.names = map[string][]*Exemption{}
	}
	for _, n := range l.e.Domains {
		s.names[n] = append(s.names[n], l.e)
	}
}

// covers reports whether e is for client (in department d).
func covers(e *Exemption, d *Department, client netip.Addr) bool {
	if e.Department != "" {
		return d != nil && config.DepartmentKey(d.Name) == config.DepartmentKey(e.Department)
	}
	for _, p := range e.Clients {
		if p.Contains(client) {
			return true
		}
	}
	return false
}

// For lists the exemptions given to client in department d (for explain and
// the block page), in set order.
func (x *Exemptions) For(d *Department, client netip.Addr) []*Exemption {
	var out []*Exemption
	for _, e := range x.All() {
		if covers(e, d, client) {
			out = append(out, e)
		}
	}
	return out
}
