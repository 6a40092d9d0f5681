package resolver

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/devices"
	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/civicdns/civicdns/query"
	"github.com/miekg/dns"
)

// devicesServer serves DoT, DoH and DoQ as dns.city.example to nobody by
// address (allow names another loopback address): only enrolled devices'
// tokens are answered. Police blocks gambling; the city blocks nothing.
func devicesServer(t *testing.T, rec *recordLog, extra string) (*testServer, *x509.CertPool) {
	t.Helper()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.20", 300))
	certPath, keyPath, pool := dnstest.CertFiles(t, "dns.city.example")
	text := fmt.Sprintf(`name = "dns.city.example"
allow = ["127.9.9.9/32"]
tls_listen = ["127.0.0.1:0"]
https_listen = ["127.0.0.1:0"]
quic_listen = ["127.0.0.1:0"]
tls_cert = %q
tls_key = %q
%s
[upstream]
servers = [%q]
[lists]
dir = "testdata/lists"
[policy]
block = []
[block]
answer = "nxdomain"
[[department]]
name = "Police"
networks = ["10.20.0.0/16"]
block = ["gambling"]
`, certPath, keyPath, extra, up.Addr)
	var r query.Recorder
	if rec != nil {
		r = rec
	}
	ts := startServerFull(t, nil, r, `["127.0.0.1:0"]`, text)
	return ts, pool
}

// dohDevice asks q over DoH at path and returns the HTTP status and the answer (nil unless 200).
func dohDevice(t *testing.T, ts *testServer, pool *x509.CertPool, path string, q *dns.Msg) (int, *dns.Msg) {
	t.Helper()
	q.Id = 0
	addr := ts.HTTPSAddrs()[0].String()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest("POST", "https://dns.city.example"+path, bytes.NewReader(mustPack(t, q)))
	req.Header.Set("Content-Type", "application/dns-message")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("DoH %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	r := new(dns.Msg)
	if err := r.Unpack(body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, r
}

// dotConn is a DoT connection with the given server name, kept open.
func dotConn(t *testing.T, ts *testServer, pool *x509.CertPool, serverName string) *dns.Conn {
	t.Helper()
	c, err := tls.Dial("tcp", ts.TLSAddrs()[0].String(), &tls.Config{RootCAs: pool, ServerName: serverName})
	if err != nil {
		t.Fatalf("DoT as %s: %v", serverName, err)
	}
	t.Cleanup(func() { c.Close() })
	return &dns.Conn{Conn: c}
}

func askConn(t *testing.T, c *dns.Conn, q *dns.Msg) *dns.Msg {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := c.WriteMsg(q); err != nil {
		t.Fatal(err)
	}
	r, err := c.ReadMsg()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A roaming device's token, in its DoH path or its DoT/DoQ server name,
// gets its department's policy from an address the allow list refuses,
// and the record names the device; a revoked token is refused at once on
// every transport (HTTP 403, REFUSED), also on a DoT connection already
// open; an unknown or malformed token likewise.
func TestRoamingDevicesByToken(t *testing.T) {
	t.Parallel()
	rec := newRecordLog()
	ts, pool := devicesServer(t, rec, "")
	tok := devices.NewToken()
	car := &devices.Device{ID: "D-CAR", Name: "Patrol car 12", Department: "Police", DeptKey: config.DepartmentKey("Police"), Key: devices.KeyOf(tok)}
	ts.State.SetDevices([]*devices.Device{car})
	sni := tok + ".dns.city.example"
	casino, plain := dnstest.Query("www.casino.example", dns.TypeA), dnstest.Query("www.example.com", dns.TypeA)

	// Without a token the address decides: 127.0.0.1 is not served.
	if r := exchangeOver(t, ts, pool, "tcp-tls", plain.Copy()); r.Rcode != dns.RcodeRefused || edeText(r) != "18 not a client of this resolver" {
		t.Fatalf("no token: %s %q", dns.RcodeToString[r.Rcode], edeText(r))
	}
	if st, r := dohDevice(t, ts, pool, DoHPath, plain.Copy()); st != 200 || r.Rcode != dns.RcodeRefused {
		t.Fatalf("DoH without a token: HTTP %d %v", st, r)
	}
	dot := dotConn(t, ts, pool, sni)
	ask := map[string]func(q *dns.Msg) (int, *dns.Msg){
		"dot": func(q *dns.Msg) (int, *dns.Msg) { return 200, askConn(t, dot, q) },
		"doh": func(q *dns.Msg) (int, *dns.Msg) { return dohDevice(t, ts, pool, DoHPath+"/"+tok, q) },
		"doq": func(q *dns.Msg) (int, *dns.Msg) {
			return 200, exchangeDoQName(t, ts.QUICAddrs()[0].String(), pool, sni, q)
		},
	}
	for _, tr := range []string{"dot", "doh", "doq"} {
		if st, r := ask[tr](plain.Copy()); st != 200 || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Fatalf("%s: the device's ordinary lookup: HTTP %d %v", tr, st, r)
		}
		if st, r := ask[tr](casino.Copy()); st != 200 || r.Rcode != dns.RcodeNameError || edeText(r) != "15 Blocked (gambling)" {
			t.Fatalf("%s: the Police policy did not apply: HTTP %d %v", tr, st, r)
		}
	}
	for _, r := range rec.waitFor(t, 8) {
		if r.Action == "refused" {
			continue // the token-less lookups
		}
		if r.Device != "Patrol car 12" || r.Department != "Police" {
			t.Errorf("record %s over %s: device %q department %q", r.Name, r.Transport, r.Device, r.Department)
		}
	}

	// Unknown and malformed tokens.
	other := devices.NewToken()
	if st, _ := dohDevice(t, ts, pool, DoHPath+"/"+other, plain.Copy()); st != http.StatusForbidden {
		t.Errorf("unknown DoH token: HTTP %d", st)
	}
	if st, _ := dohDevice(t, ts, pool, DoHPath+"/not-a-token", plain.Copy()); st != http.StatusForbidden {
		t.Errorf("malformed DoH token: HTTP %d", st)
	}
	if r := askConn(t, dotConn(t, ts, pool, other+".dns.city.example"), plain.Copy()); r.Rcode != dns.RcodeRefused {
		t.Errorf("unknown DoT token: %s", dns.RcodeToString[r.Rcode])
	}

	// Revoked: refused at once, on the connection already open too.
	ts.State.SetDevices(nil)
	if st, _ := ask["doh"](plain.Copy()); st != http.StatusForbidden {
		t.Errorf("revoked DoH token: HTTP %d", st)
	}
	for _, tr := range []string{"dot", "doq"} {
		if _, r := ask[tr](plain.Copy()); r.Rcode != dns.RcodeRefused || edeText(r) != "18 unknown or revoked device token" {
			t.Errorf("revoked %s token: %s %q", tr, dns.RcodeToString[r.Rcode], edeText(r))
		}
	}
}

// The rate limit counts a device by its token: two devices behind one
// address (a car's modem, a home router) are limited each on its own.
func TestRateLimitPerDeviceToken(t *testing.T) {
	t.Parallel()
	ts, pool := devicesServer(t, nil, "[server.rate_limit]\nqueries = 5\nburst = 5\n")
	var conns []*dns.Conn
	var devs []*devices.Device
	for i := range 2 {
		tok := devices.NewToken()
		devs = append(devs, &devices.Device{ID: fmt.Sprint("D-", i), Name: fmt.Sprint("tablet ", i), Department: "Police", DeptKey: "police", Key: devices.KeyOf(tok)})
		conns = append(conns, dotConn(t, ts, pool, tok+".dns.city.example"))
	}
	ts.State.SetDevices(devs)
	refused := func(c *dns.Conn, n int) int {
		k := 0
		for range n {
			if askConn(t, c, dnstest.Query("www.example.com", dns.TypeA)).Rcode == dns.RcodeRefused {
				k++
			}
		}
		return k
	}
	// The clock stands still: the burst is all either device gets.
	if got := refused(conns[0], 12); got != 7 {
		t.Fatalf("the first device: %d of 12 refused, want 7 (burst 5)", got)
	}
	if got := refused(conns[1], 5); got != 0 {
		t.Fatalf("the second device, same address: %d of 5 refused", got)
	}
}
