package upstream

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

func question(name string) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	return m
}

func firstA(t *testing.T, r *dns.Msg) string {
	t.Helper()
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			return a.A.String()
		}
	}
	t.Fatalf("no A in %v", r)
	return ""
}

// spoofer is a raw UDP server that, for every query, first sends answers
// with the wrong ID and the wrong question, then the real one.
func spoofer(t *testing.T) string {
	return udpPeer(t, func(pkt []byte, reply func([]byte)) {
		q := new(dns.Msg)
		if q.Unpack(pkt) != nil {
			return
		}
		send := func(id uint16, name, ip string) {
			m := new(dns.Msg)
			m.SetReply(q)
			m.Id = id
			m.Question[0].Name = name
			rr, _ := dns.NewRR(name + " 60 IN A " + ip)
			m.Answer = []dns.RR{rr}
			b, _ := m.Pack()
			reply(b)
		}
		send(q.Id+1, q.Question[0].Name, "6.6.6.1")  // wrong ID
		send(q.Id, "evil.example.", "6.6.6.2")       // wrong question
		reply([]byte{0xde, 0xad})                    // garbage
		send(q.Id, q.Question[0].Name, "192.0.2.10") // the real answer
	}).String()
}

func TestPlainIgnoresSpoofedAnswers(t *testing.T) {
	t.Parallel()
	p := NewPlain(spoofer(t))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := p.Exchange(ctx, question("www.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if ip := firstA(t, r); ip != "192.0.2.10" {
		t.Errorf("accepted a spoofed answer: %s", ip)
	}
}

func TestPlainFallsBackToTCPOnTruncation(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if w.RemoteAddr().Network() == "udp" {
			m.Truncated = true
		} else {
			rr, _ := dns.NewRR(r.Question[0].Name + " 60 IN A 192.0.2.11")
			m.Answer = []dns.RR{rr}
		}
		w.WriteMsg(m)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := NewPlain(up.Addr).Exchange(ctx, question("tc.example"))
	if err != nil {
		t.Fatal(err)
	}
	if ip := firstA(t, r); ip != "192.0.2.11" || r.Truncated {
		t.Errorf("got %s truncated=%v, want the TCP answer", ip, r.Truncated)
	}
}

func TestPlainTimesOut(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := NewPlain(up.Addr).Exchange(ctx, question("slow.example")); err == nil {
		t.Fatal("no error from an upstream that never answers")
	}
}

func TestTLSUpstream(t *testing.T) {
	t.Parallel()
	cert, pool := dnstest.SelfSigned(t, "dns.test")
	addr := dnstest.StartTLSUpstream(t, cert, dnstest.Answer("192.0.2.12", 60))
	u, err := New("tls://" + addr + "#dns.test")
	if err != nil {
		t.Fatal(err)
	}
	up := u.(*TLS).WithRootCAs(pool)
	defer up.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := 0; i < 3; i++ { // the second and third reuse the connection
		r, err := up.Exchange(ctx, question("dot.example"))
		if err != nil {
			t.Fatal(err)
		}
		if ip := firstA(t, r); ip != "192.0.2.12" {
			t.Fatalf("got %s", ip)
		}
	}
	if n := len(up.idle); n != 1 {
		t.Errorf("%d idle connections, want the one reused", n)
	}
	// The wrong name in the certificate is refused.
	bad, _ := NewTLS(addr, "other.test")
	bad.WithRootCAs(pool)
	if _, err := bad.Exchange(ctx, question("dot.example")); err == nil {
		t.Error("accepted a certificate for another name")
	}
}

func TestGroupFailsOverAndRecovers(t *testing.T) {
	t.Parallel()
	dead := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeServerFailure)
		w.WriteMsg(m)
	})
	good := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.13", 60))
	clock := dnstest.NewClock()
	g := NewGroup([]Upstream{NewPlain(dead.Addr), NewPlain(good.Addr)}, time.Second, nil, clock.Now)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		r, err := g.Exchange(ctx, question("g.example"))
		if err != nil {
			t.Fatal(err)
		}
		if ip := firstA(t, r); ip != "192.0.2.13" {
			t.Fatalf("got %s", ip)
		}
	}
	if n := dead.Queries(); n != 1 {
		t.Errorf("the failed upstream was asked %d times while set aside, want 1", n)
	}
	clock.Advance(time.Minute) // past the back-off: it is tried first again
	g.Exchange(ctx, question("g.example"))
	if n := dead.Queries(); n != 2 {
		t.Errorf("after the back-off the first upstream was asked %d times, want 2", n)
	}
	// All failing: an error that says so.
	allDead := NewGroup([]Upstream{NewPlain(dead.Addr)}, time.Second, nil, clock.Now)
	if _, err := allDead.Exchange(ctx, question("g.example")); err == nil {
		t.Error("no error when every upstream fails")
	}
}

func TestSystemServers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "resolv.conf")
	os.WriteFile(p, []byte("# comment\nsearch city.internal\nnameserver 192.0.2.53\nnameserver 2001:db8::53\nnameserver bogus\noptions ndots:1\n"), 0o644)
	got, err := SystemServers(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != "192.0.2.53:53" || got[1] != "[2001:db8::53]:53" {
		t.Errorf("got %v", got)
	}
	os.WriteFile(p, []byte("search x\n"), 0o644)
	if _, err := SystemServers(p); err == nil {
		t.Error("no error for a resolv.conf without nameservers")
	}
}

// RFC 5452 §9: an off-path attacker must guess the ID and the source port.
// Every query gets a fresh port and ID: over 1,000 queries no port comes
// back more than a few times (the kernel may hand a freed port out again)
// and the IDs are spread over their 16 bits.
func TestEveryQueryGetsAFreshSourcePortAndID(t *testing.T) {
	t.Parallel()
	type seen struct {
		port string
		id   uint16
	}
	got := make(chan seen, 1000)
	up := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		_, port, _ := net.SplitHostPort(w.RemoteAddr().String())
		got <- seen{port, r.Id}
		dnstest.Answer("192.0.2.14", 60)(w, r)
	})
	p := NewPlain(up.Addr)
	defer p.Close()
	ctx := context.Background()
	const n = 1000
	ports, ids := map[string]int{}, map[uint16]int{}
	var highBits, lowBits uint16
	for i := 0; i < n; i++ {
		if _, err := p.Exchange(ctx, question("port.example")); err != nil {
			t.Fatal(err)
		}
		s := <-got
		ports[s.port]++
		ids[s.id]++
		highBits |= s.id & 0xFF00
		lowBits |= s.id & 0x00FF
	}
	for port, uses := range ports {
		if uses > 3 {
			t.Errorf("source port %s used %d times in %d queries", port, uses, n)
		}
	}
	if len(ports) < n*9/10 {
		t.Errorf("%d distinct source ports for %d queries", len(ports), n)
	}
	// 1,000 draws from 65,536 IDs collide about 8 times; far more means they are not random.
	if len(ids) < n-30 || highBits != 0xFF00 || lowBits != 0x00FF {
		t.Errorf("%d distinct IDs in %d queries (bits seen %04x)", len(ids), n, highBits|lowBits)
	}
}

// Each upstream of a group is tried once per exchange, not once more in
// the pass over the ones set aside (two silent upstreams with a 2s timeout
// took 8s before).
func TestGroupTriesEachUpstreamOnce(t *testing.T) {
	t.Parallel()
	silent1 := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {})
	silent2 := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {})
	g := NewGroup([]Upstream{NewPlain(silent1.Addr), NewPlain(silent2.Addr)}, 100*time.Millisecond, nil, time.Now)
	_, err := g.Exchange(context.Background(), question("silent.example"))
	if err == nil {
		t.Fatal("no error")
	}
	if KindOf(err) != KindTimeout {
		t.Errorf("kind %s, want timeout (%v)", KindOf(err), err)
	}
	if a, b := silent1.Queries(), silent2.Queries(); a != 1 || b != 1 {
		t.Errorf("asked %d and %d times, want once each", a, b)
	}
}

// A failure no other server can mend (DNSSEC) ends the exchange at once.
func TestGroupDoesNotFailOverOnBogus(t *testing.T) {
	t.Parallel()
	second := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.15", 60))
	bogus := fakeUpstream{addr: "bogus", err: &Error{Kind: KindBogus, Upstream: "bogus", Err: errors.New("bad signature")}}
	g := NewGroup([]Upstream{bogus, NewPlain(second.Addr)}, time.Second, nil, time.Now)
	if _, err := g.Exchange(context.Background(), question("bogus.example")); KindOf(err) != KindBogus {
		t.Fatalf("err %v (kind %s), want bogus", err, KindOf(err))
	}
	if n := second.Queries(); n != 0 {
		t.Errorf("the next upstream was asked %d times after a bogus answer", n)
	}
}

func TestKindOf(t *testing.T) {
	t.Parallel()
	refused := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeRefused)
		w.WriteMsg(m)
	})
	pc, _ := net.ListenPacket("udp", "127.0.0.1:0")
	closed := pc.LocalAddr().String()
	pc.Close()
	for _, tc := range []struct {
		name string
		addr string
		want Kind
	}{
		{"REFUSED", refused.Addr, KindRefused},
		{"port closed (ICMP unreachable)", closed, KindNetwork},
	} {
		g := NewGroup([]Upstream{NewPlain(tc.addr)}, time.Second, nil, time.Now)
		_, err := g.Exchange(context.Background(), question("kind.example"))
		var ue *Error
		if KindOf(err) != tc.want || !errors.As(err, &ue) || ue.Upstream != tc.addr {
			t.Errorf("%s: %v (kind %s), want kind %s from %s", tc.name, err, KindOf(err), tc.want, tc.addr)
		}
	}
}

type fakeUpstream struct {
	addr string
	err  error
}

func (f fakeUpstream) Exchange(context.Context, *dns.Msg) (*dns.Msg, error) { return nil, f.err }
func (f fakeUpstream) Address() string                                      { return f.addr }
func (f fakeUpstream) Close() error                                         { return nil }

func TestPlanLoopsBackToItself(t *testing.T) {
	t.Parallel()
	listen := []netip.AddrPort{netip.MustParseAddrPort("0.0.0.0:53")}
	for _, tc := range []struct {
		servers []string
		loops   bool
	}{
		{[]string{"127.0.0.1:53"}, true},
		{[]string{"127.0.0.53:53"}, true},
		{[]string{"127.0.0.1:5300"}, false},
		{[]string{"192.0.2.1:53"}, false},
		{[]string{"tls://127.0.0.1:53"}, false},
	} {
		err := Plan{Servers: tc.servers, System: true}.Loops(listen)
		if (err != nil) != tc.loops {
			t.Errorf("%v: %v", tc.servers, err)
		}
		if err != nil && !strings.Contains(err.Error(), "/etc/resolv.conf") {
			t.Errorf("the message does not say where the address came from: %v", err)
		}
	}
	if err := (Plan{Servers: []string{"127.0.0.1:5353"}}).Loops([]netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:5353")}); err == nil {
		t.Error("same address and port not caught")
	}
}

// Failures are logged, at most once per upstream per failureLogEvery, with
// how many were kept quiet since.
func TestFailuresAreLoggedRateLimited(t *testing.T) {
	t.Parallel()
	var buf strings.Builder
	clock := dnstest.NewClock()
	m := NewMetrics(prometheus.NewRegistry(), slog.New(slog.NewTextHandler(&buf, nil)), clock.Now)
	fail := &Error{Kind: KindTimeout, Upstream: "192.0.2.10:53", Err: errors.New("i/o timeout")}
	for i := 0; i < 5; i++ {
		m.ObserveExchange("192.0.2.10:53", time.Second, fail)
	}
	m.ObserveExchange("192.0.2.11:53", time.Second, fail)
	if n := strings.Count(buf.String(), "upstream failed"); n != 2 {
		t.Fatalf("%d lines for 5 failures of one upstream and 1 of another, want 2:\n%s", n, buf.String())
	}
	clock.Advance(failureLogEvery)
	m.ObserveExchange("192.0.2.10:53", time.Second, fail)
	if !strings.Contains(buf.String(), "more_failures_not_logged=4") || !strings.Contains(buf.String(), "kind=timeout") {
		t.Errorf("log:\n%s", buf.String())
	}
}
