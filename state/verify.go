package state

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Check reads the workflow and the audit trail once, whole (as the server
// does at start): a torn last record is cut off at the next write and
// logged; any other damage is a *DamageError naming the file and offset.
// After it, reads and appends handle only what is new.
func (s *Store) Check() error {
	if err := s.refresh(); err != nil {
		return err
	}
	return s.audit.since(discard{})
}

// Finding is what Verify found in one journal file.
type Finding struct {
	File    string
	Records int   // intact records
	Torn    int64 // bytes of a torn last record (cut off at the next write)
	Damage  []*DamageError
}

// OK reports whether the file needs nothing from an admin.
func (f *Finding) OK() bool { return len(f.Damage) == 0 }

// Journals are the files of a store folder that Verify and Repair look at.
func journals() []string { return []string{WorkflowFile, AuditFile, OutboxFile, SessionsFile} }

// Verify reads every journal of the store folder dir, whole, and says
// what is intact, torn and damaged. It changes nothing.
func Verify(dir string) ([]Finding, error) {
	var out []Finding
	for _, name := range journals() {
		path := filepath.Join(dir, name)
		f, err := verifyFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, f)
	}
	return out, nil
}

// scanFile reads every record of path, going on past damage; each gets
// the intact ones.
func scanFile(path string, each func(entry)) (Finding, error) {
	fd, err := os.Open(path)
	if err != nil {
		return Finding{}, err
	}
	defer fd.Close()
	f := Finding{File: path}
	d := newDecoder(fd, 0)
	for {
		e, err := d.next()
		if err == io.EOF {
			break
		}
		var dmg *DamageError
		if errors.As(err, &dmg) {
			dmg.Path = path
			f.Damage = append(f.Damage, dmg)
			continue
		}
		if err != nil {
			return f, err
		}
		f.Records++
		each(e)
	}
	if d.torn {
		f.Torn = d.tornBytes
	}
	return f, nil
}

func verifyFile(path string) (Finding, error) { return scanFile(path, func(entry) {}) }

// Repair rewrites every damaged journal of the store folder dir with its
// intact records alone, after keeping the damaged file beside it as
// NAME.damaged-TIME. Nothing may be using the folder (stop the server
// first). It returns what it found and the copies it kept.
func Repair(dir string, now time.Time) ([]Finding, []string, error) {
	var found []Finding
	var kept []string
	for _, name := range journals() {
		path := filepath.Join(dir, name)
		var good []entry
		f, err := scanFile(path, func(e entry) { good = append(good, e) })
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return found, kept, err
		}
		found = append(found, f)
		if f.OK() && f.Torn == 0 {
			continue
		}
		copyPath := fmt.Sprintf("%s.damaged-%s", path, now.UTC().Format("20060102T150405Z"))
		if err := copyFile(path, copyPath); err != nil {
			return found, kept, fmt.Errorf("keeping a copy of %s: %w", path, err)
		}
		kept = append(kept, copyPath)
		if err := newJournal(path, nil).rewrite(good); err != nil {
			return found, kept, fmt.Errorf("rewriting %s: %w", path, err)
		}
	}
	return found, kept, nil
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return writeSynced(to, data, os.O_EXCL)
}
