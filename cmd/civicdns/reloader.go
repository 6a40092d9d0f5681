package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/civicdns/civicdns/blocklists"
	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/resolver"
)

// reloader rebuilds the policy off the query path and swaps it in, on
// SIGHUP, when a configuration or list file changes, or when a list
// download brings a new copy. One reload runs at a time.
type reloader struct {
	srv     *resolver.Server
	cfgPath string
	log     *slog.Logger

	mu      sync.Mutex
	pol     *policy.Policy
	watched map[string]fileStamp
}

type fileStamp struct {
	size  int64
	mtime time.Time
}

func newReloader(srv *resolver.Server, cfgPath string, pol *policy.Policy, log *slog.Logger) *reloader {
	r := &reloader{srv: srv, cfgPath: cfgPath, log: log, pol: pol}
	r.watched = r.stamps()
	return r
}

// reload reads the configuration and the lists again; on any error the
// running policy stays and the error is logged with its file:line.
func (r *reloader) reload(why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// The files as this reload reads them: a change made while it runs
	// differs from these stamps and brings one more reload.
	before := r.stamps()
	r.watched = before
	cfg, pol, err := loadPolicy(r.cfgPath)
	if err == nil {
		err = r.srv.Reload(cfg, pol)
	} else {
		r.srv.CountReloadFailure()
	}
	if err != nil {
		r.log.Error("reload failed; the running configuration stays", "why", why, "err", err)
		return
	}
	r.pol = pol
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
	logWarnings(r.log, pol)
	r.log.Info("configuration reloaded", "why", why, "file", cfg.File, "names", pol.Lists().Matcher.Len())
}

// files lists what a change of should reload: the main file, every list
// file read, and the lists folder itself (a list added or removed).
func (r *reloader) files() []string {
	var out []string
	if r.cfgPath != "" {
		out = append(out, r.cfgPath)
	} else if _, err := os.Stat(defaultConfigFile); err == nil {
		out = append(out, defaultConfigFile)
	}
	set := r.pol.Lists()
	out = append(out, set.Files...)
	for _, f := range set.Files {
		if filepath.Ext(f) == ".toml" {
			out = append(out, filepath.Dir(f))
			break
		}
	}
	return out
}

func (r *reloader) stamps() map[string]fileStamp {
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
func (r *reloader) changed() (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.stamps()
	for f, s := range now {
		if old, ok := r.watched[f]; !ok || old != s {
			return f, true
		}
	}
	return "", false
}

// watch polls the files every interval until ctx ends.
func (r *reloader) watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if f, ok := r.changed(); ok {
				r.reload("changed: " + f)
			}
		}
	}
}

// downloads are the imports of the running policy that are kept up to date.
func (r *reloader) downloads() []blocklists.Download {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pol.Lists().Downloads
}
