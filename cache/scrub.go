package cache

import (
	"bytes"
	"strings"

	"github.com/civicdns/civicdns/dnswire"
	"github.com/miekg/dns"
)

// An upstream's answer may carry records about other names than the one
// asked: an unrelated A in the answer section, an NS for another zone and
// an address for it in authority and additional. civicdns never answered
// from them, but it passed them on, and a downstream cache (a branch
// office's dnsmasq, a Windows DNS server forwarding to civicdns) would
// believe them. So every answer is scrubbed before it is cached or
// answered, in forward and in recursive mode, as Unbound does:
//
//   - answer: the question's name and its CNAME/DNAME chain (with their
//     signatures);
//   - authority: the SOA of a negative answer and NS (and DS) records of a
//     zone that encloses the name, with the NSEC/NSEC3 proofs and
//     signatures inside that zone;
//   - additional: only the addresses of those NS names (and their
//     signatures); nothing else.

// plainShape reports whether an answer in wire form needs no scrubbing:
// every answer record is about the name or its CNAME chain, authority
// holds only SOA or NS records of zones enclosing the final name, and
// additional holds only the OPT. Anything else takes the message path,
// which scrubs. name is the question's, lower case, without the dot.
func plainShape(wire []byte, recs []dnswire.Record, name string) bool {
	var buf [2 * 256]byte
	chain := append(buf[:0], name...) // the name the chain has reached
	var prevBuf, owner [256]byte
	var prev []byte // the name before it: its CNAME's signature follows the CNAME
	for i := range recs {
		r := &recs[i]
		o, _, err := dnswire.AppendNameAt(owner[:0], wire, r.Start, true)
		if err != nil {
			return false
		}
		switch r.Section {
		case 0:
			if !bytes.Equal(o, chain) && (prev == nil || !bytes.Equal(o, prev)) {
				return false // about another name, or a chain out of order: the slow path decides
			}
			if r.Type == dns.TypeCNAME && bytes.Equal(o, chain) {
				target, _, err := dnswire.AppendNameAt(buf[256:256], wire, r.Data, true)
				if err != nil {
					return false
				}
				prev = append(prevBuf[:0], chain...)
				chain = append(buf[:0], target...)
			} else if r.Type == dns.TypeDNAME || r.Type == dns.TypeCNAME {
				return false
			}
		case 1:
			if (r.Type != dns.TypeSOA && r.Type != dns.TypeNS) || !enclosesWire(o, chain) {
				return false
			}
		case 2:
			if r.Type != dns.TypeOPT {
				return false
			}
		}
	}
	return true
}

// enclosesWire reports whether zone is name or one of its parents (names
// in the form AppendNameAt gives: no trailing dot, "" the root).
func enclosesWire(zone, name []byte) bool {
	if len(zone) == 0 {
		return true
	}
	return bytes.Equal(zone, name) || len(name) > len(zone) && name[len(name)-len(zone)-1] == '.' && bytes.EqualFold(name[len(name)-len(zone):], zone)
}

// scrub drops from r every record that is not about the question's name
// (see above) and returns how many it dropped. qname is lower case,
// without the trailing dot.
func scrub(qname string, r *dns.Msg) int {
	chain := map[string]bool{dns.Fqdn(qname): true}
	final := dns.Fqdn(qname)
	// The chain in any order: follow CNAMEs and DNAMEs until it stops growing.
	for grew := true; grew; {
		grew = false
		for _, rr := range r.Answer {
			owner := strings.ToLower(rr.Header().Name)
			switch rr := rr.(type) {
			case *dns.CNAME:
				if t := strings.ToLower(rr.Target); chain[owner] && !chain[t] {
					chain[t], final, grew = true, t, true
				}
			case *dns.DNAME:
				if dns.IsSubDomain(owner, final) && !chain[owner] {
					chain[owner], grew = true, true
				}
			}
		}
	}
	dropped := 0
	keep := func(rrs []dns.RR, ok func(rr dns.RR, owner string) bool) []dns.RR {
		out := rrs[:0]
		for _, rr := range rrs {
			if ok(rr, strings.ToLower(rr.Header().Name)) {
				out = append(out, rr)
			} else {
				dropped++
			}
		}
		return out
	}
	r.Answer = keep(r.Answer, func(_ dns.RR, owner string) bool { return chain[owner] })
	negative := r.Rcode == dns.RcodeNameError
	if !negative { // NODATA: no record of the final name but its CNAME
		negative = true
		for _, rr := range r.Answer {
			if t := rr.Header().Rrtype; t != dns.TypeCNAME && t != dns.TypeRRSIG && strings.EqualFold(rr.Header().Name, final) {
				negative = false
			}
		}
	}
	zone, nsNames := "", map[string]bool{}
	for _, rr := range r.Ns {
		owner := strings.ToLower(rr.Header().Name)
		t := rr.Header().Rrtype
		if (t == dns.TypeNS || t == dns.TypeSOA && negative) && dns.IsSubDomain(owner, final) && dns.CountLabel(owner) >= dns.CountLabel(zone) {
			zone = owner
		}
	}
	r.Ns = keep(r.Ns, func(rr dns.RR, owner string) bool {
		switch rr := rr.(type) {
		case *dns.SOA:
			return negative && owner == zone
		case *dns.NS:
			if dns.IsSubDomain(owner, final) {
				nsNames[strings.ToLower(rr.Ns)] = true
				return true
			}
			return false
		case *dns.DS:
			return dns.IsSubDomain(owner, final)
		case *dns.NSEC, *dns.NSEC3, *dns.RRSIG:
			return zone != "" && dns.IsSubDomain(zone, owner)
		}
		return false
	})
	r.Extra = keep(r.Extra, func(rr dns.RR, owner string) bool {
		switch rr := rr.(type) {
		case *dns.OPT:
			return true
		case *dns.A, *dns.AAAA:
			return nsNames[owner]
		case *dns.RRSIG:
			return nsNames[owner] && (rr.TypeCovered == dns.TypeA || rr.TypeCovered == dns.TypeAAAA)
		}
		return false
	})
	return dropped
}
