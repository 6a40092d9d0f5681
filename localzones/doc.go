// Package localzones is the names that never leave the city: the
// special-use names and private reverse zones a resolver answers itself
// (RFC 6761, RFC 6303 and its IANA registry, RFC 8375, RFC 7686, RFC 6762,
// RFC 7793, RFC 8880), and WPAD/ISATAP as Windows DNS's global query block
// list answers them. A Set is compiled once per configuration, into the
// policy snapshot; looking a name up in it costs one switch on the last
// label for every name not under arpa, localhost, invalid, test, onion or
// local, and allocates nothing.
package localzones
