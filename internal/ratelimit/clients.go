package ratelimit

// Clients limits how fast each DNS client may ask ([server.rate_limit]): a
// token bucket (golang.org/x/time/rate) per IPv4 address, IPv6 prefix or
// device token, in a table of fixed size, so that a client spraying source
// addresses evicts entries and never grows it.
//
// The hit path must stay cheap (a cached answer is ~450 ns): finding a
// client is a few atomic loads (open addressing over atomic pointers, no
// lock), and a client takes its tokens from its bucket a batch at a time
// into an atomic credit, so that most queries cost one atomic add and
// only one in a batch takes the bucket's lock. The batch is at most a
// sixteenth of the burst, so the limit is kept exactly when the clock
// stands still and within a batch otherwise.

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
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

// DefaultCapacity bounds the clients tracked at once (a slot of 8 bytes
// each, and about 200 bytes a client in use).
const DefaultCapacity = 1 << 17

// probes is how many neighbouring slots a client may sit in.
const probes = 4

// maxBatch bounds the tokens a client takes from its bucket at once.
const maxBatch = 16

// Clients is the per-client table. Safe for concurrent use.
type Clients struct {
	cfg   Config
	seed  uint64 // spreads the slots differently in every process
	batch int32
	slots []atomic.Pointer[client] // a power of two
}

// client is one client's bucket, its credit and what was said about it.
type client struct {
	key    [16]byte
	credit atomic.Int32 // tokens already taken from the bucket

	mu     sync.Mutex // the slow path: refilling the credit, the excess
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
	size := 1 << (bits.Len(uint(capacity)) - 1) // the power of two at or below capacity
	return &Clients{cfg: cfg, seed: rand.Uint64(), batch: int32(min(max(cfg.Burst/16, 1), maxBatch)),
		slots: make([]atomic.Pointer[client], size)}
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

func (l *Clients) take(key [16]byte, now time.Time) Result {
	c := l.client(key)
	if c.credit.Add(-1) >= 0 {
		return Result{}
	}
	return l.refill(c, now)
}

// refill is the slow path: the client's credit is spent.
func (l *Clients) refill(c *client, now time.Time) Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.credit.Load() > 0 && c.credit.Add(-1) >= 0 {
		return Result{} // refilled by another query while this one waited
	}
	if c.bucket.AllowN(now, int(l.batch)) {
		c.credit.Store(l.batch - 1)
		return Result{}
	}
	c.credit.Store(0)
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

// client finds key's entry without a lock, or puts a new one in an empty
// slot near its hash, or in place of one there (evicted: that client
// starts again with a full bucket).
func (l *Clients) client(key [16]byte) *client {
	h := (binary.LittleEndian.Uint64(key[:8])^l.seed)*0x9E3779B97F4A7C15 ^ binary.LittleEndian.Uint64(key[8:])*0xC2B2AE3D27D4EB4F
	mask := uint64(len(l.slots) - 1)
	for p := range uint64(probes) {
		if c := l.slots[(h+p)&mask].Load(); c != nil && c.key == key {
			return c
		}
	}
	c := &client{key: key, bucket: rate.NewLimiter(rate.Limit(l.cfg.Queries), l.cfg.Burst)}
	for p := range uint64(probes) {
		slot := &l.slots[(h+p)&mask]
		if slot.CompareAndSwap(nil, c) {
			return c
		}
		if other := slot.Load(); other != nil && other.key == key {
			return other // put there by a query of the same client meanwhile
		}
	}
	l.slots[(h+(h>>59)%probes)&mask].Store(c)
	return c
}

// Len is how many clients are tracked.
func (l *Clients) Len() int {
	n := 0
	for i := range l.slots {
		if l.slots[i].Load() != nil {
			n++
		}
	}
	return n
}
