package main

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/civicdns/civicdns/query"
)

// city draws lookups: which device asks, and which name.
type city struct {
	rng      *rand.Rand
	popular  []string // by rank
	listed   []string
	byRank   *rand.Zipf // a rank in popular
	byListed *rand.Zipf // a listed name (a few prohibited sites are most of the attempts)
	busy     *rand.Zipf // a device, the busy ones first
	devices  []device
	subs     []string
	depts    []string
	blocking []string
}

// device is one client and its habits.
type device struct {
	addr netip.Addr
	dept string
	apps []string // the names it keeps asking
}

func newCity(rng *rand.Rand, popular, listed []string, n int) *city {
	c := &city{
		rng: rng, popular: popular, listed: listed,
		byRank:   rand.NewZipf(rng, 1.1, 1, uint64(len(popular)-1)),
		busy:     rand.NewZipf(rng, 1.05, 20, uint64(n-1)),
		byListed: rand.NewZipf(rng, 1.05, 1, uint64(len(listed)-1)),
		subs:     []string{"www.", "api.", "cdn.", "static.", "login.", "mail.", ""},
		depts:    []string{"Police", "Parks", "Library", "Public Works", "Finance", "Fire", "Clerk", ""},
		blocking: []string{"gambling", "adult", "filesharing", "chat"},
	}
	for i := range n {
		d := device{
			addr: netip.AddrFrom4([4]byte{10, byte(20 + i%8), byte(i / 250), byte(i%250 + 1)}),
			dept: c.depts[i%len(c.depts)],
		}
		for range 20 + rng.IntN(40) {
			d.apps = append(d.apps, c.name())
		}
		c.devices = append(c.devices, d)
	}
	return c
}

// name is a popular name by rank, often under a common subdomain.
func (c *city) name() string {
	return c.subs[c.rng.IntN(len(c.subs))] + c.popular[c.byRank.Uint64()]
}

// lookup fills r with the next lookup (all but its time).
func (c *city) lookup(r *query.Record) {
	d := &c.devices[c.busy.Uint64()]
	r.Client, r.Department = d.addr, d.dept
	r.Action, r.Category, r.Rcode = "allowed", "", 0
	r.Cached = c.rng.IntN(4) != 0
	r.Elapsed = 0
	if !r.Cached {
		r.Elapsed = time.Duration(2e6 + c.rng.Int64N(30e6)) // 2-32 ms upstream
	}
	switch k := c.rng.IntN(100); {
	case k < 2:
		r.Name = []byte("www." + c.listed[c.byListed.Uint64()])
		r.Action, r.Category = "blocked", c.blocking[c.rng.IntN(len(c.blocking))]
	case k < 12:
		r.Name = fmt.Appendf(r.Name[:0], "%016x.t.%s", c.rng.Uint64(), c.popular[c.byRank.Uint64()])
	case k < 78:
		r.Name = []byte(d.apps[c.rng.IntN(len(d.apps))])
	default:
		r.Name = []byte(c.name())
	}
}
