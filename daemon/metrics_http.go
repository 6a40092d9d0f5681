package daemon

import (
	"net/http"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsHandler serves /metrics from gatherer and /healthz, which answers
// 200 while the daemon serves and 503 from the moment it starts draining
// (the metrics server is the last component stopped, so a load balancer
// sees the 503 rather than a refused connection). While a part that
// writes cannot (the query log, the state store and its audit trail),
// /healthz still answers 200 — DNS is answered — but says "degraded" and
// names the part and why, and civicdns_degraded{part} is 1.
func metricsHandler(gatherer prometheus.Gatherer, draining *atomic.Bool, degraded func() map[string]error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if draining.Load() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		bad := degraded()
		if len(bad) == 0 {
			w.Write([]byte("ok\n"))
			return
		}
		var b strings.Builder
		b.WriteString("degraded\n")
		parts := make([]string, 0, len(bad))
		for p := range bad {
			parts = append(parts, p)
		}
		sort.Strings(parts)
		for _, p := range parts {
			b.WriteString(p + ": " + bad[p].Error() + "\n")
		}
		w.Write([]byte(b.String()))
	})
	return mux
}

// Degraded names the parts that cannot write now, and why.
func (d *Daemon) Degraded() map[string]error {
	out := map[string]error{}
	if d.QueryLog != nil {
		if err := d.QueryLog.Health(); err != nil {
			out["query log"] = err
		}
	}
	if d.Store != nil {
		if err := d.Store.Health(); err != nil {
			out["state store"] = err
		}
	}
	return out
}

// registerDegraded exports civicdns_degraded{part}: 1 while the part
// cannot write.
func registerDegraded(reg prometheus.Registerer, d *Daemon) {
	for _, part := range []string{"query log", "state store"} {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "civicdns_degraded",
			Help:        "1 while the part cannot write (the query log: records are dropped and counted; the state store: decisions and sign-ins are refused).",
			ConstLabels: prometheus.Labels{"part": part}},
			func() float64 {
				if d.Degraded()[part] != nil {
					return 1
				}
				return 0
			}))
	}
}
