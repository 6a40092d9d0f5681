package querylog

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civicdns/civicdns/internal/health"
	"github.com/civicdns/civicdns/query"
	"github.com/prometheus/client_golang/prometheus"
)

// Sink is where batches of records go: the day files (and later a
// central database). Write is called by one goroutine at a time.
type Sink interface {
	Write(b *Batch) error
	Flush() error
	Close() error
}

// Batch is a run of records and the arena of their names.
type Batch struct {
	slots []slot
	names []byte
}

// Len counts its records.
func (b *Batch) Len() int { return len(b.slots) }

func (b *Batch) name(s *slot) []byte { return b.names[s.nameOff : s.nameOff+uint32(s.nameLen)] }

// Logger is the query path's recorder for the query log.
type Logger struct {
	sink     Sink
	log      *slog.Logger
	metrics  *metrics
	interval time.Duration

	mu    sync.Mutex
	cur   *Batch
	spare *Batch

	writeMu sync.Mutex

	wake        chan struct{}
	dropped     atomic.Uint64
	lastDropLog atomic.Int64
	health      *health.Tracker // whether the sink takes writes; logs a failing one once a minute
}

// Batch capacities: the records a burst can leave before the writer has
// swapped the batch out (it does every swapEvery, or when half full).
//
// The writer works in short turns: it shares the CPUs with the readers,
// and one long turn (a 100 ms batch at 20,000 q/s took 1-4 ms to format
// and write, most of it in write(2)) delayed the answers that came
// meanwhile: with the log on, p99 at 20,000 q/s was 1.25x that with it
// off; in turns of 10 ms and writes of 32 KiB, 1.11x.
const (
	batchRecords = 1 << 15
	batchNames   = batchRecords * 48
	flushEvery   = time.Second
	swapEvery    = 10 * time.Millisecond
	writeChunk   = 32 << 10 // bytes a day file's buffer holds before write(2)
)

// NewLogger makes a logger writing to sink.
func NewLogger(sink Sink, log *slog.Logger, m *metrics) *Logger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	newBatch := func() *Batch {
		return &Batch{slots: make([]slot, 0, batchRecords), names: make([]byte, 0, batchNames)}
	}
	return &Logger{sink: sink, log: log, metrics: m, cur: newBatch(), spare: newBatch(), wake: make(chan struct{}, 1), interval: swapEvery,
		health: health.New("query log", log, nil)}
}

// Record copies r into the current batch. It never blocks on the writer and
// does not allocate (but for an error's text).
func (l *Logger) Record(r *query.Record) {
	s := slotOf(r)
	l.mu.Lock()
	b := l.cur
	if len(b.slots) == cap(b.slots) || len(b.names)+len(r.Name) > cap(b.names) {
		l.mu.Unlock()
		l.drop(1)
		return
	}
	s.nameOff = uint32(len(b.names))
	b.names = append(b.names, r.Name...)
	b.slots = append(b.slots, s)
	half := len(b.slots) == cap(b.slots)/2
	l.mu.Unlock()
	if half {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

// slotOf is a record's fixed-size copy (its name goes to the batch's arena).
func slotOf(r *query.Record) slot {
	s := slot{
		t: r.Time.UnixNano(), client: r.Client, nameLen: uint16(len(r.Name)), qtype: r.Type, rcode: int16(r.Rcode),
		cached: r.Cached, stale: r.Stale, tcp: r.TCP, elapsed: int64(r.Elapsed),
		action: r.Action, category: r.Category, dept: r.Department, answer: r.Answer, upstream: r.Upstream,
	}
	if r.Decision != nil && (r.Action == "blocked" || r.Action == "exempted" || r.Action == "local") {
		s.rule, s.service = r.Decision.Rule(), r.Decision.Service
	}
	if r.Err != nil && r.Rcode != 0 {
		s.err = r.Err.Error()
	}
	if r.Transport != "udp" {
		s.transport = r.Transport
	}
	s.device = r.Device
	return s
}

// Depth is how many records wait for the writer.
func (l *Logger) Depth() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.cur.slots)
}

// drop counts records lost, and says so in the log at most once a minute.
func (l *Logger) drop(n int) {
	l.dropped.Add(uint64(n))
	l.metrics.records.WithLabelValues("dropped").Add(float64(n))
	now := time.Now().UnixNano()
	if last := l.lastDropLog.Load(); now-last > int64(time.Minute) && l.lastDropLog.CompareAndSwap(last, now) {
		l.log.Error("query log: records dropped (the log cannot keep up or cannot be written)", "dropped_so_far", l.dropped.Load())
	}
}

// Health is why the query log cannot write now, or nil.
func (l *Logger) Health() error { return l.health.Err() }

// Dropped counts the records lost so far.
func (l *Logger) Dropped() uint64 { return l.dropped.Load() }

// Run writes batches until ctx ends, then writes what is left, flushes and
// closes the sink: records answered before shutdown are all written.
func (l *Logger) Run(ctx context.Context) {
	swap := time.NewTicker(l.interval)
	defer swap.Stop()
	lastFlush := time.Now()
	for {
		select {
		case <-ctx.Done():
			l.writeOut()
			if err := l.sink.Close(); err != nil {
				l.log.Error("query log: closing", "err", err)
			}
			return
		case <-swap.C:
		case <-l.wake:
		}
		l.writeOut()
		if time.Since(lastFlush) >= flushEvery {
			l.flush()
			lastFlush = time.Now()
		}
	}
}

// Flush writes everything recorded so far and flushes the sink (tests, shutdown).
func (l *Logger) Flush() error {
	l.writeOut()
	return l.flush()
}

// flush flushes the sink. A write may only fill a buffer; a flush reaches
// the file. So the log is well again only when a flush succeeds.
func (l *Logger) flush() error {
	err := l.sink.Flush()
	if err != nil {
		l.health.Fail(err, 0)
	} else {
		l.health.OK()
	}
	return err
}

func (l *Logger) writeOut() {
	l.writeMu.Lock() // one writeOut at a time (Run and Flush)
	defer l.writeMu.Unlock()
	l.mu.Lock()
	b := l.cur
	l.cur, l.spare = l.spare, b
	l.mu.Unlock()
	if len(b.slots) == 0 {
		return
	}
	start := time.Now()
	if err := l.sink.Write(b); err != nil {
		l.dropped.Add(uint64(len(b.slots)))
		l.metrics.records.WithLabelValues("dropped").Add(float64(len(b.slots)))
		l.health.Fail(err, len(b.slots))
	} else {
		l.metrics.records.WithLabelValues("written").Add(float64(len(b.slots)))
	}
	l.metrics.writeSeconds.Observe(time.Since(start).Seconds())
	b.slots, b.names = b.slots[:0], b.names[:0]
}

// Options are what Open needs.
type Options struct {
	Dir      string         // [log] dir
	Instance string         // [log] instance: names this server in every record
	Location *time.Location // the days' time zone (nil: local)
	// Devices names the device that held a client address at a time (see Files.Devices).
	Devices  func(client netip.Addr, at time.Time) (name, mac string)
	Logger   *slog.Logger
	Registry prometheus.Registerer
}

// Open makes the logger of the day files in opts.Dir; onClosed is called
// with a day file once its day is over (nil: nothing).
func Open(opts Options, onClosed func(path string)) (*Logger, error) {
	files, err := NewFiles(opts.Dir, opts.Instance, opts.Location)
	if err != nil {
		return nil, err
	}
	files.OnClosed, files.Devices = onClosed, opts.Devices
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	var lg *Logger
	m := NewMetrics(opts.Registry, func() int {
		if lg == nil {
			return 0
		}
		return lg.Depth()
	}, opts.Dir)
	lg = NewLogger(files, opts.Logger, m)
	return lg, nil
}
