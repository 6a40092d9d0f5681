package resolver

import (
	"sync"

	"github.com/civicdns/civicdns/query"
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
	rateLimited  *prometheus.CounterVec

	// The labelled counters a query increments, looked up without building
	// a label slice per query (WithLabelValues allocates).
	mu       sync.RWMutex
	byLabels map[queryLabels]prometheus.Counter
	byRcode  [24]prometheus.Counter
}

type queryLabels struct {
	action, category, department string
	transport                    uint8 // transportIndex: cheaper to hash and compare than a string
}

// transportName is the transport label's value of an index.
func transportName(i uint8) string {
	switch i {
	case 1:
		return query.TransportTCP
	case 2:
		return query.TransportTLS
	case 3:
		return query.TransportHTTPS
	case 4:
		return query.TransportQUIC
	}
	return query.TransportUDP
}

// transportIndex is a record's transport as a small number (transportName's).
func transportIndex(t string) uint8 {
	switch t {
	case query.TransportTCP:
		return 1
	case query.TransportTLS:
		return 2
	case query.TransportHTTPS:
		return 3
	case query.TransportQUIC:
		return 4
	}
	return 0
}

func newMetrics(reg prometheus.Registerer, cacheLen func() float64) *metrics {
	m := &metrics{
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "civicdns_queries_total", Help: "Queries answered, by action (allowed, blocked, exempted, local, refused, malformed), category, department and transport (udp, tcp, tls, https, quic).",
		}, []string{"action", "category", "department", "transport"}),
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
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "civicdns_rate_limited_total", Help: "Queries over [server.rate_limit] (with log_only: that would have been), by transport.",
		}, []string{"transport"}),
		byLabels: map[queryLabels]prometheus.Counter{},
	}
	cacheEntries := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "civicdns_cache_entries", Help: "Entries in the cache, fresh and expired.",
	}, cacheLen)
	reg.MustRegister(m.queries, m.responses, m.cacheHits, m.cacheMisses, m.staleAnswers, m.prefetches,
		m.dropped, m.rateLimited, cacheEntries)
	// Alerts are written against these before their first event.
	for _, reason := range []string{"short", "not_a_query", "tcp_connection_limit"} {
		m.dropped.WithLabelValues(reason)
	}
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
func (m *metrics) Record(r *query.Record) {
	m.counter(queryLabels{r.Action, r.Category, r.Department, transportIndex(r.Transport)}).Inc()
	if r.Cached && !r.Stale {
		m.cacheHits.Inc()
	}
	if r.Rcode >= 0 && r.Rcode < len(m.byRcode) {
		m.byRcode[r.Rcode].Inc()
	}
}

// counter is the queries counter of a label set.
func (m *metrics) counter(k queryLabels) prometheus.Counter {
	m.mu.RLock()
	c, ok := m.byLabels[k]
	m.mu.RUnlock()
	if !ok {
		c = m.queries.WithLabelValues(k.action, k.category, k.department, transportName(k.transport))
		m.mu.Lock()
		m.byLabels[k] = c
		m.mu.Unlock()
	}
	return c
}

// tally is one UDP reader's count of the queries it answered in a batch
// (the queries counter by labels, the responses by rcode, the cache hits):
// plain integers on the reader's own memory. flush adds them to the shared
// counters once per batch, instead of a read lock, a map lookup hashing
// three strings and two atomic adds on shared cache lines per query.
type tally struct {
	m      *metrics
	sets   [8]queryLabels // the label sets seen in this batch, a handful at most
	counts [8]uint64
	n      int
	rcodes [len(metrics{}.byRcode)]uint64
	hits   uint64 // answered from a fresh cache entry
}

// Record counts r. It implements Recorder.
func (t *tally) Record(r *query.Record) {
	k := queryLabels{r.Action, r.Category, r.Department, transportIndex(r.Transport)}
	i := 0
	for i < t.n && t.sets[i] != k {
		i++
	}
	if i == len(t.sets) { // a batch of many departments and categories
		t.flush()
		i = 0
	}
	if i == t.n {
		t.sets[i], t.counts[i] = k, 0
		t.n++
	}
	t.counts[i]++
	if r.Cached && !r.Stale {
		t.hits++
	}
	if r.Rcode >= 0 && r.Rcode < len(t.rcodes) {
		t.rcodes[r.Rcode]++
	}
}

// flush adds the counts to the Prometheus counters and starts again.
func (t *tally) flush() {
	for i := 0; i < t.n; i++ {
		t.m.counter(t.sets[i]).Add(float64(t.counts[i]))
	}
	t.n = 0
	if t.hits > 0 {
		t.m.cacheHits.Add(float64(t.hits))
		t.hits = 0
	}
	for rc, n := range t.rcodes {
		if n > 0 {
			t.m.byRcode[rc].Add(float64(n))
			t.rcodes[rc] = 0
		}
	}
}
