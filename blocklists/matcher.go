package blocklists

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math/bits"
	"unsafe"

	"github.com/civicdns/civicdns/config"
)

// MaxCategories is how many categories one Matcher holds (a bit each).
const MaxCategories = 32

// Matcher is the compiled form of every category list: each name once, in
// an arena of records [length][name][class][source] (the name's bytes, one
// byte naming its pair of block and allow masks among the few pairs the
// lists use, and where it is listed), and a hash table of 32-bit references
// into the arena (table.go). Two million names of real lists take about
// 25 bytes each in the arena and 6 in the table, ~62 MB: no Go string, no
// pointer for the collector to follow. It is immutable once built and safe
// for concurrent use.
type Matcher struct {
	table      slots
	chunks     [][]byte // the arena, in fixed-size chunks so it never moves
	names      int
	classes    []masks             // a record's class byte indexes this
	wide       map[uint32]masks    // masks of records of class wideClass, by reference
	categories []string            // bit i is categories[i], sorted by name
	files      []string            // source file of each source index
	extra      map[extraKey]Source // sources of the 2nd, 3rd… category of one name
	services   map[uint32]uint16   // the service (index in Set.Services) of a catalogue's names
}

// masks are the categories whose block and allow lists hold a name.
type masks struct{ block, allow uint32 }

// wideClass marks a record whose masks are in Matcher.wide: the 256th
// distinct pair of masks and every one after it (real lists use a dozen).
const wideClass = 255

// maxServices bounds the services of every catalogue together.
const maxServices = 1<<16 - 1

// Service is the index in Set.Services of the service whose domain a hit
// is, or -1 (a name of a list, not of a catalogue). A map lookup, done only
// for names the lists hold.
func (m *Matcher) Service(h Hit) int {
	if s, ok := m.services[h.ref]; ok {
		return int(s)
	}
	return -1
}

// Source is where an entry comes from: a file index and a line number.
type Source uint32

const (
	sourceLineBits = 24
	maxSourceLine  = 1<<sourceLineBits - 1
	maxSourceFiles = 1 << (32 - sourceLineBits)
)

func makeSource(file, line int) Source {
	return Source(uint32(file)<<sourceLineBits | uint32(min(line, maxSourceLine)))
}

// File and Line locate a source.
func (m *Matcher) File(s Source) string { return m.files[s>>sourceLineBits] }

// Line is the line number of a source (clamped at 16,777,215).
func (s Source) Line() int { return int(s & maxSourceLine) }

type extraKey struct {
	ref   uint32
	cat   uint8
	allow bool
}

const (
	chunkBits = 20 // 1 MiB chunks
	chunkSize = 1 << chunkBits
	recordFix = 1 + 1 + 4 // length byte, class, source
)

// Hit is one suffix of a looked-up name that is in the lists.
type Hit struct {
	Start int    // where the suffix begins in the name
	Block uint32 // categories whose block lists hold it
	Allow uint32 // categories whose allow lists hold it
	ref   uint32
}

// Categories lists the category names; bit i of a mask is Categories()[i].
func (m *Matcher) Categories() []string { return m.categories }

// Category returns the bit of a category name, or -1.
func (m *Matcher) Category(name string) int {
	for i, c := range m.categories {
		if c == name {
			return i
		}
	}
	return -1
}

// Len is how many distinct names the matcher holds.
func (m *Matcher) Len() int { return m.names }

// Lookup appends to hits every suffix of name (the name itself, then each
// parent domain) that is in the lists, longest first. name is lower case
// without the trailing dot. With enough capacity in hits it does not allocate.
func (m *Matcher) Lookup(name string, hits []Hit) []Hit {
	if m == nil || m.names == 0 {
		return hits
	}
	for start := 0; start < len(name); {
		suffix := name[start:]
		if ref, ok := m.find(suffix); ok {
			ms := m.masksOf(ref, m.record(ref))
			hits = append(hits, Hit{Start: start, Block: ms.block, Allow: ms.allow, ref: ref})
		}
		dot := config.LabelEnd(suffix)
		if dot < 0 {
			break
		}
		start += dot + 1
	}
	return hits
}

// Source tells where a hit's name is listed for category bit cat.
func (m *Matcher) Source(h Hit, cat int, allow bool) (Source, bool) {
	mask := h.Block
	if allow {
		mask = h.Allow
	}
	if mask&(1<<cat) == 0 {
		return 0, false
	}
	if s, ok := m.extra[extraKey{h.ref, uint8(cat), allow}]; ok {
		return s, true
	}
	rec := m.record(h.ref)
	return Source(binary.LittleEndian.Uint32(rec[2+int(rec[0]):])), true
}

// Where formats a source as file:line.
func (m *Matcher) Where(s Source) string { return fmt.Sprintf("%s:%d", m.File(s), s.Line()) }

func (m *Matcher) record(ref uint32) []byte {
	return m.chunks[ref>>chunkBits][ref&(chunkSize-1):]
}

// masksOf decodes the class byte of the record rec at ref.
func (m *Matcher) masksOf(ref uint32, rec []byte) masks {
	if c := rec[1+int(rec[0])]; c != wideClass {
		return m.classes[c]
	}
	return m.wide[ref]
}

// find returns the arena reference of name.
func (m *Matcher) find(name string) (uint32, bool) {
	if name == "" {
		return 0, false
	}
	// A read-only view of the string's bytes: no copy on the lookup path.
	return m.findBytes(unsafe.Slice(unsafe.StringData(name), len(name)))
}

// findBytes returns the arena reference of a name given as bytes.
func (m *Matcher) findBytes(name []byte) (uint32, bool) {
	if len(m.table.refs) == 0 {
		return 0, false
	}
	return m.findHashed(name, maphash.Bytes(m.table.seed, name))
}

// findHashed is findBytes for a name whose hash is known.
func (m *Matcher) findHashed(name []byte, h uint64) (uint32, bool) {
	t := &m.table
	n := len(t.refs)
	tag := tagOf(h)
	for i := t.home(h); ; {
		match, ended := candidates(binary.LittleEndian.Uint64(t.tags[i:]), tag)
		for ; match != 0; match &= match - 1 {
			j := i + bits.TrailingZeros64(match)/8
			if j >= n {
				j -= n
			}
			ref := t.refs[j]
			rec := m.record(ref)
			if int(rec[0]) == len(name) && string(rec[1:1+len(name)]) == string(name) {
				return ref, true
			}
		}
		if ended {
			return 0, false
		}
		if i += groupSize; i >= n {
			i -= n
		}
	}
}

// LowestCategory is the alphabetically first category of a mask (-1 for none).
func LowestCategory(mask uint32) int {
	if mask == 0 {
		return -1
	}
	return bits.TrailingZeros32(mask)
}

// Overlaps counts, for each pair of categories, the names both block lists
// hold (each pair once, the names in category order).
func (m *Matcher) Overlaps() map[[2]string]int {
	out := map[[2]string]int{}
	for i, tag := range m.table.tags[:len(m.table.refs)] {
		if tag == 0 {
			continue
		}
		ref := m.table.refs[i]
		block := m.masksOf(ref, m.record(ref)).block
		if bits.OnesCount32(block) < 2 {
			continue
		}
		for i := range m.categories {
			for j := i + 1; j < len(m.categories); j++ {
				if block&(1<<i) != 0 && block&(1<<j) != 0 {
					out[[2]string{m.categories[i], m.categories[j]}]++
				}
			}
		}
	}
	return out
}
