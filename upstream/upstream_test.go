package upstream

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/miekg/dns"
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
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := new(dns.Msg)
			if q.Unpack(buf[:n]) != nil {
				continue
			}
			send := func(id uint16, name, ip string) {
				m := new(dns.Msg)
				m.SetReply(q)
				m.Id = id
				m.Question[0].Name = name
				rr, _ := dns.NewRR(name + " 60 IN A " + ip)
				m.Answer = []dns.RR{rr}
				b, _ := m.Pack()
				pc.WriteTo(b, from)
			}
			send(q.Id+1, q.Question[0].Name, "6.6.6.1")  // wrong ID
			send(q.Id, "evil.example.", "6.6.6.2")       // wrong question
			pc.WriteTo([]byte{0xde, 0xad}, from)         // garbage
			send(q.Id, q.Question[0].Name, "192.0.2.10") // the real answer
		}
	}()
	return pc.LocalAddr().String()
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

func TestPlainReusesSocketsThenChangesPort(t *testing.T) {
	t.Parallel()
	ports := make(chan string, 100)
	up := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		ports <- w.RemoteAddr().String()
		dnstest.Answer("192.0.2.14", 60)(w, r)
	})
	p := NewPlain(up.Addr)
	defer p.Close()
	ctx := context.Background()
	seen := map[string]int{}
	for i := 0; i < 2*maxSocketUses; i++ {
		if _, err := p.Exchange(ctx, question("reuse.example")); err != nil {
			t.Fatal(err)
		}
		seen[<-ports]++
	}
	if len(seen) != 2 {
		t.Errorf("%d source ports for %d sequential queries, want 2 (each used %d times): %v", len(seen), 2*maxSocketUses, maxSocketUses, seen)
	}
	// A socket whose exchange timed out is not reused: a late answer to it
	// must not be taken for the next query's.
	slow := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {})
	sp := NewPlain(slow.Addr)
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := sp.Exchange(tctx, question("late.example")); err == nil {
		t.Fatal("no timeout")
	}
	if n := len(sp.idle); n != 0 {
		t.Errorf("%d sockets kept after a timeout", n)
	}
}
