package querylog

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"time"
)

// A compacted day keeps beside its blocks a summary (dns-DAY.sum): the
// day's Reports and the time of its first and last record. A report over
// whole days reads their summaries, not their records: 60 days of a city's
// 20 million lookups a day were an hour of decoding.
const summarySuffix = ".sum"

// daySummary is what a .sum file holds.
type daySummary struct {
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
	Reports Reports   `json:"reports"`
}

func newDaySummary() *daySummary { return &daySummary{Reports: Reports{}} }

func (s *daySummary) add(e *Entry) {
	if s.First.IsZero() || e.Time.Before(s.First) {
		s.First = e.Time
	}
	if e.Time.After(s.Last) {
		s.Last = e.Time
	}
	s.Reports.Add(e)
}

func (s *daySummary) write(path string) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return writeFileSync(path, data)
}

// summarizes reports whether a day's summary answers a report for f: only
// a department (or none) asked, and every record of the day in [From, To).
func (s *daySummary) summarizes(f Filter) bool {
	if f.Client.IsValid() || f.Name != "" || f.Action != "" || f.Category != "" || f.Device != "" || f.MAC != "" {
		return false
	}
	return (f.From.IsZero() || !s.First.Before(f.From)) && (f.To.IsZero() || s.Last.Before(f.To))
}

// Summarize counts, per department, the records f selects: from the
// summaries of the whole compacted days it covers, and by reading the
// records of the others (the day in progress, a day the range cuts).
func Summarize(dir string, f Filter) (Reports, error) {
	files, days, err := Days(dir)
	if err != nil {
		return nil, err
	}
	out := Reports{}
	for _, day := range days {
		if !dayMayHold(day, f) {
			continue
		}
		if s := readSummary(files[day]); s != nil && s.summarizes(f) {
			for dept, r := range s.Reports {
				if f.Department == "" || strings.EqualFold(dept, f.Department) {
					out.merge(dept, r)
				}
			}
			continue
		}
		err := searchDay(files[day], f, lineVisitor(f, func(e *Entry) bool { out.Add(e); return true }))
		if err != nil && !errors.Is(err, errStop) {
			return nil, err
		}
	}
	return out, nil
}

// readSummary reads the summary of a compacted day (nil: none, or the day
// is not compacted: its plain file is the whole truth).
func readSummary(paths []string) *daySummary {
	var sum string
	for _, p := range paths {
		switch {
		case strings.HasSuffix(p, openSuffix):
			return nil
		case strings.HasSuffix(p, summarySuffix):
			sum = p
		}
	}
	if sum == "" {
		return nil
	}
	data, err := os.ReadFile(sum)
	if err != nil {
		return nil
	}
	s := newDaySummary()
	if json.Unmarshal(data, s) != nil {
		return nil
	}
	return s
}

// merge adds another report's counts to department dept's.
func (rs Reports) merge(dept string, o *Report) {
	r := rs.of(dept)
	r.Lookups += o.Lookups
	r.Blocked += o.Blocked
	r.Exempted += o.Exempted
	r.Local += o.Local
	for _, m := range [][2]map[string]int{{r.ByCategory, o.ByCategory}, {r.Names, o.Names}, {r.Clients, o.Clients}, {r.Devices, o.Devices}} {
		for k, n := range m[1] {
			m[0][k] += n
		}
	}
}
