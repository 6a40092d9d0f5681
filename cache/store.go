package cache

import (
	"hash/maphash"
	"time"

	"github.com/civicdns/civicdns/config"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Store is the LRU hot cache, split into shards (each an LRU of its own
// behind its own lock) so that readers on different CPUs rarely meet. Keys
// are 64-bit hashes of name, type, class and the DO/CD bits; the entry keeps
// the full key and is checked, so a hash collision is a miss, never a wrong answer.
type Store struct {
	shards []*lru.Cache[uint64, *Entry]
	seed   maphash.Seed
}

const maxShards = 32

// New makes a cache of size entries.
func New(size int) *Store {
	n := maxShards
	if size < 64*maxShards {
		n = 1 // a small cache keeps an exact LRU order
	}
	c := &Store{seed: maphash.MakeSeed(), shards: make([]*lru.Cache[uint64, *Entry], n)}
	for i := range c.shards {
		l, err := lru.New[uint64, *Entry]((size + n - 1) / n)
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

// Get returns the entry for the question with key h, fresh or not, or nil.
func (c *Store) Get(h uint64, name string, qtype, qclass uint16, bits uint8) *Entry {
	e, ok := c.shard(h).Get(h)
	if !ok || e.Qtype != qtype || e.Qclass != qclass || e.Bits != bits || e.Name != name {
		return nil
	}
	return e
}

// Put keeps e under key h.
func (c *Store) Put(h uint64, e *Entry) { c.shard(h).Add(h, e) }

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
