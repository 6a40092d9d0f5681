package resolver

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/devices"
	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/miekg/dns"
	"github.com/quic-go/quic-go"
)

// encryptedServer runs civicdns with DoT (and the given extra TOML) on a
// self-signed certificate for dns.city.example and loopback.
func encryptedServer(t *testing.T, up, extra string) (*testServer, *x509.CertPool, string) {
	t.Helper()
	certPath, keyPath, pool := dnstest.CertFiles(t, "dns.city.example")
	ts := startServer(t, fmt.Sprintf("[server]\ntls_listen = [\"127.0.0.1:0\"]\nhttps_listen = [\"127.0.0.1:0\"]\nquic_listen = [\"127.0.0.1:0\"]\ntls_cert = %q\ntls_key = %q\n", certPath, keyPath)[len("[server]\n"):]+
		"[upstream]\nservers = [%s]\n"+extra, up)
	return ts, pool, certPath
}

// exchangeOver asks q over one transport of ts.
func exchangeOver(t *testing.T, ts *testServer, pool *x509.CertPool, transport string, q *dns.Msg) *dns.Msg {
	t.Helper()
	if strings.HasPrefix(transport, "https") {
		return exchangeDoH(t, ts, pool, transport == "https-get", q)
	}
	if transport == "quic" {
		return exchangeDoQ(t, ts.QUICAddrs()[0].String(), pool, q)
	}
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
	for _, transport := range []string{"udp", "tcp", "tcp-tls", "https-get", "https-post", "quic"} {
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
	for tr, n := range map[string]int{"udp": 1, "tcp": 1, "tls": 1, "https": 2, "quic": 1} {
		if got := ts.counter(t, "civicdns_queries_total", map[string]string{"transport": tr}); got != float64(n*len(cases)) {
			t.Errorf("civicdns_queries_total{transport=%q} = %v, want %d", tr, got, n*len(cases))
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

// exchangeDoH asks q over DNS over HTTPS (HTTP/2), by GET or POST, and
// checks the HTTP side of the answer.
func exchangeDoH(t *testing.T, ts *testServer, pool *x509.CertPool, get bool, q *dns.Msg) *dns.Msg {
	t.Helper()
	q.Id = 0 // RFC 8484: cache friendly
	wire, _ := q.Pack()
	url := "https://dns.city.example:" + fmt.Sprint(ts.HTTPSAddrs()[0].Port()) + DoHPath
	var req *http.Request
	if get {
		req, _ = http.NewRequest("GET", url+"?dns="+base64.RawURLEncoding.EncodeToString(wire), nil)
	} else {
		req, _ = http.NewRequest("POST", url, bytes.NewReader(wire))
		req.Header.Set("Content-Type", "application/dns-message")
	}
	addr := ts.HTTPSAddrs()[0].String()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("DoH: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 || resp.Header.Get("Content-Type") != "application/dns-message" {
		t.Fatalf("DoH: %s %s %q", resp.Status, resp.Proto, resp.Header.Get("Content-Type"))
	}
	r := new(dns.Msg)
	if err := r.Unpack(body); err != nil {
		t.Fatal(err)
	}
	if want := dohMaxAge(r); resp.Header.Get("Cache-Control") != want {
		t.Errorf("Cache-Control %q, want %q", resp.Header.Get("Cache-Control"), want)
	}
	return r
}

// dohMaxAge is the Cache-Control an answer should carry: its lowest TTL.
func dohMaxAge(r *dns.Msg) string {
	lowest, any := uint32(0), false
	for _, rr := range append(append(append([]dns.RR(nil), r.Answer...), r.Ns...), r.Extra...) {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		if !any || rr.Header().Ttl < lowest {
			lowest, any = rr.Header().Ttl, true
		}
	}
	return fmt.Sprintf("max-age=%d", lowest)
}

// kdig +https and curl --doh-url, real DoH clients, with the certificate
// checked; HTTP/1.1 too; and requests that are not DoH get HTTP errors.
func TestDoHWithRealClients(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"kdig", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed; make test installs it", tool)
		}
	}
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "reached "+r.Host) }))
	defer web.Close()
	up := dnstest.StartUpstream(t, dnstest.Answer("127.0.0.1", 300)) // every name is the test's web server
	ts, _, certPath := encryptedServer(t, up.Addr, "")
	doh := ts.HTTPSAddrs()[0]
	out, err := exec.Command("kdig", "@"+doh.Addr().String(), "-p", fmt.Sprint(doh.Port()), "+https", "+tls-ca="+certPath,
		"+tls-hostname=dns.city.example", "+time=5", "+retry=0", "www.example.com", "A").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "127.0.0.1") || !strings.Contains(string(out), "HTTP session (HTTP/2") {
		t.Fatalf("kdig +https: %v\n%s", err, out)
	}
	webPort := web.Listener.Addr().(*net.TCPAddr).Port
	dohURL := fmt.Sprintf("https://dns.city.example:%d/dns-query", doh.Port())
	out, err = exec.Command("curl", "-sS", "--max-time", "10", "--doh-url", dohURL, "--cacert", certPath,
		"--resolve", fmt.Sprintf("dns.city.example:%d:%s", doh.Port(), doh.Addr()),
		fmt.Sprintf("http://intranet.city.example:%d/", webPort)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "reached intranet.city.example") {
		t.Fatalf("curl --doh-url: %v\n%s", err, out)
	}
	// HTTP/1.1, and what is not a DoH request.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	base := "https://" + doh.String()
	for _, c := range []struct {
		method, path, ctype, body string
		status                    int
	}{
		{"GET", "/dns-query?dns=" + base64.RawURLEncoding.EncodeToString(mustPack(t, dnstest.Query("www.example.com", dns.TypeA))), "", "", 200},
		{"PUT", "/dns-query", "application/dns-message", "x", 405},
		{"POST", "/dns-query", "text/plain", "x", 415},
		{"GET", "/dns-query?dns=!!", "", "", 400},
		{"GET", "/dns-query", "", "", 400},
		{"GET", "/other", "", "", 404},
		{"POST", "/dns-query", "application/dns-message", "\x00\x01", 400}, // too short to be a DNS message
	} {
		req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status || resp.ProtoMajor != 1 {
			t.Errorf("%s %s: %s %s, want %d over HTTP/1.1", c.method, c.path, resp.Status, resp.Proto, c.status)
		}
	}
}

func mustPack(t *testing.T, m *dns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// DDR (RFC 9461/9462): _dns.resolver.arpa designates the encrypted
// transports the certificate covers; without [server] name, nothing.
func TestDDRDesignatesTheEncryptedTransports(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.20", 300))
	certPath, keyPath, _ := dnstest.CertFiles(t, "dns.city.example")
	ts := startServer(t, fmt.Sprintf("name = \"dns.city.example\"\ntls_listen = [\"127.0.0.1:0\"]\nhttps_listen = [\"127.0.0.1:0\"]\nquic_listen = [\"127.0.0.1:0\"]\ntls_cert = %q\ntls_key = %q\n", certPath, keyPath)+
		"[upstream]\nservers = [%s]\n", up.Addr)
	r := dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("_dns.resolver.arpa", dns.TypeSVCB))
	var got []string
	for _, rr := range r.Answer {
		got = append(got, strings.Join(strings.Fields(rr.String())[4:], " "))
	}
	dot, doh, doq := ts.TLSAddrs()[0].Port(), ts.HTTPSAddrs()[0].Port(), ts.QUICAddrs()[0].Port()
	want := []string{
		fmt.Sprintf("1 dns.city.example. alpn=\"dot\" port=\"%d\" ipv4hint=\"127.0.0.1\"", dot),
		fmt.Sprintf("2 dns.city.example. alpn=\"h2\" port=\"%d\" ipv4hint=\"127.0.0.1\" dohpath=\"/dns-query{?dns}\"", doh),
		fmt.Sprintf("3 dns.city.example. alpn=\"doq\" port=\"%d\" ipv4hint=\"127.0.0.1\"", doq),
	}
	if r.Rcode != dns.RcodeSuccess || !r.Authoritative || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("DDR: %s\n%s\nwant\n%s", dns.RcodeToString[r.Rcode], strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if r := dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("use-application-dns.net", dns.TypeA)); r.Rcode != dns.RcodeNameError {
		t.Errorf("the DoH canary: %s", dns.RcodeToString[r.Rcode])
	}
	plain := startServer(t, "[upstream]\nservers = [%s]\n", up.Addr)
	if r := dnstest.Exchange(t, "udp", plain.Addr, dnstest.Query("_dns.resolver.arpa", dns.TypeSVCB)); len(r.Answer) != 0 {
		t.Errorf("DDR without encrypted DNS: %v", r.Answer)
	}
}

// exchangeDoQ asks q over DNS over QUIC (RFC 9250): a stream of its own,
// the message ID 0, a 2-byte length before each message.
func exchangeDoQ(t *testing.T, addr string, pool *x509.CertPool, q *dns.Msg) *dns.Msg {
	t.Helper()
	return exchangeDoQName(t, addr, pool, "dns.city.example", q)
}

// exchangeDoQName is exchangeDoQ with the TLS server name given (a
// roaming device's TOKEN.dns.city.example).
func exchangeDoQName(t *testing.T, addr string, pool *x509.CertPool, serverName string, q *dns.Msg) *dns.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := quic.DialAddr(ctx, addr, &tls.Config{RootCAs: pool, ServerName: serverName, NextProtos: []string{"doq"}}, nil)
	if err != nil {
		t.Fatalf("DoQ: %v", err)
	}
	defer conn.CloseWithError(0, "")
	st, err := conn.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	q.Id = 0
	wire := mustPack(t, q)
	st.Write(append([]byte{byte(len(wire) >> 8), byte(len(wire))}, wire...))
	st.Close() // the query is all this stream carries
	body, err := io.ReadAll(st)
	if err != nil || len(body) < 2 || int(body[0])<<8|int(body[1]) != len(body)-2 {
		t.Fatalf("DoQ answer %x: %v", body, err)
	}
	r := new(dns.Msg)
	if err := r.Unpack(body[2:]); err != nil {
		t.Fatal(err)
	}
	return r
}

// dnsperf, a real load generator, over DoT and DoH (the token-less URL and
// a roaming device's): every query of a bounded run is answered.
func TestDnsperfOverDoTAndDoH(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("dnsperf"); err != nil {
		t.Fatal("dnsperf is needed (apt-get install dnsperf); make test installs it")
	}
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.20", 300))
	ts, _, _ := encryptedServer(t, up.Addr, "")
	tok := devices.NewToken()
	ts.State.SetDevices([]*devices.Device{{ID: "D-1", Name: "bench tablet", Key: devices.KeyOf(tok)}})
	var names strings.Builder
	for i := range 100 {
		fmt.Fprintf(&names, "n%d.example.com A\n", i)
	}
	file := filepath.Join(t.TempDir(), "names")
	os.WriteFile(file, []byte(names.String()), 0o644)
	dot, doh := ts.TLSAddrs()[0], ts.HTTPSAddrs()[0]
	for _, run := range []struct {
		name string
		args []string
	}{
		{"dot", []string{"-m", "dot", "-s", dot.Addr().String(), "-p", fmt.Sprint(dot.Port()), "-c", "2", "-q", "50"}},
		// One query in flight over DoH: dnsperf 2.10 loses answers that
		// arrive together on one HTTP/2 connection (DNS-OARC/dnsperf#240).
		{"doh", []string{"-m", "doh", "-s", doh.Addr().String(), "-p", fmt.Sprint(doh.Port()), "-O", "doh-uri=https://dns.city.example/dns-query", "-q", "1"}},
		{"doh device", []string{"-m", "doh", "-s", doh.Addr().String(), "-p", fmt.Sprint(doh.Port()), "-O", "doh-uri=https://dns.city.example/dns-query/" + tok, "-q", "1"}},
	} {
		out, err := exec.Command("dnsperf", append(run.args, "-d", file, "-n", "1", "-l", "20", "-t", "5")...).CombinedOutput()
		completed := regexp.MustCompile(`Queries completed:\s+(\d+)`).FindStringSubmatch(string(out))
		if err != nil || completed == nil || completed[1] != "100" || !strings.Contains(string(out), "NOERROR 100") {
			t.Fatalf("dnsperf %s: %v\n%s", run.name, err, out)
		}
	}
}
