package querylog

import (
	"encoding/binary"
	"hash/fnv"
	"math"
)

// bloom is a Bloom filter of a block's keys in index format 1 (days
// compacted before format 2, still read): a search reads a block only when
// every key it asks for may be in it.
type bloom struct {
	bits []byte
	k    uint32
}

func keyHash(key string) (uint32, uint32) {
	h := fnv.New64a()
	h.Write([]byte(key))
	v := h.Sum64()
	return uint32(v), uint32(v>>32) | 1
}

func (b *bloom) has(key string) bool {
	h1, h2 := keyHash(key)
	m := uint32(len(b.bits) * 8)
	for i := uint32(0); i < b.k; i++ {
		bit := (h1 + i*h2) % m
		if b.bits[bit/8]&(1<<(bit%8)) == 0 {
			return false
		}
	}
	return true
}

func readBloom(src []byte) (*bloom, []byte, bool) {
	k, n := binary.Uvarint(src)
	if n <= 0 || k == 0 || k > 32 {
		return nil, nil, false
	}
	src = src[n:]
	size, n := binary.Uvarint(src)
	if n <= 0 || size > math.MaxInt32 || uint64(len(src)-n) < size {
		return nil, nil, false
	}
	src = src[n:]
	return &bloom{k: uint32(k), bits: src[:size]}, src[size:], true
}
