// Package health tracks whether a part that writes (the query log, the
// state store, the audit trail) can write, and says so without flooding:
// the first failure is logged at once, then at most one line a minute
// with how many failed since the last line, and the recovery once.
package health

import (
	"log/slog"
	"sync"
	"time"
)

// Tracker is one part's health. Safe for concurrent use.
type Tracker struct {
	name string
	log  *slog.Logger
	now  func() time.Time

	mu       sync.Mutex
	err      error     // the last failure; nil while writes succeed
	since    time.Time // when the failures began
	lastLine time.Time
	unsaid   int // failures since the last line
}

// LogEvery is how often a part that keeps failing is logged.
const LogEvery = time.Minute

// New makes a tracker for the part called name (nil log: discarded; nil
// now: time.Now).
func New(name string, log *slog.Logger, now func() time.Time) *Tracker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Tracker{name: name, log: log, now: now}
}

// Name is the part's name.
func (t *Tracker) Name() string { return t.name }

// Fail records a failed write of n records (or events).
func (t *Tracker) Fail(err error, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if t.err == nil {
		t.since = now
	}
	t.err = err
	t.unsaid += n
	if t.lastLine.IsZero() || now.Sub(t.lastLine) >= LogEvery {
		t.log.Error(t.name+": cannot write", "err", err, "failed_since_last_line", t.unsaid, "failing_since", t.since)
		t.lastLine, t.unsaid = now, 0
	}
}

// OK records a write that succeeded: a failing part has recovered.
func (t *Tracker) OK() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err == nil {
		return
	}
	t.log.Info(t.name+": writes again", "failed_since_last_line", t.unsaid, "failed_for", t.now().Sub(t.since).Round(time.Second))
	t.err, t.unsaid, t.lastLine = nil, 0, time.Time{}
}

// Err is the last failure while the part cannot write, else nil.
func (t *Tracker) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}
