package blocklists

import (
	"encoding/binary"
	"errors"
	"hash/maphash"
	"sort"
)

// Builder collects names into a Matcher. Names must be normalised (lower
// case, no trailing dot, punycode) and at most 253 bytes.
type Builder struct {
	m     *Matcher
	used  int // slots in use
	catID map[string]int
}

// NewBuilder starts a matcher for the given categories (at most
// MaxCategories); sizeHint is the expected number of names.
func NewBuilder(categories []string, sizeHint int) (*Builder, error) {
	cats := append([]string(nil), categories...)
	sort.Strings(cats)
	if len(cats) > MaxCategories {
		return nil, errors.New("blocklists: more than 32 categories")
	}
	b := &Builder{m: &Matcher{seed: maphash.MakeSeed(), categories: cats, extra: map[extraKey]Source{}}, catID: map[string]int{}}
	for i, c := range cats {
		b.catID[c] = i
	}
	size := 1024
	for size*3/4 < sizeHint {
		size *= 2
	}
	b.m.table = make([]uint64, size)
	b.m.mask = uint64(size - 1)
	return b, nil
}

// AddFile registers a source file and returns its index for Add.
func (b *Builder) AddFile(name string) (int, error) {
	if len(b.m.files) >= maxSourceFiles {
		return 0, errors.New("blocklists: more than 256 list files")
	}
	b.m.files = append(b.m.files, name)
	return len(b.m.files) - 1, nil
}

// Add puts name in category's block list (or allow list), from file:line.
func (b *Builder) Add(name []byte, category string, allow bool, file, line int) {
	b.add(name, category, allow, file, line)
}

// AddService puts name in category's block list as a domain of service
// (an index in Set.Services). A name belongs to one service: when another
// already holds it, ok is false and other is that service.
func (b *Builder) AddService(name []byte, category string, service, file, line int) (other int, ok bool) {
	ref, added := b.add(name, category, false, file, line)
	if !added {
		return 0, true // not a name the matcher holds (checked when read)
	}
	if prev, dup := b.m.services[ref]; dup && int(prev) != service {
		return int(prev), false
	}
	if service > maxServices {
		return 0, true
	}
	if b.m.services == nil {
		b.m.services = map[uint32]uint16{}
	}
	b.m.services[ref] = uint16(service)
	return 0, true
}

// add is Add, returning the name's arena reference (ok false: not added).
func (b *Builder) add(name []byte, category string, allow bool, file, line int) (ref uint32, ok bool) {
	cat, ok := b.catID[category]
	if !ok || len(name) == 0 || len(name) > 253 {
		return 0, false
	}
	src := makeSource(file, line)
	bit := uint32(1) << cat
	maskAt := 1 + len(name)
	if allow {
		maskAt += 4
	}
	if ref, ok := b.m.findBytes(name); ok {
		rec := b.m.record(ref)
		mask := binary.LittleEndian.Uint32(rec[maskAt:])
		if mask&bit != 0 {
			return ref, true // listed twice in one category: the first place counts
		}
		binary.LittleEndian.PutUint32(rec[maskAt:], mask|bit)
		b.m.extra[extraKey{ref, uint8(cat), allow}] = src
		return ref, true
	}
	ref = b.appendRecord(name)
	rec := b.m.record(ref)
	binary.LittleEndian.PutUint32(rec[maskAt:], bit)
	binary.LittleEndian.PutUint32(rec[1+len(name)+8:], uint32(src))
	b.insert(ref, name)
	b.m.names++
	return ref, true
}

func (b *Builder) appendRecord(name []byte) uint32 {
	need := recordFix + len(name)
	chunks := b.m.chunks
	if len(chunks) == 0 || len(chunks[len(chunks)-1])+need > chunkSize {
		b.m.chunks = append(b.m.chunks, make([]byte, 0, chunkSize))
		chunks = b.m.chunks
	}
	last := len(chunks) - 1
	c := chunks[last]
	ref := uint32(last)<<chunkBits | uint32(len(c))
	c = append(c, byte(len(name)))
	c = append(c, name...)
	c = append(c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	chunks[last] = c
	return ref
}

func (b *Builder) insert(ref uint32, name []byte) {
	if (b.used+1)*4 > len(b.m.table)*3 {
		b.grow()
	}
	h := maphash.Bytes(b.m.seed, name)
	for i := h & b.m.mask; ; i = (i + 1) & b.m.mask {
		if b.m.table[i] == 0 {
			b.m.table[i] = h&^0xFFFFFFFF | uint64(ref+1)
			b.used++
			return
		}
	}
}

func (b *Builder) grow() {
	old := b.m.table
	b.m.table = make([]uint64, 2*len(old))
	b.m.mask = uint64(len(b.m.table) - 1)
	for _, v := range old {
		if v == 0 {
			continue
		}
		rec := b.m.record(uint32(v) - 1)
		h := maphash.Bytes(b.m.seed, rec[1:1+int(rec[0])])
		for i := h & b.m.mask; ; i = (i + 1) & b.m.mask {
			if b.m.table[i] == 0 {
				b.m.table[i] = v
				break
			}
		}
	}
}

// Matcher finishes the build; the Builder must not be used after.
func (b *Builder) Matcher() *Matcher {
	m := b.m
	if n := len(m.chunks); n > 0 {
		// The last chunk keeps only what it uses.
		m.chunks[n-1] = append([]byte(nil), m.chunks[n-1]...)
	}
	b.m = nil
	return m
}
