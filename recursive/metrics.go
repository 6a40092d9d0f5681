package recursive

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the recursive resolver's series. They outlive a resolver (a
// reload that changes [upstream] makes a new one), so they are made once.
type Metrics struct {
	queriesPerLookup prometheus.Histogram
	validations      *prometheus.CounterVec
	rtt              prometheus.Histogram
	failures         *prometheus.CounterVec
	current          atomic.Pointer[Resolver]
}

// NewMetrics registers the series with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		queriesPerLookup: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "civicdns_recursion_queries_per_lookup",
			Help: "Queries sent to authoritative servers per question resolved (DNSSEC fetches included).", Buckets: []float64{0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64}}),
		validations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "civicdns_dnssec_validations_total",
			Help: "Answers resolved recursively, by DNSSEC outcome: secure, insecure, bogus, unchecked (the client set CD)."}, []string{"result"}),
		rtt: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "civicdns_recursion_server_rtt_seconds",
			Help: "Round-trip time of answers from authoritative servers.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "civicdns_recursion_server_failures_total",
			Help: "Authoritative servers that failed a query, by kind: timeout, network, lame."}, []string{"kind"}),
	}
	for _, r := range []string{"secure", "insecure", "bogus", "unchecked"} {
		m.validations.WithLabelValues(r)
	}
	for _, k := range []string{"timeout", "network", "lame"} {
		m.failures.WithLabelValues(k)
	}
	if reg != nil {
		infra := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "civicdns_recursion_infra_cache_entries",
			Help: "Entries in the recursive resolver's infrastructure cache (delegations, name server addresses, servers, DNSSEC zones)."},
			func() float64 {
				r := m.current.Load()
				if r == nil {
					return 0
				}
				n := r.infra.zones.Len() + r.infra.addrs.Len() + r.infra.servers.Len()
				if r.val != nil {
					n += r.val.KnownZones()
				}
				return float64(n)
			})
		reg.MustRegister(m.queriesPerLookup, m.validations, m.rtt, m.failures, infra)
	}
	return m
}

func (m *Metrics) serverFailure(kind string) { m.failures.WithLabelValues(kind).Inc() }

// Validation counts one DNSSEC outcome (forward mode's validation counts
// into the same series).
func (m *Metrics) Validation(result string) { m.validations.WithLabelValues(result).Inc() }
