package policy

import (
	"time"
)

// window is a department's personal-use hours: on its days, from start to
// end (minutes from midnight in the policy's zone; end <= start runs past
// midnight), it opens and blocks categories.
type window struct {
	days        uint8 // bit per time.Weekday
	start, end  int
	open, block uint32
	where       string // file:line
	text        string // "12:00-13:00", for explanations
	dayNames    []string
}

// activeAt reports whether the window is in force at a local weekday and
// minute of the day.
func (w *window) activeAt(wd time.Weekday, minute int) bool {
	if w.start < w.end {
		return w.days&(1<<wd) != 0 && minute >= w.start && minute < w.end
	}
	prev := (wd + 6) % 7 // a window that began the day before and runs past midnight
	return w.days&(1<<wd) != 0 && minute >= w.start || w.days&(1<<prev) != 0 && minute < w.end
}

// windowState is what the windows do during one minute, per department.
type windowState struct {
	from, to    int64    // unix seconds: the minute it holds for
	open, block []uint32 // by department index
}

// windowsAt returns the windows in force at now. They change on the
// minute: the result is kept and reused until the minute is over, so a
// decision costs one atomic load and a comparison.
func (p *Policy) windowsAt(now time.Time) *windowState {
	sec := now.Unix()
	if ws := p.windowMemo.Load(); ws != nil && sec >= ws.from && sec < ws.to {
		return ws
	}
	local := now.In(p.loc)
	minute := local.Hour()*60 + local.Minute()
	from := sec - int64(local.Second())
	ws := &windowState{from: from, to: from + 60, open: make([]uint32, len(p.depts)), block: make([]uint32, len(p.depts))}
	for _, d := range p.depts {
		for i := range d.windows {
			if w := &d.windows[i]; w.activeAt(local.Weekday(), minute) {
				ws.open[d.index] |= w.open
				ws.block[d.index] |= w.block
			}
		}
	}
	p.windowMemo.Store(ws)
	return ws
}

// deptBlocked is the categories blocked for d at now: the citywide set,
// its own, and what its windows open and block.
func (p *Policy) deptBlocked(d *Department, now time.Time) uint32 {
	if d == nil {
		return p.citywide
	}
	blocked := d.blocked
	if len(d.windows) > 0 {
		ws := p.windowsAt(now)
		blocked = (blocked &^ ws.open[d.index]) | ws.block[d.index]
		blocked |= p.citywide // never opened by a window (validation refuses it too)
	}
	return blocked
}

// WindowCheck is a department window and whether it is in force, for explanations.
type WindowCheck struct {
	Where  string
	Days   []string
	Hours  string
	Open   []string
	Block  []string
	Active bool
}

// Windows lists d's personal-use hours and which are in force at now.
func (p *Policy) Windows(d *Department, now time.Time) []WindowCheck {
	if d == nil {
		return nil
	}
	local := now.In(p.loc)
	var out []WindowCheck
	for i := range d.windows {
		w := &d.windows[i]
		out = append(out, WindowCheck{Where: w.where, Days: w.dayNames, Hours: w.text, Open: p.maskNames(w.open), Block: p.maskNames(w.block),
			Active: w.activeAt(local.Weekday(), local.Hour()*60+local.Minute())})
	}
	return out
}

// NextOpen is when a window next opens category for d after now (for the
// block page), or false when none ever does.
func (p *Policy) NextOpen(d *Department, category string, now time.Time) (time.Time, bool) {
	if d == nil {
		return time.Time{}, false
	}
	bit := -1
	for i, c := range p.categories {
		if c.name == category {
			bit = i
		}
	}
	if bit < 0 {
		return time.Time{}, false
	}
	local := now.In(p.loc)
	var best time.Time
	for i := range d.windows {
		w := &d.windows[i]
		if w.open&(1<<bit) == 0 {
			continue
		}
		for day := 0; day <= 7; day++ {
			date := local.AddDate(0, 0, day)
			if w.days&(1<<date.Weekday()) == 0 {
				continue
			}
			start := time.Date(date.Year(), date.Month(), date.Day(), w.start/60, w.start%60, 0, 0, p.loc)
			if start.After(now) && (best.IsZero() || start.Before(best)) {
				best = start
				break
			}
		}
	}
	return best, !best.IsZero()
}
