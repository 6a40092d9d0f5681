package resolver

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/authtest"
	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/civicdns/civicdns/recursive"
	"github.com/miekg/dns"
)

// recursiveWorld is a small signed hierarchy served by NSD: the root, example. (NSEC3)
// with www, bogus.example. whose www signature is broken, and
// plain.example., unsigned (no DS).
func recursiveWorld(t *testing.T) (h *authtest.Hierarchy, hints, anchor string) {
	h = authtest.New(t)
	rootAddr, exAddr, bogusAddr, plainAddr := h.Addr(), h.Addr(), h.Addr(), h.Addr()
	soa := "@ SOA ns.invalid. admin.invalid. 1 3600 600 86400 300\n"
	bogus := authtest.NewZone(t, "bogus.example.", soa+"@ NS ns\nns A "+bogusAddr+"\nwww A 192.0.2.2\n")
	bogus.Sign(t, authtest.SignOptions{})
	bogus.Corrupt("www.bogus.example.", 1)
	plain := authtest.NewZone(t, "plain.example.", soa+"@ NS ns\nns A "+plainAddr+"\nwww A 192.0.2.3\n")
	ex := authtest.NewZone(t, "example.", soa+"@ NS ns\nns A "+exAddr+"\nwww A 192.0.2.1\ncasino A 192.0.2.9\nbogus NS ns.bogus\nns.bogus A "+bogusAddr+"\nplain NS ns.plain\nns.plain A "+plainAddr+"\n")
	ex.Add(bogus.DS())
	ex.Sign(t, authtest.SignOptions{NSEC3: true})
	root := authtest.NewZone(t, ".", soa+"@ NS a.root.\na.root. A "+rootAddr+"\nexample. NS ns.example.\nns.example. A "+exAddr+"\n")
	root.Add(ex.DS())
	root.Sign(t, authtest.SignOptions{})
	// Served by NSD, a real authoritative server, as the end-to-end cases prefer.
	h.ServeNSD(rootAddr, root)
	h.ServeNSD(exAddr, ex)
	h.ServeNSD(bogusAddr, bogus)
	h.ServeNSD(plainAddr, plain)
	return h, h.RootHints(map[string]string{"a.root.": rootAddr}), h.Anchor(root)
}

// startRecursiveServer runs civicdns against the world's hierarchy (on its
// port: the servers of a real hierarchy are on 53), with the real clock
// (signatures are checked against it).
func startRecursiveServer(t *testing.T, h *authtest.Hierarchy, tomlText string) *testServer {
	t.Helper()
	return startServerRecursion(t, time.Now, nil, `["127.0.0.1:0"]`, tomlText, func(o *recursive.Options) { o.Port = h.Port })
}

// Recursive mode end to end, with dig as the client: validated answers
// with AD, bogus ones SERVFAIL with EDE 6, CD, the cache in front, the
// policy before recursion, and conditional forwarding beside it.
func TestRecursiveModeWithDig(t *testing.T) {
	if _, err := exec.LookPath("dig"); err != nil {
		t.Fatal("dig is needed (apt-get install dnsutils); make test installs it")
	}
	h, hints, anchor := recursiveWorld(t)
	corp := dnstest.StartUpstream(t, dnstest.Answer("10.0.0.20", 300))
	ts := startRecursiveServer(t, h, fmt.Sprintf(`[upstream]
mode = "recursive"
root_hints = %q
trust_anchor = %q
[[upstream.zone]]
name = "city.internal"
servers = [%q]
[[department]]
name = "Everyone"
networks = ["127.0.0.0/8"]
block_domains = ["casino.example"]
`, hints, anchor, corp.Addr))

	out := dnstest.Dig(t, ts.Addr, "+dnssec", "www.example.", "A")
	if !strings.Contains(out, "status: NOERROR") || !strings.Contains(out, " ad") || !strings.Contains(out, "192.0.2.1") || !strings.Contains(out, "RRSIG") {
		t.Fatalf("secure answer:\n%s", out)
	}
	out = dnstest.Dig(t, ts.Addr, "+noadflag", "www.example.", "A")
	if !strings.Contains(out, "192.0.2.1") || strings.Contains(out, "RRSIG") || strings.Contains(out, " ad;") {
		t.Fatalf("without DO (and AD not asked): no RRSIG, no AD:\n%s", out)
	}
	out = dnstest.Dig(t, ts.Addr, "+adflag", "www.example.", "A")
	if !strings.Contains(out, " ad;") || strings.Contains(out, "RRSIG") {
		t.Fatalf("AD asked without DO (dig's default):\n%s", out)
	}
	before := ts.lookups(t)
	dnstest.Dig(t, ts.Addr, "+dnssec", "www.example.", "A")
	if n := ts.lookups(t); n != before {
		t.Fatalf("a cached answer was resolved again (%d → %d resolutions)", before, n)
	}

	out = dnstest.Dig(t, ts.Addr, "+dnssec", "www.bogus.example.", "A")
	if !strings.Contains(out, "status: SERVFAIL") || !strings.Contains(out, "EDE: 6 (DNSSEC Bogus)") {
		t.Fatalf("bogus answer:\n%s", out)
	}
	out = dnstest.Dig(t, ts.Addr, "+dnssec", "+cd", "www.bogus.example.", "A")
	if !strings.Contains(out, "status: NOERROR") || !strings.Contains(out, "192.0.2.2") || strings.Contains(out, " ad;") {
		t.Fatalf("bogus with CD:\n%s", out)
	}

	before = ts.lookups(t)
	out = dnstest.Dig(t, ts.Addr, "casino.example.", "A")
	if !strings.Contains(out, "status: NXDOMAIN") || !strings.Contains(out, "EDE: 15") {
		t.Fatalf("a blocked name:\n%s", out)
	}
	if n := ts.lookups(t); n != before {
		t.Fatal("a blocked name was resolved")
	}
	out = dnstest.Dig(t, ts.Addr, "fs1.city.internal.", "A")
	if !strings.Contains(out, "10.0.0.20") {
		t.Fatalf("conditional forwarding in recursive mode:\n%s", out)
	}
	if v := ts.counter(t, "civicdns_dnssec_validations_total", map[string]string{"result": "bogus"}); v < 1 {
		t.Fatalf("bogus validations counted %v", v)
	}
	if v := ts.counter(t, "civicdns_dnssec_validations_total", map[string]string{"result": "secure"}); v < 1 {
		t.Fatalf("secure validations counted %v", v)
	}
	for _, name := range []string{"civicdns_recursion_queries_per_lookup", "civicdns_recursion_server_rtt_seconds", "civicdns_recursion_infra_cache_entries", "civicdns_recursion_server_failures_total"} {
		if !ts.hasSeries(t, name, nil) {
			t.Errorf("no %s series", name)
		}
	}
}

// forwarder is a non-validating recursive resolver over the world, serving
// as the upstream of civicdns in forward mode; rewrite may change its answers.
func forwarder(t *testing.T, h *authtest.Hierarchy, hints string, rewrite func(*dns.Msg)) string {
	t.Helper()
	rec, err := recursive.New(recursive.Options{RootHints: hints, Port: h.Port})
	if err != nil {
		t.Fatal(err)
	}
	up := dnstest.StartUpstream(t, func(w dns.ResponseWriter, q *dns.Msg) {
		r, err := rec.Exchange(context.Background(), q)
		if err != nil {
			r = new(dns.Msg)
			r.SetRcode(q, dns.RcodeServerFailure)
		}
		r.Id = q.Id
		if rewrite != nil {
			rewrite(r)
		}
		w.WriteMsg(r)
	})
	return up.Addr
}

// Forward mode with dnssec = true validates what the upstream forwards:
// zones found by walking DS records down from the anchor.
func TestForwardModeValidates(t *testing.T) {
	h, hints, anchor := recursiveWorld(t)
	ts := startRecursiveServer(t, h, fmt.Sprintf("[upstream]\nservers = [%q]\ndnssec = true\ntrust_anchor = %q\n", forwarder(t, h, hints, nil), anchor))
	for _, c := range []struct {
		name, want string
		ad         bool
	}{
		{"www.example.", "status: NOERROR", true},
		{"nope.example.", "status: NXDOMAIN", true},
		{"www.plain.example.", "status: NOERROR", false},
		{"nope.plain.example.", "status: NXDOMAIN", false},
		{"www.bogus.example.", "EDE: 6 (DNSSEC Bogus)", false},
	} {
		out := dnstest.Dig(t, ts.Addr, "+dnssec", c.name, "A")
		if !strings.Contains(out, c.want) || strings.Contains(out, " ad;") != c.ad {
			t.Errorf("%s: want %q, AD %v:\n%s", c.name, c.want, c.ad, out)
		}
	}
	if v := ts.counter(t, "civicdns_dnssec_validations_total", map[string]string{"result": "secure"}); v < 2 {
		t.Fatalf("secure validations counted %v", v)
	}

	// A forwarder (or a network between) that strips the signatures cannot
	// pass a signed zone's data off as unsigned.
	strip := func(r *dns.Msg) {
		if r.Question[0].Qtype != dns.TypeA {
			return // DS and DNSKEY pass: the walk down from the root works
		}
		var kept []dns.RR
		for _, rr := range r.Answer {
			if rr.Header().Rrtype != dns.TypeRRSIG {
				kept = append(kept, rr)
			}
		}
		r.Answer = kept
	}
	ts = startRecursiveServer(t, h, fmt.Sprintf("[upstream]\nservers = [%q]\ndnssec = true\ntrust_anchor = %q\n", forwarder(t, h, hints, strip), anchor))
	if out := dnstest.Dig(t, ts.Addr, "www.example.", "A"); !strings.Contains(out, "EDE: 6 (DNSSEC Bogus)") {
		t.Fatalf("stripped signatures:\n%s", out)
	}
	if out := dnstest.Dig(t, ts.Addr, "www.plain.example.", "A"); !strings.Contains(out, "192.0.2.3") {
		t.Fatalf("an unsigned zone through the stripping forwarder:\n%s", out)
	}
}

// lookups is how many questions the recursive resolver has resolved (the
// count of civicdns_recursion_queries_per_lookup).
func (ts *testServer) lookups(t *testing.T) uint64 {
	t.Helper()
	mfs, err := ts.Reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "civicdns_recursion_queries_per_lookup" {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatal("no civicdns_recursion_queries_per_lookup")
	return 0
}
