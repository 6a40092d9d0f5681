// Package deploy holds what a city installs civicdns with: the systemd unit
// (civicdns.service) and the Prometheus alert rules (prometheus/). Its tests
// check them with the real tools: systemd-analyze verify, promtool check
// rules and promtool test rules.
package deploy
