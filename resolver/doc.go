// Package resolver serves DNS on UDP and TCP and answers each query through
// a chain of small stages assembled in one place (chain.go):
//
//	sanity → identify (client → department) → policy → cache → upstream
//
// The UDP path is built for speed: several SO_REUSEPORT sockets each with its
// own reader, queries decoded by dnswire without a full unpack, and cached
// answers copied from stored wire bytes with only the ID, the question's
// letter case and the TTLs patched. Queries that must wait for an upstream
// leave the reader for a goroutine of their own.
package resolver
