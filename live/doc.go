// Package live is the daemon's one live state: the configuration, the
// compiled policy, the exemption set and the upstreams, as an immutable
// Snapshot behind an atomic pointer. Every part reads the same snapshot:
// the DNS path (one load per query, lock-free), and the block page and the
// console that come next. Writers are serialised and swap a whole new
// snapshot: the Reloader after a configuration or list change (keeping the
// running one when the new does not validate), and the state store when an
// exemption is approved, revoked or expires (without a reload). Upstreams
// are rebuilt only when [upstream] changed.
package live
