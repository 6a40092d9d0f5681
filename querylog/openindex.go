package querylog

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sort"
	"strings"
)

// The day in progress is a plain file until it is compacted: at 20 million
// lookups a day, 4.7 GB of lines by its end, which a search for one client
// read whole (7 s). Beside it the writer keeps an index of its chunks
// (dns-DAY.chunks): for every chunkLines records written, their byte range,
// time range and a Bloom filter of their keys (indexKeysOf), appended once
// the records are in the file. A search reads the chunks whose filter may
// hold its keys, and the bytes no entry covers (the chunk being written,
// or what a crash left unindexed) line by line. The index only ever
// narrows a search: a missing, torn or damaged one means more is read.
const (
	chunkSuffix = ".chunks"
	chunkLines  = 1024
	chunkBloom  = 2048 // bytes of filter a chunk: ~2% false positives at 2,000 keys
	chunkHashes = 7
)

// chunkPath is the chunk index beside a day file.
func chunkPath(dayFile string) string { return strings.TrimSuffix(dayFile, openSuffix) + chunkSuffix }

// chunkIndexer builds the open day's chunk index as the writer writes.
type chunkIndexer struct {
	path        string
	off, size   int64 // the chunk being written: where it starts, its bytes so far
	count       int
	first, last int64
	bits        []byte
	key         []byte // a key being built
	pending     []byte // entries of finished chunks, written once their lines are
}

func newChunkIndexer(dayFile string, size int64) *chunkIndexer {
	return &chunkIndexer{path: chunkPath(dayFile), off: size, bits: make([]byte, chunkBloom)}
}

// add counts one record of n bytes, written after the others.
func (c *chunkIndexer) add(n int, s *slot, name []byte) {
	if c.count == 0 {
		c.first = s.t
	}
	c.last, c.size = s.t, c.size+int64(n)
	c.count++
	c.key = s.client.AppendTo(c.key[:0]) // as the line has it
	c.addKey(keyHash2("c:", c.key))
	c.addKey(keyHashLower("d:", s.dept))
	c.addKey(keyHash2("a:", []byte(s.action)))
	c.addKey(keyHash2("g:", []byte(s.category)))
	for _, labels := range []int{2, 3} {
		if k := nameKeyBytes(name, labels); k != nil {
			c.addKey(keyHash2("n:", k))
		}
	}
	if c.count == chunkLines {
		c.finish()
	}
}

// addKey sets a key's bits, given its two hashes. The writer adds six
// keys a record without allocating: a key is hashed from its parts.
func (c *chunkIndexer) addKey(h1, h2 uint32) {
	m := uint32(len(c.bits) * 8)
	for i := uint32(0); i < chunkHashes; i++ {
		bit := (h1 + i*h2) % m
		c.bits[bit/8] |= 1 << (bit % 8)
	}
}

// nameKeyBytes is nameKey of a name given as bytes (nil when it has fewer
// labels).
func nameKeyBytes(name []byte, n int) []byte {
	dots := 0
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '.' {
			if dots++; dots == n {
				return name[i+1:]
			}
		}
	}
	if dots == n-1 && len(name) > 0 {
		return name
	}
	return nil
}

// finish closes the chunk being written into a pending entry.
func (c *chunkIndexer) finish() {
	if c.count == 0 {
		return
	}
	c.pending = appendBloomEntry(c.pending, blockIndex{off: c.off, size: c.size, count: c.count, first: c.first, last: c.last,
		keys: &bloom{bits: c.bits, k: chunkHashes}})
	c.off, c.size, c.count = c.off+c.size, 0, 0
	clear(c.bits)
}

// flush appends the pending entries to the index: called once the lines
// they describe are written to the day file.
func (c *chunkIndexer) flush() error {
	if len(c.pending) == 0 {
		return nil
	}
	f, err := os.OpenFile(c.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(c.pending)
	if err = errors.Join(err, f.Close()); err == nil {
		c.pending = c.pending[:0]
	}
	return err
}

// readChunks reads a chunk index, as far as it is whole, keeping the
// entries inside a file of size bytes, in file order, none overlapping.
func readChunks(path string, size int64) []blockIndex {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []blockIndex
	for len(data) > 0 {
		b, rest, ok := readBloomEntry(data)
		if !ok {
			break // torn by a crash: what came before holds
		}
		out, data = append(out, b), rest
	}
	return clean(out, size)
}

// clean keeps the entries that lie inside the file and after one another.
func clean(in []blockIndex, size int64) []blockIndex {
	sort.SliceStable(in, func(i, j int) bool { return in[i].off < in[j].off })
	out := in[:0]
	end := int64(0)
	for _, b := range in {
		if b.off >= end && b.size > 0 && b.off+b.size <= size {
			out = append(out, b)
			end = b.off + b.size
		}
	}
	return out
}

// searchOpenDay reads a day file newest first: the chunks its index says
// may hold f's keys, and every byte no entry covers.
func searchOpenDay(plain string, f Filter, visit func([]byte) error) error {
	file, err := os.Open(plain)
	if err != nil {
		return err
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return err
	}
	chunks := readChunks(chunkPath(plain), fi.Size())
	keys := f.indexKeys()
	end := fi.Size()
	var buf []byte
	for i := len(chunks); i >= 0; i-- {
		start := int64(0)
		if i > 0 {
			start = chunks[i-1].off + chunks[i-1].size
		}
		if start < end { // bytes no entry covers
			if err := reverseRange(file, start, end, visit); err != nil {
				return err
			}
		}
		if i == 0 {
			break
		}
		c := chunks[i-1]
		end = c.off
		if f.outside(c) || !mayHoldAll(c.keys, keys) {
			continue
		}
		if buf, err = readBlock(file, buf, c); err != nil {
			return err
		}
		if err := eachLineBackwards(buf, visit); err != nil {
			return err
		}
	}
	return nil
}

func mayHoldAll(b *bloom, keys []string) bool {
	for _, k := range keys {
		if !b.has(k) {
			return false
		}
	}
	return true
}

// reverseRange calls visit with the lines of file[from:to], last first,
// reading a chunk at a time from the end. from is where a line starts.
func reverseRange(file *os.File, from, to int64, visit func([]byte) error) error {
	const chunk = 1 << 20
	buf := make([]byte, 0, 2*chunk)
	var carry []byte // the start of a line the later chunk began with
	for pos := to; pos > from; {
		n := min(int64(chunk), pos-from)
		pos -= n
		buf = append(buf[:0], make([]byte, n)...)
		if _, err := file.ReadAt(buf, pos); err != nil && err != io.EOF {
			return err
		}
		buf = append(buf, carry...)
		first := -1 // at from, the whole buffer is lines
		if pos > from {
			if first = bytes.IndexByte(buf, '\n'); first < 0 {
				carry = append(carry[:0], buf...)
				continue
			}
		}
		if err := eachLineBackwards(buf[first+1:], visit); err != nil {
			return err
		}
		carry = append(carry[:0], buf[:max(first, 0)]...)
	}
	return nil
}
