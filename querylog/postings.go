package querylog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Index format 2, what Compact writes: a fixed-size table of the day's
// blocks, then for each key the list of the blocks that hold it (its
// postings). A search for a client or a name reads the key's postings and
// then only those blocks: its cost follows what it finds, not the size of
// the day (format 1 kept a Bloom filter a block, and a search read and
// tested every one: 65 MB and 156,000 tests a day at 20M records a day).
//
// Layout: magic; the block table (blockEntrySize bytes a block); the
// postings (block numbers, delta-coded uvarints); the keys in byte order,
// each uvarint length, key, uvarint offset and length of its postings; a
// directory of every keyDirEvery-th key's offset (8 bytes each); a trailer
// of six little-endian uint64: table, blocks, postings, keys, directory,
// key count.
const (
	indexMagic2    = "civicdns-querylog-index-2\n"
	blockEntrySize = 8 + 4 + 4 + 8 + 8 // offset, size, lines, first, last
	keyDirEvery    = 64
	trailerSize    = 6 * 8
	maxKeyEntry    = 2*binary.MaxVarintLen64 + binary.MaxVarintLen16 + 256
)

// indexKeysOf are a record's keys in index format 2: its client,
// department (lower case), action and category, and its name cut to its
// last two and last three labels. A deeper name (a CDN's or a telemetry
// service's, often unique) is found under its three-label parent and
// matched line by line: keying every label of such names made as many keys
// as records.
func indexKeysOf(e *Entry, add func(string)) {
	add("c:" + e.Client)
	add("d:" + strings.ToLower(e.Department))
	add("a:" + e.Action)
	add("g:" + e.Category)
	for _, labels := range []int{2, 3} {
		if k := nameKey(e.Name, labels); k != "" {
			add("n:" + k)
		}
	}
}

// nameKey is name cut to its last n labels ("" when it has fewer).
func nameKey(name string, n int) string {
	dots := 0
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '.' {
			if dots++; dots == n {
				return name[i+1:]
			}
		}
	}
	if dots == n-1 && name != "" {
		return name
	}
	return ""
}

// indexKeys are the keys whose postings hold every block a search for f
// may need; none: every block.
func (f *Filter) indexKeys() []string {
	var keys []string
	if f.Client.IsValid() && f.Client.IsSingleIP() {
		keys = append(keys, "c:"+f.Client.Addr().String())
	}
	if f.Name != "" {
		if k := nameKey(f.Name, 3); k != "" {
			keys = append(keys, "n:"+k)
		} else if k := nameKey(f.Name, 2); k != "" {
			keys = append(keys, "n:"+k)
		}
	}
	if f.Department != "" {
		keys = append(keys, "d:"+strings.ToLower(f.Department))
	}
	if f.Action != "" {
		keys = append(keys, "a:"+f.Action)
	}
	if f.Category != "" {
		keys = append(keys, "g:"+f.Category)
	}
	return keys
}

// postingList is one key's blocks as they are added, delta-coded.
type postingList struct {
	last uint32
	buf  []byte
}

// postingsWriter collects the postings of a day being compacted.
type postingsWriter map[string]*postingList

// add records that block holds key (blocks come in order; once a block).
func (p postingsWriter) add(key string, block uint32) {
	l := p[key]
	if l == nil {
		l = &postingList{}
		p[key] = l
		l.buf = binary.AppendUvarint(l.buf, uint64(block))
	} else {
		l.buf = binary.AppendUvarint(l.buf, uint64(block-l.last))
	}
	l.last = block
}

// appendIndex2 writes a whole format-2 index of blocks and postings.
func appendIndex2(dst []byte, blocks []blockIndex, postings postingsWriter) []byte {
	dst = append(dst, indexMagic2...)
	table := len(dst)
	for _, b := range blocks {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(b.off))
		dst = binary.LittleEndian.AppendUint32(dst, uint32(b.size))
		dst = binary.LittleEndian.AppendUint32(dst, uint32(b.count))
		dst = binary.LittleEndian.AppendUint64(dst, uint64(b.first))
		dst = binary.LittleEndian.AppendUint64(dst, uint64(b.last))
	}
	keys := make([]string, 0, len(postings))
	for k := range postings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	blob := len(dst)
	offs := make([]int, len(keys))
	for i, k := range keys {
		offs[i] = len(dst) - blob
		dst = append(dst, postings[k].buf...)
	}
	keyStart := len(dst)
	var dir []int
	for i, k := range keys {
		if i%keyDirEvery == 0 {
			dir = append(dir, len(dst)-keyStart)
		}
		dst = binary.AppendUvarint(dst, uint64(len(k)))
		dst = append(dst, k...)
		dst = binary.AppendUvarint(dst, uint64(offs[i]))
		dst = binary.AppendUvarint(dst, uint64(len(postings[k].buf)))
	}
	dirStart := len(dst)
	for _, d := range dir {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(d))
	}
	for _, v := range []int{table, len(blocks), blob, keyStart, dirStart, len(keys)} {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(v))
	}
	return dst
}

// errIndexFormat1 marks an index written before format 2.
var errIndexFormat1 = errors.New("query log index format 1")

// dayIndex reads a format-2 index in place, a few small reads a search.
type dayIndex struct {
	file                             *os.File
	path                             string
	tableAt, blob, keys, dirAt, size int64
	blocks, nkeys                    int
	dir                              []int64 // every keyDirEvery-th key's offset from keys
}

func openDayIndex(path string) (*dayIndex, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	x, err := readDayIndex(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	return x, nil
}

func readDayIndex(f *os.File, path string) (*dayIndex, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	head := make([]byte, len(indexMagic2))
	if _, err := f.ReadAt(head, 0); err != nil || string(head) != indexMagic2 {
		if string(head[:len(indexMagic)]) == indexMagic {
			return nil, errIndexFormat1
		}
		return nil, fmt.Errorf("%s: not a query log index", path)
	}
	tr := make([]byte, trailerSize)
	if fi.Size() < int64(len(indexMagic2)+trailerSize) {
		return nil, fmt.Errorf("%s: damaged", path)
	}
	if _, err := f.ReadAt(tr, fi.Size()-trailerSize); err != nil {
		return nil, err
	}
	var v [6]uint64
	size := uint64(fi.Size() - trailerSize)
	for i := range v {
		if v[i] = binary.LittleEndian.Uint64(tr[8*i:]); v[i] > size {
			return nil, fmt.Errorf("%s: damaged", path) // also bounds the sums below
		}
	}
	ndir := (v[5] + keyDirEvery - 1) / keyDirEvery
	if v[0] != uint64(len(indexMagic2)) || v[0]+v[1]*blockEntrySize != v[2] || v[2] > v[3] || v[3] > v[4] || v[4]+ndir*8 != size {
		return nil, fmt.Errorf("%s: damaged", path)
	}
	x := &dayIndex{file: f, path: path, tableAt: int64(v[0]), blocks: int(v[1]), blob: int64(v[2]), keys: int64(v[3]), dirAt: int64(v[4]),
		nkeys: int(v[5]), size: int64(size)}
	raw := make([]byte, ndir*8)
	if _, err := f.ReadAt(raw, x.dirAt); err != nil {
		return nil, err
	}
	x.dir = make([]int64, ndir)
	for i := range x.dir {
		d := binary.LittleEndian.Uint64(raw[8*i:])
		if d >= uint64(x.dirAt-x.keys) || i > 0 && int64(d) <= x.dir[i-1] {
			return nil, fmt.Errorf("%s: damaged key directory", path)
		}
		x.dir[i] = int64(d)
	}
	return x, nil
}

func (x *dayIndex) Close() error { return x.file.Close() }

// table reads every block's entry.
func (x *dayIndex) table() ([]blockIndex, error) {
	raw := make([]byte, x.blocks*blockEntrySize)
	if _, err := x.file.ReadAt(raw, x.tableAt); err != nil {
		return nil, err
	}
	out := make([]blockIndex, x.blocks)
	for i := range out {
		out[i] = decodeBlockEntry(raw[i*blockEntrySize:])
	}
	return out, nil
}

// block reads one block's entry.
func (x *dayIndex) block(i uint32) (blockIndex, error) {
	var raw [blockEntrySize]byte
	if int(i) >= x.blocks {
		return blockIndex{}, fmt.Errorf("%s: damaged (block %d of %d)", x.path, i, x.blocks)
	}
	if _, err := x.file.ReadAt(raw[:], x.tableAt+int64(i)*blockEntrySize); err != nil {
		return blockIndex{}, err
	}
	return decodeBlockEntry(raw[:]), nil
}

func decodeBlockEntry(b []byte) blockIndex {
	le := binary.LittleEndian
	return blockIndex{off: int64(le.Uint64(b)), size: int64(le.Uint32(b[8:])), count: int(le.Uint32(b[12:])),
		first: int64(le.Uint64(b[16:])), last: int64(le.Uint64(b[24:]))}
}

// keyAt decodes the key entry at offset off of the keys section.
func (x *dayIndex) keyAt(buf []byte, off int64) (key []byte, postOff, postLen uint64, n int, err error) {
	if off < 0 || off >= x.dirAt-x.keys {
		return nil, 0, 0, 0, fmt.Errorf("%s: damaged key table", x.path)
	}
	m, _ := x.file.ReadAt(buf, x.keys+off)
	b := buf[:min(m, int(x.dirAt-x.keys-off))]
	l, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < l {
		return nil, 0, 0, 0, fmt.Errorf("%s: damaged key table", x.path)
	}
	key, rest := b[k:k+int(l)], b[k+int(l):]
	postOff, a := binary.Uvarint(rest)
	if a <= 0 {
		return nil, 0, 0, 0, fmt.Errorf("%s: damaged key table", x.path)
	}
	postLen, c := binary.Uvarint(rest[a:])
	if c <= 0 || int64(postOff+postLen) > x.keys-x.blob {
		return nil, 0, 0, 0, fmt.Errorf("%s: damaged key table", x.path)
	}
	return key, postOff, postLen, k + int(l) + a + c, nil
}

// postings are the blocks holding key, in order (none: no block holds it).
func (x *dayIndex) postings(key string) ([]uint32, error) {
	buf := make([]byte, maxKeyEntry)
	// The last directory entry whose key is not after the one sought.
	var err error
	j := sort.Search(len(x.dir), func(i int) bool {
		k, _, _, _, e := x.keyAt(buf, x.dir[i])
		if e != nil {
			err = e
			return true
		}
		return string(k) > key
	}) - 1
	if err != nil || j < 0 {
		return nil, err
	}
	off := x.dir[j]
	for i := 0; i < keyDirEvery && j*keyDirEvery+i < x.nkeys; i++ {
		k, po, pl, n, err := x.keyAt(buf, off)
		if err != nil {
			return nil, err
		}
		switch c := bytes.Compare(k, []byte(key)); {
		case c == 0:
			return x.readPostings(po, pl)
		case c > 0:
			return nil, nil
		}
		off += int64(n)
	}
	return nil, nil
}

func (x *dayIndex) readPostings(off, n uint64) ([]uint32, error) {
	raw := make([]byte, n)
	if _, err := x.file.ReadAt(raw, x.blob+int64(off)); err != nil {
		return nil, err
	}
	var out []uint32
	var block uint64
	for len(raw) > 0 {
		d, k := binary.Uvarint(raw)
		if k <= 0 {
			return nil, fmt.Errorf("%s: damaged postings", x.path)
		}
		block += d
		out = append(out, uint32(block))
		raw = raw[k:]
	}
	return out, nil
}

// blocksFor are the blocks holding every one of keys, in order.
func (x *dayIndex) blocksFor(keys []string) ([]uint32, error) {
	var out []uint32
	for i, k := range keys {
		p, err := x.postings(k)
		if err != nil || len(p) == 0 {
			return nil, err
		}
		if i == 0 {
			out = p
			continue
		}
		out = intersect(out, p)
	}
	return out, nil
}

// intersect keeps the blocks of a that are in b (both in order).
func intersect(a, b []uint32) []uint32 {
	out := a[:0]
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	return out
}

// selectBlocks reads the entries of the blocks a search for f may need: those of
// its keys' postings, or every block when it names none.
func (x *dayIndex) selectBlocks(f Filter) ([]blockIndex, error) {
	keys := f.indexKeys()
	if len(keys) == 0 {
		return x.table()
	}
	list, err := x.blocksFor(keys)
	if err != nil {
		return nil, err
	}
	out := make([]blockIndex, len(list))
	for i, b := range list {
		if out[i], err = x.block(b); err != nil {
			return nil, err
		}
	}
	return out, nil
}
