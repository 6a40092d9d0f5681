package resolver

import (
	"net/netip"
	"testing"

	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/miekg/dns"
)

// [server] allow: a client outside it gets REFUSED with EDE 18 on UDP and
// TCP, and nothing is asked upstream or answered from the cache for it;
// a client inside is served.
func TestClientsOutsideAllowAreRefused(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.1", 300))
	ts := startServer(t, "allow = [\"127.0.0.1/32\"]\n"+forwardTo, up.Addr)
	q := dnstest.Query("www.example.com", dns.TypeA)
	if r := exchangeFrom(t, "127.0.0.1", ts.Addr, q); r.Rcode != dns.RcodeSuccess {
		t.Fatalf("an allowed client: %s", dns.RcodeToString[r.Rcode])
	}
	asked := up.Queries()
	for range 3 {
		r := exchangeFrom(t, "127.0.0.9", ts.Addr, dnstest.Query("www.example.com", dns.TypeA))
		if code, _, _ := ede(r); r.Rcode != dns.RcodeRefused || len(r.Answer) != 0 || code != 18 {
			t.Fatalf("a client outside allow: %s, %d answers, EDE %d", dns.RcodeToString[r.Rcode], len(r.Answer), code)
		}
		r = exchangeFrom(t, "127.0.0.9", ts.Addr, dnstest.Query("www.never-asked.example", dns.TypeA))
		if r.Rcode != dns.RcodeRefused {
			t.Fatalf("a client outside allow, a new name: %s", dns.RcodeToString[r.Rcode])
		}
	}
	if up.Queries() != asked {
		t.Errorf("the upstream was asked %d times for a refused client", up.Queries()-asked)
	}
	if got := ts.counter(t, "civicdns_queries_total", map[string]string{"action": "refused"}); got != 6 {
		t.Errorf("refused queries counted %v, want 6", got)
	}
}

// By default, loopback and every department's networks are served.
func TestDefaultAllowIsLoopbackAndDepartments(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.1", 300))
	ts := startServer(t, forwardTo, up.Addr)
	if r := exchangeFrom(t, "127.0.0.9", ts.Addr, dnstest.Query("www.example.com", dns.TypeA)); r.Rcode != dns.RcodeSuccess {
		t.Errorf("loopback by default: %s", dns.RcodeToString[r.Rcode])
	}
	snap := ts.State.Snapshot()
	for _, tc := range []struct {
		addr string
		want bool
	}{{"127.0.0.1", true}, {"::1", true}, {"10.20.3.4", false}, {"192.0.2.1", false}} {
		if got := snap.Policy.Served(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("%s served: %v", tc.addr, got)
		}
	}
}
