package localzones

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/civicdns/civicdns/dnswire"
)

// TTL is the TTL of every local answer and of the zones' SOA (its negative
// TTL too), as Unbound's built-in zones give it: three hours.
const TTL = 10800

// Zone is a locally served zone, compiled.
type Zone struct {
	Name string
	Kind Kind
	Why  string // the RFC and what the space is
	Rule string // how the query log and explain name it: "built in: RFC 6303: … (10.in-addr.arpa)"

	owner   []byte          // Name in wire form, for the SOA in the authority section
	data    map[string][]rr // a Data zone's records by owner
	parents map[string]bool // names above a record (empty non-terminals: NODATA)
}

type rr struct {
	rtype uint16
	rdata []byte
}

// Options are what the configuration says of local zones.
type Options struct {
	Off       []string // [server] local_zones_off: defaults not to answer (normalised)
	Forwarded []string // the [[upstream.zone]] names: the city's own zones win
	BlockWPAD bool     // [policy] block_wpad
}

// Set is every zone answered locally, compiled: immutable, safe for
// concurrent use.
type Set struct {
	zones     map[string]*Zone
	forwarded map[string]bool
	wpad      bool
	soa, ns   []byte // the rdata every zone's SOA and NS share
	localhost [2]rr  // the A and AAAA of every name under localhost
	list      []*Zone
	off       map[string]*Zone // the defaults local_zones_off turned off
}

// Compile builds the set; an Off name that is no default zone is an error
// that lists them.
func Compile(o Options) (*Set, error) {
	s := &Set{zones: map[string]*Zone{}, forwarded: map[string]bool{}, wpad: o.BlockWPAD, off: map[string]*Zone{}}
	s.soa = mustName(nil, "localhost")
	s.soa = mustName(s.soa, "nobody.invalid")
	s.soa = append(s.soa, 0, 0, 0, 1, 0, 0, 0x0e, 0x10, 0, 0, 0x04, 0xb0, 0, 0x09, 0x3a, 0x80, 0, 0, 0x2a, 0x30) // 1 3600 1200 604800 10800
	s.ns = mustName(nil, "localhost")
	s.localhost = [2]rr{{typeA, []byte{127, 0, 0, 1}}, {typeAAAA, netip.IPv6Loopback().AsSlice()}}
	off := map[string]bool{}
	for _, n := range o.Off {
		off[strings.TrimSuffix(strings.ToLower(n), ".")] = true
	}
	for _, d := range defaults() {
		z := &Zone{Name: d.name, Kind: d.kind, Why: d.why, Rule: "built in: " + d.why + " (" + d.name + ")", owner: mustName(nil, d.name)}
		for _, r := range d.records {
			z.add(r)
		}
		if off[d.name] {
			delete(off, d.name)
			s.off[d.name] = z
			continue
		}
		s.zones[d.name] = z
		s.list = append(s.list, z)
	}
	if len(off) > 0 {
		var names []string
		for n := range off {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("local_zones_off: %s: not a locally served zone (`civicdns check` lists them)", strings.Join(names, ", "))
	}
	for _, f := range o.Forwarded {
		s.forwarded[strings.TrimSuffix(strings.ToLower(f), ".")] = true
	}
	return s, nil
}

func (z *Zone) add(r record) {
	if z.data == nil {
		z.data, z.parents = map[string][]rr{}, map[string]bool{}
	}
	var rdata []byte
	switch r.rtype {
	case typePTR:
		rdata = mustName(nil, r.data)
	default:
		rdata = netip.MustParseAddr(r.data).AsSlice()
	}
	z.data[r.name] = append(z.data[r.name], rr{r.rtype, rdata})
	for n := r.name; n != z.Name; {
		_, n, _ = strings.Cut(n, ".")
		if n != z.Name {
			z.parents[n] = true
		}
	}
}

func mustName(b []byte, name string) []byte {
	b, err := dnswire.AppendName(b, name)
	if err != nil {
		panic(err)
	}
	return b
}

// Zones lists the zones answered locally, in the order they are defined.
func (s *Set) Zones() []*Zone { return s.list }

// Forwarded reports whether name is a city zone ([[upstream.zone]]) that
// is, or is under, a default local zone: sent upstream instead.
func (s *Set) Forwarded(name string) bool { return s.forwarded[name] }

// Match is what the set says about one name.
type Match struct {
	Zone *Zone // the zone that answers it, or nil
	WPAD bool  // a wpad or isatap name, answered NXDOMAIN
	set  *Set
}

// Local reports whether the name is answered locally.
func (m Match) Local() bool { return m.Zone != nil || m.WPAD }

// localTLDs are the last labels under which a local zone can be.
func localTLD(tld string) bool {
	switch tld {
	case "arpa", "localhost", "invalid", "test", "onion", "local":
		return true
	}
	return false
}

// Lookup says whether name (lower case, no trailing dot) is answered
// locally: the longest zone that holds it, unless a city zone as long or
// longer does. It does not allocate.
func (s *Set) Lookup(name string) Match {
	if s == nil {
		return Match{}
	}
	if s.wpad && wpadName(name) && !s.underForwarded(name) {
		return Match{WPAD: true, set: s}
	}
	if !localTLD(name[strings.LastIndexByte(name, '.')+1:]) {
		return Match{}
	}
	for n := name; ; {
		if s.forwarded[n] {
			return Match{}
		}
		if z := s.zones[n]; z != nil {
			return Match{Zone: z, set: s}
		}
		i := strings.IndexByte(n, '.')
		if i < 0 {
			return Match{}
		}
		n = n[i+1:]
	}
}

// wpadName is a name whose first label is wpad or isatap.
func wpadName(name string) bool {
	first := name
	if i := strings.IndexByte(name, '.'); i >= 0 {
		first = name[:i]
	}
	return first == "wpad" || first == "isatap"
}

// underForwarded reports whether name is in a city zone.
func (s *Set) underForwarded(name string) bool {
	if len(s.forwarded) == 0 {
		return false
	}
	for n := name; ; {
		if s.forwarded[n] {
			return true
		}
		i := strings.IndexByte(n, '.')
		if i < 0 {
			return false
		}
		n = n[i+1:]
	}
}

// NotLocal says, for a name that is not answered locally, why a default
// zone that holds it does not answer it: a city zone ([[upstream.zone]])
// that takes its subtree, or local_zones_off. zone is nil when no default
// zone holds the name.
func (s *Set) NotLocal(name string) (zone *Zone, city string, off bool) {
	for n := name; ; {
		if city == "" && s.forwarded[n] {
			city = n
		}
		if z := s.zones[n]; z != nil {
			return z, city, false
		}
		if z := s.off[n]; z != nil {
			return z, city, city == ""
		}
		i := strings.IndexByte(n, '.')
		if i < 0 {
			return nil, "", false
		}
		n = n[i+1:]
	}
}

// Off lists the defaults local_zones_off turned off.
func (s *Set) Off() []string {
	var out []string
	for n := range s.off {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ForwardedZones lists the city zones that take a local zone's subtree.
func (s *Set) ForwardedZones() []string {
	var out []string
	for f := range s.forwarded {
		if z, _, _ := s.NotLocal(f); z != nil {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}
