package blocklists

import (
	"hash/maphash"
	"math/bits"
)

// slots is the hash table from names to arena references: open addressing
// with linear probing, a byte tag per slot (0: empty; else 8 bits of the
// name's hash) beside a 32-bit reference, in two arrays. A probe for a name
// that is not listed (most of a city's lookups) scans tags only: 1.25 bytes
// of tags a name, a few MB that stay in the CPU's cache, where a table of
// 8-byte slots was 16 bytes a name and a cache miss a probe. The table may
// be any size (a hash picks its home slot by multiplication, not by masking
// a power of two), so it is sized to the names, not to the next power of two.
//
// A probe reads eight tags at once (one 64-bit load, compared bytewise by
// arithmetic): most probes end in the first eight slots, with no branch
// per slot to mispredict. The first eight tags are repeated after the
// last, so that eight tags from any slot are one load.
type slots struct {
	seed maphash.Seed
	tags []uint8 // len(refs) + groupSize
	refs []uint32
}

const groupSize = 8

// maxLoad is the fullest a table gets, in eighths of its slots: a probe for
// an absent name then scans about 13 tags on average.
const maxLoad = 6.4 / 8

func newSlots(seed maphash.Seed, names int) slots {
	n := max(int(float64(names)/maxLoad)+1, 64)
	return slots{seed: seed, tags: make([]uint8, n+groupSize), refs: make([]uint32, n)}
}

// home is the first slot a hash probes: the high bits of hash × size.
func (s *slots) home(h uint64) int {
	hi, _ := bits.Mul64(h, uint64(len(s.refs)))
	return int(hi)
}

// tagOf is the slot tag of a hash: its low byte, never 0 (empty).
func tagOf(h uint64) uint8 {
	if t := uint8(h); t != 0 {
		return t
	}
	return 1
}

// put stores ref for a name of hash h in the first empty slot from its home.
func (s *slots) put(h uint64, ref uint32) {
	n := len(s.refs)
	for i := s.home(h); ; {
		if s.tags[i] == 0 {
			s.tags[i], s.refs[i] = tagOf(h), ref
			if i < groupSize {
				s.tags[n+i] = s.tags[i]
			}
			return
		}
		if i++; i == n {
			i = 0
		}
	}
}

// full reports whether one more name would pass the load limit.
func (s *slots) full(names int) bool {
	return float64(names+1) > float64(len(s.refs))*maxLoad
}

// Bytewise comparison of eight tags in a uint64 (the classic "has a zero
// byte" test): the lowest flagged byte is always a true zero; a byte above
// it may be flagged falsely, which costs a name comparison, never a wrong
// answer.
const (
	lows  = 0x0101010101010101
	highs = 0x8080808080808080
)

// zeroBytes flags (0x80) the bytes of x that are zero.
func zeroBytes(x uint64) uint64 { return (x - lows) &^ x & highs }

// candidates are, among eight tags g, those equal to tag that come before
// the first empty one; ended tells whether an empty one was among them.
func candidates(g uint64, tag uint8) (match uint64, ended bool) {
	match = zeroBytes(g ^ lows*uint64(tag))
	if empty := zeroBytes(g); empty != 0 {
		return match & (empty&-empty - 1), true
	}
	return match, false
}

// Bytes is the memory the matcher holds for its names: the arena, the
// table and the side maps (estimated at 16 bytes an entry).
func (m *Matcher) Bytes() int {
	n := len(m.table.tags) + 4*len(m.table.refs)
	for _, c := range m.chunks {
		n += cap(c)
	}
	return n + 16*(len(m.extra)+len(m.services)+len(m.wide))
}
