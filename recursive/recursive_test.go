package recursive

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/authtest"
	"github.com/civicdns/civicdns/upstream"
	"github.com/miekg/dns"
)

func theWorld(t *testing.T) *world {
	t.Helper()
	return newWorld(t)
}

func addrs(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		switch v := rr.(type) {
		case *dns.A:
			out = append(out, v.A.String())
		case *dns.AAAA:
			out = append(out, v.AAAA.String())
		case *dns.TXT:
			out = append(out, strings.Join(v.Txt, ""))
		}
	}
	return out
}

func has(m *dns.Msg, rtype uint16) bool {
	for _, sec := range [][]dns.RR{m.Answer, m.Ns} {
		for _, rr := range sec {
			if rr.Header().Rrtype == rtype {
				return true
			}
		}
	}
	return false
}

func kindOf(err error) upstream.Kind { return upstream.KindOf(err) }

func TestRecursion(t *testing.T) {
	w := theWorld(t)
	r := w.resolver(t)
	cases := []struct {
		name, q string
		qtype   uint16
		rcode   int
		want    []string // addresses in the answer, in order
		ad      bool
		soa     bool // a SOA in the authority section
	}{
		{"signed delegation, NSEC", "www.good.example.", dns.TypeA, dns.RcodeSuccess, []string{"192.0.2.10"}, true, false},
		{"NSEC3 zone, P-384", "www.nsec3.example.", dns.TypeAAAA, dns.RcodeSuccess, []string{"2001:db8::1"}, true, false},
		{"Ed25519 zone", "www.ed.example.", dns.TypeA, dns.RcodeSuccess, []string{"192.0.2.1"}, true, false},
		{"RSA/SHA-256 zone", "www.bogus.example.", dns.TypeAAAA, dns.RcodeSuccess, []string{"2001:db8::1"}, true, false},
		{"NSEC3 wildcard with its proof", "a.b.wild.nsec3.example.", dns.TypeA, dns.RcodeSuccess, []string{"192.0.2.13"}, true, false},
		{"NSEC3 wildcard, no such type", "a.wild.nsec3.example.", dns.TypeMX, dns.RcodeSuccess, nil, true, true},
		{"unsigned child on its signed parent's own server (no referral between)", "www.sub.good.example.", dns.TypeA, dns.RcodeSuccess, []string{"192.0.2.14"}, false, false},
		{"insecure child of an NSEC3 zone (no opt-out)", "www.child.nsec3.example.", dns.TypeA, dns.RcodeSuccess, []string{"192.0.2.1"}, false, false},
		{"insecure delegation (no DS)", "www.insecure.example.", dns.TypeA, dns.RcodeSuccess, []string{"192.0.2.1"}, false, false},
		{"unsigned TLD, glueless child", "www.other.test.", dns.TypeA, dns.RcodeSuccess, []string{"192.0.2.20"}, false, false},
		{"CNAME inside a zone", "inner.good.example.", dns.TypeA, dns.RcodeSuccess, []string{"192.0.2.10"}, true, false},
		{"CNAME across zones (signed to unsigned)", "alias.good.example.", dns.TypeA, dns.RcodeSuccess, []string{"192.0.2.20"}, false, false},
		{"DNAME", "host.moved.good.example.", dns.TypeA, dns.RcodeSuccess, []string{"192.0.2.21"}, false, false},
		{"wildcard, no such type (NSEC)", "x.wild.good.example.", dns.TypeTXT, dns.RcodeSuccess, nil, true, true},
		{"wildcard with its NSEC proof", "anything.wild.good.example.", dns.TypeA, dns.RcodeSuccess, []string{"192.0.2.11"}, true, false},
		{"secure NXDOMAIN (NSEC)", "nope.good.example.", dns.TypeA, dns.RcodeNameError, nil, true, true},
		{"secure NXDOMAIN (NSEC3)", "nope.nsec3.example.", dns.TypeA, dns.RcodeNameError, nil, true, true},
		{"secure NODATA (NSEC)", "www.good.example.", dns.TypeMX, dns.RcodeSuccess, nil, true, true},
		{"secure NODATA (NSEC3)", "www.nsec3.example.", dns.TypeMX, dns.RcodeSuccess, nil, true, true},
		{"empty non-terminal (NSEC)", "deep.good.example.", dns.TypeA, dns.RcodeSuccess, nil, true, true},
		{"NXDOMAIN in an NSEC3 TLD", "nope.example.", dns.TypeA, dns.RcodeNameError, nil, true, true},
		{"insecure NXDOMAIN", "nope.other.test.", dns.TypeA, dns.RcodeNameError, nil, false, true},
		{"truncated over UDP, retried on TCP", "big.good.example.", dns.TypeTXT, dns.RcodeSuccess, []string{"truncated over UDP"}, true, false},
		{"the root's own records", ".", dns.TypeNS, dns.RcodeSuccess, nil, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := ask(t, r, c.q, c.qtype)
			if err != nil {
				t.Fatal(err)
			}
			if m.Rcode != c.rcode {
				t.Fatalf("rcode %s, want %s\n%v", dns.RcodeToString[m.Rcode], dns.RcodeToString[c.rcode], m)
			}
			if got := addrs(m); strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Fatalf("answer %v, want %v\n%v", got, c.want, m)
			}
			if m.AuthenticatedData != c.ad {
				t.Fatalf("AD %v, want %v\n%v", m.AuthenticatedData, c.ad, m)
			}
			if has(m, dns.TypeSOA) != c.soa {
				t.Fatalf("SOA in authority %v, want %v\n%v", has(m, dns.TypeSOA), c.soa, m)
			}
		})
	}
}

func TestBogusAnswersFailWithTheirKind(t *testing.T) {
	w := theWorld(t)
	r := w.resolver(t)
	for _, c := range []struct {
		name string
		kind upstream.Kind
	}{
		{"www.bogus.example.", upstream.KindBogus},
		{"www.expired.example.", upstream.KindSigExpired},
		{"www.future.example.", upstream.KindSigNotYetValid},
	} {
		_, err := ask(t, r, c.name, dns.TypeA)
		if kindOf(err) != c.kind {
			t.Errorf("%s: %v (kind %v), want kind %v", c.name, err, kindOf(err), c.kind)
		}
		if kindOf(err).Failover() {
			t.Errorf("%s: a DNSSEC failure must not fail over", c.name)
		}
		// With CD the client gets the data, unvalidated and without AD.
		m, err := ask(t, r, c.name, dns.TypeA, "cd")
		if err != nil || len(addrs(m)) != 1 || m.AuthenticatedData {
			t.Errorf("%s with CD: %v %v", c.name, m, err)
		}
	}
	// Without validation the same names resolve.
	plain := w.resolver(t, func(o *Options) { o.DNSSEC = false })
	if m, err := ask(t, plain, "www.bogus.example.", dns.TypeA); err != nil || len(addrs(m)) != 1 || m.AuthenticatedData {
		t.Fatalf("unvalidated: %v %v", m, err)
	}
	// A secure zone's answer stripped of its signatures is bogus too.
	w.servers["good"].SetRewrite(func(udp bool, q, m *dns.Msg) *dns.Msg {
		var kept []dns.RR
		for _, rr := range m.Answer {
			if rr.Header().Rrtype != dns.TypeRRSIG {
				kept = append(kept, rr)
			}
		}
		m.Answer = kept
		return m
	})
	if _, err := ask(t, w.resolver(t), "www.good.example.", dns.TypeA); kindOf(err) != upstream.KindBogus {
		t.Fatalf("stripped signatures: %v", err)
	}
}

func TestNoDOStripsDNSSECRecords(t *testing.T) {
	w := theWorld(t)
	r := w.resolver(t)
	m, err := ask(t, r, "nope.good.example.", dns.TypeA, "nodo")
	if err != nil {
		t.Fatal(err)
	}
	if has(m, dns.TypeRRSIG) || has(m, dns.TypeNSEC) || !has(m, dns.TypeSOA) || !m.AuthenticatedData {
		t.Fatalf("without DO: %v", m)
	}
	m, _ = ask(t, r, "nope.good.example.", dns.TypeA)
	if !has(m, dns.TypeRRSIG) || !has(m, dns.TypeNSEC) {
		t.Fatalf("with DO the proof is kept: %v", m)
	}
}

func TestDeadServerBesideAGoodOne(t *testing.T) {
	w := theWorld(t)
	// Which of good.example's two servers is tried first is random: with
	// fresh resolvers, the dead one comes first soon enough.
	for try := 0; try < 30; try++ {
		r := w.resolver(t)
		for i := 0; i < 3; i++ {
			m, err := ask(t, r, "www.good.example.", dns.TypeA)
			if err != nil || len(addrs(m)) != 1 {
				t.Fatalf("round %d: %v %v", i, m, err)
			}
		}
		timedOut := 0
		for _, a := range r.infra.servers.Keys() {
			if s := r.infra.stat(a); s.timeouts > 0 {
				timedOut += s.timeouts
			}
		}
		if timedOut > 1 {
			t.Fatalf("the dead server was asked again after it timed out (%d timeouts)", timedOut)
		}
		if timedOut == 1 {
			return // answered past the dead server, which was not asked again
		}
	}
	t.Fatal("the dead server was never tried")
}

func TestPoisonIsNeitherUsedNorCached(t *testing.T) {
	w := theWorld(t)
	r := w.resolver(t)
	m, err := ask(t, r, "www.evil.test.", dns.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	if got := addrs(m); len(got) != 1 || got[0] != "192.0.2.30" {
		t.Fatalf("answer %v: the out-of-bailiwick record was passed on", got)
	}
	m, err = ask(t, r, "www.good.example.", dns.TypeA)
	if err != nil || addrs(m)[0] != "192.0.2.10" {
		t.Fatalf("after the poisoning attempt: %v %v", m, err)
	}
	if _, ok := r.infra.knownAddrs("ns1.good.example."); ok {
		t.Fatal("the poisoned glue was stored")
	}
	if d := r.infra.closest("www.good.example."); d.zone == "good.example." {
		for _, a := range d.addrs["ns1.good.example."] {
			if a.String() == "203.0.113.66" {
				t.Fatal("the poisoned address is in the delegation")
			}
		}
	}
}

func TestMaliciousZonesEndQuickly(t *testing.T) {
	w := theWorld(t)
	r := w.resolver(t)
	for _, name := range []string{"www.loop1.test.", "www.many.test."} {
		start := time.Now()
		before := totalQueries(w)
		_, err := ask(t, r, name, dns.TypeA)
		if err == nil {
			t.Fatalf("%s resolved", name)
		}
		if k := kindOf(err); k != upstream.KindServFail {
			t.Errorf("%s: kind %v (%v), want servfail", name, k, err)
		}
		sent := totalQueries(w) - before
		if sent > maxQueries {
			t.Errorf("%s: %d queries sent, more than the limit %d", name, sent, maxQueries)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s took %v", name, d)
		}
		t.Logf("%s: %v after %d queries, %v", name, err, sent, time.Since(start).Round(time.Millisecond))
		// Asked again at once: what failed is remembered, nothing is asked twice.
		before = totalQueries(w)
		if _, err := ask(t, r, name, dns.TypeA); err == nil {
			t.Fatalf("%s resolved the second time", name)
		}
		if again := totalQueries(w) - before; again >= sent && sent > 1 {
			t.Errorf("%s asked again: %d queries, as many as the first time (%d)", name, again, sent)
		}
	}
}

// The root's name servers are primed from the hints (RFC 8109): a root
// server the hints do not name is used when the one they name stops.
func TestRootPriming(t *testing.T) {
	h := authtest.New(t)
	a, b, ex := h.Addr(), h.Addr(), h.Addr()
	soa := "@ SOA ns.invalid. admin.invalid. 1 3600 600 86400 300\n"
	root := authtest.NewZone(t, ".", soa+"@ NS a.root.\n@ NS b.root.\na.root. A "+a+"\nb.root. A "+b+"\nexample. NS ns.example.\nns.example. A "+ex+"\n")
	exz := authtest.NewZone(t, "example.", soa+"@ NS ns\nns A "+ex+"\nwww A 192.0.2.1\n")
	first := h.Serve(a, root)
	h.Serve(b, root)
	h.Serve(ex, exz)
	r, err := New(Options{RootHints: h.RootHints(map[string]string{"a.root.": a}), Port: h.Port, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := ask(t, r, "www.example.", dns.TypeA); err != nil || len(addrs(m)) != 1 {
		t.Fatalf("%v %v", m, err)
	}
	d, ok := r.infra.zones.Get(".")
	if !ok || len(d.ns) != 2 || len(d.addrs["b.root."]) != 1 {
		t.Fatalf("the root was not primed: %+v", d)
	}
	first.SetRewrite(func(bool, *dns.Msg, *dns.Msg) *dns.Msg { return nil })
	r.infra.zones.Remove("example.") // the next name needs the root again
	if m, err := ask(t, r, "www.example.", dns.TypeA); err != nil || len(addrs(m)) != 1 {
		t.Fatalf("with the hints' root server gone: %v %v", m, err)
	}
}

func totalQueries(w *world) int64 {
	var n int64
	for _, s := range w.servers {
		n += s.Queries()
	}
	return n
}

func TestQNAMEMinimisation(t *testing.T) {
	w := theWorld(t)
	r := w.resolver(t, func(o *Options) { o.DNSSEC = false })
	if _, err := ask(t, r, "www.good.example.", dns.TypeA); err != nil {
		t.Fatal(err)
	}
	for _, q := range w.servers["root"].Seen() {
		if strings.EqualFold(q.Name, "www.good.example.") {
			t.Fatalf("the root was asked the whole name: %v", q)
		}
	}
	for _, q := range w.servers["example"].Seen() {
		if strings.EqualFold(q.Name, "www.good.example.") {
			t.Fatalf("example. was asked the whole name: %v", q)
		}
	}
}

func TestIDsPortsAndCaseAreRandom(t *testing.T) {
	w := theWorld(t)
	r := w.resolver(t, func(o *Options) { o.DNSSEC = false; o.NoQMIN = true })
	for i := 0; i < 20; i++ {
		if _, err := ask(t, r, "www.other.test.", dns.TypeA); err != nil {
			t.Fatal(err)
		}
	}
	cases := map[string]bool{}
	for _, q := range w.servers["other"].Seen() {
		cases[q.Name] = true
	}
	if len(cases) < 10 {
		t.Fatalf("%d letter cases in 20 questions: %v", len(cases), cases)
	}
}

func TestTimeoutIsATimeout(t *testing.T) {
	w := theWorld(t)
	w.servers["other"].SetRewrite(func(bool, *dns.Msg, *dns.Msg) *dns.Msg { return nil })
	r := w.resolver(t)
	_, err := ask(t, r, "www.other.test.", dns.TypeA)
	var ue *upstream.Error
	if !errors.As(err, &ue) || ue.Kind != upstream.KindTimeout {
		t.Fatalf("%v", err)
	}
	if _, ok := err.(net.Error); ok {
		t.Fatal("want the upstream error")
	}
}

// A server that rejects EDNS (FORMERR without an OPT, as old servers do) is
// asked again without it, and remembered; a server that does not echo the
// question's letter case is still believed (0x20 only where it is echoed).
func TestOldServers(t *testing.T) {
	w := theWorld(t)
	var withEDNS atomic.Int32
	w.servers["other"].SetRewrite(func(udp bool, q, r *dns.Msg) *dns.Msg {
		if q.IsEdns0() != nil {
			withEDNS.Add(1)
			m := new(dns.Msg)
			m.SetRcode(q, dns.RcodeFormatError)
			return m
		}
		r.Question[0].Name = strings.ToLower(r.Question[0].Name)
		return r
	})
	r := w.resolver(t, func(o *Options) { o.DNSSEC = false })
	for i := 0; i < 3; i++ {
		m, err := ask(t, r, "www.other.test.", dns.TypeA)
		if err != nil || len(addrs(m)) != 1 {
			t.Fatalf("round %d: %v %v", i, m, err)
		}
	}
	if n := withEDNS.Load(); n != 1 {
		t.Fatalf("%d queries with EDNS to a server that rejects it; want 1, then none", n)
	}
}

// Once a server is known to echo the letter case of the question, an
// answer in another case is not believed (it may be forged): the resolver
// waits for the real one, and with none gives up as on a timeout.
func TestAnswersInTheWrongCaseAreIgnored(t *testing.T) {
	w := theWorld(t)
	r := w.resolver(t, func(o *Options) { o.DNSSEC = false })
	if _, err := ask(t, r, "www.other.test.", dns.TypeA); err != nil {
		t.Fatal(err)
	}
	w.servers["other"].SetRewrite(func(udp bool, q, m *dns.Msg) *dns.Msg {
		m.Question[0].Name = strings.ToLower(m.Question[0].Name)
		m.Answer = []dns.RR{rr(t, "host.other.test. 300 IN A 203.0.113.66")}
		m.Answer[0].Header().Name = m.Question[0].Name
		return m
	})
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("Host%d.Other.Test.", i) // letters to flip; the lower-cased answer differs from what was asked
		m, err := ask(t, r, name, dns.TypeA)
		if err == nil {
			t.Fatalf("%s: an answer in the wrong case was believed: %v", name, addrs(m))
		}
		if kindOf(err) != upstream.KindTimeout {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// One answer that does not echo the case (a forger winning the first race)
// does not let a server off 0x20: it is let off after three in a row only.
func TestOneUnechoedAnswerDoesNotTurnOff0x20(t *testing.T) {
	w := theWorld(t)
	r := w.resolver(t, func(o *Options) { o.DNSSEC = false; o.NoQMIN = true })
	var n atomic.Int32
	lower := func(udp bool, q, m *dns.Msg) *dns.Msg {
		m.Question[0].Name = strings.ToLower(m.Question[0].Name)
		return m
	}
	w.servers["other"].SetRewrite(func(udp bool, q, m *dns.Msg) *dns.Msg {
		if n.Add(1) == 1 {
			return lower(udp, q, m)
		}
		return m
	})
	for i := 0; i < 2; i++ {
		if _, err := ask(t, r, fmt.Sprintf("www%d.other.test.", i), dns.TypeA); err != nil && kindOf(err) == upstream.KindTimeout {
			t.Fatal(err)
		}
	}
	w.servers["other"].SetRewrite(lower)
	if _, err := ask(t, r, "Host.Other.Test.", dns.TypeA); kindOf(err) != upstream.KindTimeout {
		t.Fatalf("a lower-cased answer was believed after one unechoed answer: %v", err)
	}
}
