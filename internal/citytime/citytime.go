// Package citytime is the one way a time is shown to a person: in the
// city's zone ([policy] timezone, else the server's) with its zone, as
// "2026-12-02 09:15 CST", in the CLI, the console, the block page and
// reports alike. JSON keeps RFC 3339.
package citytime

import "time"

// Layout is the format of every time a person reads.
const Layout = "2006-01-02 15:04 MST"

// Format shows t in loc (nil: the server's zone); "" for the zero time.
func Format(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = time.Local
	}
	return t.In(loc).Format(Layout)
}
