package recursive

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/civicdns/civicdns/dnssec"
	"github.com/civicdns/civicdns/upstream"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/miekg/dns"
)

// delegation is a zone cut: the zone's name servers and the addresses
// known for them (glue, or resolved).
type delegation struct {
	zone    string
	ns      []string
	addrs   map[string][]netip.Addr
	expires time.Time
}

// addGlue keeps the addresses among extra of the delegation's own name
// servers, and only those inside zone, the bailiwick of the server that sent
// them (RFC 5452): the rest are neither believed nor kept.
func (d *delegation) addGlue(extra []dns.RR, zone string) {
	for _, rr := range extra {
		owner := dns.CanonicalName(rr.Header().Name)
		if !dns.IsSubDomain(zone, owner) || !slices.Contains(d.ns, owner) {
			continue
		}
		if a, ok := addrOf(rr); ok {
			d.addrs[owner] = append(d.addrs[owner], a)
		}
	}
}

// addrOf is the address of an A or AAAA record (not an IPv4-mapped one).
func addrOf(rr dns.RR) (netip.Addr, bool) {
	switch v := rr.(type) {
	case *dns.A:
		return netip.AddrFromSlice(v.A.To4())
	case *dns.AAAA:
		a, ok := netip.AddrFromSlice(v.AAAA)
		return a, ok && !a.Is4In6()
	}
	return netip.Addr{}, false
}

// infra is the infrastructure cache: delegations, the addresses of name
// servers resolved without glue, and what each server has shown of itself
// (smoothed RTT, timeouts, EDNS, 0x20).
type infra struct {
	root    *delegation
	zones   *lru.Cache[string, *delegation]
	addrs   *lru.Cache[string, addrEntry]
	servers *lru.Cache[netip.Addr, *serverStat]
	now     func() time.Time
}

type addrEntry struct {
	addrs   []netip.Addr
	expires time.Time
}

const (
	infraZones   = 20000
	infraServers = 20000
	maxNSTTL     = 24 * time.Hour
)

func newInfra(root *delegation, now func() time.Time) *infra {
	zones, _ := lru.New[string, *delegation](infraZones)
	addrs, _ := lru.New[string, addrEntry](infraZones)
	servers, _ := lru.New[netip.Addr, *serverStat](infraServers)
	return &infra{root: root, zones: zones, addrs: addrs, servers: servers, now: now}
}

// closest is the deepest known, unexpired delegation at or above name: the
// primed root's when nothing deeper is known, the hints' before priming.
func (c *infra) closest(name string) *delegation {
	now := c.now()
	for n := name; ; n = dnssec.Parent(n) {
		if d, ok := c.zones.Get(n); ok {
			if now.Before(d.expires) {
				return d
			}
			c.zones.Remove(n)
		}
		if n == "." {
			return c.root
		}
	}
}

func (c *infra) addDelegation(d *delegation) { c.zones.Add(d.zone, d) }

func (c *infra) addAddrs(name string, addrs []netip.Addr, ttl time.Duration) {
	c.addrs.Add(name, addrEntry{addrs, c.now().Add(ttl)})
}

func (c *infra) knownAddrs(name string) ([]netip.Addr, bool) {
	e, ok := c.addrs.Get(name)
	if !ok || !c.now().Before(e.expires) {
		return nil, false
	}
	return e.addrs, true
}

// serverStat is what one server has shown: an RTT estimate (RFC 6298),
// consecutive timeouts, and its quirks.
type serverStat struct {
	rtt upstream.RTT

	mu         sync.Mutex
	timeouts   int
	backoff    time.Time // not preferred until then
	noEDNS     bool
	echoCase   int8 // 0 not known, 1 echoes the question's letter case, -1 does not
	caseMisses int  // answers that did not echo it, while not known
}

func (c *infra) stat(a netip.Addr) *serverStat {
	if s, ok := c.servers.Get(a); ok {
		return s
	}
	s := &serverStat{}
	c.servers.ContainsOrAdd(a, s)
	s, _ = c.servers.Get(a)
	return s
}

// unknownRTT is what a server never measured is assumed to take: low enough
// that it is tried, so that every server of a zone gets measured.
const unknownRTT = 100 * time.Millisecond

// rto is how long to wait for the server before trying another: RFC 6298's
// timeout, doubled for each timeout in a row.
func (s *serverStat) rto(limit time.Duration) time.Duration {
	s.mu.Lock()
	timeouts := s.timeouts
	s.mu.Unlock()
	return min(s.rtt.RTO(4*unknownRTT, 50*time.Millisecond, limit)<<min(timeouts, 4), limit)
}

func (s *serverStat) observe(rtt time.Duration) {
	s.rtt.Observe(rtt)
	s.mu.Lock()
	s.timeouts = 0
	s.mu.Unlock()
}

// failed records a timeout or a lame answer: after three in a row the
// server is passed over for a while (doubling, up to 15 minutes).
func (s *serverStat) failed(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timeouts++
	if s.timeouts >= 3 {
		s.backoff = now.Add(min(time.Second<<min(s.timeouts-3, 10), 15*time.Minute))
	}
}

// score orders servers: not backed off first, then by smoothed RTT.
func (s *serverStat) score(now time.Time) time.Duration {
	v := unknownRTT
	if srtt, _, ok := s.rtt.Estimate(); ok {
		v = srtt
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Before(s.backoff) {
		v += time.Hour
	}
	return v
}

// order lists a delegation's addresses, fastest first; servers within 10 ms
// of each other are shuffled, so that load spreads and none is starved.
func (c *infra) order(addrs []netip.Addr) []netip.Addr {
	now := c.now()
	type scored struct {
		a netip.Addr
		s time.Duration
	}
	list := make([]scored, 0, len(addrs))
	for _, a := range addrs {
		list = append(list, scored{a, c.stat(a).score(now) + time.Duration(rand.Int64N(int64(10*time.Millisecond)))})
	}
	slices.SortFunc(list, func(x, y scored) int { return int(x.s - y.s) })
	out := make([]netip.Addr, len(list))
	for i, s := range list {
		out[i] = s.a
	}
	return out
}
