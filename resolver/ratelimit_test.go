package resolver

import (
	"crypto/tls"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/miekg/dns"
)

// flood sends n queries from src over UDP, paced at qps, and counts the
// full answers and the empty TC=1 ones that come back, and how long the
// sending took.
func flood(t *testing.T, src, dst string, n, qps int) (full, tc int, took time.Duration) {
	t.Helper()
	c, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(mustAddrPort(src)), net.UDPAddrFromAddrPort(mustAddrPort(dst)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 2048)
		for {
			c.SetReadDeadline(time.Now().Add(500 * time.Millisecond)) // the last answer's wait
			k, err := c.Read(buf)
			if err != nil {
				return
			}
			m := new(dns.Msg)
			if m.Unpack(buf[:k]) != nil {
				continue
			}
			if m.Truncated {
				tc++
			} else {
				full++
			}
		}
	}()
	wire := mustPack(t, dnstest.Query("www.example.com", dns.TypeA))
	start := time.Now()
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(qps))); wait > 0 {
			time.Sleep(wait) // pacing the load, not waiting for an event
		}
		c.Write(wire)
	}
	took = time.Since(start)
	wg.Wait()
	return full, tc, took
}

// allowance is what a client limited to 100 a second with a burst of 200
// may get in d, with room for the scheduler.
func allowance(d time.Duration) int { return 200 + int(100*d.Seconds()) + 40 }

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// A flooder is held to its rate while another client is answered in full:
// on UDP the flooder's excess gets an empty TC=1 every 2nd query (slip) and
// nothing otherwise; on DoT, REFUSED.
func TestFloodHurtsNoOne(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.20", 300))
	ts, pool, _ := encryptedServer(t, up.Addr, "[server.rate_limit]\nqueries = 100\n")
	var polite int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // 50 qps from another address, while the flood runs
		defer wg.Done()
		for range 25 {
			time.Sleep(20 * time.Millisecond) // 50 queries a second
			c := &dns.Client{Net: "udp", Timeout: 2 * time.Second, Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 3)}}}
			if r, _, err := c.Exchange(dnstest.Query("polite.example", dns.TypeA), ts.Addr); err == nil && r.Rcode == dns.RcodeSuccess && !r.Truncated && len(r.Answer) == 1 {
				polite++
			}
		}
	}()
	full, tc, took := flood(t, "127.0.0.2:0", ts.Addr, 2500, 5000) // half a second at 5,000 qps
	wg.Wait()
	// 200 at once (the burst), then 100 a second; every 2nd of the rest a TC=1.
	if full > allowance(took) || full < 200 || tc < (2500-allowance(took))/2-50 {
		t.Errorf("the flooder got %d full answers and %d TC=1 of 2,500 in %s", full, tc, took)
	}
	if polite != 25 {
		t.Errorf("the polite client got %d of 25 answers", polite)
	}
	if n := ts.counter(t, "civicdns_rate_limited_total", map[string]string{"transport": "udp"}); n < 2000 {
		t.Errorf("civicdns_rate_limited_total{transport=udp} = %v", n)
	}
	// The same over DoT, pipelined on one connection: REFUSED past the limit.
	conn, err := tls.DialWithDialer(&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 4)}}, "tcp", ts.TLSAddrs()[0].String(),
		&tls.Config{RootCAs: pool, ServerName: "dns.city.example"})
	if err != nil {
		t.Fatal(err)
	}
	dc := &dns.Conn{Conn: conn}
	defer dc.Close()
	start := time.Now()
	for i := range 1000 {
		q := dnstest.Query("www.example.com", dns.TypeA)
		q.Id = uint16(i)
		if err := dc.WriteMsg(q); err != nil {
			t.Fatal(err)
		}
	}
	refused, ok := 0, 0
	dc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for range 1000 {
		r, err := dc.ReadMsg()
		if err != nil {
			t.Fatalf("DoT after %d answers: %v", refused+ok, err)
		}
		switch r.Rcode {
		case dns.RcodeRefused:
			refused++
		case dns.RcodeSuccess:
			ok++
		}
	}
	if took := time.Since(start); ok > allowance(took) || refused < 1000-allowance(took) {
		t.Errorf("DoT flood: %d answered, %d refused of 1,000 in %s", ok, refused, took)
	}
}
