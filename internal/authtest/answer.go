package authtest

import (
	"sort"
	"strings"

	"github.com/civicdns/civicdns/dnssec"
	"github.com/miekg/dns"
)

// Answer is the zone's authoritative answer to one question: a referral
// below a delegation, DNAME substitution, CNAMEs chased inside the zone,
// wildcards, NODATA and NXDOMAIN with the SOA, and with do the signatures
// and NSEC or NSEC3 proofs.
func (z *Zone) Answer(q dns.Question, do bool) *dns.Msg {
	m := new(dns.Msg)
	m.Authoritative = true
	qname := dns.CanonicalName(q.Name)
	if !dns.IsSubDomain(z.Origin, qname) {
		m.Rcode = dns.RcodeRefused
		m.Authoritative = false
		return m
	}
	for hop := 0; hop < 8; hop++ {
		next := z.answerName(m, qname, q.Qtype, do)
		if next == "" || !dns.IsSubDomain(z.Origin, next) {
			return m
		}
		qname = next
	}
	return m
}

func (z *Zone) rrs(name string, t uint16, do bool) []dns.RR {
	out := append([]dns.RR(nil), z.sets[key{name, t}]...)
	if do {
		out = append(out, z.sigs[key{name, t}]...)
	}
	return out
}

// answerName answers for one name into m; it returns a CNAME target to
// chase, or "".
func (z *Zone) answerName(m *dns.Msg, qname string, qtype uint16, do bool) string {
	if c := z.cutAbove(qname); c != "" && !(qtype == dns.TypeDS && c == qname) {
		if len(m.Answer) == 0 { // else a CNAME into a delegated zone: the resolver goes on from there
			z.referral(m, c, do)
		}
		return ""
	}
	if z.dname(m, qname, do) {
		return ""
	}
	if len(z.types(qname)) > 0 {
		return z.atName(m, qname, qtype, do)
	}
	if z.ent(qname) {
		z.negative(m, do, z.noDataProof(qname))
		return ""
	}
	ce := z.closestEncloser(qname)
	wc := "*." + ce
	if len(z.types(wc)) > 0 {
		z.wildcard(m, qname, qtype, ce, wc, do)
		return ""
	}
	m.Rcode = dns.RcodeNameError
	proof := z.coverProof(qname, ce)
	if z.nsec3 != nil {
		proof = append(proof, z.nsec3Proof(wc, false)...)
	} else {
		proof = append(proof, z.nsecProof(wc)...)
	}
	z.negative(m, do, proof)
	return ""
}

// referral answers with the delegation at cut c: its NS, DS (or the proof
// there is none) and the glue.
func (z *Zone) referral(m *dns.Msg, c string, do bool) {
	m.Authoritative = false
	m.Ns = append(m.Ns, z.sets[key{c, dns.TypeNS}]...)
	if do {
		if ds := z.rrs(c, dns.TypeDS, true); len(ds) > 0 {
			m.Ns = append(m.Ns, ds...)
		} else if z.signed {
			m.Ns = append(m.Ns, z.noDataProof(c)...)
		}
	}
	z.addresses(m, c, false)
}

// addresses adds the A and AAAA of the name servers of owner inside the
// zone (skipping glue when noGlue).
func (z *Zone) addresses(m *dns.Msg, owner string, noGlue bool) {
	for _, rr := range z.sets[key{owner, dns.TypeNS}] {
		target := dns.CanonicalName(rr.(*dns.NS).Ns)
		if dns.IsSubDomain(z.Origin, target) && !(noGlue && z.glue(target)) {
			m.Extra = append(m.Extra, z.sets[key{target, dns.TypeA}]...)
			m.Extra = append(m.Extra, z.sets[key{target, dns.TypeAAAA}]...)
		}
	}
}

// dname answers from a DNAME above qname (and the CNAME it makes), when
// there is one.
func (z *Zone) dname(m *dns.Msg, qname string, do bool) bool {
	for a := dnssec.Parent(qname); dns.IsSubDomain(z.Origin, a); a = dnssec.Parent(a) {
		if d := z.sets[key{a, dns.TypeDNAME}]; len(d) > 0 {
			m.Answer = append(m.Answer, z.rrs(a, dns.TypeDNAME, do)...)
			target := strings.TrimSuffix(qname, a) + dns.CanonicalName(d[0].(*dns.DNAME).Target)
			m.Answer = append(m.Answer, &dns.CNAME{Hdr: dns.RR_Header{Name: qname, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: d[0].Header().Ttl}, Target: target})
			return true
		}
		if a == z.Origin {
			break
		}
	}
	return false
}

// atName answers for a name that has records: the type asked, a CNAME
// (whose target it returns), or no data.
func (z *Zone) atName(m *dns.Msg, qname string, qtype uint16, do bool) string {
	if set := z.rrs(qname, qtype, do); len(set) > 0 {
		m.Answer = append(m.Answer, set...)
		if qtype == dns.TypeNS { // the addresses of the zone's own name servers, as servers add them
			z.addresses(m, qname, true)
		}
		return ""
	}
	if c := z.sets[key{qname, dns.TypeCNAME}]; len(c) > 0 {
		m.Answer = append(m.Answer, z.rrs(qname, dns.TypeCNAME, do)...)
		return dns.CanonicalName(c[0].(*dns.CNAME).Target)
	}
	z.negative(m, do, z.noDataProof(qname))
	return ""
}

// wildcard answers from the wildcard wc under closest encloser ce.
func (z *Zone) wildcard(m *dns.Msg, qname string, qtype uint16, ce, wc string, do bool) {
	proof := z.coverProof(qname, ce)
	set := z.sets[key{wc, qtype}]
	if len(set) == 0 {
		z.negative(m, do, append(proof, z.noDataProof(wc)...))
		return
	}
	for _, rr := range set {
		c := dns.Copy(rr)
		c.Header().Name = qname
		m.Answer = append(m.Answer, c)
	}
	if do {
		for _, rr := range z.sigs[key{wc, qtype}] {
			c := dns.Copy(rr)
			c.Header().Name = qname
			m.Answer = append(m.Answer, c)
		}
		m.Ns = append(m.Ns, proof...)
	}
}

func (z *Zone) negative(m *dns.Msg, do bool, proof []dns.RR) {
	m.Ns = append(m.Ns, z.rrs(z.Origin, dns.TypeSOA, do)...)
	if do {
		m.Ns = append(m.Ns, dedupe(proof)...)
	}
}

func dedupe(rrs []dns.RR) []dns.RR {
	var out []dns.RR
	seen := map[string]bool{}
	for _, rr := range rrs {
		if s := rr.String(); !seen[s] {
			seen[s] = true
			out = append(out, rr)
		}
	}
	return out
}

// ent reports whether name is an empty non-terminal of the zone.
func (z *Zone) ent(name string) bool { return z.above[name] }

func (z *Zone) closestEncloser(name string) string {
	for a := dnssec.Parent(name); ; a = dnssec.Parent(a) {
		if len(z.types(a)) > 0 || z.ent(a) || a == z.Origin {
			return a
		}
	}
}

// noDataProof proves that name has no records of the type asked.
func (z *Zone) noDataProof(name string) []dns.RR {
	if !z.signed {
		return nil
	}
	if z.nsec3 != nil {
		if p := z.nsec3Proof(name, true); len(p) > 0 {
			return p
		}
		// Opt-out: the closest encloser and the span covering the next closer.
		ce := z.closestEncloser(name)
		return append(z.nsec3Proof(ce, true), z.nsec3Proof(dnssec.NextCloser(name, ce), false)...)
	}
	if set := z.rrs(name, dns.TypeNSEC, true); len(set) > 0 {
		return set
	}
	return z.nsecProof(name) // an empty non-terminal
}

// coverProof proves that name does not exist below its closest encloser ce.
func (z *Zone) coverProof(name, ce string) []dns.RR {
	if !z.signed {
		return nil
	}
	if z.nsec3 != nil {
		return append(z.nsec3Proof(ce, true), z.nsec3Proof(dnssec.NextCloser(name, ce), false)...)
	}
	return z.nsecProof(name)
}

// nsecProof is the NSEC whose span holds name.
func (z *Zone) nsecProof(name string) []dns.RR {
	if len(z.nsecs) == 0 {
		return nil
	}
	// The last owner at or before name, or the last of all (the span that wraps).
	i := sort.Search(len(z.nsecs), func(i int) bool { return dnssec.CanonicalCompare(z.nsecs[i], name) > 0 })
	owner := z.nsecs[(i-1+len(z.nsecs))%len(z.nsecs)]
	k := key{owner, dns.TypeNSEC}
	return append(append([]dns.RR(nil), z.sets[k]...), z.sigs[k]...)
}

// nsec3Proof is the NSEC3 matching name (match) or whose span covers it.
func (z *Zone) nsec3Proof(name string, match bool) []dns.RR {
	for k, set := range z.sets {
		if k.rtype != dns.TypeNSEC3 {
			continue
		}
		n := set[0].(*dns.NSEC3)
		if match && n.Match(name) || !match && n.Cover(name) {
			return append([]dns.RR{n}, z.sigs[k]...)
		}
	}
	return nil
}
