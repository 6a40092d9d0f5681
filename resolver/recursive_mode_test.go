package resolver

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/internal/authtest"
	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/civicdns/civicdns/live"
	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/recursive"
	"github.com/civicdns/civicdns/upstream"
	"github.com/prometheus/client_golang/prometheus"
)

// recursiveWorld is a small signed hierarchy: the root, example. (NSEC3)
// with www, and bogus.example. whose www signature is broken.
func recursiveWorld(t *testing.T) (h *authtest.Hierarchy, hints, anchor string, servers map[string]*authtest.Server) {
	h = authtest.New(t)
	rootAddr, exAddr, bogusAddr := h.Addr(), h.Addr(), h.Addr()
	soa := "@ SOA ns.invalid. admin.invalid. 1 3600 600 86400 300\n"
	bogus := authtest.NewZone(t, "bogus.example.", soa+"@ NS ns\nns A "+bogusAddr+"\nwww A 192.0.2.2\n")
	bogus.Sign(t, authtest.SignOptions{})
	bogus.Corrupt("www.bogus.example.", 1)
	ex := authtest.NewZone(t, "example.", soa+"@ NS ns\nns A "+exAddr+"\nwww A 192.0.2.1\ncasino A 192.0.2.9\nbogus NS ns.bogus\nns.bogus A "+bogusAddr+"\n")
	ex.Add(bogus.DS())
	ex.Sign(t, authtest.SignOptions{NSEC3: true})
	root := authtest.NewZone(t, ".", soa+"@ NS a.root.\na.root. A "+rootAddr+"\nexample. NS ns.example.\nns.example. A "+exAddr+"\n")
	root.Add(ex.DS())
	root.Sign(t, authtest.SignOptions{})
	servers = map[string]*authtest.Server{
		"root":    h.Serve(rootAddr, root),
		"example": h.Serve(exAddr, ex),
		"bogus":   h.Serve(bogusAddr, bogus),
	}
	return h, h.RootHints(map[string]string{"a.root.": rootAddr}), h.Anchor(root), servers
}

// startRecursiveServer runs civicdns in recursive mode against the world's
// hierarchy (on its port: the servers of a real hierarchy are on 53).
func startRecursiveServer(t *testing.T, h *authtest.Hierarchy, tomlText string) *testServer {
	t.Helper()
	cfg, err := config.Parse("test.toml", []byte("[server]\nlisten = [\"127.0.0.1:0\"]\n"+tomlText))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Load(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Clock: dnstest.NewClock(), Reg: prometheus.NewRegistry()}
	m := recursive.NewMetrics(ts.Reg)
	opts := live.Options{Registry: ts.Reg, Upstream: upstream.Options{Recursive: func(p upstream.Plan) (upstream.Upstream, error) {
		o := live.RecursiveOptions(p, m, time.Now)
		o.Port = h.Port
		return recursive.New(o)
	}}}
	if ts.State, err = live.New(cfg, pol, opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.State.Close() })
	if ts.Server, err = New(Options{State: ts.State, Registry: ts.Reg}); err != nil {
		t.Fatal(err)
	}
	if err := ts.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts.Addr = ts.Addrs()[0].String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ts.Shutdown(ctx)
	})
	return ts
}

func digAt(t *testing.T, addr string, args ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command("dig", append([]string{"@" + host, "-p", port, "+time=5", "+tries=1"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("dig %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// Recursive mode end to end, with dig as the client: validated answers
// with AD, bogus ones SERVFAIL with EDE 6, CD, the cache in front, the
// policy before recursion, and conditional forwarding beside it.
func TestRecursiveModeWithDig(t *testing.T) {
	if _, err := exec.LookPath("dig"); err != nil {
		t.Fatal("dig is needed (apt-get install dnsutils); make test installs it")
	}
	h, hints, anchor, servers := recursiveWorld(t)
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

	out := digAt(t, ts.Addr, "+dnssec", "www.example.", "A")
	if !strings.Contains(out, "status: NOERROR") || !strings.Contains(out, " ad") || !strings.Contains(out, "192.0.2.1") || !strings.Contains(out, "RRSIG") {
		t.Fatalf("secure answer:\n%s", out)
	}
	out = digAt(t, ts.Addr, "+noadflag", "www.example.", "A")
	if !strings.Contains(out, "192.0.2.1") || strings.Contains(out, "RRSIG") || strings.Contains(out, " ad;") {
		t.Fatalf("without DO (and AD not asked): no RRSIG, no AD:\n%s", out)
	}
	out = digAt(t, ts.Addr, "+adflag", "www.example.", "A")
	if !strings.Contains(out, " ad;") || strings.Contains(out, "RRSIG") {
		t.Fatalf("AD asked without DO (dig's default):\n%s", out)
	}
	before := servers["example"].Queries()
	digAt(t, ts.Addr, "+dnssec", "www.example.", "A")
	if n := servers["example"].Queries(); n != before {
		t.Fatalf("a cached answer asked example.'s server again (%d → %d)", before, n)
	}

	out = digAt(t, ts.Addr, "+dnssec", "www.bogus.example.", "A")
	if !strings.Contains(out, "status: SERVFAIL") || !strings.Contains(out, "EDE: 6 (DNSSEC Bogus)") {
		t.Fatalf("bogus answer:\n%s", out)
	}
	out = digAt(t, ts.Addr, "+dnssec", "+cd", "www.bogus.example.", "A")
	if !strings.Contains(out, "status: NOERROR") || !strings.Contains(out, "192.0.2.2") || strings.Contains(out, " ad;") {
		t.Fatalf("bogus with CD:\n%s", out)
	}

	before = servers["example"].Queries()
	out = digAt(t, ts.Addr, "casino.example.", "A")
	if !strings.Contains(out, "status: NXDOMAIN") || !strings.Contains(out, "EDE: 15") {
		t.Fatalf("a blocked name:\n%s", out)
	}
	if n := servers["example"].Queries(); n != before {
		t.Fatal("a blocked name was resolved")
	}
	out = digAt(t, ts.Addr, "fs1.city.internal.", "A")
	if !strings.Contains(out, "10.0.0.20") {
		t.Fatalf("conditional forwarding in recursive mode:\n%s", out)
	}
	if v := ts.counter(t, "civicdns_dnssec_validations_total", map[string]string{"result": "bogus"}); v < 1 {
		t.Fatalf("bogus validations counted %v", v)
	}
	if v := ts.counter(t, "civicdns_dnssec_validations_total", map[string]string{"result": "secure"}); v < 1 {
		t.Fatalf("secure validations counted %v", v)
	}
}
