package listreview

import (
	"slices"
	"sort"
	"strings"

	"github.com/civicdns/civicdns/blocklists"
	"github.com/civicdns/civicdns/querylog"
	"golang.org/x/net/publicsuffix"
)

// Candidate is one registrable domain the lists do not hold, and why an
// admin might add it.
type Candidate struct {
	Domain   string
	Queries  int
	Clients  int
	Examples []string  // names asked under it (a few)
	Words    []Word    // category words in the name
	Shared   []Shared  // a CNAME target or name servers shared with blocked names
	Siblings []Sibling // the same name, listed under another suffix
}

// Word is a category word found in a candidate's name.
type Word struct{ Category, Word string }

// Shared is infrastructure a candidate shares with a blocked domain.
type Shared struct {
	Category string // the blocked domain's
	With     string // the blocked domain
	Via      string // "name servers ns1.op.example" or "CNAME target edge.op.example"
}

// Suggest is the category the evidence points at: the one of shared
// infrastructure first, then of a sibling, then of a word ("" when there is
// no evidence).
func (c *Candidate) Suggest() string {
	if len(c.Shared) > 0 {
		return c.Shared[0].Category
	}
	if len(c.Siblings) > 0 {
		return c.Siblings[0].Category
	}
	if len(c.Words) > 0 {
		return c.Words[0].Category
	}
	return ""
}

// Reviewer reads query log records and keeps, per registrable domain, what
// the lists miss and what they block.
type Reviewer struct {
	m       *blocklists.Matcher
	misses  map[string]*tally
	blocked map[string]map[string]int // category → registrable domain → queries
}

type tally struct {
	queries  int
	clients  map[string]bool
	examples []string
}

// New starts a review against the lists in force.
func New(m *blocklists.Matcher) *Reviewer {
	return &Reviewer{m: m, misses: map[string]*tally{}, blocked: map[string]map[string]int{}}
}

// Add reads one record: an allowed lookup of a name no list mentions is a
// miss; a blocked one is a name the review compares misses with.
func (r *Reviewer) Add(e *querylog.Entry) {
	name := strings.ToLower(strings.TrimSuffix(e.Name, "."))
	if local(name) {
		return
	}
	domain, err := publicsuffix.EffectiveTLDPlusOne(name)
	if err != nil {
		return
	}
	switch e.Action {
	case "blocked":
		if e.Category == "" || e.Category == "suspended" || e.Category == "bypass" {
			return
		}
		byDomain := r.blocked[e.Category]
		if byDomain == nil {
			byDomain = map[string]int{}
			r.blocked[e.Category] = byDomain
		}
		byDomain[domain]++
	case "allowed":
		if len(r.m.Lookup(name, nil)) > 0 {
			return // listed somewhere (an allow entry, another category): decided already
		}
		t := r.misses[domain]
		if t == nil {
			t = &tally{clients: map[string]bool{}}
			r.misses[domain] = t
		}
		t.queries++
		if len(t.clients) < 10000 {
			t.clients[e.Client] = true
		}
		if len(t.examples) < 3 && !slices.Contains(t.examples, name) {
			t.examples = append(t.examples, name)
		}
	}
}

// local is a name that never leaves the city (reverse lookups, special-use names).
func local(name string) bool {
	if !strings.Contains(name, ".") {
		return true
	}
	for _, s := range []string{".arpa", ".local", ".internal", ".lan", ".test", ".invalid", ".localhost", ".example"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// Ranked returns the top misses by queries (then clients, then name),
// each with the category words in its name.
func (r *Reviewer) Ranked(top int) []Candidate {
	out := make([]Candidate, 0, len(r.misses))
	for d, t := range r.misses {
		sort.Strings(t.examples)
		out = append(out, Candidate{Domain: d, Queries: t.queries, Clients: len(t.clients), Examples: t.examples})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Queries != b.Queries {
			return a.Queries > b.Queries
		}
		if a.Clients != b.Clients {
			return a.Clients > b.Clients
		}
		return a.Domain < b.Domain
	})
	if top > 0 && len(out) > top {
		out = out[:top]
	}
	for i := range out {
		out[i].Words, out[i].Siblings = wordsIn(out[i].Domain), siblingsOf(r.m, out[i].Domain)
	}
	return out
}

// BlockedSample is, per category, the blocked domains clients asked most
// (at most n each): what the misses' infrastructure is compared with.
func (r *Reviewer) BlockedSample(n int) map[string][]string {
	out := map[string][]string{}
	for cat, byDomain := range r.blocked {
		domains := make([]string, 0, len(byDomain))
		for d := range byDomain {
			domains = append(domains, d)
		}
		sort.Slice(domains, func(i, j int) bool {
			if byDomain[domains[i]] != byDomain[domains[j]] {
				return byDomain[domains[i]] > byDomain[domains[j]]
			}
			return domains[i] < domains[j]
		})
		if len(domains) > n {
			domains = domains[:n]
		}
		out[cat] = domains
	}
	return out
}
