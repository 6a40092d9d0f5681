package resolver

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/miekg/dns"
)

// rawExchange sends bad, then a good query on the same socket, and returns
// the first answer: a bad packet that must get no answer shows up as the
// good query's answer coming first, with no timeout to wait out.
func rawExchange(t *testing.T, addr string, bad []byte) *dns.Msg {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	good := dnstest.Query("good.example", dns.TypeA)
	good.Id = 0xBEEF
	gw, _ := good.Pack()
	c.Write(bad)
	c.Write(gw)
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	r := new(dns.Msg)
	if err := r.Unpack(buf[:n]); err != nil {
		// A header-only FORMERR unpacks fine; anything else is a bug.
		t.Fatalf("unpack answer: %v", err)
	}
	return r
}

func packed(t *testing.T, m *dns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBadQueriesGetTheRightRcode(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.1", 60))
	ts := startServer(t, forwardTo, up.Addr)

	twoQuestions := dnstest.Query("a.example", dns.TypeA)
	twoQuestions.Question = append(twoQuestions.Question, dns.Question{Name: "b.example.", Qtype: dns.TypeA, Qclass: dns.ClassINET})
	status := dnstest.Query("a.example", dns.TypeA)
	status.Opcode = dns.OpcodeStatus
	edns1 := dnstest.Query("a.example", dns.TypeA)
	edns1.IsEdns0().SetVersion(1)
	response := dnstest.Query("a.example", dns.TypeA)
	response.Response = true
	chaos := dnstest.Query("version.bind", dns.TypeTXT)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	truncatedQuestion := packed(t, dnstest.Query("a.example", dns.TypeA))[:16]

	for _, tc := range []struct {
		name  string
		pkt   []byte
		rcode int // -1: no answer at all
	}{
		{"shorter than a header", []byte{1, 2, 3}, -1},
		{"a response, not a query", packed(t, response), -1},
		{"two questions", packed(t, twoQuestions), dns.RcodeFormatError},
		{"question cut short", truncatedQuestion, dns.RcodeFormatError},
		{"opcode STATUS", packed(t, status), dns.RcodeNotImplemented},
		{"EDNS version 1", packed(t, edns1), dns.RcodeBadVers},
		{"ANY", packed(t, dnstest.Query("a.example", dns.TypeANY)), dns.RcodeRefused},
		{"AXFR over UDP", packed(t, dnstest.Query("a.example", dns.TypeAXFR)), dns.RcodeRefused},
		{"class CHAOS", packed(t, chaos), dns.RcodeRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rawExchange(t, ts.Addr, tc.pkt)
			if tc.rcode < 0 {
				if r.Id != 0xBEEF {
					t.Fatalf("got an answer (rcode %d) to a packet that deserves none", r.Rcode)
				}
				return
			}
			if r.Id == 0xBEEF {
				t.Fatal("no answer to the bad packet")
			}
			if r.Id != binary.BigEndian.Uint16(tc.pkt) || r.Rcode != tc.rcode {
				t.Errorf("id %d rcode %s, want id %d rcode %s", r.Id, dns.RcodeToString[r.Rcode],
					binary.BigEndian.Uint16(tc.pkt), dns.RcodeToString[tc.rcode])
			}
		})
	}
	if n := up.Queries(); n != 1 {
		t.Errorf("bad queries reached the upstream: %d queries, want only the good one", n)
	}
}

// bigAnswer answers with 60 A records (about 1 KB): too big for 512 bytes.
func bigAnswer(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	for i := 0; i < 60; i++ {
		rr, _ := dns.NewRR(r.Question[0].Name + " 60 IN A 198.51.100." + strings.Repeat("1", 1+i%3))
		rr.(*dns.A).A[3] = byte(i)
		m.Answer = append(m.Answer, rr)
	}
	w.WriteMsg(m)
}

func TestTruncationAndTCPRetry(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, bigAnswer)
	ts := startServer(t, forwardTo, up.Addr)

	noEDNS := new(dns.Msg)
	noEDNS.SetQuestion("big.example.", dns.TypeA)
	small := dnstest.Query("big.example", dns.TypeA)
	small.IsEdns0().SetUDPSize(512)
	for _, tc := range []struct {
		name string
		q    *dns.Msg
	}{{"no EDNS: 512 bytes", noEDNS}, {"EDNS 512", small}} {
		t.Run(tc.name, func(t *testing.T) {
			c := &dns.Client{Net: "udp", Timeout: 5 * time.Second}
			r, _, err := c.Exchange(tc.q, ts.Addr)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Truncated || len(r.Answer) != 0 {
				t.Errorf("want TC and no records, got TC=%v with %d records", r.Truncated, len(r.Answer))
			}
			r = dnstest.Exchange(t, "tcp", ts.Addr, tc.q)
			if r.Truncated || len(r.Answer) != 60 {
				t.Errorf("TCP: TC=%v with %d records, want the full 60", r.Truncated, len(r.Answer))
			}
		})
	}
	// 1232 bytes fit the whole answer over UDP.
	r := dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("big.example", dns.TypeA))
	if r.Truncated || len(r.Answer) != 60 {
		t.Errorf("EDNS 1232: TC=%v with %d records", r.Truncated, len(r.Answer))
	}
}

func TestTCPPipelining(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.5", 60))
	ts := startServer(t, forwardTo, up.Addr)
	c, err := net.Dial("tcp", ts.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	conn := &dns.Conn{Conn: c}
	want := map[uint16]string{}
	for i, name := range []string{"p1.example.", "p2.example.", "p3.example.", "p1.example."} {
		q := dnstest.Query(name, dns.TypeA)
		q.Id = uint16(100 + i)
		want[q.Id] = name
		if err := conn.WriteMsg(q); err != nil {
			t.Fatal(err)
		}
	}
	for range want {
		r, err := conn.ReadMsg()
		if err != nil {
			t.Fatal(err)
		}
		if name, ok := want[r.Id]; !ok || r.Question[0].Name != name {
			t.Fatalf("unexpected answer %d %v", r.Id, r.Question)
		}
		delete(want, r.Id)
	}
}

func TestTCPIdleTimeoutAndConnectionLimit(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.5", 60))
	ts := startServer(t, strings.Replace(forwardTo, "[upstream]", "tcp_idle_timeout = \"300ms\"\ntcp_max_connections = 1\n[upstream]", 1), up.Addr)

	first, err := net.Dial("tcp", ts.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	// A query on the first connection proves the server has taken it.
	fc := &dns.Conn{Conn: first}
	fc.WriteMsg(dnstest.Query("x.example", dns.TypeA))
	if _, err := fc.ReadMsg(); err != nil {
		t.Fatal(err)
	}
	second, err := net.Dial("tcp", ts.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	second.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := second.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !isReset(err) {
		t.Errorf("over the connection limit: %v, want the connection closed", err)
	}
	// Idle past tcp_idle_timeout, the first connection is closed by the server.
	first.SetDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := first.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("idle connection: %v, want EOF", err)
	}
	if waited := time.Since(start); waited > 4*time.Second {
		t.Errorf("idle connection closed after %v", waited)
	}
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

func TestShutdownDrainsQueriesInFlight(t *testing.T) {
	t.Parallel()
	up, release := heldUpstream(t, "192.0.2.6")
	ts := startServer(t, strings.Replace(forwardTo, "500ms", "10s", 1), up.Addr)
	got := make(chan string, 2)
	for _, network := range []string{"udp", "tcp"} {
		go func() {
			r, err := dnstest.TryExchange(network, ts.Addr, dnstest.Query(network+".drain.example", dns.TypeA))
			if err != nil {
				t.Error(err)
				got <- ""
				return
			}
			got <- dnstest.FirstA(r)
		}()
	}
	<-up.Seen
	<-up.Seen
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- ts.Shutdown(ctx)
	}()
	// Once shutdown has begun no new query is read; the two in flight are answered.
	for !ts.isClosing() {
		time.Sleep(time.Millisecond) // polling the condition
	}
	close(release)
	for i := 0; i < 2; i++ {
		if ip := <-got; ip != "192.0.2.6" {
			t.Errorf("drained answer %q", ip)
		}
	}
	if err := <-done; err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if n := ts.laterWorkers.Load(); n != 0 {
		t.Errorf("%d workers left after shutdown", n)
	}
}

func TestMetricsCountQueriesAndUpstreams(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.1", 60))
	ts := startServer(t, forwardTo, up.Addr)
	dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("m.example", dns.TypeA))
	dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("m.example", dns.TypeA))
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"civicdns_queries_total", map[string]string{"action": "allowed", "category": "", "department": ""}, 2},
		{"civicdns_cache_hits_total", nil, 1},
		{"civicdns_cache_misses_total", nil, 1},
		{"civicdns_responses_total", map[string]string{"rcode": "NOERROR"}, 2},
		{"civicdns_dropped_packets_total", map[string]string{"reason": "short"}, 0},
	} {
		if got := ts.counter(t, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if !ts.hasSeries(t, "civicdns_dropped_packets_total", map[string]string{"reason": "not_a_query"}) {
		t.Error("civicdns_dropped_packets_total{reason=not_a_query} is not there before its first event")
	}
}
