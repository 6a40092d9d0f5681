package resolver

import (
	"crypto/x509"
	"net"
	"net/netip"

	"github.com/civicdns/civicdns/dnswire"
	"github.com/civicdns/civicdns/internal/certfile"
	"github.com/civicdns/civicdns/query"
	"github.com/miekg/dns"
)

// DDRName is the name a client asks to discover the resolver's encrypted
// transports (RFC 9462: Discovery of Designated Resolvers).
const DDRName = "_dns.resolver.arpa"

// ddrTTL is how long clients keep the designation.
const ddrTTL = 300

// ddr is the SVCB answer for _dns.resolver.arpa, made once the encrypted
// listeners are bound: one record per transport, each with its port and
// the address hints the certificate covers (a client verifies that the
// certificate names the address it asked), in wire form.
type ddr struct {
	rdatas [][]byte
}

// buildDDR makes the designation for [server] name from the bound
// listeners; nil when there is nothing to designate (no name, no encrypted
// transport, or no listen address the certificate covers).
func buildDDR(name string, leaf *x509.Certificate, dot, doh, doq []netip.AddrPort) *ddr {
	if name == "" || leaf == nil || leaf.VerifyHostname(name) != nil {
		return nil
	}
	d := &ddr{}
	add := func(prio uint16, alpn string, addrs []netip.AddrPort, dohPath bool) {
		var v4, v6 []netip.Addr
		port := uint16(0)
		for _, ap := range addrs {
			ip := ap.Addr().Unmap()
			if !certfile.Covers(leaf, ip) {
				continue
			}
			port = ap.Port()
			if ip.Is4() {
				v4 = append(v4, ip)
			} else {
				v6 = append(v6, ip)
			}
		}
		if port == 0 {
			return
		}
		rr := &dns.SVCB{Hdr: dns.RR_Header{Name: DDRName + ".", Rrtype: dns.TypeSVCB, Class: dns.ClassINET, Ttl: ddrTTL},
			Priority: prio, Target: dns.Fqdn(name)}
		rr.Value = append(rr.Value, &dns.SVCBAlpn{Alpn: []string{alpn}}, &dns.SVCBPort{Port: port})
		if len(v4) > 0 {
			rr.Value = append(rr.Value, &dns.SVCBIPv4Hint{Hint: ipSlice(v4)})
		}
		if len(v6) > 0 {
			rr.Value = append(rr.Value, &dns.SVCBIPv6Hint{Hint: ipSlice(v6)})
		}
		if dohPath {
			rr.Value = append(rr.Value, &dns.SVCBDoHPath{Template: DoHPath + "{?dns}"})
		}
		if rdata := rdataOf(rr); rdata != nil {
			d.rdatas = append(d.rdatas, rdata)
		}
	}
	add(1, "dot", dot, false)
	add(2, "h2", doh, true)
	add(3, "doq", doq, false)
	if len(d.rdatas) == 0 {
		return nil
	}
	return d
}

func ipSlice(ips []netip.Addr) []net.IP {
	out := make([]net.IP, len(ips))
	for i, ip := range ips {
		out[i] = ip.AsSlice()
	}
	return out
}

// rdataOf is an RR's RDATA in wire form.
func rdataOf(rr dns.RR) []byte {
	buf := make([]byte, 512)
	end, err := dns.PackRR(rr, buf, 0, nil, false)
	if err != nil {
		return nil
	}
	// owner (uncompressed), type, class, TTL, RDLENGTH: the RDATA ends the record.
	owner := len(dns.Fqdn(rr.Header().Name)) + 1
	return append([]byte(nil), buf[owner+10:end]...)
}

// answerDDR answers _dns.resolver.arpa: SVCB the designation, other types
// NODATA. It reports false when there is no designation (the local zone
// resolver.arpa answers then).
func (s *Server) answerDDR(q *query.Query) bool {
	d := s.ddr.Load()
	if d == nil || q.Name() != DDRName {
		return false
	}
	r := dnswire.StartReply(q.Out(), q.Raw, &q.Msg, dnswire.RcodeSuccess)
	r.SetFlags(dnswire.FlagAA)
	if q.Msg.QType == dns.TypeSVCB {
		for _, rdata := range d.rdatas {
			r.AddAnswer(dns.TypeSVCB, ddrTTL, rdata)
		}
	}
	if q.Msg.EDNS {
		r.AddOPT(query.AdvertisedUDPSize, q.Msg.DO, dnswire.RcodeSuccess, -1, "")
	}
	q.SetAnswer(r.Bytes(), dnswire.RcodeSuccess)
	return true
}
