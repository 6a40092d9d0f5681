package ratelimit

// Clients limits how fast each DNS client may ask ([server.rate_limit]): a
// token bucket (golang.org/x/time/rate) per IPv4 address or IPv6 prefix, in
// a sharded table of bounded size, so that a client spraying source
// addresses evicts entries and never grows it without end.

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Config is [server.rate_limit], parsed.
type Config struct {
	Queries    int // per second; 0: off
	Burst      int // 0: twice Queries
	Slip       int // over the limit on UDP, every Slip-th answer is an empty TC=1 (0: none)
	IPv6Prefix int // IPv6 clients are grouped by this prefix (64)
	Exempt     []netip.Prefix
	LogOnly    bool // count and log, answer everyone
}

// Verdict is what to do with one query.
type Verdict uint8

const (
	Allow Verdict = iota // answer
	Slip                 // over the limit: answer an empty TC=1 (UDP)
	Drop                 // over the limit: no answer (UDP), REFUSED (streams), 429 (DoH)
)

// shards split the table so that readers on many cores rarely meet.
const shards = 64

// DefaultCapacity bounds the clients tracked at once (about 200 bytes each).
const DefaultCapacity = 1 << 17

// Clients is the per-client table. Safe for concurrent use.
type Clients struct {
	cfg    Config
	seed   uint64 // spreads the shards differently in every process
	perCap int
	shard  [shards]shard
}

type shard struct {
	mu sync.Mutex
	m  map[[16]byte]*client
}

// client is one client's bucket and what was said about it.
type client struct {
	bucket *rate.Limiter
	over   uint64    // queries over the limit since logged
	slip   uint32    // counts over-limit queries for Slip
	logged time.Time // when it was last reported
}

// NewClients makes the table; capacity bounds the clients tracked (0: DefaultCapacity).
func NewClients(cfg Config, capacity int) *Clients {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 2 * cfg.Queries
	}
	if cfg.IPv6Prefix <= 0 || cfg.IPv6Prefix > 128 {
		cfg.IPv6Prefix = 64
	}
	l := &Clients{cfg: cfg, seed: rand.Uint64(), perCap: max(capacity/shards, 1)}
	for i := range l.shard {
		l.shard[i].m = map[[16]byte]*client{}
	}
	return l
}

// Config is the limiter's configuration.
func (l *Clients) Config() Config { return l.cfg }

// Key is the client a query counts against: the IPv4 address, or the
// IPv6 address's prefix.
func (l *Clients) Key(addr netip.Addr) netip.Addr {
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(l.cfg.IPv6Prefix)
		return p.Addr()
	}
	return addr
}

// Exempt reports whether addr is in an exempt network.
func (l *Clients) Exempt(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range l.cfg.Exempt {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Result is what Take says of one query.
type Result struct {
	Verdict Verdict
	Over    bool   // the query is over the limit (with LogOnly, answered all the same)
	Report  bool   // log this client's excess now (once a minute at most)
	Count   uint64 // with Report: its queries over the limit since the last report
}

// Take counts one query of addr, received at now, and says what to do
// with it.
func (l *Clients) Take(addr netip.Addr, now time.Time) Result {
	if l == nil || l.cfg.Queries <= 0 || l.Exempt(addr) {
		return Result{}
	}
	return l.take(l.Key(addr).As16(), now)
}

// TakeKey is Take for a client known by a key of its own rather than its
// address (a roaming device's token, wherever it asks from): never exempt.
// Keys are hashes, so they never meet an address's.
func (l *Clients) TakeKey(key [16]byte, now time.Time) Result {
	if l == nil || l.cfg.Queries <= 0 {
		return Result{}
	}
	return l.take(key, now)
}

func (l *Clients) take(b [16]byte, now time.Time) Result {
	h := (binary.LittleEndian.Uint64(b[:8])^l.seed)*0x9E3779B97F4A7C15 ^ binary.LittleEndian.Uint64(b[8:])*0xC2B2AE3D27D4EB4F
	s := &l.shard[(h>>32)%shards]
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.m[b]
	if c == nil {
		if len(s.m) >= l.perCap {
			for k := range s.m { // evict one, any: the table never grows past its bound
				delete(s.m, k)
				break
			}
		}
		c = &client{bucket: rate.NewLimiter(rate.Limit(l.cfg.Queries), l.cfg.Burst)}
		s.m[b] = c
	}
	if c.bucket.AllowN(now, 1) {
		return Result{}
	}
	c.over++
	r := Result{Verdict: Drop, Over: true}
	if now.Sub(c.logged) >= time.Minute {
		r.Report, r.Count, c.over, c.logged = true, c.over, 0, now
	}
	c.slip++
	switch {
	case l.cfg.LogOnly:
		r.Verdict = Allow
	case l.cfg.Slip > 0 && c.slip%uint32(l.cfg.Slip) == 0:
		r.Verdict = Slip
	}
	return r
}

// Len is how many clients are tracked.
func (l *Clients) Len() int {
	n := 0
	for i := range l.shard {
		l.shard[i].mu.Lock()
		n += len(l.shard[i].m)
		l.shard[i].mu.Unlock()
	}
	return n
}
