package querylog

import (
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the query log's.
type metrics struct {
	records      *prometheus.CounterVec
	writeSeconds prometheus.Histogram
}

// NewMetrics registers the query log's metrics; depth and dir feed the
// gauges (the queue, the disk the log takes).
func NewMetrics(reg prometheus.Registerer, depth func() int, dir string) *metrics {
	m := &metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "civicdns_querylog_records_total", Help: "Query log records, by result (written, dropped).",
		}, []string{"result"}),
		writeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "civicdns_querylog_write_seconds", Help: "Time to write one batch of records to the day file.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8),
		}),
	}
	queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "civicdns_querylog_queue_depth", Help: "Records waiting to be written.",
	}, func() float64 { return float64(depth()) })
	disk := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "civicdns_querylog_disk_bytes", Help: "Bytes the query log's files take.",
	}, func() float64 { return float64(dirBytes(dir)) })
	oldest := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "civicdns_querylog_oldest_day_timestamp_seconds", Help: "The start of the oldest day the query log keeps (Unix time; 0: none).",
	}, func() float64 {
		_, days, err := Days(dir)
		if err != nil || len(days) == 0 {
			return 0
		}
		t, _ := time.Parse("2006-01-02", days[0])
		return float64(t.Unix())
	})
	reg.MustRegister(m.records, m.writeSeconds, queue, disk, oldest)
	for _, r := range []string{"written", "dropped"} {
		m.records.WithLabelValues(r)
	}
	return m
}

func dirBytes(dir string) int64 {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && !e.IsDir() {
			n += fi.Size()
		}
	}
	return n
}
