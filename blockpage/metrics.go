package blockpage

import "github.com/prometheus/client_golang/prometheus"

// metrics are the block page's.
type metrics struct {
	pages    *prometheus.CounterVec
	requests *prometheus.CounterVec
	certs    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		pages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "civicdns_blockpage_views_total", Help: "Block pages shown, by scheme and whether the name was blocked.",
		}, []string{"scheme", "blocked"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "civicdns_blockpage_requests_total", Help: "Exemption requests sent from the block page, by result (stored, invalid, rate_limited, csrf, error).",
		}, []string{"result"}),
		certs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "civicdns_blockpage_certificates_total", Help: "HTTPS block page certificates, by outcome (cached, minted, refused: minting rate limit, failed).",
		}, []string{"outcome"}),
	}
	reg.MustRegister(m.pages, m.requests, m.certs)
	for _, r := range []string{"stored", "invalid", "rate_limited", "csrf", "error"} {
		m.requests.WithLabelValues(r)
	}
	for _, o := range []string{"cached", "minted", "refused", "failed"} {
		m.certs.WithLabelValues(o)
	}
	return m
}
