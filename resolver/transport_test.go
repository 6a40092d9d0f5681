package resolver

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/miekg/dns"
)

// encryptedServer runs civicdns with DoT (and the given extra TOML) on a
// self-signed certificate for dns.city.example and loopback.
func encryptedServer(t *testing.T, up, extra string) (*testServer, *x509.CertPool, string) {
	t.Helper()
	certPath, keyPath, pool := dnstest.CertFiles(t, "dns.city.example")
	ts := startServer(t, fmt.Sprintf("[server]\ntls_listen = [\"127.0.0.1:0\"]\ntls_cert = %q\ntls_key = %q\n", certPath, keyPath)[len("[server]\n"):]+
		"[upstream]\nservers = [%s]\n"+extra, up)
	return ts, pool, certPath
}

// exchangeOver asks q over one transport of ts.
func exchangeOver(t *testing.T, ts *testServer, pool *x509.CertPool, transport string, q *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: transport, Timeout: 5 * time.Second}
	addr := ts.Addr
	if transport == "tcp-tls" {
		c.TLSConfig = &tls.Config{RootCAs: pool, ServerName: "dns.city.example"}
		addr = ts.TLSAddrs()[0].String()
	}
	r, _, err := c.Exchange(q, addr)
	if err != nil {
		t.Fatalf("%s: %v", transport, err)
	}
	return r
}

// edeText is an answer's Extended DNS Error as "code text" ("" for none).
func edeText(r *dns.Msg) string {
	if code, text, ok := ede(r); ok {
		return fmt.Sprintf("%d %s", code, text)
	}
	return ""
}

// One path for every transport: the same chain answers the same cases the
// same way over UDP, TCP and DNS over TLS, and the query log and metrics
// name the transport.
func TestEveryTransportAnswersAlike(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.20", 300))
	ts, pool, _ := encryptedServer(t, up.Addr, "[lists]\ndir = \"testdata/lists\"\n[policy]\nblock = [\"gambling\"]\n[block]\nanswer = \"nxdomain\"\n")
	cases := []struct {
		name        string
		qtype       uint16
		rcode       int
		answer, ede string
	}{
		{"www.example.com", dns.TypeA, dns.RcodeSuccess, "192.0.2.20", ""},
		{"www.casino.example", dns.TypeA, dns.RcodeNameError, "", "15 Blocked (gambling)"},
		{"5.1.168.192.in-addr.arpa", dns.TypePTR, dns.RcodeNameError, "", ""},
		{"localhost", dns.TypeA, dns.RcodeSuccess, "127.0.0.1", ""},
		{"www.example.com", dns.TypeANY, dns.RcodeRefused, "", ""},
	}
	for _, transport := range []string{"udp", "tcp", "tcp-tls"} {
		for _, c := range cases {
			r := exchangeOver(t, ts, pool, transport, dnstest.Query(c.name, c.qtype))
			got := ""
			if len(r.Answer) > 0 {
				if a, ok := r.Answer[0].(*dns.A); ok {
					got = a.A.String()
				}
			}
			if r.Rcode != c.rcode || got != c.answer || (c.ede != "" && edeText(r) != c.ede) {
				t.Errorf("%s %s: %s %q EDE %q; want %s %q %q", transport, c.name, dns.RcodeToString[r.Rcode], got, edeText(r), dns.RcodeToString[c.rcode], c.answer, c.ede)
			}
		}
	}
	for _, tr := range []string{"udp", "tcp", "tls"} {
		if n := ts.counter(t, "civicdns_queries_total", map[string]string{"transport": tr}); n != float64(len(cases)) {
			t.Errorf("civicdns_queries_total{transport=%q} = %v, want %d", tr, n, len(cases))
		}
	}
}

// kdig, a real DoT client, with the certificate's CA and name checked.
func TestDoTWithKdig(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("kdig"); err != nil {
		t.Fatal("kdig is needed (apt-get install knot-dnsutils); make test installs it")
	}
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.20", 300))
	ts, _, certPath := encryptedServer(t, up.Addr, "")
	addr := ts.TLSAddrs()[0]
	out, err := exec.Command("kdig", "@"+addr.Addr().String(), "-p", fmt.Sprint(addr.Port()), "+tls-ca="+certPath,
		"+tls-hostname=dns.city.example", "+time=5", "+retry=0", "www.example.com", "A").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "192.0.2.20") || !strings.Contains(string(out), "TLS") {
		t.Fatalf("kdig +tls: %v\n%s", err, out)
	}
	// A client that does not trust the certificate gets nothing.
	out, err = exec.Command("kdig", "@"+addr.Addr().String(), "-p", fmt.Sprint(addr.Port()), "+tls-ca="+certPath,
		"+tls-hostname=other.example", "+time=3", "+retry=0", "www.example.com", "A").CombinedOutput()
	if err == nil && strings.Contains(string(out), "192.0.2.20") {
		t.Errorf("kdig accepted a certificate for another name:\n%s", out)
	}
}
