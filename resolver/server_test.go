package resolver

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/civicdns/civicdns/query"
	"github.com/miekg/dns"
)

func aRecord(t testing.TB, r *dns.Msg) (string, uint32) {
	t.Helper()
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			return a.A.String(), a.Hdr.Ttl
		}
	}
	t.Fatalf("no A record in %v", r)
	return "", 0
}

func ede(r *dns.Msg) (uint16, string, bool) {
	if opt := r.IsEdns0(); opt != nil {
		for _, o := range opt.Option {
			if e, ok := o.(*dns.EDNS0_EDE); ok {
				return e.InfoCode, e.ExtraText, true
			}
		}
	}
	return 0, "", false
}

func TestForwardingOverUDPAndTCP(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.1", 300))
	ts := startServer(t, forwardTo, up.Addr)
	for _, tc := range []struct {
		name, net, qname string
	}{
		{"udp", "udp", "www.example.com"},
		{"tcp", "tcp", "tcp.example.com"},
		{"udp keeps the client's letter case", "udp", "MiXeD.ExAmPlE.cOm"},
		{"tcp keeps the client's letter case", "tcp", "MiXeD.ExAmPlE.cOm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := dnstest.Query(tc.qname, dns.TypeA)
			r := dnstest.Exchange(t, tc.net, ts.Addr, q)
			if r.Id != q.Id || r.Rcode != dns.RcodeSuccess || !r.Response || !r.RecursionAvailable {
				t.Fatalf("bad header: %v", r)
			}
			if r.Question[0].Name != dns.Fqdn(tc.qname) {
				t.Errorf("question %q, want the client's %q", r.Question[0].Name, dns.Fqdn(tc.qname))
			}
			if ip, _ := aRecord(t, r); ip != "192.0.2.1" {
				t.Errorf("A %s", ip)
			}
			if r.IsEdns0() == nil || r.IsEdns0().UDPSize() != 1232 {
				t.Errorf("want OPT advertising 1232, got %v", r.IsEdns0())
			}
		})
	}
}

func TestCacheTTLCountdownAndClamp(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		ttl := "300"
		if strings.HasPrefix(r.Question[0].Name, "long.") {
			ttl = "604800"
		}
		m := new(dns.Msg)
		m.SetReply(r)
		rr, _ := dns.NewRR(r.Question[0].Name + " " + ttl + " IN A 192.0.2.7")
		m.Answer = []dns.RR{rr}
		w.WriteMsg(m)
	})
	// One UDP socket, so that consecutive queries use the same receive buffer.
	ts := startServer(t, strings.Replace(forwardTo, "[upstream]", "udp_sockets = 1\n[upstream]", 1)+"[cache]\nmax_ttl = \"1h\"\n", up.Addr)

	r := dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("count.example", dns.TypeA))
	if _, ttl := aRecord(t, r); ttl != 300 {
		t.Fatalf("first TTL %d, want 300", ttl)
	}
	ts.Clock.Advance(100*time.Second + 500*time.Millisecond)
	r = dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("count.example", dns.TypeA))
	if _, ttl := aRecord(t, r); ttl != 200 {
		t.Errorf("TTL after 100.5s %d, want 200", ttl)
	}
	r = dnstest.Exchange(t, "tcp", ts.Addr, dnstest.Query("count.example", dns.TypeA))
	if _, ttl := aRecord(t, r); ttl != 200 {
		t.Errorf("TTL over TCP %d, want 200", ttl)
	}
	if n := up.Queries(); n != 1 {
		t.Errorf("upstream asked %d times, want 1", n)
	}
	// Another name of the same length goes through the same receive buffer:
	// the cached entry must not change with it.
	for _, other := range []string{"other.example", "xyzzy.example", "plugh.example"} {
		dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query(other, dns.TypeA))
	}
	dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("count.example", dns.TypeA))
	if n := up.Queries(); n != 4 {
		t.Errorf("upstream asked %d times, want 4 (count.example once, the others once each)", n)
	}
	ts.Clock.Advance(200 * time.Second)
	dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("count.example", dns.TypeA))
	if n := up.Queries(); n != 5 {
		t.Errorf("after expiry upstream asked %d times, want 5", n)
	}

	r = dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("long.example", dns.TypeA))
	if _, ttl := aRecord(t, r); ttl != 3600 {
		t.Errorf("TTL %d, want it clamped to max_ttl 3600", ttl)
	}
	if hits := ts.counter(t, "civicdns_cache_hits_total", nil); hits != 3 {
		t.Errorf("cache hits %v, want 3", hits)
	}
}

func TestNegativeCaching(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeNameError)
		soa := dnstest.SOA("example.", 3600)
		soa.(*dns.SOA).Minttl = 60 // RFC 2308: min(SOA TTL, MINIMUM)
		m.Ns = []dns.RR{soa}
		w.WriteMsg(m)
	})
	ts := startServer(t, forwardTo, up.Addr)
	for i := 0; i < 3; i++ {
		r := dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("nope.example", dns.TypeA))
		if r.Rcode != dns.RcodeNameError || len(r.Ns) != 1 {
			t.Fatalf("want NXDOMAIN with SOA, got %v", r)
		}
	}
	if n := up.Queries(); n != 1 {
		t.Errorf("upstream asked %d times, want 1", n)
	}
	ts.Clock.Advance(30 * time.Second)
	r := dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("nope.example", dns.TypeA))
	if ttl := r.Ns[0].Header().Ttl; ttl != 30 {
		t.Errorf("SOA TTL %d after 30s, want 30 (the negative TTL, 60, counted down)", ttl)
	}
	ts.Clock.Advance(31 * time.Second)
	dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("nope.example", dns.TypeA))
	if n := up.Queries(); n != 2 {
		t.Errorf("after the negative TTL upstream asked %d times, want 2", n)
	}
}

func TestPrefetchRefreshesPopularEntries(t *testing.T) {
	t.Parallel()
	var serial atomic.Int32
	up := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		rr, _ := dns.NewRR(r.Question[0].Name + " 100 IN A 192.0.2." + string(rune('0'+serial.Add(1))))
		m.Answer = []dns.RR{rr}
		w.WriteMsg(m)
	})
	ts := startServer(t, forwardTo, up.Addr)
	q := func() *dns.Msg {
		return dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("popular.example", dns.TypeA))
	}
	q()
	<-up.Seen
	for i := 0; i < prefetchMinHits; i++ {
		q() // hits early in the TTL: no prefetch yet
	}
	if n := up.Queries(); n != 1 {
		t.Fatalf("upstream asked %d times before the prefetch window", n)
	}
	ts.Clock.Advance(95 * time.Second)
	r := q() // a hit in the last tenth of the TTL starts the refresh
	if _, ttl := aRecord(t, r); ttl != 5 {
		t.Errorf("TTL %d, want 5 (still the old entry)", ttl)
	}
	select {
	case <-up.Seen:
	case <-time.After(5 * time.Second):
		t.Fatal("no prefetch reached the upstream")
	}
	// The refreshed entry replaces the old one once the refresh is stored.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ip, ttl := aRecord(t, q())
		if ip == "192.0.2.2" && ttl == 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("refreshed entry never served (got %s ttl %d)", ip, ttl)
		}
	}
	if got := ts.counter(t, "civicdns_cache_prefetches_total", nil); got != 1 {
		t.Errorf("prefetches %v, want 1", got)
	}
}

// switchable answers normally until fail is set, then drops every query.
type switchable struct {
	fail atomic.Bool
	ttl  uint32
}

func (s *switchable) handle(w dns.ResponseWriter, r *dns.Msg) {
	if s.fail.Load() {
		return
	}
	dnstest.Answer("192.0.2.9", s.ttl)(w, r)
}

func TestServeStaleWhenUpstreamsFail(t *testing.T) {
	t.Parallel()
	sw := &switchable{ttl: 10}
	up := dnstest.StartUpstream(t, sw.handle)
	ts := startServer(t, forwardTo+"[cache]\nserve_stale = \"1h\"\n", up.Addr)
	dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("stale.example", dns.TypeA))
	sw.fail.Store(true)
	ts.Clock.Advance(20 * time.Second)

	r := dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("stale.example", dns.TypeA))
	ip, ttl := aRecord(t, r)
	if ip != "192.0.2.9" || ttl != 30 {
		t.Errorf("stale answer %s ttl %d, want 192.0.2.9 ttl 30", ip, ttl)
	}
	if code, _, ok := ede(r); !ok || code != dns.ExtendedErrorCodeStaleAnswer {
		t.Errorf("want EDE 3 (Stale Answer), got %d %v", code, ok)
	}
	if got := ts.counter(t, "civicdns_cache_stale_answers_total", nil); got != 1 {
		t.Errorf("stale answers %v, want 1", got)
	}

	ts.Clock.Advance(2 * time.Hour) // past serve_stale
	r = dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("stale.example", dns.TypeA))
	if r.Rcode != dns.RcodeServerFailure {
		t.Errorf("past serve_stale: %s, want SERVFAIL", dns.RcodeToString[r.Rcode])
	}
}

func TestServfailWithEDEWhenEveryUpstreamFails(t *testing.T) {
	t.Parallel()
	dead := &switchable{}
	dead.fail.Store(true)
	up1 := dnstest.StartUpstream(t, dead.handle)
	up2 := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeServerFailure)
		w.WriteMsg(m)
	})
	ts := startServer(t, forwardTo, up1.Addr, up2.Addr)
	for _, network := range []string{"udp", "tcp"} {
		r := dnstest.Exchange(t, network, ts.Addr, dnstest.Query("fail.example", dns.TypeA))
		if r.Rcode != dns.RcodeServerFailure {
			t.Fatalf("%s: %s, want SERVFAIL", network, dns.RcodeToString[r.Rcode])
		}
		if code, text, ok := ede(r); !ok || code != dns.ExtendedErrorCodeNoReachableAuthority || text == "" {
			t.Errorf("%s: want EDE 22 with text, got %d %q %v", network, code, text, ok)
		}
	}
	if got := ts.counter(t, "civicdns_upstream_errors_total", map[string]string{"upstream": up2.Addr, "kind": "servfail"}); got < 1 {
		t.Errorf("upstream errors for %s: %v", up2.Addr, got)
	}
}

func TestFailoverToTheNextUpstream(t *testing.T) {
	t.Parallel()
	// A UDP port nobody listens on: the kernel refuses at once.
	pc, _ := net.ListenPacket("udp", "127.0.0.1:0")
	deadAddr := pc.LocalAddr().String()
	pc.Close()
	slow := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {}) // never answers: timeout
	good := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.3", 60))
	ts := startServer(t, forwardTo, deadAddr, slow.Addr, good.Addr)
	r := dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("failover.example", dns.TypeA))
	if ip, _ := aRecord(t, r); ip != "192.0.2.3" {
		t.Fatalf("got %s", ip)
	}
	// The failed ones are now set aside: the next miss goes straight to the good one.
	before := slow.Queries()
	r = dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("failover2.example", dns.TypeA))
	if ip, _ := aRecord(t, r); ip != "192.0.2.3" || slow.Queries() != before {
		t.Errorf("second miss: %s; slow upstream asked again: %v", ip, slow.Queries() != before)
	}
}

func TestConditionalForwardingLongestZoneWins(t *testing.T) {
	t.Parallel()
	def := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.1", 60))
	corp := dnstest.StartUpstream(t, dnstest.Answer("10.0.0.1", 60))
	lab := dnstest.StartUpstream(t, dnstest.Answer("10.9.0.1", 60))
	cfg := forwardTo + `
[[upstream.zone]]
name = "City.Internal."
servers = ["` + corp.Addr + `"]
[[upstream.zone]]
name = "lab.city.internal"
servers = ["` + lab.Addr + `"]
`
	ts := startServer(t, cfg, def.Addr)
	for _, tc := range []struct{ name, want string }{
		{"www.example.com", "192.0.2.1"},
		{"city.internal", "10.0.0.1"},
		{"dc1.CITY.internal", "10.0.0.1"},
		{"x.lab.city.internal", "10.9.0.1"},
		{"notcity.internal", "192.0.2.1"},
	} {
		r := dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query(tc.name, dns.TypeA))
		if ip, _ := aRecord(t, r); ip != tc.want {
			t.Errorf("%s → %s, want %s", tc.name, ip, tc.want)
		}
	}
}

func TestIdenticalMissesShareOneUpstreamQuery(t *testing.T) {
	t.Parallel()
	up, release := heldUpstream(t, "192.0.2.4")
	ts := startServer(t, strings.Replace(forwardTo, "500ms", "10s", 1), up.Addr)
	const clients = 20
	var wg sync.WaitGroup
	answers := make(chan string, clients)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := dnstest.TryExchange("udp", ts.Addr, dnstest.Query("same.example", dns.TypeA))
			if err != nil {
				t.Error(err)
				answers <- ""
				return
			}
			answers <- dnstest.FirstA(r)
		}()
	}
	key := flightKey(question{"same.example", dns.TypeA, dns.ClassINET, 0})
	cs := ts.cacheStage()
	for cs.flights.Waiting(key) < clients {
		select {
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d clients joined the exchange", cs.flights.Waiting(key))
		default:
			time.Sleep(time.Millisecond) // polling the condition, not standing in for it
		}
	}
	close(release)
	wg.Wait()
	close(answers)
	for ip := range answers {
		if ip != "192.0.2.4" {
			t.Errorf("answer %s", ip)
		}
	}
	if n := up.Queries(); n != 1 {
		t.Errorf("upstream asked %d times for %d identical misses, want 1", n, clients)
	}
}

func TestCachedNameDoesNotViewTheQueryBuffer(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.8", 300))
	ts := startServer(t, forwardTo, up.Addr)
	buf := []byte("alias.example")
	name := query.NameString(buf)
	h := ts.cache.Key(name, dns.TypeA, dns.ClassINET, 0)
	if _, err := ts.cacheStage().fetch(ts.State.Snapshot(), h, question{name, dns.TypeA, dns.ClassINET, 0}); err != nil {
		t.Fatal(err)
	}
	copy(buf, "zzzzz") // the receive buffer is reused for the next query
	if ts.cache.Get(h, "alias.example", dns.TypeA, dns.ClassINET, 0, time.Now()) == nil {
		t.Fatal("the cached entry changed with the query buffer")
	}
}

func TestServesIPv6(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.1", 60))
	cfgText := strings.Replace(forwardTo, "%s", `"`+up.Addr+`"`, 1)
	v6 := startServerListen(t, `["[::1]:0"]`, cfgText)
	for _, network := range []string{"udp", "tcp"} {
		r := dnstest.Exchange(t, network, v6.Addr, dnstest.Query("v6.example", dns.TypeA))
		if ip, _ := aRecord(t, r); ip != "192.0.2.1" {
			t.Errorf("%s over IPv6: %s", network, ip)
		}
	}
	if got := v6.counter(t, "civicdns_queries_total", map[string]string{"action": "allowed"}); got != 2 {
		t.Errorf("queries %v", got)
	}
}
