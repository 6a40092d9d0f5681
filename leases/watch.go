package leases

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Watcher keeps the table of [log] leases: every file (a pattern may name
// several, such as the Windows server's DhcpSrvLog-*.log) is read at
// start and again within a poll of a change (its size or time); a file
// that cannot be read, or no longer parses, keeps its last good leases,
// and says so in the log (once a change), Status and a metric.
type Watcher struct {
	patterns []string
	loc      *time.Location
	log      *slog.Logger
	cur      atomic.Pointer[Table]

	mu    sync.Mutex
	files map[string]*file
	bad   prometheus.Gauge
	skip  prometheus.Counter
}

// file is one lease file as last read.
type file struct {
	size    int64
	mod     time.Time
	leases  []Lease
	err     string // why the last read failed ("": it did not)
	skipped int
}

// FileStatus is a lease file as `civicdns status` shows it.
type FileStatus struct {
	Path    string `json:"path"`
	Leases  int    `json:"leases"`
	Skipped int    `json:"lines_skipped,omitempty"`
	Error   string `json:"error,omitempty"` // the last read's failure: its last good leases are kept
}

// NewWatcher makes the watcher of patterns (times without a zone in loc).
func NewWatcher(patterns []string, loc *time.Location, log *slog.Logger, reg prometheus.Registerer) *Watcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{patterns: patterns, loc: loc, log: log, files: map[string]*file{},
		bad:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "civicdns_leases_unreadable_files", Help: "Lease files whose last read failed (their last good leases are kept)."}),
		skip: prometheus.NewCounter(prometheus.CounterOpts{Name: "civicdns_leases_lines_skipped_total", Help: "Malformed lease lines skipped."})}
	if reg != nil {
		reg.MustRegister(w.bad, w.skip)
	}
	w.cur.Store(NewTable())
	w.Refresh()
	return w
}

// Table is the current table: one atomic load.
func (w *Watcher) Table() *Table { return w.cur.Load() }

// Device names the device that held addr at t: its host name (or, for a
// lease without one, its MAC) and its MAC; "", "" when none.
func (w *Watcher) Device(addr netip.Addr, t time.Time) (name, mac string) {
	l := w.cur.Load().At(addr, t)
	if l == nil {
		return "", ""
	}
	if l.Hostname == "" {
		return l.MAC, l.MAC
	}
	return l.Hostname, l.MAC
}

// Refresh reads the files that changed and swaps in a new table if any did.
func (w *Watcher) Refresh() {
	w.mu.Lock()
	defer w.mu.Unlock()
	changed := false
	seen := map[string]bool{}
	for _, pat := range w.patterns {
		paths, _ := filepath.Glob(pat)
		if len(paths) == 0 {
			paths = []string{pat} // not there (yet): said in its status
		}
		for _, p := range paths {
			seen[p] = true
			changed = w.refreshFile(p) || changed
		}
	}
	for p := range w.files {
		if !seen[p] {
			delete(w.files, p)
			changed = true
		}
	}
	if changed {
		w.rebuild()
	}
}

// refreshFile reads p again if it changed; false when nothing did.
func (w *Watcher) refreshFile(p string) bool {
	f := w.files[p]
	if f == nil {
		f = &file{}
		w.files[p] = f
	}
	fi, err := os.Stat(p)
	if err == nil && fi.Size() == f.size && fi.ModTime().Equal(f.mod) && f.err == "" {
		return false
	}
	var list []Lease
	skipped := 0
	if err == nil {
		var data []byte
		if data, err = os.ReadFile(p); err == nil {
			var format Format
			if format, err = Detect(data[:min(len(data), 4096)]); err == nil {
				list, skipped, err = Parse(bytes.NewReader(data), format, w.loc)
			}
		}
	}
	if err != nil {
		msg := err.Error()
		if msg != f.err {
			w.log.Error("leases: a lease file cannot be read; its last good leases are kept", "file", p, "err", err)
		}
		f.err = msg
		if fi != nil {
			f.size, f.mod = fi.Size(), fi.ModTime()
		}
		return false
	}
	if f.err != "" {
		w.log.Info("leases: the lease file reads again", "file", p)
	}
	if skipped > 0 {
		w.skip.Add(float64(skipped))
	}
	*f = file{size: fi.Size(), mod: fi.ModTime(), leases: list, skipped: skipped}
	return true
}

func (w *Watcher) rebuild() {
	paths := make([]string, 0, len(w.files))
	for p := range w.files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var lists [][]Lease
	bad := 0
	for _, p := range paths {
		lists = append(lists, w.files[p].leases)
		if w.files[p].err != "" {
			bad++
		}
	}
	w.bad.Set(float64(bad))
	w.cur.Store(NewTable(lists...))
}

// Status reports each file.
func (w *Watcher) Status() []FileStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]FileStatus, 0, len(w.files))
	for p, f := range w.files {
		out = append(out, FileStatus{Path: p, Leases: len(f.leases), Skipped: f.skipped, Error: f.err})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// pollEvery is how often the files are looked at: a lease is named
// within seconds of the DHCP server writing it.
const pollEvery = 2 * time.Second

// Run refreshes until ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.Refresh()
		}
	}
}

// String describes the watcher for `check`.
func (w *Watcher) String() string {
	n := 0
	for _, s := range w.Status() {
		n += s.Leases
	}
	return fmt.Sprintf("%d lease files, %d leases", len(w.Status()), n)
}
