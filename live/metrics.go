package live

import (
	"errors"

	"github.com/civicdns/civicdns/blocklists"
	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/policy"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the live state's: reloads, list sizes, exemptions, downloads.
type metrics struct {
	reloads   *prometheus.CounterVec
	listNames *prometheus.GaugeVec
	downloads *prometheus.CounterVec
	refused   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, s *State) *metrics {
	m := &metrics{
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "civicdns_config_reloads_total", Help: "Configuration reloads, by result (success, failure).",
		}, []string{"result"}),
		listNames: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "civicdns_list_names", Help: "Names (with their subdomains) in the block lists, by category.",
		}, []string{"category"}),
		downloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "civicdns_list_downloads_total", Help: "Downloads of imported lists, by category and result (success, not_modified, failure).",
		}, []string{"category", "result"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "civicdns_list_refresh_refused_total", Help: "List refreshes refused because they would shrink a list to less than half (or fewer than 10 names): the last good copy stays.",
		}, []string{"category"}),
	}
	exemptions := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "civicdns_exemptions_active", Help: "Exemptions in force now (configuration and state store).",
	}, func() float64 { return float64(s.Snapshot().Exemptions.Active(s.now())) })
	reg.MustRegister(m.reloads, m.listNames, m.downloads, m.refused, exemptions)
	// Alerts are written against these before their first event.
	for _, r := range []string{"success", "failure"} {
		m.reloads.WithLabelValues(r)
	}
	return m
}

// downloadResults are the results a list download is counted under.
var downloadResults = []string{"success", "not_modified", "failure", "refused"}

// setPolicy publishes the sizes of a new policy's lists, and makes the
// download series of its imports exist.
func (m *metrics) setPolicy(cfg *config.Config, p *policy.Policy) {
	m.listNames.Reset()
	for name, c := range p.Lists().Categories {
		m.listNames.WithLabelValues(name).Set(float64(c.Blocked))
	}
	if cfg.Lists.Update {
		for _, d := range p.Lists().Downloads {
			for _, r := range downloadResults {
				m.downloads.WithLabelValues(d.Category, r)
			}
		}
	}
}

// CountListDownload counts a list download attempt (blocklists.Updater.OnResult)
// and keeps it for `civicdns status`.
func (s *State) CountListDownload(d blocklists.Download, err error) {
	result := downloadResult(err)
	s.noteDownload(d, result, err)
	if result == "refused" {
		s.metrics.refused.WithLabelValues(d.Category).Inc()
	}
	s.metrics.downloads.WithLabelValues(d.Category, result).Inc()
}

// downloadResult names how a download went, one of downloadResults.
func downloadResult(err error) string {
	var shrink *blocklists.ShrinkError
	switch {
	case err == nil:
		return "success"
	case errors.Is(err, blocklists.ErrNotModified):
		return "not_modified"
	case errors.As(err, &shrink):
		return "refused"
	}
	return "failure"
}
