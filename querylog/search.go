package querylog

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Filter selects records. Zero fields select everything.
type Filter struct {
	Client     netip.Prefix // the client or its network
	Name       string       // the name and its subdomains (normalised)
	Department string
	Action     string
	Category   string
	Device     string    // the device's name (case does not matter)
	MAC        string    // the device's hardware address (00:11:22:aa:bb:cc)
	From, To   time.Time // the records in [From, To)
}

// Match reports whether the filter selects e.
func (f *Filter) Match(e *Entry) bool {
	switch {
	case !f.From.IsZero() && e.Time.Before(f.From), !f.To.IsZero() && !e.Time.Before(f.To):
		return false
	case f.Department != "" && !strings.EqualFold(e.Department, f.Department):
		return false
	case f.Action != "" && e.Action != f.Action, f.Category != "" && e.Category != f.Category:
		return false
	case f.Name != "" && e.Name != f.Name && !strings.HasSuffix(e.Name, "."+f.Name):
		return false
	case f.Device != "" && !strings.EqualFold(e.Device, f.Device), f.MAC != "" && !strings.EqualFold(e.MAC, f.MAC):
		return false
	}
	if f.Client.IsValid() {
		a, err := netip.ParseAddr(e.Client)
		if err != nil || !f.Client.Contains(a.Unmap()) {
			return false
		}
	}
	return true
}

// mayHold reports whether a block whose keys are b may hold a match.
func (f *Filter) mayHold(b *bloom) bool {
	if f.Client.IsValid() && f.Client.IsSingleIP() && !b.has("c:"+f.Client.Addr().String()) {
		return false
	}
	if f.Name != "" && !b.has("n:"+f.Name) {
		return false
	}
	if f.Action != "" && !b.has("a:"+f.Action) {
		return false
	}
	if f.Category != "" && !b.has("g:"+f.Category) {
		return false
	}
	// Departments are compared without case; the index keeps them as written.
	return true
}

// needles are byte strings a matching line must contain: a cheap test
// before the line is decoded.
func (f *Filter) needles() [][]byte {
	var n [][]byte
	if f.Client.IsValid() && f.Client.IsSingleIP() {
		n = append(n, []byte(`"client":"`+f.Client.Addr().String()+`"`))
	}
	if f.Name != "" {
		n = append(n, []byte(f.Name+`"`))
	}
	if f.Action != "" {
		n = append(n, appendString([]byte(`"action":`), f.Action))
	}
	if f.Category != "" {
		n = append(n, appendString([]byte(`"category":`), f.Category))
	}
	return n
}

// errStop ends a search early.
var errStop = errors.New("stop")

// Search calls fn with every record f selects, newest first, day by day,
// until fn returns false. It reads a bounded amount at a time.
func Search(dir string, f Filter, fn func(*Entry) bool) error {
	files, days, err := Days(dir)
	if err != nil {
		return err
	}
	visit := lineVisitor(f, fn)
	for i := len(days) - 1; i >= 0; i-- {
		day := days[i]
		if !dayMayHold(day, f) {
			continue
		}
		if err := searchDay(files[day], f, visit); err != nil {
			if errors.Is(err, errStop) {
				return nil
			}
			return err
		}
	}
	return nil
}

// lineVisitor decodes the lines f may select and calls fn with those it
// does; fn returning false stops the search (errStop).
func lineVisitor(f Filter, fn func(*Entry) bool) func([]byte) error {
	needles := f.needles()
	return func(line []byte) error {
		for _, n := range needles {
			if !bytes.Contains(line, n) {
				return nil
			}
		}
		var e Entry
		// The log's own flat lines without reflection (5-10x faster than
		// encoding/json, which reads anything else).
		if parseLine(line, &e) != nil {
			e = Entry{}
			if json.Unmarshal(line, &e) != nil {
				return nil // a line torn by a crash
			}
		}
		if f.Match(&e) && !fn(&e) {
			return errStop
		}
		return nil
	}
}

// dayMayHold is a coarse test on the day's name (a day a side for time zones).
func dayMayHold(day string, f Filter) bool {
	d, err := time.Parse("2006-01-02", day)
	if err != nil {
		return false
	}
	if !f.From.IsZero() && d.Add(48*time.Hour).Before(f.From) {
		return false
	}
	if !f.To.IsZero() && d.Add(-24*time.Hour).After(f.To) {
		return false
	}
	return true
}

func searchDay(paths []string, f Filter, visit func([]byte) error) error {
	var plain, zst, idx, bzst, bidx string
	for _, p := range paths {
		switch {
		case strings.HasSuffix(p, blockedPart+zstSuffix):
			bzst = p
		case strings.HasSuffix(p, blockedPart+indexSuffix):
			bidx = p
		case strings.HasSuffix(p, zstSuffix):
			zst = p
		case strings.HasSuffix(p, indexSuffix):
			idx = p
		case strings.HasSuffix(p, openSuffix):
			plain = p
		}
	}
	if (f.Action == "blocked" || f.Action == "exempted") && bzst != "" && bidx != "" && zst != "" {
		zst, idx = bzst, bidx // the day's blocked and exempted lookups alone
	}
	// A .jsonl is always complete (see Retention.Apply); a compacted copy
	// beside it is from a compaction a crash stopped.
	if plain != "" {
		return searchOpenDay(plain, f, visit)
	}
	if zst != "" && idx != "" {
		return searchCompacted(zst, idx, f, visit)
	}
	return nil
}

func searchCompacted(zst, idx string, f Filter, visit func([]byte) error) error {
	var blocks []blockIndex
	x, err := openDayIndex(idx)
	switch {
	case err == nil:
		defer x.Close()
		blocks, err = x.selectBlocks(f)
	case errors.Is(err, errIndexFormat1):
		blocks, err = readIndex(idx)
	}
	if err != nil {
		return err
	}
	file, err := os.Open(zst)
	if err != nil {
		return err
	}
	defer file.Close()
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return err
	}
	defer dec.Close()
	var frame, raw []byte
	for i := len(blocks) - 1; i >= 0; i-- {
		b := blocks[i]
		if f.outside(b) || b.keys != nil && !f.mayHold(b.keys) {
			continue
		}
		if frame, err = readBlock(file, frame, b); err != nil {
			return err
		}
		if raw, err = dec.DecodeAll(frame, raw[:0]); err != nil {
			return err
		}
		if err := eachLineBackwards(raw, visit); err != nil {
			return err
		}
	}
	return nil
}

// outside reports whether every record of a block is outside f's time range.
func (f *Filter) outside(b blockIndex) bool {
	return !f.From.IsZero() && b.last < f.From.UnixNano() || !f.To.IsZero() && b.first >= f.To.UnixNano()
}

// readBlock reads a block's bytes into buf (grown when it is short).
func readBlock(file *os.File, buf []byte, b blockIndex) ([]byte, error) {
	if int64(cap(buf)) < b.size {
		buf = make([]byte, b.size)
	}
	buf = buf[:b.size]
	_, err := file.ReadAt(buf, b.off)
	return buf, err
}

// eachLineBackwards calls visit with the lines of data, last first.
func eachLineBackwards(data []byte, visit func([]byte) error) error {
	end := len(data)
	for i := len(data) - 1; i >= -1; i-- {
		if i >= 0 && data[i] != '\n' {
			continue
		}
		if line := data[i+1 : end]; len(line) > 0 {
			if err := visit(line); err != nil {
				return err
			}
		}
		end = max(i, 0)
	}
	return nil
}
