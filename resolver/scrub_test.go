package resolver

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/authtest"
	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/civicdns/civicdns/recursive"
	"github.com/miekg/dns"
)

// A lying upstream adds records about other names to its answers; the
// client gets only the name's own records and its CNAME chain, NS of
// enclosing zones with their addresses, the SOA of a negative answer.
func TestOutOfZoneRecordsNeverReachClients(t *testing.T) {
	t.Parallel()
	rr := func(s string) dns.RR {
		r, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	up := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		switch q := r.Question[0].Name; q {
		case "www.victim.example.":
			m.Answer = []dns.RR{rr(q + " 300 IN A 192.0.2.1"), rr("bank.example. 300 IN A 203.0.113.66")}
			m.Ns = []dns.RR{rr("victim.example. 300 IN NS ns1.victim.example."), rr("bank.example. 300 IN NS ns.evil.example.")}
			m.Extra = []dns.RR{rr("ns1.victim.example. 300 IN A 192.0.2.53"), rr("ns.evil.example. 300 IN A 203.0.113.53"), rr("www.bank.example. 300 IN A 203.0.113.67")}
		case "alias.victim.example.":
			m.Answer = []dns.RR{rr("unrelated.example. 300 IN A 203.0.113.1"), rr(q + " 300 IN CNAME cdn.victim.example."), rr("cdn.victim.example. 300 IN A 192.0.2.9")}
		case "none.victim.example.":
			m.Rcode = dns.RcodeNameError
			m.Ns = []dns.RR{rr("victim.example. 300 IN SOA ns1.victim.example. host.victim.example. 1 3600 600 86400 60"), rr("example. 300 IN SOA a.example. b.example. 1 3600 600 86400 60"),
				rr("bank.example. 300 IN NS ns.evil.example.")}
		}
		w.WriteMsg(m)
	})
	ts := startServer(t, forwardTo, up.Addr)
	names := func(rrs []dns.RR) string {
		var out []string
		for _, r := range rrs {
			if r.Header().Rrtype != dns.TypeOPT {
				out = append(out, strings.TrimSuffix(r.Header().Name, ".")+"/"+dns.TypeToString[r.Header().Rrtype])
			}
		}
		sort.Strings(out)
		return strings.Join(out, " ")
	}
	for _, tc := range []struct{ name, answer, ns, extra string }{
		{"www.victim.example", "www.victim.example/A", "victim.example/NS", "ns1.victim.example/A"},
		{"alias.victim.example", "alias.victim.example/CNAME cdn.victim.example/A", "", ""},
		{"none.victim.example", "", "victim.example/SOA", ""},
	} {
		for _, proto := range []string{"udp", "tcp"} {
			for round := range 2 { // from the upstream, then from the cache
				r := dnstest.Exchange(t, proto, ts.Addr, dnstest.Query(tc.name, dns.TypeA))
				if got := names(r.Answer); got != tc.answer {
					t.Errorf("%s %s round %d: answer %q, want %q", tc.name, proto, round, got, tc.answer)
				}
				if got := names(r.Ns); got != tc.ns {
					t.Errorf("%s %s round %d: authority %q, want %q", tc.name, proto, round, got, tc.ns)
				}
				if got := names(r.Extra); got != tc.extra {
					t.Errorf("%s %s round %d: additional %q, want %q", tc.name, proto, round, got, tc.extra)
				}
			}
		}
	}
}

// In recursive mode too: a lying authoritative server's extra records
// about other names never reach the client.
func TestOutOfZoneRecordsNeverReachClientsInRecursiveMode(t *testing.T) {
	t.Parallel()
	h := authtest.New(t)
	rootAddr, liarAddr := h.Addr(), h.Addr()
	soa := "@ SOA ns.invalid. admin.invalid. 1 3600 600 86400 300\n"
	liar := authtest.NewZone(t, "liar.example.", soa+"@ NS ns\nns A "+liarAddr+"\nwww A 192.0.2.5\n")
	root := authtest.NewZone(t, ".", soa+"@ NS a.root.\na.root. A "+rootAddr+"\nliar.example. NS ns.liar.example.\nns.liar.example. A "+liarAddr+"\n")
	h.Serve(rootAddr, root)
	srv := h.Serve(liarAddr, liar)
	srv.SetRewrite(func(_ bool, q, m *dns.Msg) *dns.Msg {
		extra, _ := dns.NewRR("bank.example. 300 IN A 203.0.113.66")
		ns, _ := dns.NewRR("bank.example. 300 IN NS ns.evil.example.")
		glue, _ := dns.NewRR("ns.evil.example. 300 IN A 203.0.113.53")
		m.Answer = append(m.Answer, extra)
		m.Ns = append(m.Ns, ns)
		m.Extra = append(m.Extra, glue)
		return m
	})
	ts := startServerRecursion(t, time.Now, nil, `["127.0.0.1:0"]`, "[upstream]\nmode = \"recursive\"\ndnssec = false\nroot_hints = \""+
		h.RootHints(map[string]string{"a.root.": rootAddr})+"\"\n[metrics]\nlisten = \"\"\n", func(o *recursive.Options) { o.Port = h.Port })
	r := dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("www.liar.example", dns.TypeA))
	if len(r.Answer) != 1 || r.Answer[0].Header().Name != "www.liar.example." {
		t.Errorf("answer %v", r.Answer)
	}
	for _, rr := range append(append(r.Answer, r.Ns...), r.Extra...) {
		if strings.Contains(rr.Header().Name, "bank.") || strings.Contains(rr.Header().Name, "evil.") {
			t.Errorf("an out-of-zone record reached the client: %v", rr)
		}
	}
}
