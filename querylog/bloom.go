package querylog

import (
	"encoding/binary"
	"math"
	"strings"
)

// bloom is a Bloom filter of a block's keys: in index format 1 (days
// compacted before format 2, still read) and in the open day's chunk index
// (openindex.go). A search reads a block only when every key it asks for
// may be in it.
type bloom struct {
	bits []byte
	k    uint32
}

// keyHash is 64-bit FNV-1a of key, split in two for double hashing.
func keyHash(key string) (uint32, uint32) { return keyHash2(key, nil) }

const fnvOffset, fnvPrime = 14695981039346656037, 1099511628211

// keyHash2 is keyHash of prefix followed by rest, without joining them.
func keyHash2(prefix string, rest []byte) (uint32, uint32) {
	v := fnvString(fnvOffset, prefix)
	for _, c := range rest {
		v = (v ^ uint64(c)) * fnvPrime
	}
	return uint32(v), uint32(v>>32) | 1
}

// keyHashLower is keyHash of prefix followed by rest in ASCII lower case
// (strings.ToLower of a department's name, which the search hashes),
// without allocating the lowered copy.
func keyHashLower(prefix, rest string) (uint32, uint32) {
	v := fnvString(fnvOffset, prefix)
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if c >= 0x80 {
			lower := strings.ToLower(rest) // beyond ASCII: as the search does
			return keyHash2(prefix, []byte(lower))
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		v = (v ^ uint64(c)) * fnvPrime
	}
	return uint32(v), uint32(v>>32) | 1
}

func fnvString(v uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		v = (v ^ uint64(s[i])) * fnvPrime
	}
	return v
}

func (b *bloom) appendTo(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(b.k))
	dst = binary.AppendUvarint(dst, uint64(len(b.bits)))
	return append(dst, b.bits...)
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

// A block's entry with its Bloom filter (index format 1, and the open
// day's chunk index): five varints (offset, size, lines, first, last),
// then the filter.

func appendBloomEntry(dst []byte, b blockIndex) []byte {
	for _, v := range []int64{b.off, b.size, int64(b.count), b.first, b.last} {
		dst = binary.AppendVarint(dst, v)
	}
	return b.keys.appendTo(dst)
}

// readBloomEntry decodes the entry at the start of data (ok false: damaged or torn).
func readBloomEntry(data []byte) (b blockIndex, rest []byte, ok bool) {
	var v [5]int64
	for i := range v {
		x, n := binary.Varint(data)
		if n <= 0 {
			return blockIndex{}, nil, false
		}
		v[i], data = x, data[n:]
	}
	keys, rest, ok := readBloom(data)
	if !ok {
		return blockIndex{}, nil, false
	}
	return blockIndex{off: v[0], size: v[1], count: int(v[2]), first: v[3], last: v[4], keys: keys}, rest, true
}
