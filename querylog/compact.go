package querylog

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// A closed day is compacted: its lines in blocks of blockLines, each an
// independent zstd frame, in dns-DAY.jsonl.zst, and beside it an index,
// dns-DAY.idx, with for each block its place, its time range and a Bloom
// filter of its clients, names (with every parent), departments, actions
// and categories. A search reads only the blocks that may hold what it asks.
const (
	blockLines  = 8192
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

// keysOf are the index keys of a record.
func keysOf(e *Entry, add func(string)) {
	add("c:" + e.Client)
	add("d:" + e.Department)
	add("a:" + e.Action)
	add("g:" + e.Category)
	name := e.Name
	for {
		add("n:" + name)
		i := strings.IndexByte(name, '.')
		if i < 0 {
			break
		}
		name = name[i+1:]
	}
}

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
	zpath, ipath := base+zstSuffix, base+indexSuffix
	out, err := os.OpenFile(zpath+".tmp", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(zpath + ".tmp")
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		out.Close()
		return err
	}
	var idx []byte
	idx = append(idx, indexMagic...)
	var (
		off    int64
		raw    bytes.Buffer
		keys   []string
		count  int
		first  int64
		last   int64
		blocks int
	)
	flush := func() error {
		if count == 0 {
			return nil
		}
		frame := enc.EncodeAll(raw.Bytes(), nil)
		if _, err := out.Write(frame); err != nil {
			return err
		}
		b := newBloom(len(keys))
		for _, k := range keys {
			b.add(k)
		}
		idx = binary.AppendVarint(idx, off)
		idx = binary.AppendVarint(idx, int64(len(frame)))
		idx = binary.AppendVarint(idx, int64(count))
		idx = binary.AppendVarint(idx, first)
		idx = binary.AppendVarint(idx, last)
		idx = b.appendTo(idx)
		off += int64(len(frame))
		raw.Reset()
		keys, count, blocks = keys[:0], 0, blocks+1
		return nil
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	seen := map[string]bool{}
	for sc.Scan() {
		line := sc.Bytes()
		var e Entry
		if json.Unmarshal(line, &e) != nil {
			continue // a torn line
		}
		if count == 0 {
			first = e.Time.UnixNano()
			clear(seen)
		}
		last = e.Time.UnixNano()
		keysOf(&e, func(k string) {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		})
		raw.Write(line)
		raw.WriteByte('\n')
		count++
		if count == blockLines {
			if err := flush(); err != nil {
				out.Close()
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		out.Close()
		return err
	}
	if err := flush(); err != nil {
		out.Close()
		return err
	}
	if err := errors.Join(out.Sync(), out.Close()); err != nil {
		return err
	}
	if err := writeFileSync(ipath, idx); err != nil {
		return err
	}
	if err := os.Rename(zpath+".tmp", zpath); err != nil {
		return err
	}
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

// readIndex reads a day's index.
func readIndex(path string) ([]blockIndex, error) {
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
		var vals [5]int64
		for i := range vals {
			v, n := binary.Varint(data)
			if n <= 0 {
				return nil, fmt.Errorf("%s: damaged", path)
			}
			vals[i], data = v, data[n:]
		}
		b, rest, ok := readBloom(data)
		if !ok {
			return nil, fmt.Errorf("%s: damaged", path)
		}
		data = rest
		out = append(out, blockIndex{off: vals[0], size: vals[1], count: int(vals[2]), first: vals[3], last: vals[4], keys: b})
	}
	return out, nil
}
