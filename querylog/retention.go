package querylog

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Retention compacts the days that are over and applies the records
// schedule: a day older than Days keeps only its blocked and exempted
// lookups (until BlockedDays) and the records under a legal hold; older
// than BlockedDays, only the held ones. 0 Days keeps everything.
type Retention struct {
	Dir         string
	Days        int
	BlockedDays int
	Location    *time.Location
	Now         func() time.Time
	Holds       *Holds
	Log         *slog.Logger
	// Shipped, when set, tells whether a day is wholly in the central
	// database: a day is compacted only then (its .jsonl is the shipper's spill).
	Shipped func(day string) bool
	// PruneDB, when set, applies the schedule to the central database too.
	PruneDB func(holds []*Hold) error

	kick chan struct{}
}

// The levels a day is pruned to, kept in dns-DAY.level.
const (
	levelBlocked = "blocked" // blocked, exempted and held records
	levelHeld    = "held"    // held records only
)

// Kick asks for a pass soon (a day file was just closed).
func (r *Retention) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run applies retention at once, then every hour and when kicked, until ctx ends.
func (r *Retention) Run(ctx context.Context) {
	if r.kick == nil {
		r.kick = make(chan struct{}, 1)
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	defer r.Holds.Close()
	for {
		if err := r.Apply(); err != nil {
			r.Log.Error("query log retention", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.kick:
		}
	}
}

// NewRetention makes the retention of the log in dir ([log] retention_days
// and blocked_retention_days), keeping what holds (OpenHolds) hold.
func NewRetention(dir string, days, blockedDays int, loc *time.Location, now func() time.Time, log *slog.Logger, holds *Holds) *Retention {
	if loc == nil {
		loc = time.Local
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Retention{Dir: dir, Days: days, BlockedDays: max(days, blockedDays), Location: loc, Now: now,
		Holds: holds, Log: log, kick: make(chan struct{}, 1)}
}

// Apply runs one pass: compaction of finished days, then the schedule.
func (r *Retention) Apply() error {
	files, days, err := Days(r.Dir)
	if err != nil {
		return err
	}
	today, _ := time.ParseInLocation("2006-01-02", r.Now().In(r.Location).Format("2006-01-02"), time.UTC)
	holds, err := r.Holds.Active()
	if err != nil {
		return err
	}
	var errs []error
	for _, day := range days {
		d, _ := time.ParseInLocation("2006-01-02", day, time.UTC)
		if !d.Before(today) {
			continue // today's file is still being written
		}
		if r.Shipped != nil && !r.Shipped(day) {
			continue // not in the central database yet: the file is its spill
		}
		plain, zst := DayFile(r.Dir, day), strings.TrimSuffix(DayFile(r.Dir, day), openSuffix)+zstSuffix
		switch hasPlain, hasZst := exists(plain), exists(zst); {
		case hasPlain:
			// A day's .jsonl is always complete (written in place while the
			// day lasts, or renamed into place after a prune); with a
			// compacted copy beside it, a crash stopped a compaction: do it again.
			_ = hasZst
			if err := Compact(plain); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if r.Days <= 0 {
			continue
		}
		if err := r.age(day, int(today.Sub(d).Hours()/24), files[day], holds); err != nil {
			errs = append(errs, err)
		}
	}
	if r.PruneDB != nil {
		if err := r.PruneDB(holds); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// age applies retention to a past day of the given age: past the blocked
// retention only held records stay, past the retention only blocked,
// exempted and held ones; a day with none left is deleted.
func (r *Retention) age(day string, age int, files []string, holds []*Hold) error {
	level := ""
	switch {
	case age > r.BlockedDays:
		level = levelHeld
	case age > r.Days:
		level = levelBlocked
	default:
		return nil
	}
	marker := strings.TrimSuffix(DayFile(r.Dir, day), openSuffix) + ".level"
	if prev, _ := os.ReadFile(marker); string(prev) == level && level == levelBlocked {
		return nil
	}
	keep := func(e *Entry) bool {
		for _, h := range holds {
			if h.Covers(e) {
				return true
			}
		}
		return level == levelBlocked && (e.Action == "blocked" || e.Action == "exempted")
	}
	kept, err := r.prune(day, keep)
	if err != nil {
		return err
	}
	if kept == 0 {
		for _, f := range files {
			os.Remove(f)
		}
		os.Remove(marker)
		r.Log.Info("query log: day deleted (past retention)", "day", day)
		return nil
	}
	if err := writeFileSync(marker, []byte(level)); err != nil {
		return err
	}
	r.Log.Info("query log: day pruned", "day", day, "kept", kept, "level", level)
	return nil
}

// prune rewrites a compacted day with only the records keep selects.
func (r *Retention) prune(day string, keep func(*Entry) bool) (int, error) {
	plain := DayFile(r.Dir, day)
	base := strings.TrimSuffix(plain, openSuffix)
	blocks, err := readIndex(base + indexSuffix)
	if err != nil {
		return 0, err
	}
	in, err := os.Open(base + zstSuffix)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	tmp := base + ".prune.tmp"
	defer os.Remove(tmp)
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(out, 256<<10)
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		out.Close()
		return 0, err
	}
	defer dec.Close()
	kept := 0
	var raw []byte
	for _, b := range blocks {
		frame := make([]byte, b.size)
		if _, err := in.ReadAt(frame, b.off); err != nil {
			out.Close()
			return 0, err
		}
		if raw, err = dec.DecodeAll(frame, raw[:0]); err != nil {
			out.Close()
			return 0, err
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
			var e Entry
			if json.Unmarshal([]byte(line), &e) == nil && keep(&e) {
				w.WriteString(line)
				w.WriteByte('\n')
				kept++
			}
		}
	}
	if err := errors.Join(w.Flush(), out.Sync(), out.Close()); err != nil {
		return 0, err
	}
	if kept == 0 {
		return 0, nil
	}
	// The kept records become the day's file, whole, then its compacted copy.
	if err := os.Rename(tmp, plain); err != nil {
		return 0, err
	}
	return kept, Compact(plain)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
