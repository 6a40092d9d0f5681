package localzones

import "fmt"

// Kind is how a zone answers.
type Kind uint8

const (
	// Empty: NXDOMAIN below the apex, NODATA at it, with the zone's SOA in
	// the authority section (so clients cache the answer).
	Empty Kind = iota
	// Localhost: every name is 127.0.0.1 and ::1 (RFC 6761 §6.3).
	Localhost
	// Data: Empty, with records at given names (PTR localhost, the A
	// records of ipv4only.arpa).
	Data
)

// record is a record of a Data zone, owned by the name it answers.
type record struct {
	name  string // the owner, normalised
	rtype uint16
	data  string // presentation form: a host name or an address
}

// def is a default zone as written: its name, how it answers, and why.
type def struct {
	name    string
	kind    Kind
	why     string
	records []record
}

const (
	typeA    = 1
	typePTR  = 12
	typeAAAA = 28
)

// defaults are the zones answered locally unless local_zones_off names one.
func defaults() []def {
	ds := []def{
		{name: "localhost", kind: Localhost, why: "RFC 6761: loopback"},
		{name: "127.in-addr.arpa", kind: Data, why: "RFC 6761: loopback reverse",
			records: []record{{"1.0.0.127.in-addr.arpa", typePTR, "localhost"}}},
		{name: ip6Reverse("1"), kind: Data, why: "RFC 6761: the ::1 reverse name",
			records: []record{{ip6Reverse("1"), typePTR, "localhost"}}},
		{name: ip6Reverse("0"), why: "RFC 6303: the unspecified address ::"},
		{name: "invalid", why: "RFC 6761: never a real name"},
		{name: "test", why: "RFC 6761: for testing"},
		{name: "onion", why: "RFC 7686: Tor onion services, never in the DNS"},
		{name: "home.arpa", why: "RFC 8375: home networks"},
		{name: "resolver.arpa", why: "RFC 9462: the resolver itself (DDR answers _dns.resolver.arpa when encrypted DNS is on)"},
		{name: "local", why: "RFC 6762: multicast DNS names, never in unicast DNS"},
		{name: "ipv4only.arpa", kind: Data, why: "RFC 8880: NAT64 discovery",
			records: []record{{"ipv4only.arpa", typeA, "192.0.0.170"}, {"ipv4only.arpa", typeA, "192.0.0.171"}}},
		{name: "10.in-addr.arpa", why: "RFC 6303: private space 10/8"},
		{name: "168.192.in-addr.arpa", why: "RFC 6303: private space 192.168/16"},
		{name: "254.169.in-addr.arpa", why: "RFC 6303: link-local 169.254/16"},
		{name: "0.in-addr.arpa", why: "RFC 6303: this network 0/8"},
		{name: "2.0.192.in-addr.arpa", why: "RFC 6303: documentation 192.0.2/24"},
		{name: "100.51.198.in-addr.arpa", why: "RFC 6303: documentation 198.51.100/24"},
		{name: "113.0.203.in-addr.arpa", why: "RFC 6303: documentation 203.0.113/24"},
		{name: "255.255.255.255.in-addr.arpa", why: "RFC 6303: broadcast"},
		{name: "d.f.ip6.arpa", why: "RFC 6303: unique local addresses fd00::/8"},
		{name: "8.e.f.ip6.arpa", why: "RFC 6303: link-local fe80::/10"},
		{name: "9.e.f.ip6.arpa", why: "RFC 6303: link-local fe80::/10"},
		{name: "a.e.f.ip6.arpa", why: "RFC 6303: link-local fe80::/10"},
		{name: "b.e.f.ip6.arpa", why: "RFC 6303: link-local fe80::/10"},
		{name: "8.b.d.0.1.0.0.2.ip6.arpa", why: "RFC 6303: documentation 2001:db8::/32"},
	}
	for i := 16; i <= 31; i++ {
		ds = append(ds, def{name: fmt.Sprintf("%d.172.in-addr.arpa", i), why: "RFC 6303: private space 172.16/12"})
	}
	for i := 64; i <= 127; i++ {
		ds = append(ds, def{name: fmt.Sprintf("%d.100.in-addr.arpa", i), why: "RFC 7793: shared address space 100.64/10"})
	}
	return ds
}

// ip6Reverse is the ip6.arpa name of the address whose 32 nibbles are 31
// zeros and last (the loopback ::1 for "1", :: for "0").
func ip6Reverse(last string) string {
	n := last
	for range 31 {
		n += ".0"
	}
	return n + ".ip6.arpa"
}
