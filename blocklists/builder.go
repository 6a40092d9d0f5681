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
	catID map[string]int
	batch batch
}

// batch holds names Add has taken and not yet placed. They are placed
// batchSize at a time after a first pass has read each one's home tag, so
// that the cache misses of a batch overlap instead of following one
// another: waiting on them was ~40% of a 2M-name build.
type batch struct {
	names []byte
	items []pending
	warm  uint8 // the slots read ahead, kept so that the reads are done
}

const batchSize = 64

// pending is one name of a batch: its end in batch.names, hash and place.
type pending struct {
	h     uint64
	end   int
	cat   int
	allow bool
	src   Source
}

// NewBuilder starts a matcher for the given categories (at most
// MaxCategories); sizeHint is the expected number of names.
func NewBuilder(categories []string, sizeHint int) (*Builder, error) {
	cats := append([]string(nil), categories...)
	sort.Strings(cats)
	if len(cats) > MaxCategories {
		return nil, errors.New("blocklists: more than 32 categories")
	}
	m := &Matcher{table: newSlots(maphash.MakeSeed(), sizeHint), categories: cats, extra: map[extraKey]Source{}}
	b := &Builder{m: m, catID: map[string]int{}}
	for i, c := range cats {
		b.catID[c] = i
	}
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
// name is copied: the caller may reuse it.
func (b *Builder) Add(name []byte, category string, allow bool, file, line int) {
	cat, ok := b.accepts(name, category)
	if !ok {
		return
	}
	bt := &b.batch
	bt.names = append(bt.names, name...)
	bt.items = append(bt.items, pending{maphash.Bytes(b.m.table.seed, name), len(bt.names), cat, allow, makeSource(file, line)})
	if len(bt.items) == batchSize {
		b.flush()
	}
}

// flush places the names of the batch, in the order they were added.
func (b *Builder) flush() {
	bt := &b.batch
	t := &b.m.table
	for _, p := range bt.items {
		i := t.home(p.h)
		bt.warm |= t.tags[i] ^ uint8(t.refs[i])
	}
	start := 0
	for _, p := range bt.items {
		b.place(bt.names[start:p.end], p.h, p.cat, p.allow, p.src)
		start = p.end
	}
	bt.names, bt.items = bt.names[:0], bt.items[:0]
}

// AddService puts name in category's block list as a domain of service
// (an index in Set.Services). A name belongs to one service: when another
// already holds it, ok is false and other is that service.
func (b *Builder) AddService(name []byte, category string, service, file, line int) (other int, ok bool) {
	b.flush()
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
	cat, ok := b.accepts(name, category)
	if !ok {
		return 0, false
	}
	return b.place(name, maphash.Bytes(b.m.table.seed, name), cat, allow, makeSource(file, line)), true
}

// accepts gives category's bit for a name the matcher can hold (ok false:
// an unknown category, or an empty or too long name).
func (b *Builder) accepts(name []byte, category string) (int, bool) {
	cat, ok := b.catID[category]
	return cat, ok && len(name) > 0 && len(name) <= 253
}

// place puts a name of hash h in category bit cat and returns its reference.
func (b *Builder) place(name []byte, h uint64, cat int, allow bool, src Source) uint32 {
	bit := uint32(1) << cat
	if ref, ok := b.m.findHashed(name, h); ok {
		ms := b.m.masksOf(ref, b.m.record(ref))
		mask := &ms.block
		if allow {
			mask = &ms.allow
		}
		if *mask&bit != 0 {
			return ref // listed twice in one category: the first place counts
		}
		*mask |= bit
		b.setMasks(ref, ms)
		b.m.extra[extraKey{ref, uint8(cat), allow}] = src
		return ref
	}
	ref := b.appendRecord(name, src)
	ms := masks{block: bit}
	if allow {
		ms = masks{allow: bit}
	}
	b.setMasks(ref, ms)
	if b.m.table.full(b.m.names) {
		b.grow()
	}
	b.m.table.put(h, ref)
	b.m.names++
	return ref
}

// setMasks gives the record at ref the class of ms, adding the class when
// the lists had not used that pair of masks yet.
func (b *Builder) setMasks(ref uint32, ms masks) {
	rec := b.m.record(ref)
	at := 1 + int(rec[0])
	if rec[at] == wideClass {
		delete(b.m.wide, ref)
	}
	c, ok := b.classOf(ms)
	if !ok && len(b.m.classes) < wideClass {
		c, ok = uint8(len(b.m.classes)), true
		b.m.classes = append(b.m.classes, ms)
	}
	if !ok {
		c = wideClass
		if b.m.wide == nil {
			b.m.wide = map[uint32]masks{}
		}
		b.m.wide[ref] = ms
	}
	rec[at] = c
}

// classOf finds the class of a pair of masks: a scan of the few the lists
// use (a dozen for real lists, at most 255), cheaper than a map.
func (b *Builder) classOf(ms masks) (uint8, bool) {
	for i, c := range b.m.classes {
		if c == ms {
			return uint8(i), true
		}
	}
	return 0, false
}

// appendRecord adds [length][name][class][source] to the arena.
func (b *Builder) appendRecord(name []byte, src Source) uint32 {
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
	c = append(c, 0)
	c = binary.LittleEndian.AppendUint32(c, uint32(src))
	chunks[last] = c
	return ref
}

// grow doubles the table, placing every name again.
func (b *Builder) grow() {
	old := b.m.table
	b.m.table = newSlots(old.seed, 2*b.m.names)
	for i, tag := range old.tags[:len(old.refs)] {
		if tag == 0 {
			continue
		}
		rec := b.m.record(old.refs[i])
		b.m.table.put(maphash.Bytes(old.seed, rec[1:1+int(rec[0])]), old.refs[i])
	}
}

// Matcher finishes the build; the Builder must not be used after.
func (b *Builder) Matcher() *Matcher {
	b.flush()
	m := b.m
	if n := len(m.chunks); n > 0 {
		// The last chunk keeps only what it uses.
		m.chunks[n-1] = append([]byte(nil), m.chunks[n-1]...)
	}
	b.m = nil
	return m
}
