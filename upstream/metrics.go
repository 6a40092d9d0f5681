package upstream

import (
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts exchanges with upstreams and logs their failures, at most
// once per upstream per failureLogEvery (with how many it kept quiet); it is
// the Observer the daemon gives every upstream it builds.
type Metrics struct {
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	resent   *prometheus.CounterVec
	log      *slog.Logger
	now      func() time.Time

	mu     sync.Mutex
	logged map[string]failureLog
}

type failureLog struct {
	at    time.Time
	quiet int // failures since, not logged
}

// failureLogEvery bounds the failure lines one upstream writes to the log.
const failureLogEvery = 10 * time.Second

// NewMetrics registers the upstream metrics on reg; failures are logged to
// log (nil: not logged).
func NewMetrics(reg prometheus.Registerer, log *slog.Logger, now func() time.Time) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	m := &Metrics{log: log, now: now, logged: map[string]failureLog{},
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "civicdns_upstream_request_duration_seconds", Help: "Time of each exchange with an upstream.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"upstream"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "civicdns_upstream_errors_total", Help: "Failed exchanges (errors, timeouts, SERVFAIL/REFUSED), by upstream and kind.",
		}, []string{"upstream", "kind"}),
		resent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "civicdns_upstream_retransmits_total", Help: "UDP queries sent again to an upstream for want of an answer within its retransmission timeout (lost packets).",
		}, []string{"upstream"}),
	}
	reg.MustRegister(m.duration, m.errors, m.resent)
	return m
}

// Known makes the series of a plan's upstreams exist at zero, so that
// alerts can be written against them before the first failure.
func (m *Metrics) Known(p Plan) {
	addrs := append([]string(nil), p.Servers...)
	for _, z := range p.Zones {
		addrs = append(addrs, z.Servers...)
	}
	for _, a := range addrs {
		if u, err := New(a); err == nil {
			if _, plain := u.(*Plain); plain {
				m.resent.WithLabelValues(u.Address())
			}
			for _, k := range []Kind{KindTimeout, KindNetwork, KindRefused, KindServFail} {
				m.errors.WithLabelValues(u.Address(), k.String())
			}
		}
	}
}

// ObserveRetransmit implements RetransmitObserver.
func (m *Metrics) ObserveRetransmit(up string) { m.resent.WithLabelValues(up).Inc() }

// ObserveExchange implements Observer.
func (m *Metrics) ObserveExchange(up string, took time.Duration, err error) {
	m.duration.WithLabelValues(up).Observe(took.Seconds())
	if err != nil {
		kind := KindOf(err)
		m.errors.WithLabelValues(up, kind.String()).Inc()
		m.logFailure(up, kind, err)
	}
}

// logFailure writes a failure to the log unless this upstream had one
// logged in the last failureLogEvery; then it only counts it for the next line.
func (m *Metrics) logFailure(up string, kind Kind, err error) {
	now := m.now()
	m.mu.Lock()
	l := m.logged[up]
	if !l.at.IsZero() && now.Sub(l.at) < failureLogEvery {
		l.quiet++
		m.logged[up] = l
		m.mu.Unlock()
		return
	}
	quiet := l.quiet
	m.logged[up] = failureLog{at: now}
	m.mu.Unlock()
	m.log.Warn("upstream failed", "upstream", up, "kind", kind.String(), "err", err, "more_failures_not_logged", quiet)
}
