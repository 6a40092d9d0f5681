package blocklists

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Updater downloads the imports that have a url and a refresh period, and
// keeps the last good copy of each on disk. A download that fails, or whose
// content does not parse as its format, changes nothing: the running policy
// keeps the copy it has.
type Updater struct {
	Client   *http.Client
	Log      *slog.Logger
	Now      func() time.Time
	MaxBytes int64 // largest list accepted (default 256 MiB)
	// OnChange is called after a new copy is in place (to reload the policy).
	OnChange func()
	// OnResult is told of every attempt (metrics).
	OnResult func(d Download, err error)

	mu   sync.Mutex
	last map[string]time.Time // url → last attempt
}

// Check downloads every list in downloads that is due: never fetched, or
// last tried (or last written) a refresh period ago. It returns how many
// new copies it wrote.
func (u *Updater) Check(ctx context.Context, downloads []Download) int {
	now := u.now()
	written := 0
	for _, d := range downloads {
		if !u.due(d, now) {
			continue
		}
		err := u.fetch(ctx, d)
		if u.OnResult != nil {
			u.OnResult(d, err)
		}
		var shrink *ShrinkError
		switch {
		case errors.Is(err, ErrNotModified):
		case errors.As(err, &shrink):
			u.log().Warn("list refresh refused: it would shrink the list; keeping the last good copy", "category", d.Category, "url", d.URL,
				"names_now", shrink.Old, "names_offered", shrink.New, "offered_copy", d.Path+RefusedSuffix)
		case err != nil:
			u.log().Warn("list download failed; keeping the copy we have", "category", d.Category, "url", d.URL, "err", err)
		default:
			u.log().Info("list downloaded", "category", d.Category, "url", d.URL, "file", d.Path)
			written++
		}
	}
	if written > 0 && u.OnChange != nil {
		u.OnChange()
	}
	return written
}

// Run checks every interval until ctx ends, asking current for the downloads
// of the running policy each time.
func (u *Updater) Run(ctx context.Context, interval time.Duration, current func() []Download) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		u.Check(ctx, current())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (u *Updater) due(d Download, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.last == nil {
		u.last = map[string]time.Time{}
	}
	last, ok := u.last[d.URL]
	if !ok {
		if fi, err := os.Stat(d.Path); err == nil {
			last = fi.ModTime()
		}
	}
	if now.Sub(last) < d.Refresh.D() {
		return false
	}
	u.last[d.URL] = now
	return true
}

// ErrNotModified is reported (to OnResult) when the server says the copy we have is current.
var ErrNotModified = errors.New("not modified")

func (u *Updater) fetch(ctx context.Context, d Download) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.URL, nil)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(d.Path); err == nil {
		req.Header.Set("If-Modified-Since", fi.ModTime().UTC().Format(http.TimeFormat))
	}
	client := u.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		now := u.now()
		os.Chtimes(d.Path, now, now)
		return ErrNotModified
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	max := u.MaxBytes
	if max == 0 {
		max = 256 << 20
	}
	if err := os.MkdirAll(filepath.Dir(d.Path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(d.Path), ".download-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, io.LimitReader(resp.Body, max+1))
	if err == nil && n > max {
		err = fmt.Errorf("larger than %d bytes", max)
	}
	names := 0
	if err == nil {
		names, err = validateDownload(tmp, d.Format)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := shrinkGuard(d, names); err != nil {
		// Kept beside the list, so that `lists diff` shows what it would
		// have changed; the running list stays as it is.
		os.Rename(tmp.Name(), d.Path+RefusedSuffix)
		return err
	}
	os.Remove(d.Path + RefusedSuffix)
	keepPrevious(d)
	return os.Rename(tmp.Name(), d.Path)
}

// RefusedSuffix names a download the shrink guard refused.
const RefusedSuffix = ".refused"

// ShrinkError is a download refused because it would shrink the list to
// less than half of it, or to fewer than minListNames names: a feed that
// broke (an emptied file, a truncated mirror) must not unblock a category.
type ShrinkError struct {
	Old, New int
}

func (e *ShrinkError) Error() string {
	return fmt.Sprintf("refused: the new copy has %d names where the last good one has %d (less than half, or fewer than %d); the last good copy stays (`civicdns lists diff` shows the change)", e.New, e.Old, minListNames)
}

// minListNames is the fewest names a refreshed list may have.
const minListNames = 10

// shrinkGuard compares a download's size in names with the copy in force
// (the last download, or the bundled copy before the first).
func shrinkGuard(d Download, names int) error {
	old := countNames(d)
	if old == 0 {
		return nil
	}
	if names*2 < old || names < old && names < minListNames {
		return &ShrinkError{Old: old, New: names}
	}
	return nil
}

// countNames counts the names of the copy in force (0 when there is none).
func countNames(d Download) int {
	f, err := openCopy(d, d.Path, true)
	if err != nil {
		return 0
	}
	defer f.Close()
	st, err := Parse(d.Format, f, func([]byte, int, bool) {})
	if err != nil {
		return 0
	}
	return st.Names
}

// openCopy opens a copy of a download; with bundled, a missing path
// falls back to the bundled copy (in force before the first download).
func openCopy(d Download, path string, bundled bool) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) && bundled && d.BundledFS != nil && d.BundledPath != "" {
		if bf, berr := OpenList(d.BundledFS, d.BundledPath); berr == nil {
			return bf, nil
		}
	}
	return f, err
}

// PreviousSuffix names the copy a download replaced, kept for `lists diff`.
const PreviousSuffix = ".prev"

// keepPrevious keeps the copy a new download replaces (the last download,
// or for the first one the bundled copy) beside it, for `lists diff`.
func keepPrevious(d Download) {
	prev := d.Path + PreviousSuffix
	if _, err := os.Stat(d.Path); err == nil {
		os.Rename(d.Path, prev)
		return
	}
	if d.BundledFS != nil && d.BundledPath != "" {
		if data, err := readList(d.BundledFS, d.BundledPath); err == nil {
			os.WriteFile(prev, data, 0o644)
		}
	}
}

// Diff is what a refresh of one import changed.
type Diff struct {
	Download       Download
	Added, Removed []string // names, sorted
}

// DiffDownload compares a download's current copy with the one it replaced.
// ok is false when there is nothing to compare (never downloaded).
func DiffDownload(d Download) (diff Diff, ok bool, err error) {
	return diffFiles(d, d.Path+PreviousSuffix, d.Path, false)
}

// DiffRefused compares the copy in force with a refresh the shrink guard
// refused: what it would have changed. ok is false when none was refused.
func DiffRefused(d Download) (diff Diff, ok bool, err error) {
	return diffFiles(d, d.Path, d.Path+RefusedSuffix, true)
}

// diffFiles compares the names of two copies of a download; a missing
// one means nothing to compare, but with bundled the old copy may be the
// bundled one (before the first download).
func diffFiles(d Download, oldPath, newPath string, bundled bool) (diff Diff, ok bool, err error) {
	diff.Download = d
	read := func(path string, fallback bool) (map[string]bool, error) {
		r, err := openCopy(d, path, fallback)
		if err != nil {
			return nil, err
		}
		defer r.Close()
		names := map[string]bool{}
		_, err = Parse(d.Format, r, func(name []byte, _ int, allow bool) {
			if !allow {
				names[string(name)] = true
			}
		})
		return names, err
	}
	cur, err := read(newPath, false)
	if errors.Is(err, fs.ErrNotExist) {
		return diff, false, nil
	}
	if err != nil {
		return diff, false, err
	}
	old, err := read(oldPath, bundled)
	if errors.Is(err, fs.ErrNotExist) {
		return diff, false, nil
	}
	if err != nil {
		return diff, false, err
	}
	for n := range cur {
		if !old[n] {
			diff.Added = append(diff.Added, n)
		}
	}
	for n := range old {
		if !cur[n] {
			diff.Removed = append(diff.Removed, n)
		}
	}
	sort.Strings(diff.Added)
	sort.Strings(diff.Removed)
	return diff, true, nil
}

// validateDownload parses the whole file: a list with no usable name, or
// with more bad lines than names, is not a list of that format (an error
// page, a moved file) and must not replace a good copy.
func validateDownload(f *os.File, format string) (int, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	st, err := Parse(format, f, func([]byte, int, bool) {})
	if err != nil {
		return 0, err
	}
	if st.Names == 0 || len(st.Bad) > st.Names {
		return 0, fmt.Errorf("not a %s list: %d names, %d bad lines", format, st.Names, len(st.Bad))
	}
	return st.Names, nil
}

func (u *Updater) now() time.Time {
	if u.Now != nil {
		return u.Now()
	}
	return time.Now()
}

func (u *Updater) log() *slog.Logger {
	if u.Log != nil {
		return u.Log
	}
	return slog.New(slog.DiscardHandler)
}
