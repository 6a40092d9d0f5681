// Command upstream is the benchmark's stand-in for the Internet: a fast
// authoritative-style server on loopback that answers every A question with
// 192.0.2.1 (and AAAA with 2001:db8::1, others with NODATA), TTL 3600, so
// that civicdns and Unbound are measured against the same upstream.
package main

import (
	"flag"
	"log"
	"net"

	"github.com/miekg/dns"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:5390", "UDP and TCP address")
	flag.Parse()
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		if len(r.Question) == 1 {
			q := r.Question[0]
			hdr := dns.RR_Header{Name: q.Name, Rrtype: q.Qtype, Class: dns.ClassINET, Ttl: 3600}
			switch q.Qtype {
			case dns.TypeA:
				m.Answer = []dns.RR{&dns.A{Hdr: hdr, A: net.IPv4(192, 0, 2, 1)}}
			case dns.TypeAAAA:
				m.Answer = []dns.RR{&dns.AAAA{Hdr: hdr, AAAA: net.ParseIP("2001:db8::1")}}
			default:
				m.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 3600},
					Ns: "ns.bench.", Mbox: "admin.bench.", Serial: 1, Refresh: 3600, Retry: 600, Expire: 86400, Minttl: 3600}}
			}
		}
		w.WriteMsg(m)
	})
	errc := make(chan error, 2)
	for _, network := range []string{"udp", "tcp"} {
		s := &dns.Server{Addr: *addr, Net: network, Handler: handler, ReusePort: true}
		go func() { errc <- s.ListenAndServe() }()
	}
	log.Fatal(<-errc)
}
