package querylog

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/civicdns/civicdns/internal/pgschema"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// Shipper copies the day files into PostgreSQL ([log] postgres), the
// central query log of several instances. The day files are its spill: it
// reads them from a cursor kept in the database and moved in the same
// transaction as each batch's COPY, so a killed or restarting database (or
// civicdns) loses nothing and copies nothing twice; while the database is
// away records wait in the files and are replayed in order when it comes back.
type Shipper struct {
	dsn      string
	dir      string
	instance string
	log      *slog.Logger
	m        *shipMetrics

	mu     sync.Mutex
	pool   *pgxpool.Pool
	cursor cursor // what is in the database
	kick   chan struct{}
}

type cursor struct {
	day string
	off int64
}

type shipMetrics struct {
	records  *prometheus.CounterVec
	lag      prometheus.Gauge
	duration prometheus.Histogram
}

// shipBatch is how many records one COPY carries at most.
const shipBatch = 20000

// NewShipper makes the shipper of the log in dir to the database at dsn.
func NewShipper(dsn, dir, instance string, log *slog.Logger, reg prometheus.Registerer) *Shipper {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &shipMetrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "civicdns_querylog_postgres_records_total", Help: "Query log records copied into PostgreSQL, and lines skipped (torn).",
		}, []string{"result"}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "civicdns_querylog_postgres_lag_bytes", Help: "Bytes of today's day file not yet in PostgreSQL (spilled, waiting for replay).",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "civicdns_querylog_postgres_copy_seconds", Help: "Time of one COPY batch into PostgreSQL.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}),
	}
	reg.MustRegister(m.records, m.lag, m.duration)
	m.records.WithLabelValues("copied")
	m.records.WithLabelValues("skipped")
	return &Shipper{dsn: dsn, dir: dir, instance: instance, log: log, m: m, kick: make(chan struct{}, 1)}
}

// Connect opens a pool to dsn and brings the schema up to date.
func Connect(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	return pgschema.Open(ctx, dsn, "querylog", migrations)
}

// Kick asks for a pass soon.
func (s *Shipper) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run ships until ctx ends; a failure (the database away) is logged and
// retried, with a growing wait up to 30 s.
func (s *Shipper) Run(ctx context.Context) {
	wait := time.Second
	for {
		err := s.Ship(ctx)
		switch {
		case ctx.Err() != nil:
			s.closePool()
			return
		case err != nil:
			s.log.Warn("query log: PostgreSQL unavailable; records wait in the day files", "err", err, "retry_in", wait)
			s.closePool()
			wait = min(2*wait, 30*time.Second)
		default:
			wait = time.Second
		}
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			s.Ship(final) // what was written before the end
			cancel()
			s.closePool()
			return
		case <-time.After(wait):
		case <-s.kick:
		}
	}
}

func (s *Shipper) closePool() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pool != nil {
		s.pool.Close()
		s.pool = nil
	}
}

// Ship copies everything the day files hold beyond the cursor.
func (s *Shipper) Ship(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pool == nil {
		pool, err := Connect(ctx, s.dsn)
		if err != nil {
			return err
		}
		s.pool = pool
		if err := s.pool.QueryRow(ctx, `SELECT day, off FROM civicdns_log_cursor WHERE instance = $1`, s.instance).Scan(&s.cursor.day, &s.cursor.off); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
	}
	_, days, err := Days(s.dir)
	if err != nil {
		return err
	}
	for i, day := range days {
		if day < s.cursor.day {
			continue
		}
		path := DayFile(s.dir, day)
		if _, err := os.Stat(path); err != nil {
			continue // compacted: it was shipped before (Retention waits for the cursor)
		}
		off := int64(0)
		if day == s.cursor.day {
			off = s.cursor.off
		}
		last := i == len(days)-1
		if err := s.shipFile(ctx, day, path, off); err != nil {
			return err
		}
		if last {
			if fi, err := os.Stat(path); err == nil {
				s.m.lag.Set(float64(fi.Size() - s.cursor.off))
			}
		}
	}
	return nil
}

// Prune applies the records schedule to the central database (see PruneDatabase).
func (s *Shipper) Prune(ctx context.Context, days, blockedDays int, holds []*Hold, now time.Time) error {
	s.mu.Lock()
	pool := s.pool
	s.mu.Unlock()
	if pool == nil {
		return nil // away: the next pass prunes
	}
	return PruneDatabase(ctx, pool, days, blockedDays, holds, now)
}

// Shipped reports whether a day is wholly in the database (Retention may
// compact it).
func (s *Shipper) Shipped(day string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return day < s.cursor.day
}

// shipFile copies the whole lines of a day file from off, batch by batch.
func (s *Shipper) shipFile(ctx context.Context, day, path string, off int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(f, 1<<20)
	var buf []byte // the batch's lines, one after the other
	var ends []int // where each ends in buf
	pos := off
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the reader's buffer is no record: skip it whole.
			for errors.Is(err, bufio.ErrBufferFull) {
				pos += int64(len(line))
				line, err = r.ReadSlice('\n')
			}
			pos += int64(len(line))
			line = nil
		} else if len(line) > 0 && line[len(line)-1] == '\n' {
			pos += int64(len(line))
			buf = append(buf, line...)
			ends = append(ends, len(buf))
		}
		if len(ends) == shipBatch || err != nil {
			if pos != off {
				if cerr := s.copyBatch(ctx, day, buf, ends, pos); cerr != nil {
					return cerr
				}
				buf, ends, off = buf[:0], ends[:0], pos
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil // a partial last line waits for the next pass
			}
			return err
		}
	}
}

// rowOf turns a JSON line into a row of civicdns_querylog.
func rowOf(line []byte, instance string) ([]any, bool) {
	var e Entry
	if parseLine(line, &e) != nil {
		e = Entry{}
		if json.Unmarshal(line, &e) != nil {
			return nil, false
		}
	}
	client, err := netip.ParseAddr(e.Client)
	if err != nil {
		return nil, false
	}
	if e.Instance == "" {
		e.Instance = instance
	}
	return []any{e.Time, e.Instance, client, e.Department, e.Name, reverseName(e.Name), e.Type, e.Action, e.Category, e.Rule,
		e.Rcode, e.Cached, e.Stale, e.TCP, e.ElapsedMS, e.Error, e.Answer, e.Upstream, e.Service, e.Transport, e.Device, e.MAC}, true
}

var columns = []string{"time", "instance", "client", "department", "name", "rname", "type", "action", "category", "rule",
	"rcode", "cached", "stale", "tcp", "elapsed_ms", "error", "answer", "upstream", "service", "transport", "device", "mac"}

// reverseName writes a name's labels in reverse ("www.example.com" →
// "com.example.www"), so that a name and its subdomains are one range of
// an index.
func reverseName(n string) string {
	labels := strings.Split(n, ".")
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	return strings.Join(labels, ".")
}

// copyBatch copies the lines of buf (ending at ends) and moves the cursor
// to (day, next) in one transaction. Lines are decoded while the COPY
// streams, so decoding here and inserting in the server overlap.
func (s *Shipper) copyBatch(ctx context.Context, day string, buf []byte, ends []int, next int64) error {
	start := time.Now()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	if err := ensurePartitions(ctx, tx, buf, ends); err != nil {
		return err
	}
	copied, skipped := 0, 0
	if len(ends) > 0 {
		i, from := 0, 0
		src := pgx.CopyFromFunc(func() ([]any, error) {
			for i < len(ends) {
				line := buf[from:ends[i]]
				from = ends[i]
				i++
				if row, ok := rowOf(line, s.instance); ok {
					copied++
					return row, nil
				}
				skipped++ // a line torn by a crash
			}
			return nil, nil
		})
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"civicdns_querylog"}, columns, src); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO civicdns_log_cursor (instance, day, off) VALUES ($1, $2, $3)
		ON CONFLICT (instance) DO UPDATE SET day = EXCLUDED.day, off = EXCLUDED.off`, s.instance, day, next); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	s.cursor = cursor{day: day, off: next}
	s.m.records.WithLabelValues("copied").Add(float64(copied))
	s.m.records.WithLabelValues("skipped").Add(float64(skipped))
	s.m.duration.Observe(time.Since(start).Seconds())
	return nil
}

// ensurePartitions makes the daily partitions (UTC days) the lines need,
// reading only each line's time.
func ensurePartitions(ctx context.Context, tx pgx.Tx, buf []byte, ends []int) error {
	days := map[string]bool{}
	from := 0
	for _, end := range ends {
		line := buf[from:end]
		from = end
		const prefix = `{"time":"`
		if len(line) > len(prefix) && string(line[:len(prefix)]) == prefix {
			rest := line[len(prefix):]
			if q := bytesIndexByte(rest, '"'); q > 0 {
				if t, err := time.Parse(time.RFC3339Nano, string(rest[:q])); err == nil {
					days[t.UTC().Format("2006-01-02")] = true
				}
			}
		}
	}
	for d := range days {
		if err := createPartition(ctx, tx, d); err != nil {
			return err
		}
	}
	return nil
}

func bytesIndexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func partitionName(day string) string { return "civicdns_querylog_" + strings.ReplaceAll(day, "-", "") }

func createPartition(ctx context.Context, tx pgx.Tx, day string) error {
	t, err := time.Parse("2006-01-02", day)
	if err != nil {
		return err
	}
	// Instances starting or rolling over together: one creates, the others wait for it.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7305001)`); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF civicdns_querylog FOR VALUES FROM ('%s') TO ('%s')`,
		partitionName(day), t.Format("2006-01-02"), t.AddDate(0, 0, 1).Format("2006-01-02")))
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P07" { // duplicate_table
		return nil
	}
	return err
}
