package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// journal is one append-only file of records. It remembers how far it has
// read (the file's identity and the byte offset), so that a read or an
// append handles only the records written since: by this process or by
// another one (the server and a CLI share the file under flock). A file
// replaced underneath (repaired, or a shared store's copy rewritten) is
// read again from the start.
type journal struct {
	path string
	log  *slog.Logger

	mu   sync.Mutex
	id   fileID
	off  int64 // where the records read so far end
	last int64 // where the last of them starts (-1: none)
}

// entry is one record as read back: its JSON, and where it starts and ends
// in the file.
type entry struct {
	data       json.RawMessage
	start, end int64
}

// fileID tells one file from another one renamed over it.
type fileID struct{ dev, ino uint64 }

func idOf(fi os.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{uint64(st.Dev), st.Ino}
	}
	return fileID{}
}

func newJournal(path string, log *slog.Logger) *journal {
	if log == nil {
		log = slog.Default()
	}
	return &journal{path: path, log: log, last: -1}
}

// sink takes the records a journal reads: reset when the file is not the
// one read so far (every record follows), add for each record.
type sink interface {
	reset()
	add(entry) error
}

// discard is the sink of a journal only appended to (the audit trail):
// its records are checked, not kept.
type discard struct{}

func (discard) reset()          {}
func (discard) add(entry) error { return nil }

// catchUp reads the records after j.off from f (open and locked) into s.
// It returns where the intact records end; a torn tail is logged and left
// for the caller to cut off (an append does; a reader stops before it).
// Damage is a *DamageError.
func (j *journal) catchUp(f *os.File, s sink) (good int64, err error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if id := idOf(fi); id != j.id || fi.Size() < j.off {
		j.id, j.off, j.last = id, 0, -1
		s.reset()
	}
	if fi.Size() == j.off {
		return j.off, nil
	}
	d := newDecoder(io.NewSectionReader(f, j.off, fi.Size()-j.off), j.off)
	for {
		e, err := d.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var dmg *DamageError
			if errors.As(err, &dmg) {
				dmg.Path = j.path
			}
			return j.off, err
		}
		if err := s.add(e); err != nil {
			return j.off, err
		}
		j.off, j.last = e.end, e.start
	}
	if d.torn {
		j.log.Warn("state: a torn last record (a write cut short by a crash) is left out; the next write cuts it off",
			"file", j.path, "at_byte", j.off, "bytes", d.tornBytes)
	}
	return j.off, nil
}

// since hands s the records written since the last call (all of them,
// after a reset, when the file was replaced). When the file is as it was,
// it costs one stat.
func (j *journal) since(s sink) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	fi, err := os.Stat(j.path)
	if errors.Is(err, os.ErrNotExist) {
		if j.off != 0 || j.id != (fileID{}) {
			s.reset()
		}
		j.id, j.off, j.last = fileID{}, 0, -1
		return nil
	}
	if err != nil {
		return err
	}
	if idOf(fi) == j.id && fi.Size() == j.off {
		return nil
	}
	f, err := os.Open(j.path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH); err != nil {
		return fmt.Errorf("lock %s: %w", j.path, err)
	}
	_, err = j.catchUp(f, s)
	return err
}

// openLocked opens the journal (creating it, 0600) and takes its
// exclusive lock, held until the file is closed.
func (j *journal) openLocked() (*os.File, error) {
	f, err := os.OpenFile(j.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", j.path, err)
	}
	return f, nil
}

// update appends, under an exclusive lock (across processes), the records
// fn makes once s has the records written since the last call (as since
// hands them); they are fsync'd before update returns. A torn tail is cut
// off first, so a new record never joins a broken one.
func (j *journal) update(s sink, fn func() ([]any, error)) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	f, err := j.openLocked()
	if err != nil {
		return &WriteError{j.path, err}
	}
	defer f.Close()
	good, err := j.catchUp(f, s)
	if err != nil {
		return err
	}
	if err := f.Truncate(good); err != nil {
		return &WriteError{j.path, err}
	}
	add, err := fn()
	if err != nil || len(add) == 0 {
		return err
	}
	var buf []byte
	last := int64(-1)
	for _, rec := range add {
		data, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		last = good + int64(len(buf))
		buf = frame(buf, data)
	}
	if _, err := f.WriteAt(buf, good); err != nil {
		f.Truncate(good) // no half record left for the next reader
		return &WriteError{j.path, err}
	}
	if err := f.Sync(); err != nil {
		return &WriteError{j.path, err}
	}
	j.off, j.last = good+int64(len(buf)), last
	return nil
}

// position is where the records read so far end and where the last of
// them starts (-1: none), in the file of identity id.
func (j *journal) position() (id fileID, off, last int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.id, j.off, j.last
}

// resume sets where reading goes on: a snapshot covered the file up to
// off (in the file of identity id).
func (j *journal) resume(id fileID, off, last int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.id, j.off, j.last = id, off, last
}

// all returns every intact record, reading the file from the start
// (a one-off read: the CLI's, a shared journal's).
func (j *journal) all() ([]entry, error) {
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
	// A reader of its own from the start: this journal's cursor stays.
	var c collect
	_, err = (&journal{path: j.path, log: j.log, last: -1}).catchUp(f, &c)
	return c.entries, err
}

// drain runs fn on every intact record under an exclusive lock and, when
// it succeeds, empties the journal (an outbox delivered).
func (j *journal) drain(fn func(entries []entry) error) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	f, err := j.openLocked()
	if err != nil {
		return err
	}
	defer f.Close()
	j.id, j.off, j.last = fileID{}, 0, -1
	var c collect
	if _, err := j.catchUp(f, &c); err != nil {
		return err
	}
	entries := c.entries
	if err := fn(entries); err != nil || len(entries) == 0 {
		return err
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	j.off = 0
	return f.Sync()
}

// appendEntries appends records read elsewhere (a shared store's local copy).
func (j *journal) appendEntries(entries []entry) error {
	if len(entries) == 0 {
		return nil
	}
	return j.update(discard{}, func() ([]any, error) {
		out := make([]any, len(entries))
		for i, e := range entries {
			out[i] = e.data
		}
		return out, nil
	})
}

// collect is a sink that keeps every record.
type collect struct{ entries []entry }

func (c *collect) reset()            { c.entries = c.entries[:0] }
func (c *collect) add(e entry) error { c.entries = append(c.entries, e); return nil }

// rewrite replaces the file with entries, whole: a new file renamed over
// the old one, so a reader sees the old or the new.
func (j *journal) rewrite(entries []entry) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	var buf []byte
	for _, e := range entries {
		buf = frame(buf, e.data)
	}
	return replaceFile(j.path, buf)
}

// replaceFile writes data to path whole: a new file, fsync'd, renamed over
// the old one (0600), so a reader sees the old or the new.
func replaceFile(path string, data []byte) error {
	tmp := path + ".new"
	if err := writeSynced(tmp, data, os.O_TRUNC); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// writeSynced writes data to a new file (flag: os.O_TRUNC, or os.O_EXCL
// for one that must not exist yet), 0600, and fsyncs it.
func writeSynced(path string, data []byte, flag int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|flag, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
