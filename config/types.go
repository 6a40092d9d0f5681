package config

import (
	"fmt"
	"strings"
	"time"
)

// Duration is a time.Duration written in TOML as a string such as "2s" or "24h".
type Duration time.Duration

// UnmarshalText parses a duration: Go's form, with days too ("7d", "1d12h").
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ParseDuration reads a duration in Go's form ("90s", "24h") with days
// as well: a leading whole number of days ("7d", "365d", "1d12h"). A day
// is 24 hours.
func ParseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a duration (examples: \"500ms\", \"2s\", \"24h\", \"7d\")", s)
	days, rest := 0, s
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n := 0
		for _, c := range s[:i] {
			if c < '0' || c > '9' || n > 100000 {
				return 0, bad
			}
			n = n*10 + int(c-'0')
		}
		days, rest = n, s[i+1:]
	}
	v := time.Duration(0)
	if rest != "" || days == 0 {
		var err error
		if v, err = time.ParseDuration(rest); err != nil || v < 0 && days > 0 {
			return 0, bad
		}
	}
	return time.Duration(days)*24*time.Hour + v, nil
}

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// Date is a calendar day, written as a TOML local date (2027-06-30) or a
// "2027-06-30" string. It is a day in the server's local time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// IsZero reports an unset date.
func (d Date) IsZero() bool { return d.Year == 0 }

// Start is midnight at the beginning of the day, in loc.
func (d Date) Start(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// String formats as YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// UnmarshalTOML accepts a local date, a datetime or a YYYY-MM-DD string.
func (d *Date) UnmarshalTOML(v any) error {
	switch t := v.(type) {
	case time.Time:
		d.Year, d.Month, d.Day = t.Date()
		return nil
	case string:
		p, err := time.Parse("2006-01-02", t)
		if err != nil {
			return fmt.Errorf("%q is not a date (write 2027-06-30)", t)
		}
		d.Year, d.Month, d.Day = p.Date()
		return nil
	}
	return fmt.Errorf("%v is not a date (write 2027-06-30)", v)
}

// MarshalJSON writes the date as "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// UnmarshalJSON reads a "YYYY-MM-DD" string.
func (d *Date) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" {
		*d = Date{}
		return nil
	}
	return d.UnmarshalTOML(s)
}

// ParseDate reads "YYYY-MM-DD".
func ParseDate(s string) (Date, error) {
	var d Date
	err := d.UnmarshalTOML(s)
	return d, err
}

// DateOf is the calendar day of t (in t's zone).
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}
