package upstream

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// A lost query (or answer) costs a retransmission timeout, not the try's
// whole timeout: the query is sent again on the same socket (same port and
// ID) and the answer to either copy is taken.
func TestLostPacketIsRetransmitted(t *testing.T) {
	t.Parallel()
	type copyOf struct {
		port string
		id   uint16
	}
	var mu sync.Mutex
	seen := map[uint16]int{}
	copies := make(chan copyOf, 10)
	up := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		_, port, _ := net.SplitHostPort(w.RemoteAddr().String())
		copies <- copyOf{port, r.Id}
		mu.Lock()
		seen[r.Id]++
		first := seen[r.Id] == 1
		mu.Unlock()
		if first {
			return // the first copy is "lost"
		}
		dnstest.Answer("192.0.2.16", 60)(w, r)
	})
	p := NewPlain(up.Addr)
	var resent atomic.Int32
	p.OnRetransmit(func() { resent.Add(1) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	r, err := p.Exchange(ctx, question("lossy.example"))
	if err != nil {
		t.Fatal(err)
	}
	if ip := firstA(t, r); ip != "192.0.2.16" {
		t.Errorf("answer %s", ip)
	}
	a, b := <-copies, <-copies
	if a != b {
		t.Errorf("the retransmission went from another port or with another ID: %+v %+v", a, b)
	}
	if took := time.Since(start); took >= 5*time.Second {
		t.Errorf("took %v: waited out the timeout instead of retransmitting", took)
	}
	if n := resent.Load(); n != 1 {
		t.Errorf("%d retransmissions counted, want 1", n)
	}
}

// The daemon's metrics count retransmissions of the plain upstreams that
// FromConfig builds.
func TestRetransmitsAreCounted(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[uint16]bool{}
	up := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		mu.Lock()
		first := !seen[r.Id]
		seen[r.Id] = true
		mu.Unlock()
		if !first {
			dnstest.Answer("192.0.2.17", 60)(w, r)
		}
	})
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg, nil, nil)
	plan := Plan{Servers: []string{up.Addr}, Timeout: 5 * time.Second}
	m.Known(plan)
	if got := retransmits(t, reg, up.Addr); got != 0 {
		t.Fatalf("before any query: %v", got)
	}
	u, err := FromConfig(plan, Options{Observer: m})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := u.Exchange(ctx, question("lossy.example")); err != nil {
		t.Fatal(err)
	}
	if got := retransmits(t, reg, up.Addr); got != 1 {
		t.Errorf("civicdns_upstream_retransmits_total = %v, want 1", got)
	}
}

func retransmits(t *testing.T, reg *prometheus.Registry, up string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "civicdns_upstream_retransmits_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "upstream" && l.GetValue() == up {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no civicdns_upstream_retransmits_total series for %s", up)
	return 0
}

func TestRTTEstimator(t *testing.T) {
	t.Parallel()
	var e RTT
	rto := func() time.Duration { return e.RTO(initialRTO, minRTO, maxRTO) }
	if rto() != initialRTO {
		t.Errorf("first RTO %v", rto())
	}
	for i := 0; i < 20; i++ {
		e.Observe(time.Millisecond)
	}
	if rto() != minRTO {
		t.Errorf("a fast server's RTO %v, want the floor %v", rto(), minRTO)
	}
	for i := 0; i < 50; i++ {
		e.Observe(300 * time.Millisecond)
	}
	if got := rto(); got < 300*time.Millisecond || got > maxRTO {
		t.Errorf("a slow server's RTO %v", got)
	}
}

func TestSameQuestionWire(t *testing.T) {
	q, _ := question("www.example.com").Pack()
	q[0], q[1] = 0x12, 0x34
	answer := func(name string, qtype uint16, id uint16, response bool) []byte {
		m := question(name)
		m.Question[0].Qtype = qtype
		m.Id, m.Response = id, response
		b, _ := m.Pack()
		return b
	}
	for _, tc := range []struct {
		what string
		ans  []byte
		want bool
	}{
		{"the answer", answer("www.example.com", dns.TypeA, 0x1234, true), true},
		{"in other letter case", answer("WWW.Example.com", dns.TypeA, 0x1234, true), true},
		{"another ID", answer("www.example.com", dns.TypeA, 0x1235, true), false},
		{"not a response", answer("www.example.com", dns.TypeA, 0x1234, false), false},
		{"another name", answer("www.example.net", dns.TypeA, 0x1234, true), false},
		{"another type", answer("www.example.com", dns.TypeAAAA, 0x1234, true), false},
		{"cut short", answer("www.example.com", dns.TypeA, 0x1234, true)[:20], false},
	} {
		if got := sameQuestionWire(q, tc.ans); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.what, got, tc.want)
		}
	}
}

// A group asks in wire form, moving on from a member that fails, and hands
// back the answer's bytes with the member that gave them.
func TestGroupExchangeWire(t *testing.T) {
	bad := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeServerFailure)
		w.WriteMsg(m)
	})
	good := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.44", 60))
	g := NewGroup([]Upstream{NewPlain(bad.Addr), NewPlain(good.Addr)}, 2*time.Second, nil, time.Now)
	q, _ := question("wire.example").Pack()
	ans, from, err := NewRouter(g, nil).ExchangeWire(context.Background(), "wire.example", q)
	if err != nil {
		t.Fatal(err)
	}
	r := new(dns.Msg)
	if err := r.Unpack(ans); err != nil {
		t.Fatal(err)
	}
	if from != good.Addr || firstA(t, r) != "192.0.2.44" || r.Id != uint16(q[0])<<8|uint16(q[1]) {
		t.Fatalf("from %s, answer %v", from, r)
	}
}

// A try ends at the group's timeout for a member that never answers (its
// deadline handed down as a value, no context of its own), as a timeout,
// and the next member answers.
func TestGroupTryEndsAtItsDeadline(t *testing.T) {
	t.Parallel()
	silent := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {})
	good := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.45", 60))
	const timeout = 300 * time.Millisecond
	q, _ := question("deadline.example").Pack()

	g := NewGroup([]Upstream{NewPlain(silent.Addr)}, timeout, nil, time.Now)
	start := time.Now()
	_, _, err := g.ExchangeWire(context.Background(), "deadline.example", q)
	if took := time.Since(start); err == nil || KindOf(err) != KindTimeout || took < timeout || took > 10*timeout {
		t.Fatalf("silent member: err %v (kind %v) after %v, want a timeout after %v", err, KindOf(err), took, timeout)
	}

	g = NewGroup([]Upstream{NewPlain(silent.Addr), NewPlain(good.Addr)}, timeout, nil, time.Now)
	ans, from, err := g.ExchangeWire(context.Background(), "deadline.example", q)
	if err != nil || from != good.Addr {
		t.Fatalf("failover: from %q, err %v", from, err)
	}
	r := new(dns.Msg)
	if err := r.Unpack(ans); err != nil || firstA(t, r) != "192.0.2.45" {
		t.Fatalf("answer %v: %v", r, err)
	}
}
