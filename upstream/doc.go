// Package upstream exchanges questions with the servers civicdns asks:
// plain DNS over UDP (falling back to TCP on truncation) and DNS over TLS,
// each behind the one Upstream interface; a Group adds health tracking and
// failover, a Router conditional forwarding by zone. A recursive resolver
// fits the same interface.
package upstream
