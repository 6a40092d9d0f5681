package querylog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/query"
	"github.com/prometheus/client_golang/prometheus"
)

var day0 = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// record makes the i-th of a day's synthetic records: a few clients,
// departments and actions, real-looking names.
func record(i int, t time.Time) *query.Record {
	actions := []string{policy.Allowed, policy.Allowed, policy.Allowed, policy.Blocked, policy.Exempted, policy.Refused}
	r := &query.Record{
		Time:   t,
		Client: netip.AddrFrom4([4]byte{10, 20, byte(i % 7), byte(i % 13)}),
		Name:   []byte(fmt.Sprintf("host%d.site%d.example", i%5, i%11)),
		Type:   1, Action: actions[i%len(actions)], Rcode: 0, Cached: i%2 == 0, Elapsed: time.Duration(i%900) * time.Microsecond,
		Department: []string{"Police", "Parks", ""}[i%3],
	}
	if r.Action == policy.Blocked || r.Action == policy.Exempted {
		r.Category = "gambling"
	}
	if i%12 == 3 { // a blocked messenger of the chat catalogue, named
		r.Category = "chat"
		r.Decision = &policy.Decision{Action: policy.Blocked, Category: "chat", Service: "Telegram"}
	}
	return r
}

func openLogger(t testing.TB, dir string) *Logger {
	t.Helper()
	lg, err := Open(Options{Dir: dir, Instance: "dns1", Location: time.UTC, Registry: prometheus.NewRegistry()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return lg
}

// all reads every record back, newest first.
func all(t *testing.T, dir string, f Filter) []Entry {
	t.Helper()
	var out []Entry
	if err := Search(dir, f, func(e *Entry) bool { out = append(out, *e); return true }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRecordsAreWrittenOneFileADay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lg := openLogger(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { lg.Run(ctx); close(done) }()
	const n = 3000
	for i := 0; i < n; i++ {
		lg.Record(record(i, day0.Add(time.Duration(i)*time.Minute))) // a bit over two days
	}
	cancel() // shutdown: every record recorded before it is written
	<-done
	_, days, err := Days(dir)
	if err != nil || strings.Join(days, ",") != "2026-11-20,2026-11-21,2026-11-22" {
		t.Fatalf("days %v %v", days, err)
	}
	fi, _ := os.Stat(DayFile(dir, "2026-11-20"))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	got := all(t, dir, Filter{})
	if len(got) != n {
		t.Fatalf("%d records read back, want %d", len(got), n)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Time.After(got[i-1].Time) {
			t.Fatalf("not newest first at %d", i)
		}
	}
	e := got[len(got)-1] // the first recorded
	want := Entry{Time: day0, Instance: "dns1", Client: "10.20.0.0", Department: "Police", Name: "host0.site0.example", Type: "A",
		Action: "allowed", Rcode: "NOERROR", Cached: true}
	if e != want {
		t.Errorf("first record\n%+v\nwant\n%+v", e, want)
	}
	if lg.Dropped() != 0 {
		t.Errorf("%d dropped", lg.Dropped())
	}
}

// Every field of the record, for each action.
func TestRecordFields(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lg := openLogger(t, dir)
	for _, r := range []*query.Record{
		{Time: day0, Client: netip.MustParseAddr("10.20.1.1"), Department: "Police", Name: []byte(`www\.odd"name.example`), Type: 28, Action: "blocked", Category: "gambling", Rcode: 3, Elapsed: 1500 * time.Microsecond, TCP: true},
		{Time: day0, Client: netip.MustParseAddr("fd00::1"), Name: []byte("x.example"), Type: 65280, Action: "allowed", Rcode: 2, Err: fmt.Errorf("upstream 192.0.2.1:53 timed out")},
		{Time: day0, Client: netip.MustParseAddr("10.20.1.2"), Name: nil, Type: 0, Action: "malformed", Rcode: 1},
		{Time: day0, Client: netip.MustParseAddr("10.20.1.3"), Name: []byte("a.example"), Type: 255, Action: "refused", Rcode: 5, Stale: true},
	} {
		lg.Record(r)
	}
	if err := lg.Flush(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(DayFile(dir, "2026-11-20"))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines", len(lines))
	}
	for i, want := range []string{
		`"client":"10.20.1.1","department":"Police","name":"www\\.odd\"name.example","type":"AAAA","action":"blocked","category":"gambling","rule":"","rcode":"NXDOMAIN","cached":false,"tcp":true,"elapsed_ms":1.500}`,
		`"client":"fd00::1","department":"","name":"x.example","type":"TYPE65280","action":"allowed","category":"","rule":"","rcode":"SERVFAIL","cached":false,"elapsed_ms":0.000,"error":"upstream 192.0.2.1:53 timed out"}`,
		`"name":"","type":"None","action":"malformed","category":"","rule":"","rcode":"FORMERR"`,
		`"type":"ANY","action":"refused","category":"","rule":"","rcode":"REFUSED","cached":false,"stale":true`,
	} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d\n%s\nlacks\n%s", i, lines[i], want)
		}
		var e Entry
		if err := json.Unmarshal([]byte(lines[i]), &e); err != nil {
			t.Errorf("line %d is not JSON: %v", i, err)
		}
	}
}

// Search and its filters agree with a brute-force scan of the same
// records, before and after the days are compacted.
func TestSearchMatchesABruteForceScan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lg := openLogger(t, dir)
	var recs []Entry
	const n = 40000 // several blocks a day
	for i := 0; i < n; i++ {
		r := record(i, day0.Add(time.Duration(i)*5*time.Second))
		lg.Record(r)
		if i%10000 == 0 {
			lg.Flush() // as the running writer would
		}
		recs = append(recs, Entry{Time: r.Time, Client: r.Client.String(), Name: string(r.Name), Department: r.Department, Action: r.Action, Category: r.Category})
	}
	if err := lg.Flush(); err != nil {
		t.Fatal(err)
	}
	filters := []Filter{
		{},
		{Client: netip.MustParsePrefix("10.20.3.4/32")},
		{Client: netip.MustParsePrefix("10.20.2.0/24")},
		{Name: "site3.example"},
		{Name: "host1.site3.example"},
		{Department: "police", Action: "blocked"},
		{Category: "gambling", Client: netip.MustParsePrefix("10.20.5.0/24")},
		{From: day0.Add(20 * time.Hour), To: day0.Add(30 * time.Hour), Action: "exempted"},
		{Name: "nowhere.example"},
	}
	check := func(stage string) {
		for _, f := range filters {
			want := 0
			for i := range recs {
				if f.Match(&recs[i]) {
					want++
				}
			}
			got := all(t, dir, f)
			if len(got) != want {
				t.Errorf("%s: %+v: %d records, brute force %d", stage, f, len(got), want)
			}
		}
	}
	check("plain")
	lg.sink.Close()
	_, days, _ := Days(dir)
	for _, d := range days {
		if err := Compact(DayFile(dir, d)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(DayFile(dir, days[0])); !os.IsNotExist(err) {
		t.Error("the day file is still there after compaction")
	}
	check("compacted")
}

// A line torn by a crash is skipped; the records before it and after it read.
func TestTornLineIsSkipped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lg := openLogger(t, dir)
	lg.Record(record(0, day0))
	lg.Flush()
	lg.sink.Close()
	f, _ := os.OpenFile(DayFile(dir, "2026-11-20"), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"time":"2026-11-20T00:00:01Z","client":"10.`) // the crash
	f.Close()
	lg2 := openLogger(t, dir)
	lg2.Record(record(1, day0.Add(2*time.Second)))
	lg2.Flush()
	lg2.sink.Close()
	if got := all(t, dir, Filter{}); len(got) != 2 {
		t.Errorf("%d records, want the 2 whole ones", len(got))
	}
	if err := Compact(DayFile(dir, "2026-11-20")); err != nil {
		t.Fatal(err)
	}
	if got := all(t, dir, Filter{}); len(got) != 2 {
		t.Errorf("after compaction %d records", len(got))
	}
}

// blockingSink stalls until released.
type blockingSink struct {
	release chan struct{}
	mu      sync.Mutex
	n       int
}

func (s *blockingSink) Write(b *Batch) error {
	<-s.release
	s.mu.Lock()
	s.n += b.Len()
	s.mu.Unlock()
	return nil
}
func (s *blockingSink) Flush() error { return nil }
func (s *blockingSink) Close() error { return nil }

// A stalled sink never stalls the query path: Record returns at once,
// and what does not fit is counted as dropped, not lost silently.
func TestAStalledSinkNeverBlocksRecording(t *testing.T) {
	t.Parallel()
	sink := &blockingSink{release: make(chan struct{})}
	lg := NewLogger(sink, nil, NewMetrics(prometheus.NewRegistry(), func() int { return 0 }, t.TempDir()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { lg.Run(ctx); close(done) }()
	lg.Record(record(0, day0))
	for lg.Depth() != 0 { // the writer took the first batch and is stuck in Write
		time.Sleep(time.Millisecond) // polling the condition
	}
	total := 2*batchRecords + 10
	for i := 1; i < total; i++ {
		lg.Record(record(i, day0)) // would hang here if recording waited for the sink
	}
	if lg.Dropped() == 0 {
		t.Error("nothing counted as dropped while the sink was stalled")
	}
	close(sink.release)
	cancel()
	<-done
	if written := uint64(sink.n); written+lg.Dropped() != uint64(total) {
		t.Errorf("%d written + %d dropped != %d recorded", written, lg.Dropped(), total)
	}
}

func BenchmarkRecord(b *testing.B) {
	lg := NewLogger(&blockingSink{release: make(chan struct{})}, nil, NewMetrics(prometheus.NewRegistry(), func() int { return 0 }, b.TempDir()))
	r := record(3, day0)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if i%batchRecords == 0 {
			lg.cur.slots, lg.cur.names = lg.cur.slots[:0], lg.cur.names[:0]
		}
		lg.Record(r)
	}
}

// The records schedule, with an injected clock: past retention_days a day
// keeps its blocked and exempted lookups, past blocked_retention_days
// nothing, and a legal hold keeps its client's records through both.
func TestRetentionWithHolds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	lg := openLogger(t, dir)
	for _, age := range []int{70, 40, 5, 0} {
		start := now.AddDate(0, 0, -age).Truncate(24 * time.Hour)
		for i := 0; i < 600; i++ {
			lg.Record(record(i, start.Add(time.Duration(i)*time.Minute)))
		}
	}
	lg.Flush()
	lg.sink.Close()
	r := NewRetention(dir, 30, 60, time.UTC, func() time.Time { return now }, nil, OpenHolds(dir, ""))
	held := netip.MustParsePrefix("10.20.3.4/32")
	h, err := r.Holds.Place(held, "", "Case 2026-77, subpoena", "Records officer", now)
	if err != nil {
		t.Fatal(err)
	}
	count := func(age int, f Filter) int {
		day := now.AddDate(0, 0, -age).Truncate(24 * time.Hour)
		f.From, f.To = day, day.Add(24*time.Hour)
		return len(all(t, dir, f))
	}
	heldBefore := map[int]int{}
	for _, age := range []int{70, 40} {
		heldBefore[age] = count(age, Filter{Client: held})
	}
	blockedBefore := count(40, Filter{Action: "blocked"}) + count(40, Filter{Action: "exempted"})
	if err := r.Apply(); err != nil {
		t.Fatal(err)
	}
	if got := count(70, Filter{}); got != heldBefore[70] || got == 0 {
		t.Errorf("70 days old: %d records, want the %d held", got, heldBefore[70])
	}
	kept := count(40, Filter{})
	keptBlocked := count(40, Filter{Action: "blocked"}) + count(40, Filter{Action: "exempted"})
	if keptBlocked != blockedBefore || kept != blockedBefore+count(40, Filter{Client: held, Action: "allowed"})+count(40, Filter{Client: held, Action: "refused"}) {
		t.Errorf("40 days old: %d records (%d blocked or exempted, %d before)", kept, keptBlocked, blockedBefore)
	}
	if got := count(5, Filter{}); got != 600 {
		t.Errorf("5 days old: %d records, want all 600", got)
	}
	if got := count(0, Filter{}); got != 600 {
		t.Errorf("today: %d records", got)
	}
	// Compacted: finished days have no .jsonl any more; today still has.
	if exists(DayFile(dir, now.AddDate(0, 0, -5).Format("2006-01-02"))) || !exists(DayFile(dir, now.Format("2006-01-02"))) {
		t.Error("finished days not compacted, or today's file touched")
	}
	// Released, the held records age out at the next pass.
	if err := r.Holds.Release(h.ID, "Records officer", now); err != nil {
		t.Fatal(err)
	}
	if err := r.Apply(); err != nil {
		t.Fatal(err)
	}
	if got := count(70, Filter{}); got != 0 {
		t.Errorf("70 days old after the release: %d records", got)
	}
	if _, days, _ := Days(dir); len(days) != 3 {
		t.Errorf("days left: %v", days)
	}
}

// parseLine reads what appendEntry writes as encoding/json does.
func TestParseLineAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	for i := 0; i < 200; i++ {
		r := record(i, day0.Add(time.Duration(i)*time.Second))
		if i%7 == 0 {
			r.Name = []byte(`odd\"na\\me\.x` + "\x01")
			r.Err = fmt.Errorf("upstream timed out\n")
			r.Rcode = 2
		}
		s := slotOf(r)
		if i%5 == 0 {
			s.service = "Telegram \"Web\"" // the chat catalogue's service that blocked
		}
		if i%4 == 0 {
			s.transport = "tls"
		}
		if i%6 == 0 {
			s.device = "Patrol car \"12\" \u00e9"
		}
		line := appendEntry(nil, &s, r.Name, "dns1", newStamps(time.UTC))
		var fast, slow Entry
		if err := parseLine(line, &fast); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if err := json.Unmarshal(line, &slow); err != nil {
			t.Fatal(err)
		}
		if fast != slow || i%5 == 0 && fast.Service != s.service || i%4 == 0 && fast.Transport != "tls" || i%6 == 0 && fast.Device != s.device {
			t.Fatalf("%s:\n%+v\n%+v", line, fast, slow)
		}
	}
}

func FuzzParseLine(f *testing.F) {
	r := record(3, day0)
	s := slotOf(r)
	f.Add(appendEntry(nil, &s, r.Name, "dns1", newStamps(time.UTC)))
	f.Add([]byte(`{"time":"2026-11-20T00:00:00Z","name":"a\u00e9\"b"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var fast Entry
		if parseLine(line, &fast) != nil {
			return
		}
		var slow Entry
		if err := json.Unmarshal(line, &slow); err != nil {
			return // the fast parser may accept what JSON does not (trailing bytes); the slow one decides then
		}
		if fast != slow {
			t.Fatalf("%q:\n%+v\n%+v", line, fast, slow)
		}
	})
}

// The record times are written as time.Time.AppendFormat(RFC3339Nano)
// writes them, for any time in any zone, across a change of offset.
func TestStampsAsAppendFormat(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	for _, loc := range []*time.Location{time.UTC, paris, time.FixedZone("", -(5*3600 + 30*60))} {
		st := newStamps(loc)
		base := time.Date(2026, 3, 29, 0, 59, 58, 0, time.UTC).UnixNano() // Paris moves to summer time at 01:00 UTC
		for _, d := range []int64{0, 1, 10, 999_999_999, 1e9, 1e9 + 120_000_000, 2e9 + 500, 3600e9 + 7, -1, -1e9 - 5, 86400e9 * 200} {
			for _, ns := range []int64{base + d, d} {
				want := time.Unix(0, ns).In(loc).AppendFormat(nil, time.RFC3339Nano)
				if got := st.append(nil, ns); string(got) != string(want) {
					t.Errorf("%s, %d: %s, want %s", loc, ns, got, want)
				}
			}
		}
	}
}

// BenchmarkStamps: a record's time written by the writer's stamps against
// time.Time.AppendFormat, records a microsecond apart.
func BenchmarkStamps(b *testing.B) {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		loc = time.FixedZone("CET", 3600)
	}
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC).UnixNano()
	buf := make([]byte, 0, 64)
	b.Run("AppendFormat", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			buf = time.Unix(0, start+int64(i)*1000).In(loc).AppendFormat(buf[:0], time.RFC3339Nano)
		}
	})
	b.Run("stamps", func(b *testing.B) {
		st := newStamps(loc)
		for i := 0; i < b.N; i++ {
			buf = st.append(buf[:0], start+int64(i)*1000)
		}
	})
}

// BenchmarkWriteBatch is the writer's work per record: a batch of 2,000
// (100 ms at 20,000 q/s) formatted into a day file.
func BenchmarkWriteBatch(b *testing.B) {
	lg := openLogger(b, b.TempDir())
	b.Cleanup(func() { lg.sink.Close() })
	recs := make([]*query.Record, 2000)
	for i := range recs {
		recs[i] = record(i, day0.Add(time.Duration(i)*time.Millisecond))
		recs[i].Answer = "192.0.2.1,192.0.2.2"
		recs[i].Upstream = "127.0.0.1:5390"
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, r := range recs {
			lg.Record(r)
		}
		lg.writeOut()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
}

// On a full disk (the day file is /dev/full: every write fails with
// ENOSPC) records are dropped and counted, the log says so once, not once
// a write, and Health reports it.
func TestAFullDiskIsLoggedOnceAndReported(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files, err := NewFiles(dir, "dns1", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/full", DayFile(dir, day0.Format("2006-01-02"))); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	lg := NewLogger(files, slog.New(slog.NewTextHandler(&out, nil)), NewMetrics(prometheus.NewRegistry(), func() int { return 0 }, dir))
	for i := range 200 {
		for j := range 50 {
			lg.Record(record(i*50+j, day0))
		}
		lg.Flush()
	}
	if lg.Health() == nil || !strings.Contains(lg.Health().Error(), "no space left") {
		t.Fatalf("Health: %v", lg.Health())
	}
	if lg.Dropped() == 0 {
		t.Error("nothing counted as dropped")
	}
	if n := strings.Count(out.String(), "level=ERROR"); n != 1 {
		t.Errorf("%d error lines for 200 failed writes, want 1:\n%s", n, out.String())
	}
}
