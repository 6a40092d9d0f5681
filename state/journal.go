package state

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// journal is one append-only file of records.
type journal struct {
	path string
}

// entry is one record as read back, with where it ends in the file.
type entry struct {
	data json.RawMessage
	end  int64
}

// lineOf frames a record: its JSON, a tab, its CRC-32 (IEEE) in hex, a newline.
func lineOf(data []byte) []byte {
	line := make([]byte, 0, len(data)+10)
	line = append(line, data...)
	line = append(line, '\t')
	line = strconv.AppendUint(line, uint64(crc32.ChecksumIEEE(data)), 16)
	return append(line, '\n')
}

// parse reads every whole, intact record. A last line without its newline
// or whose checksum does not match (a write torn by a crash) is not
// returned; good reports where the intact records end. A bad line before
// the end is corruption, not a torn write: an error.
func parse(r io.Reader) (entries []entry, good int64, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var off int64
	for {
		line, rerr := br.ReadBytes('\n')
		if len(line) > 0 {
			whole := line[len(line)-1] == '\n'
			data, ok := checkLine(line)
			if !ok || !whole {
				if rerr == io.EOF {
					return entries, good, nil // the torn tail of a crash
				}
				// A bad line followed by more: look whether only torn lines follow.
				rest, _ := io.ReadAll(br)
				if len(bytes.TrimSpace(rest)) == 0 {
					return entries, good, nil
				}
				return entries, good, fmt.Errorf("record at byte %d is damaged (not the last one: the journal needs a look)", off)
			}
			off += int64(len(line))
			good = off
			entries = append(entries, entry{data: data, end: off})
		}
		if rerr == io.EOF {
			return entries, good, nil
		}
		if rerr != nil {
			return entries, good, rerr
		}
	}
}

func checkLine(line []byte) ([]byte, bool) {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	i := bytes.LastIndexByte(line, '\t')
	if i < 0 {
		return nil, false
	}
	sum, err := strconv.ParseUint(string(line[i+1:]), 16, 32)
	if err != nil || uint32(sum) != crc32.ChecksumIEEE(line[:i]) {
		return nil, false
	}
	return line[:i], true
}

// read returns the journal's intact records under a shared lock.
func (j *journal) read() ([]entry, error) {
	f, err := os.Open(j.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH); err != nil {
		return nil, fmt.Errorf("lock %s: %w", j.path, err)
	}
	entries, _, err := parse(f)
	return entries, err
}

// locked runs fn with the journal open and exclusively locked (across
// processes), with its intact records and the length they end at.
func (j *journal) locked(fn func(f *os.File, entries []entry, good int64) error) error {
	f, err := os.OpenFile(j.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", j.path, err)
	}
	entries, good, err := parse(f)
	if err != nil {
		return fmt.Errorf("%s: %w", j.path, err)
	}
	return fn(f, entries, good)
}

// update runs fn on the intact records under an exclusive lock; the
// records fn returns are appended and fsync'd before update returns. A
// torn tail is cut off first, so a new record never joins a broken one.
func (j *journal) update(fn func(entries []entry) ([]any, error)) error {
	return j.locked(func(f *os.File, entries []entry, good int64) error {
		if err := f.Truncate(good); err != nil {
			return err
		}
		add, err := fn(entries)
		if err != nil || len(add) == 0 {
			return err
		}
		var buf bytes.Buffer
		for _, rec := range add {
			data, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			buf.Write(lineOf(data))
		}
		if _, err := f.WriteAt(buf.Bytes(), good); err != nil {
			return err
		}
		return f.Sync()
	})
}

// drain runs fn on the intact records under an exclusive lock and, when it
// succeeds, empties the journal (an outbox delivered).
func (j *journal) drain(fn func(entries []entry) error) error {
	return j.locked(func(f *os.File, entries []entry, _ int64) error {
		if err := fn(entries); err != nil || len(entries) == 0 {
			return err
		}
		if err := f.Truncate(0); err != nil {
			return err
		}
		return f.Sync()
	})
}

// Journal is an append-only file of JSON records with the same guarantees
// as the store's own (a CRC per record, fsync before acknowledging, flock
// across processes), for other parts that keep a small durable history:
// the query log's legal holds.
type Journal struct{ j eventLog }

// OpenJournal names the journal at path (created, 0600, on the first append).
func OpenJournal(path string) *Journal { return &Journal{&journal{path: path}} }

// Records returns the intact records, oldest first.
func (j *Journal) Records() ([]json.RawMessage, error) {
	entries, err := j.j.read()
	out := make([]json.RawMessage, len(entries))
	for i, e := range entries {
		out[i] = e.data
	}
	return out, err
}

// Append runs fn on the records under an exclusive lock and appends what
// it returns, durably.
func (j *Journal) Append(fn func(existing []json.RawMessage) ([]any, error)) error {
	return j.j.update(func(entries []entry) ([]any, error) {
		recs := make([]json.RawMessage, len(entries))
		for i, e := range entries {
			recs[i] = e.data
		}
		return fn(recs)
	})
}
