// Package dnswire reads queries and writes answers directly in DNS wire
// format. It is the allocation-free part of the hot path: a query is parsed
// into a reusable Query, and synthesised or cached answers are written into
// a caller's buffer. Full message handling (upstream exchanges) uses miekg/dns.
package dnswire
