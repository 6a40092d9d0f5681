// Package dnssec validates DNS answers (RFC 4033–4035, 5155): chains of
// trust from a trust anchor down through DS and DNSKEY records, RRSIG
// verification, and NSEC / NSEC3 proofs of nonexistence, of no data and of
// wildcard expansion.
//
// It does not ask the network itself: a Source (the recursive resolver, or
// the forwarding upstreams) fetches the DS and DNSKEY records it needs, and
// the validated keys of each zone are cached.
package dnssec
