package querylog

import (
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A report over whole compacted days comes from their summaries, and
// equals one counted from every record, whatever the range cuts: a range
// starting inside a day counts that day's records from its blocks.
func TestSummariesReportAsTheRecordsDo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lg := openLogger(t, dir)
	const perDay, days = 3000, 3
	for i := 0; i < perDay*days; i++ {
		lg.Record(record(i, day0.Add(time.Duration(i)*(24*time.Hour/perDay))))
	}
	if err := lg.Flush(); err != nil {
		t.Fatal(err)
	}
	lg.sink.Close()
	_, dayList, _ := Days(dir)
	for _, d := range dayList {
		if err := Compact(DayFile(dir, d)); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []Filter{
		{},
		{Department: "police"},
		{From: day0.Add(30 * time.Hour)}, // cuts the second day
		{From: day0.Add(24 * time.Hour), To: day0.Add(48 * time.Hour)}, // the second day, whole
		{Action: "blocked"}, // not in a summary's terms
	} {
		want := Reports{}
		if err := Search(dir, f, func(e *Entry) bool { want.Add(e); return true }); err != nil {
			t.Fatal(err)
		}
		got, err := Summarize(dir, f)
		if err != nil {
			t.Fatal(err)
		}
		if !sameReports(got, want) {
			t.Errorf("%+v: summaries %v, records %v", f, brief(got), brief(want))
		}
	}
	// The whole days' reports do not read their records: with the second
	// day's blocks gone, its summary still answers.
	os.WriteFile(filepath.Join(dir, "dns-2026-11-21.jsonl.zst"), []byte("damaged"), 0o600)
	got, err := Summarize(dir, Filter{From: day0.Add(24 * time.Hour), To: day0.Add(48 * time.Hour)})
	if err != nil || got["Police"] == nil || got["Police"].Lookups != perDay/3 {
		t.Errorf("the whole day's report read its records: %v %v", brief(got), err)
	}
}

func sameReports(a, b Reports) bool {
	if len(a) != len(b) {
		return false
	}
	for d, r := range a {
		o := b[d]
		if o == nil || r.Lookups != o.Lookups || r.Blocked != o.Blocked || r.Exempted != o.Exempted || r.Local != o.Local ||
			!maps.Equal(r.ByCategory, o.ByCategory) || !maps.Equal(r.Names, o.Names) || !maps.Equal(r.Clients, o.Clients) || !maps.Equal(r.Devices, o.Devices) {
			return false
		}
	}
	return true
}

func brief(rs Reports) map[string][4]int {
	out := map[string][4]int{}
	for d, r := range rs {
		out[d] = [4]int{r.Lookups, r.Blocked, r.Exempted, r.Local}
	}
	return out
}
