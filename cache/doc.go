// Package cache is the LRU hot cache: upstream answers kept in wire form
// (query.Packed), in shards each behind its own lock, with their TTLs
// clamped and their freshness computed (RFC 2308 for negative answers), and
// the coalescing of concurrent identical misses into one upstream exchange.
// The chain's cache stage (resolver) decides when to read, fill, prefetch
// and serve stale; this package only keeps.
package cache
