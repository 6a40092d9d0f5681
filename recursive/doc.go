// Package recursive resolves names itself, from the root down, for
// [upstream] mode = "recursive": it follows referrals with their glue,
// resolves the names of glueless name servers, chases CNAME and DNAME
// chains across zones, and validates DNSSEC (package dnssec) from the root
// trust anchor. It is an upstream.Upstream, so the chain and the cache use
// it as they use forwarding.
//
// The defences of a resolver facing the Internet are here: random IDs and
// source ports, 0x20 letter case where the server echoes it, bailiwick
// checks on every record (RFC 5452), QNAME minimisation (RFC 9156), and
// limits on referrals, CNAME chains, nested glueless lookups and the
// queries one client question may cause.
package recursive
