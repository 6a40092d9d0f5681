package querylog

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Files is the day-file sink: JSON lines in dir, one file a day
// (dns-YYYY-MM-DD.jsonl, the day in loc), mode 0600.
type Files struct {
	dir      string
	instance string
	loc      *time.Location
	stamps   *stamps

	day      string
	dayStart int64 // the open day's first and
	dayEnd   int64 // last-plus-one unix nanosecond
	f        *os.File
	w        *bufio.Writer
	chunks   *chunkIndexer // the open day's chunk index (openindex.go)
	enc      []byte
	// OnClosed is called with the path of a day file once it is complete
	// (the day is over), to compress and index it.
	OnClosed func(path string)
	// Devices names the device that held a client address at a time (the
	// DHCP leases), or "", "": looked up as the record is written, off the
	// DNS path.
	Devices func(client netip.Addr, at time.Time) (name, mac string)
}

// DayFilePrefix and the suffixes name the query log's files.
const (
	DayFilePrefix = "dns-"
	openSuffix    = ".jsonl"
)

// DayFile is the path of the open (uncompressed) file of a day.
func DayFile(dir, day string) string { return filepath.Join(dir, DayFilePrefix+day+openSuffix) }

// NewFiles makes the sink, creating dir (0700).
func NewFiles(dir, instance string, loc *time.Location) (*Files, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("query log: %w", err)
	}
	if loc == nil {
		loc = time.Local
	}
	return &Files{dir: dir, instance: instance, loc: loc, stamps: newStamps(loc), enc: make([]byte, 0, 512)}, nil
}

// Write appends the batch, opening the next day's file when a record's day begins.
func (fs *Files) Write(b *Batch) error {
	for i := range b.slots {
		s := &b.slots[i]
		if s.t < fs.dayStart || s.t >= fs.dayEnd || fs.f == nil {
			t := time.Unix(0, s.t).In(fs.loc)
			start := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, fs.loc)
			if err := fs.open(t.Format("2006-01-02")); err != nil {
				return err
			}
			fs.dayStart, fs.dayEnd = start.UnixNano(), start.AddDate(0, 0, 1).UnixNano()
		}
		if fs.Devices != nil && s.device == "" {
			s.device, s.mac = fs.Devices(s.client, time.Unix(0, s.t))
		}
		fs.enc = appendEntry(fs.enc[:0], s, b.name(s), fs.instance, fs.stamps)
		if _, err := fs.w.Write(fs.enc); err != nil {
			return err
		}
		fs.chunks.add(len(fs.enc), s, b.name(s))
	}
	return nil
}

func (fs *Files) open(day string) error {
	prev := ""
	if fs.f != nil {
		prev = fs.f.Name()
		if err := fs.closeFile(); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(DayFile(fs.dir, day), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("query log: %w", err)
	}
	if err := cutTornLine(f); err != nil {
		f.Close()
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	fs.chunks = newChunkIndexer(f.Name(), fi.Size())
	fs.f, fs.day = f, day
	fs.w = bufio.NewWriterSize(f, writeChunk)
	if prev != "" && prev < f.Name() && fs.OnClosed != nil {
		fs.OnClosed(prev)
	}
	return nil
}

// cutTornLine ends a file left by a crash in the middle of a line with a
// newline, so that the next record starts a line of its own; readers skip
// the torn one.
func cutTornLine(f *os.File) error {
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return err
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, fi.Size()-1); err != nil {
		// O_APPEND files opened write-only cannot be read: reopen to look.
		r, err := os.Open(f.Name())
		if err != nil {
			return err
		}
		_, err = r.ReadAt(last, fi.Size()-1)
		r.Close()
		if err != nil {
			return err
		}
	}
	if last[0] != '\n' {
		_, err = f.Write([]byte{'\n'})
	}
	return err
}

func (fs *Files) closeFile() error {
	err := errors.Join(fs.w.Flush(), fs.f.Sync(), fs.f.Close())
	if err == nil {
		fs.chunks.finish() // the day's last lines are all in the file
		err = fs.chunks.flush()
	}
	fs.f, fs.w, fs.day, fs.chunks = nil, nil, "", nil
	return err
}

// Flush writes what is buffered to the file, then the chunk index's
// entries of what it holds.
func (fs *Files) Flush() error {
	if fs.w == nil {
		return nil
	}
	if err := fs.w.Flush(); err != nil {
		return err
	}
	return fs.chunks.flush()
}

// Close flushes and syncs the open file.
func (fs *Files) Close() error {
	if fs.f == nil {
		return nil
	}
	return fs.closeFile()
}

// Days lists the days that have a file in dir, oldest first, with their files.
func Days(dir string) (map[string][]string, []string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	files := map[string][]string{}
	for _, e := range entries {
		n := e.Name()
		if !strings.HasPrefix(n, DayFilePrefix) || e.IsDir() {
			continue
		}
		day := strings.TrimPrefix(n, DayFilePrefix)
		if len(day) < 10 {
			continue
		}
		if _, err := time.Parse("2006-01-02", day[:10]); err != nil {
			continue
		}
		files[day[:10]] = append(files[day[:10]], filepath.Join(dir, n))
	}
	days := make([]string, 0, len(files))
	for d := range files {
		days = append(days, d)
	}
	sort.Strings(days)
	return files, days, nil
}
