package resolver

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/miekg/dns"
)

// BenchmarkPoliteClientUnderFlood: a flooder at 5,000 queries a second
// against [server.rate_limit] queries = 100, and another client asking
// 50 a second meanwhile, for 3 seconds, on the real clock; over UDP, then
// over DoT (each from an address of its own, the polite client on one
// kept connection). Reported: the polite client's p99 and worst latency,
// its answers missed, and the flooder's answers a second (full answers:
// the burst, then about 100/s; UDP also gets slipped TC=1, not counted).
func BenchmarkPoliteClientUnderFlood(b *testing.B) {
	up := dnstest.StartUpstream(b, dnstest.Answer("192.0.2.20", 300))
	certPath, keyPath, pool := dnstest.CertFiles(b, "dns.city.example")
	ts := startServerClock(b, time.Now, fmt.Sprintf("tls_listen = [\"127.0.0.1:0\"]\ntls_cert = %q\ntls_key = %q\n[server.rate_limit]\nqueries = 100\n[upstream]\nservers = [%%s]\n", certPath, keyPath), up.Addr)
	const seconds = 3
	for _, transport := range []string{"udp", "tls"} {
		b.Run(transport, func(b *testing.B) {
			for range b.N {
				stop := make(chan struct{})
				var flooded, sent int
				var wg sync.WaitGroup
				wg.Add(1)
				go func() { defer wg.Done(); flooded, sent = floodFor(b, transport, ts, pool, stop) }()
				lat, missed := politeFor(b, transport, ts, pool, seconds*50)
				close(stop)
				wg.Wait()
				slices.Sort(lat)
				p99 := lat[len(lat)*99/100]
				b.ReportMetric(float64(p99.Microseconds())/1000, "polite-p99-ms")
				b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "polite-worst-ms")
				b.ReportMetric(float64(missed), "polite-missed")
				b.ReportMetric(float64(flooded)/seconds, "flooder-answers/s")
				b.ReportMetric(float64(sent)/seconds, "flooder-sent/s")
			}
		})
	}
}

// politeFor asks n queries at 50 a second from 127.0.0.3 and returns each
// answered one's latency and how many got no full answer.
func politeFor(b *testing.B, transport string, ts *testServer, pool *x509.CertPool, n int) ([]time.Duration, int) {
	c := &dns.Client{Net: "udp", Timeout: time.Second, Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 3)}}}
	addr := ts.Addr
	var conn *dns.Conn
	if transport == "tls" {
		c.Net, c.Dialer = "tcp-tls", &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 3)}}
		c.TLSConfig = &tls.Config{RootCAs: pool, ServerName: "dns.city.example"}
		addr = ts.TLSAddrs()[0].String()
		var err error
		if conn, err = c.Dial(addr); err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
	}
	var lat []time.Duration
	missed := 0
	start := time.Now()
	for i := range n {
		time.Sleep(time.Until(start.Add(time.Duration(i) * 20 * time.Millisecond))) // pacing: 50 a second
		q := dnstest.Query("polite.example", dns.TypeA)
		var r *dns.Msg
		var rtt time.Duration
		var err error
		if conn != nil {
			r, rtt, err = c.ExchangeWithConn(q, conn)
		} else {
			r, rtt, err = c.Exchange(q, addr)
		}
		if err != nil || r.Rcode != dns.RcodeSuccess || r.Truncated || len(r.Answer) != 1 {
			missed++
			continue
		}
		lat = append(lat, rtt)
	}
	if len(lat) == 0 {
		b.Fatal("the polite client got no answer")
	}
	return lat, missed
}

// floodFor sends 5,000 queries a second until stop, from 127.0.0.2 over
// UDP or 127.0.0.4 over one pipelined DoT connection, and returns the full
// answers it got (NOERROR with an answer; not TC=1, not REFUSED).
func floodFor(b *testing.B, transport string, ts *testServer, pool *x509.CertPool, stop <-chan struct{}) (answers, sent int) {
	var conn net.Conn
	var err error
	if transport == "tls" {
		conn, err = tls.DialWithDialer(&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 4)}}, "tcp", ts.TLSAddrs()[0].String(),
			&tls.Config{RootCAs: pool, ServerName: "dns.city.example"})
	} else {
		conn, err = net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)}, net.UDPAddrFromAddrPort(mustAddrPort(ts.Addr)))
	}
	if err != nil {
		b.Error(err)
		return 0, 0
	}
	dc := &dns.Conn{Conn: conn}
	var full atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			dc.SetReadDeadline(time.Now().Add(time.Second))
			r, err := dc.ReadMsg()
			if err != nil {
				return
			}
			if r.Rcode == dns.RcodeSuccess && !r.Truncated && len(r.Answer) > 0 {
				full.Add(1)
			}
		}
	}()
	q := dnstest.Query("www.example.com", dns.TypeA)
	start := time.Now()
	for i := 0; ; i++ {
		select {
		case <-stop:
			conn.Close()
			<-done
			return int(full.Load()), i
		default:
		}
		time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / 5000))) // pacing the load
		q.Id = uint16(i)
		dc.SetWriteDeadline(time.Now().Add(time.Second))
		if dc.WriteMsg(q) != nil && transport == "tls" {
			conn.Close()
			<-done
			return int(full.Load()), i
		}
	}
}
