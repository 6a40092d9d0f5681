// Package daemon assembles civicdns from its components, in one place and
// one fixed order: the live state (configuration, policy, exemptions,
// upstreams), then the HTTP servers (metrics now; the block page and the
// director console slot in beside it), the DNS server, and the background
// jobs (file watcher, list updater). Each component has Start and
// Shutdown(ctx); they start in order and stop in reverse, so the DNS
// server drains while /healthz still answers 503, and the metrics server
// goes last.
package daemon
