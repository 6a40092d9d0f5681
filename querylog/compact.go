package querylog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// A closed day is compacted: its lines in blocks of blockLines, each an
// independent zstd frame, in dns-DAY.jsonl.zst, and beside it an index,
// dns-DAY.idx, with for each block its place and time range, and for each
// client, department, action, category and name (cut to its last two and
// three labels) the blocks that hold it (postings.go). A search reads only
// the blocks that may hold what it asks. Days compacted before (format 1:
// a Bloom filter a block) are still read.
const (
	blockLines  = 128
	zstSuffix   = ".jsonl.zst"
	indexSuffix = ".idx"
	indexMagic  = "civicdns-querylog-index-1\n"
)

// blockIndex is one block's entry in a day's index.
type blockIndex struct {
	off, size   int64
	count       int
	first, last int64 // unix nanoseconds
	keys        *bloom
}

// blockWriter writes one compacted file and its index.
type blockWriter struct {
	zpath, ipath string
	out          *os.File
	enc          *zstd.Encoder
	blocks       []blockIndex
	postings     postingsWriter
	off          int64
	raw          bytes.Buffer
	keys         []string
	seen         map[string]bool
	count        int
	first, last  int64
}

func newBlockWriter(base string, enc *zstd.Encoder) (*blockWriter, error) {
	w := &blockWriter{zpath: base + zstSuffix, ipath: base + indexSuffix, enc: enc, seen: map[string]bool{}, postings: postingsWriter{}}
	var err error
	if w.out, err = os.OpenFile(w.zpath+".tmp", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *blockWriter) add(line []byte, e *Entry) error {
	if w.count == 0 {
		w.first = e.Time.UnixNano()
		clear(w.seen)
	}
	w.last = e.Time.UnixNano()
	indexKeysOf(e, func(k string) {
		if !w.seen[k] {
			w.seen[k] = true
			w.keys = append(w.keys, k)
		}
	})
	w.raw.Write(line)
	w.raw.WriteByte('\n')
	w.count++
	if w.count == blockLines {
		return w.flush()
	}
	return nil
}

func (w *blockWriter) flush() error {
	if w.count == 0 {
		return nil
	}
	frame := w.enc.EncodeAll(w.raw.Bytes(), nil)
	if _, err := w.out.Write(frame); err != nil {
		return err
	}
	block := uint32(len(w.blocks))
	w.blocks = append(w.blocks, blockIndex{off: w.off, size: int64(len(frame)), count: w.count, first: w.first, last: w.last})
	for _, k := range w.keys {
		w.postings.add(k, block)
	}
	w.off += int64(len(frame))
	w.raw.Reset()
	w.keys, w.count = w.keys[:0], 0
	return nil
}

// finish writes the index, then puts the compacted file in place.
func (w *blockWriter) finish() error {
	if err := w.flush(); err != nil {
		w.out.Close()
		return err
	}
	if err := errors.Join(w.out.Sync(), w.out.Close()); err != nil {
		return err
	}
	if err := writeFileSync(w.ipath, appendIndex2(nil, w.blocks, w.postings)); err != nil {
		return err
	}
	return os.Rename(w.zpath+".tmp", w.zpath)
}

func (w *blockWriter) abort() {
	w.out.Close()
	os.Remove(w.zpath + ".tmp")
}

// blockedPart names a day's second compacted file: its blocked and
// exempted lookups alone, which searches for them read (and which the
// records schedule keeps longer).
const blockedPart = ".blocked"

// Compact compresses and indexes a day file that is complete, then removes
// it. Lines that do not parse (torn by a crash) are left out.
func Compact(path string) error {
	if !strings.HasSuffix(path, openSuffix) {
		return fmt.Errorf("query log: %s is not a day file", path)
	}
	base := strings.TrimSuffix(path, openSuffix)
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		return err
	}
	all, err := newBlockWriter(base, enc)
	if err != nil {
		return err
	}
	blocked, err := newBlockWriter(base+blockedPart, enc)
	if err != nil {
		all.abort()
		return err
	}
	fail := func(err error) error {
		all.abort()
		blocked.abort()
		return err
	}
	sum := newDaySummary()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e Entry
		if parseLine(line, &e) != nil {
			e = Entry{}
			if json.Unmarshal(line, &e) != nil {
				continue // a torn line
			}
		}
		if err := all.add(line, &e); err != nil {
			return fail(err)
		}
		sum.add(&e)
		if e.Action == "blocked" || e.Action == "exempted" {
			if err := blocked.add(line, &e); err != nil {
				return fail(err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fail(err)
	}
	// The blocked part and the summary first: the day's main file
	// appearing is what marks the compaction done.
	if err := blocked.finish(); err != nil {
		return fail(err)
	}
	if err := sum.write(base + summarySuffix); err != nil {
		return fail(err)
	}
	if err := all.finish(); err != nil {
		return err
	}
	os.Remove(chunkPath(path)) // the open day's index, of a file no longer there
	return os.Remove(path)
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path+".tmp", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// readIndex reads a day's blocks from its index (format 1 with their
// Bloom filters).
func readIndex(path string) ([]blockIndex, error) {
	x, err := openDayIndex(path)
	if err == nil {
		defer x.Close()
		return x.table()
	}
	if !errors.Is(err, errIndexFormat1) {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(data, []byte(indexMagic)) {
		return nil, fmt.Errorf("%s: not a query log index", path)
	}
	data = data[len(indexMagic):]
	var out []blockIndex
	for len(data) > 0 {
		b, rest, ok := readBloomEntry(data)
		if !ok {
			return nil, fmt.Errorf("%s: damaged", path)
		}
		out, data = append(out, b), rest
	}
	return out, nil
}
