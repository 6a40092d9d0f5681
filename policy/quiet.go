package policy

import (
	"hash/maphash"
	"sync/atomic"
)

// quietNames remembers names that nothing in the policy touches: no list,
// no [policy] allow entry, no department's block_domains and no safe-search
// host holds the name or any of its parents. Such a name is allowed
// whoever asks and whenever (hours, exemptions and departments only change
// what is listed; suspensions are checked before the policy), so the next
// Decide for it is one hash and one load instead of a hash-table probe per
// label in each set: most of what a cache hit spends in the policy.
//
// It belongs to one compiled Policy (a reload starts an empty one). It is
// direct-mapped and lock-free: a slot holds the 64-bit hash of the last
// quiet name stored in it, 0 for none; a busier name simply takes the slot.
// Two names share a hash with probability 2^-64 under the per-process
// random seed, which no client can learn.
type quietNames struct {
	seed  maphash.Seed
	slots [quietSlots]atomic.Uint64
}

const quietSlots = 1 << 16 // 512 KiB: the busy names of a large city

func newQuietNames() *quietNames { return &quietNames{seed: maphash.MakeSeed()} }

// hash is the name's key (never 0, the empty slot).
func (q *quietNames) hash(name string) uint64 {
	if h := maphash.String(q.seed, name); h != 0 {
		return h
	}
	return 1
}

func (q *quietNames) has(h uint64) bool { return q.slots[h&(quietSlots-1)].Load() == h }

func (q *quietNames) add(h uint64) { q.slots[h&(quietSlots-1)].Store(h) }

// quiet reports whether no department's block_domains and no safe-search
// host hold name (the lists and [policy] allow are checked by the caller).
func (p *Policy) quiet(name string) bool {
	if _, ok := safeSearchHosts[name]; ok {
		return false
	}
	for _, d := range p.depts {
		if d.domains.longest(name) >= 0 {
			return false
		}
	}
	return true
}
