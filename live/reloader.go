package live

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/civicdns/civicdns/blocklists"
	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/policy"
)

// Load reads the configuration a command names (config.LoadPath: the file,
// civicdns.toml, or the embedded default) and compiles its policy.
func Load(path string) (*config.Config, *policy.Policy, error) {
	return reload(path, nil)
}

// reload is Load keeping the running policy's compiled lists when the
// list files have not changed (policy.Reload).
func reload(path string, running *policy.Policy) (*config.Config, *policy.Policy, error) {
	cfg, errs := config.LoadPath(path)
	if err := errs.Err(); err != nil {
		return nil, nil, err
	}
	pol, err := policy.Reload(cfg, nil, running)
	if err != nil {
		return nil, nil, err
	}
	return cfg, pol, nil
}

// Reloader rebuilds the configuration and policy off the query path and
// applies them to the State: on Reload (SIGHUP, a downloaded list), and
// when Watch sees a configuration or list file change. One reload runs at
// a time; a file that does not validate keeps the running snapshot.
type Reloader struct {
	state *State
	path  string // as given to Load ("" for civicdns.toml or the default)
	log   *slog.Logger
	// Check, when set, is asked about a new configuration before it is
	// applied: what serve would refuse at start (a CA that cannot be read)
	// a reload refuses too, and the running configuration stays.
	Check func(*config.Config) error

	mu      sync.Mutex
	watched map[string]fileStamp
	// What `civicdns status` tells of reloads: when the configuration in
	// force was loaded, and the last failure (cleared by a success).
	loadedAt  time.Time
	lastError string
	lastAt    time.Time
}

// ReloadStatus is what the reloader tells `civicdns status`.
type ReloadStatus struct {
	LoadedAt      time.Time `json:"loaded_at"`
	LastError     string    `json:"last_reload_error,omitempty"`
	LastErrorTime time.Time `json:"last_reload_error_at,omitzero"`
}

// Status says when the configuration in force was loaded and why the last
// reload failed, if it did.
func (r *Reloader) Status() ReloadStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return ReloadStatus{LoadedAt: r.loadedAt, LastError: r.lastError, LastErrorTime: r.lastAt}
}

type fileStamp struct {
	size  int64
	mtime time.Time
}

// NewReloader makes a reloader for the configuration named path (as Load takes it).
func NewReloader(state *State, path string, log *slog.Logger) *Reloader {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Reloader{state: state, path: path, log: log, loadedAt: state.now()}
	r.watched = r.stamps()
	return r
}

// Reload reads the configuration and the lists again and applies them; on
// any error the running snapshot stays and the error (with its file:line)
// is logged and returned.
func (r *Reloader) Reload(why string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	// The files as this reload reads them: a change made while it runs
	// differs from these stamps and brings one more reload.
	before := r.stamps()
	r.watched = before
	cfg, pol, err := reload(r.path, r.state.Snapshot().Policy)
	if err == nil && r.Check != nil {
		err = r.Check(cfg)
	}
	if err == nil {
		err = r.state.Apply(cfg, pol)
	} else {
		r.state.CountReloadFailure()
	}
	if err != nil {
		r.log.Error("reload failed; the running configuration stays", "why", why, "err", err)
		r.lastError, r.lastAt = err.Error(), r.state.now()
		return err
	}
	r.loadedAt, r.lastError, r.lastAt = r.state.now(), "", time.Time{}
	// The new policy may read other files: watch them from now on, keeping
	// the stamps taken before the reload for the files already known.
	after := r.stamps()
	for f, st := range before {
		if _, ok := after[f]; ok {
			after[f] = st
		}
	}
	r.watched = after
	// The old policy (its matcher can be ~100 MB) is garbage now: collect it
	// and give the memory back at once, rather than let the heap grow to
	// twice its size before the next collection.
	debug.FreeOSMemory()
	LogWarnings(r.log, pol)
	r.log.Info("configuration reloaded", "why", why, "file", cfg.File, "names", pol.Lists().Matcher.Len())
	return nil
}

// files lists what a change of should reload: the main file, every list
// file read, and the lists folder itself (a list added or removed).
func (r *Reloader) files() []string {
	var out []string
	if p := config.ResolvePath(r.path); p != "" {
		out = append(out, p)
	}
	set := r.state.Snapshot().Policy.Lists()
	out = append(out, set.Files...)
	for _, f := range set.Files {
		if filepath.Ext(f) == ".toml" {
			out = append(out, filepath.Dir(f))
			break
		}
	}
	return out
}

func (r *Reloader) stamps() map[string]fileStamp {
	m := map[string]fileStamp{}
	for _, f := range r.files() {
		if fi, err := os.Stat(f); err == nil {
			m[f] = fileStamp{fi.Size(), fi.ModTime()}
		} else {
			m[f] = fileStamp{-1, time.Time{}}
		}
	}
	return m
}

// changed reports whether a watched file differs from the last reload.
func (r *Reloader) changed() (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for f, s := range r.stamps() {
		if old, ok := r.watched[f]; !ok || old != s {
			return f, true
		}
	}
	return "", false
}

// Watch polls the files every interval until ctx ends, reloading on a change.
func (r *Reloader) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if f, ok := r.changed(); ok {
				r.Reload("changed: " + f)
			}
		}
	}
}

// Downloads are the imports of the running policy that are kept up to date.
func (r *Reloader) Downloads() []blocklists.Download {
	return r.state.Snapshot().Policy.Lists().Downloads
}

// LogWarnings logs the lines of imported lists that were skipped (the
// first 20; then how many more).
func LogWarnings(log *slog.Logger, pol *policy.Policy) {
	w := pol.Lists().Warnings
	for i, e := range w {
		if i == 20 {
			log.Warn("more skipped list lines not logged", "count", len(w)-i)
			break
		}
		log.Warn("list line skipped", "where", e.Error())
	}
}
