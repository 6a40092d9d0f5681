package resolver

import (
	"github.com/civicdns/civicdns/policy"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's Prometheus metrics, registered on the registry
// the caller injects.
type metrics struct {
	queries      *prometheus.CounterVec
	responses    *prometheus.CounterVec
	cacheHits    prometheus.Counter
	cacheMisses  prometheus.Counter
	staleAnswers prometheus.Counter
	prefetches   prometheus.Counter
	dropped      *prometheus.CounterVec
	upDuration   *prometheus.HistogramVec
	upErrors     *prometheus.CounterVec
	reloads      *prometheus.CounterVec
	listNames    *prometheus.GaugeVec
	downloads    *prometheus.CounterVec

	// The labelled counters a query increments, looked up without building
	// a label slice per query (WithLabelValues allocates).
	mu       sync.RWMutex
	byLabels map[queryLabels]prometheus.Counter
	byRcode  [24]prometheus.Counter
}

type queryLabels struct{ action, category, department string }

func newMetrics(reg prometheus.Registerer, cacheLen, activeExemptions func() float64) *metrics {
	m := &metrics{
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "civicdns_queries_total", Help: "Queries answered, by action (allowed, blocked, exempted), category and department.",
		}, []string{"action", "category", "department"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "civicdns_responses_total", Help: "Answers sent, by rcode.",
		}, []string{"rcode"}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "civicdns_cache_hits_total", Help: "Queries answered from a fresh cache entry.",
		}),
		cacheMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "civicdns_cache_misses_total", Help: "Queries that had to ask an upstream.",
		}),
		staleAnswers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "civicdns_cache_stale_answers_total", Help: "Expired entries served because every upstream failed (RFC 8767).",
		}),
		prefetches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "civicdns_cache_prefetches_total", Help: "Popular entries refreshed before they expired.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "civicdns_dropped_packets_total", Help: "Packets not answered, by reason.",
		}, []string{"reason"}),
		upDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "civicdns_upstream_request_duration_seconds", Help: "Time of each exchange with an upstream.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"upstream"}),
		upErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "civicdns_upstream_errors_total", Help: "Failed exchanges (errors, timeouts, SERVFAIL/REFUSED), by upstream.",
		}, []string{"upstream"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "civicdns_config_reloads_total", Help: "Configuration reloads, by result (success, failure).",
		}, []string{"result"}),
		listNames: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "civicdns_list_names", Help: "Names (with their subdomains) in the block lists, by category.",
		}, []string{"category"}),
		downloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "civicdns_list_downloads_total", Help: "Downloads of imported lists, by category and result (success, not_modified, failure).",
		}, []string{"category", "result"}),
		byLabels: map[queryLabels]prometheus.Counter{},
	}
	exemptions := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "civicdns_exemptions_active", Help: "Exemptions in force now.",
	}, activeExemptions)
	cacheEntries := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "civicdns_cache_entries", Help: "Entries in the cache, fresh and expired.",
	}, cacheLen)
	reg.MustRegister(m.queries, m.responses, m.cacheHits, m.cacheMisses, m.staleAnswers, m.prefetches,
		m.dropped, m.upDuration, m.upErrors, m.reloads, m.listNames, m.downloads, cacheEntries, exemptions)
	other := m.responses.WithLabelValues("OTHER")
	for i := range m.byRcode {
		m.byRcode[i] = other
		if name := rcodeName(i); name != "" {
			m.byRcode[i] = m.responses.WithLabelValues(name)
		}
	}
	return m
}

func rcodeName(rc int) string {
	switch rc {
	case 0:
		return "NOERROR"
	case 1:
		return "FORMERR"
	case 2:
		return "SERVFAIL"
	case 3:
		return "NXDOMAIN"
	case 4:
		return "NOTIMP"
	case 5:
		return "REFUSED"
	case 16:
		return "BADVERS"
	}
	return ""
}

// Record counts an answered query. It implements Recorder.
func (m *metrics) Record(r *Record) {
	k := queryLabels{r.Action, r.Category, r.Department}
	m.mu.RLock()
	c, ok := m.byLabels[k]
	m.mu.RUnlock()
	if !ok {
		c = m.queries.WithLabelValues(k.action, k.category, k.department)
		m.mu.Lock()
		m.byLabels[k] = c
		m.mu.Unlock()
	}
	c.Inc()
	if r.Rcode >= 0 && r.Rcode < len(m.byRcode) {
		m.byRcode[r.Rcode].Inc()
	}
}

// ObserveExchange implements upstream.Observer.
func (m *metrics) ObserveExchange(up string, took time.Duration, err error) {
	m.upDuration.WithLabelValues(up).Observe(took.Seconds())
	if err != nil {
		m.upErrors.WithLabelValues(up).Inc()
	}
}

// setPolicy publishes the sizes of a new policy's lists.
func (m *metrics) setPolicy(p *policy.Policy) {
	m.listNames.Reset()
	for name, c := range p.Lists().Categories {
		m.listNames.WithLabelValues(name).Set(float64(c.Blocked))
	}
}
