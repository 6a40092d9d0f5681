package resolver

import (
	"hash/maphash"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// cacheStore is the LRU hot cache, split into shards (each an LRU of its own
// behind its own lock) so that readers on different CPUs rarely meet. Keys
// are 64-bit hashes of name, type, class and the DO/CD bits; the entry keeps
// the full key and is checked, so a hash collision is a miss, never a wrong answer.
type cacheStore struct {
	shards []*lru.Cache[uint64, *entry]
	seed   maphash.Seed
}

const maxShards = 32

func newCacheStore(size int) *cacheStore {
	n := maxShards
	if size < 64*maxShards {
		n = 1 // a small cache keeps an exact LRU order
	}
	c := &cacheStore{seed: maphash.MakeSeed(), shards: make([]*lru.Cache[uint64, *entry], n)}
	for i := range c.shards {
		l, err := lru.New[uint64, *entry]((size + n - 1) / n)
		if err != nil {
			panic(err) // only for size <= 0, which config validation rules out
		}
		c.shards[i] = l
	}
	return c
}

func (c *cacheStore) key(name string, qtype, qclass uint16, bits uint8) uint64 {
	h := maphash.String(c.seed, name)
	return h ^ (uint64(qtype)<<24|uint64(qclass)<<8|uint64(bits))*0x9E3779B97F4A7C15
}

func (c *cacheStore) shard(h uint64) *lru.Cache[uint64, *entry] {
	return c.shards[(h>>32)%uint64(len(c.shards))]
}

// get returns the entry for the question, fresh or not, or nil.
func (c *cacheStore) get(h uint64, name string, qtype, qclass uint16, bits uint8) *entry {
	e, ok := c.shard(h).Get(h)
	if !ok || e.qtype != qtype || e.qclass != qclass || e.bits != bits || e.name != name {
		return nil
	}
	return e
}

func (c *cacheStore) put(h uint64, e *entry) { c.shard(h).Add(h, e) }

// len counts the entries, fresh and expired.
func (c *cacheStore) len() int {
	n := 0
	for _, s := range c.shards {
		n += s.Len()
	}
	return n
}

// ttlLimits bound the lifetimes of what the cache keeps.
type ttlLimits struct {
	min, max, negMax time.Duration
}
