package querylog

import (
	"context"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/pgtest"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

func countRows(t *testing.T, dsn string) (total, distinct int) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT (time, name, client)) FROM civicdns_querylog`).Scan(&total, &distinct); err != nil {
		return -1, -1
	}
	return total, distinct
}

// A PostgreSQL killed in the middle of a load loses nothing: the records
// wait in the day files and are copied when it is back, each exactly once.
func TestShipperSurvivesADatabaseKill(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	dir := t.TempDir()
	lg := openLogger(t, dir)
	sh := NewShipper(pg.DSN(), dir, "dns1", nil, prometheus.NewRegistry())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sh.Run(ctx); close(done) }()
	const n = 30000
	start := time.Now().Add(-time.Hour)
	for i := 0; i < n; i++ {
		lg.Record(record(i, start.Add(time.Duration(i)*time.Millisecond)))
		switch i {
		case n / 3:
			lg.Flush()
			pg.Kill() // in the middle of the load
		case 2 * n / 3:
			lg.Flush()
			pg.Restart(t)
			sh.Kick()
		}
		if i%5000 == 0 {
			lg.Flush()
		}
	}
	lg.Flush()
	sh.Kick()
	deadline := time.Now().Add(60 * time.Second)
	for {
		total, distinct := countRows(t, pg.DSN())
		if total == n {
			if distinct != n {
				t.Fatalf("%d rows, %d distinct: some copied twice", total, distinct)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records in PostgreSQL", total, n)
		}
		sh.Kick()
		time.Sleep(100 * time.Millisecond) // polling the database
	}
	cancel()
	<-done
	// Search in the database agrees with the files.
	pool, err := pgxpool.New(context.Background(), pg.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, f := range []Filter{
		{Client: netip.MustParsePrefix("10.20.3.4/32")},
		{Client: netip.MustParsePrefix("10.20.2.0/24"), Action: "blocked"},
		{Name: "site3.example"},
		{Department: "police", Category: "gambling"},
		{From: start.Add(10 * time.Second), To: start.Add(20 * time.Second)},
	} {
		var fromDB, fromFiles int
		if err := SearchDatabase(context.Background(), pool, f, 0, func(*Entry) bool { fromDB++; return true }); err != nil {
			t.Fatal(err)
		}
		Search(dir, f, func(*Entry) bool { fromFiles++; return true })
		if fromDB != fromFiles || fromDB == 0 {
			t.Errorf("%+v: %d in the database, %d in the files", f, fromDB, fromFiles)
		}
	}
	// The chat catalogue's service is a column of its own.
	var chat int
	SearchDatabase(context.Background(), pool, Filter{Category: "chat"}, 0, func(e *Entry) bool {
		if chat++; e.Service != "Telegram" {
			t.Errorf("a chat record without its service: %+v", e)
			return false
		}
		return true
	})
	if chat != n/12 {
		t.Errorf("%d chat records in the database, want %d", chat, n/12)
	}
	var first Entry
	SearchDatabase(context.Background(), pool, Filter{}, 1, func(e *Entry) bool { first = *e; return false })
	if first.Instance != "dns1" || first.Name == "" {
		t.Errorf("newest record %+v", first)
	}
}

// Several instances starting at once apply the schema once.
func TestMigrationsRunOnceUnderConcurrency(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pool, err := Connect(context.Background(), pg.DSN())
			if err == nil {
				pool.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestPruneDatabaseKeepsBlockedAndHeld(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	ctx := context.Background()
	pool, err := Connect(ctx, pg.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	sh := &Shipper{pool: pool, instance: "dns1", m: NewShipper("", "", "", nil, prometheus.NewRegistry()).m}
	for _, age := range []int{70, 40, 5} {
		var buf []byte
		var ends []int
		for i := 0; i < 600; i++ {
			r := record(i, now.AddDate(0, 0, -age).Truncate(24*time.Hour).Add(time.Duration(i)*time.Minute))
			s := slotOf(r)
			buf = appendEntry(buf, &s, r.Name, "dns1", newStamps(time.UTC))
			ends = append(ends, len(buf))
		}
		if err := sh.copyBatch(ctx, "x", buf, ends, 0); err != nil {
			t.Fatal(err)
		}
	}
	hold := &Hold{Client: netip.MustParsePrefix("10.20.3.4/32")}
	if err := PruneDatabase(ctx, pool, 30, 60, []*Hold{hold}, now); err != nil {
		t.Fatal(err)
	}
	count := func(age int, where string) int {
		d := now.AddDate(0, 0, -age).Truncate(24 * time.Hour)
		var n int
		pool.QueryRow(ctx, "SELECT count(*) FROM civicdns_querylog WHERE time >= $1 AND time < $2"+where, d, d.Add(24*time.Hour)).Scan(&n)
		return n
	}
	if n, held := count(70, ""), count(70, " AND client = '10.20.3.4'"); n != held || n == 0 {
		t.Errorf("70 days old: %d rows, %d held", n, held)
	}
	if n := count(40, " AND action NOT IN ('blocked', 'exempted') AND client <> '10.20.3.4'"); n != 0 {
		t.Errorf("40 days old: %d allowed rows not held left", n)
	}
	if n := count(40, " AND action IN ('blocked', 'exempted')"); n == 0 {
		t.Error("40 days old: the blocked rows were deleted")
	}
	if n := count(5, ""); n != 600 {
		t.Errorf("5 days old: %d rows", n)
	}
}

// BenchmarkShip copies day-file records into a local PostgreSQL. Target:
// at least 100,000 records a second.
func BenchmarkShip(b *testing.B) {
	pg := pgtest.Start(b)
	dir := b.TempDir()
	lg, err := Open(Options{Dir: dir, Instance: "bench", Location: time.UTC, Registry: prometheus.NewRegistry()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now().Add(-time.Hour)
	for i := 0; i < b.N; i++ {
		lg.Record(record(i, start.Add(time.Duration(i)*time.Microsecond)))
		if i%10000 == 0 {
			lg.Flush()
		}
	}
	lg.Flush()
	sh := NewShipper(pg.DSN(), dir, "bench", nil, prometheus.NewRegistry())
	b.ResetTimer()
	if err := sh.Ship(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	sh.closePool()
}

// BenchmarkSearchDatabaseMonth loads a month into a local PostgreSQL
// (BENCH_PG_RECORDS a day, default 100,000; a large city is 1,000,000) and
// times a client search and a name search over it. Target: under a second.
func BenchmarkSearchDatabaseMonth(b *testing.B) {
	perDay := 100000
	if v, err := strconv.Atoi(os.Getenv("BENCH_PG_RECORDS")); err == nil && v > 0 {
		perDay = v
	}
	pg := pgtest.Start(b)
	dir := b.TempDir()
	lg, err := Open(Options{Dir: dir, Instance: "bench", Location: time.UTC, Registry: prometheus.NewRegistry()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -30)
	step := 24 * time.Hour / time.Duration(perDay)
	for d := 0; d < 30; d++ {
		for i := 0; i < perDay; i++ {
			r := record(i*7919+d, start.AddDate(0, 0, d).Add(time.Duration(i)*step))
			r.Client = netip.AddrFrom4([4]byte{10, byte(20 + i%6), byte(i / 250 % 12), byte(i % 250)})
			lg.Record(r)
			if i%20000 == 0 {
				lg.Flush()
			}
		}
		lg.Flush()
	}
	sh := NewShipper(pg.DSN(), dir, "bench", nil, prometheus.NewRegistry())
	if err := sh.Ship(context.Background()); err != nil {
		b.Fatal(err)
	}
	sh.closePool()
	pool, err := pgxpool.New(context.Background(), pg.DSN())
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	pool.Exec(context.Background(), "ANALYZE civicdns_querylog")
	for _, f := range []struct {
		name string
		f    Filter
	}{
		{"client", Filter{Client: netip.MustParsePrefix("10.22.1.4/32")}},
		{"name", Filter{Name: "host1.site3.example"}},
	} {
		b.Run(f.name, func(b *testing.B) {
			n := 0
			for i := 0; i < b.N; i++ {
				n = 0
				if err := SearchDatabase(context.Background(), pool, f.f, 0, func(*Entry) bool { n++; return true }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "records")
			b.ReportMetric(float64(30*perDay), "rows")
		})
	}
}
