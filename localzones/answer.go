package localzones

import "github.com/civicdns/civicdns/dnswire"

const (
	typeNS  = 2
	typeSOA = 6
)

// Rcode is the answer's rcode for name: NXDOMAIN for a wpad name and for a
// name below a zone's apex that holds no records, else NOERROR.
func (m Match) Rcode(name string) int {
	z := m.Zone
	switch {
	case m.WPAD:
		return dnswire.RcodeNXDomain
	case z == nil, z.Kind == Localhost, name == z.Name, z.data[name] != nil, z.parents[name]:
		return dnswire.RcodeSuccess
	}
	return dnswire.RcodeNXDomain
}

// Write adds the answer's records to r (started with Rcode's rcode): the
// records of qtype the name has, else the zone's SOA in the authority
// section. Records are owned by the question name.
func (m Match) Write(r *dnswire.Reply, name string, qtype uint16) {
	z := m.Zone
	if z == nil {
		return
	}
	r.SetFlags(dnswire.FlagAA)
	n := 0
	for _, x := range m.records(name) {
		if x.rtype == qtype {
			r.AddAnswer(x.rtype, TTL, x.rdata)
			n++
		}
	}
	if n > 0 {
		return
	}
	if name == z.Name || z.Kind == Localhost {
		switch qtype {
		case typeSOA:
			r.AddAnswer(typeSOA, TTL, m.set.soa)
			return
		case typeNS:
			r.AddAnswer(typeNS, TTL, m.set.ns)
			return
		}
	}
	r.AddAuthority(z.owner, typeSOA, TTL, m.set.soa)
}

// records are the name's own records.
func (m Match) records(name string) []rr {
	if m.Zone.Kind == Localhost {
		return m.set.localhost[:]
	}
	return m.Zone.data[name]
}
