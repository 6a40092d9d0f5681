package cache

import (
	"hash/maphash"
	"math/bits"
	"sync/atomic"
	"time"

	"github.com/civicdns/civicdns/config"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Store is the LRU hot cache, split into shards (each an LRU of its own
// behind its own lock) so that readers on different CPUs rarely meet. Keys
// are 64-bit hashes of name, type, class and the DO/CD bits; the entry keeps
// the full key and is checked, so a hash collision is a miss, never a wrong answer.
//
// In front of the shards sits recent, a direct-mapped table of the entries
// last found or stored, read without a lock: a hit there costs one load and
// the entry's own fields, where a shard costs its lock, a map probe and the
// LRU list's links (on a cache hit, several cache lines the kernel's
// networking has just pushed out). An entry leaves recent when it leaves
// its shard (evicted, or replaced by a newer answer), and is moved to its
// shard's front at most once per touchEvery while recent answers for it, so
// the LRU order still follows what clients ask.
type Store struct {
	shards []*lru.Cache[uint64, *Entry]
	seed   maphash.Seed
	recent []atomic.Pointer[Entry]
}

const (
	maxShards       = 32
	maxRecent       = 1 << 16 // 512 KiB of pointers: the busy names of a large city
	minRecent       = 1 << 10
	touchEvery      = time.Second
	touchEveryNanos = int64(touchEvery)
)

// New makes a cache of size entries.
func New(size int) *Store {
	n := maxShards
	if size < 64*maxShards {
		n = 1 // a small cache keeps an exact LRU order
	}
	slots := min(max(1<<bits.Len(uint(size-1)), minRecent), maxRecent)
	c := &Store{seed: maphash.MakeSeed(), shards: make([]*lru.Cache[uint64, *Entry], n), recent: make([]atomic.Pointer[Entry], slots)}
	for i := range c.shards {
		l, err := lru.NewWithEvict((size+n-1)/n, c.evicted)
		if err != nil {
			panic(err) // only for size <= 0, which config validation rules out
		}
		c.shards[i] = l
	}
	return c
}

// Key hashes a question (name, type, class, DO/CD bits) to its cache key.
func (c *Store) Key(name string, qtype, qclass uint16, bits uint8) uint64 {
	h := maphash.String(c.seed, name)
	return h ^ (uint64(qtype)<<24|uint64(qclass)<<8|uint64(bits))*0x9E3779B97F4A7C15
}

func (c *Store) shard(h uint64) *lru.Cache[uint64, *Entry] {
	return c.shards[(h>>32)%uint64(len(c.shards))]
}

func (c *Store) slot(h uint64) *atomic.Pointer[Entry] { return &c.recent[h&uint64(len(c.recent)-1)] }

// Get returns the entry for the question with key h, fresh or not, or nil.
// now is the query's time, for the LRU order.
func (c *Store) Get(h uint64, name string, qtype, qclass uint16, bits uint8, now time.Time) *Entry {
	slot := c.slot(h)
	if e := slot.Load(); e != nil && e.key == h && !e.gone.Load() && e.is(name, qtype, qclass, bits) {
		if t := now.UnixNano(); t-e.touched.Load() >= touchEveryNanos {
			e.touched.Store(t)
			c.shard(h).Get(h) // to its shard's front: it is still asked for
		}
		return e
	}
	e, ok := c.shard(h).Get(h)
	if !ok || !e.is(name, qtype, qclass, bits) {
		return nil
	}
	e.touched.Store(now.UnixNano())
	slot.Store(e)
	return e
}

// Put keeps e under key h, in place of the entry the key had.
func (c *Store) Put(h uint64, e *Entry) {
	e.key = h
	s := c.shard(h)
	if old, ok := s.Peek(h); ok {
		old.gone.Store(true) // replaced: recent must not answer with it
	}
	s.Add(h, e)
	c.slot(h).Store(e)
}

// evicted is the shards' eviction callback: the entry leaves recent too.
func (c *Store) evicted(h uint64, e *Entry) {
	e.gone.Store(true)
	c.slot(h).CompareAndSwap(e, nil)
}

// Len counts the entries, fresh and expired.
func (c *Store) Len() int {
	n := 0
	for _, s := range c.shards {
		n += s.Len()
	}
	return n
}

// Limits bound the lifetimes of what the cache keeps.
type Limits struct {
	Min, Max, NegMax time.Duration
}

// LimitsOf reads the limits of a [cache] section.
func LimitsOf(c *config.Cache) Limits {
	return Limits{Min: c.MinTTL.D(), Max: c.MaxTTL.D(), NegMax: c.NegMaxTTL.D()}
}
