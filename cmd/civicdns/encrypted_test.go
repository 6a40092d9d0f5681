package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/dnstest"
)

// servedSerial is the serial of the certificate the server presents.
func servedSerial(t *testing.T, addr string, pool *x509.CertPool) string {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{RootCAs: pool, ServerName: "dns.city.example"})
	if err != nil {
		t.Fatalf("TLS to %s: %v", addr, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

// The city CA issues the resolver's certificate; kdig verifies DoT with
// the CA alone; a renewal (ca issue again) is served without a restart.
func TestCAIssueThenDoTAndRenewal(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("kdig"); err != nil {
		t.Fatal("kdig is needed (apt-get install knot-dnsutils); make test installs it")
	}
	dir := t.TempDir()
	caDir := filepath.Join(dir, "ca")
	var out, errb bytes.Buffer
	if code := run([]string{"ca", "init", "-dir", caDir}, &out, &errb); code != 0 {
		t.Fatalf("ca init: %s", errb.String())
	}
	if code := run([]string{"ca", "issue", "-dir", caDir, "-name", "dns.city.example", "-ip", "127.0.0.1"}, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), `tls_cert = "`+filepath.Join(caDir, "dns.pem")+`"`) {
		t.Fatalf("ca issue: %d %s %s", code, out.String(), errb.String())
	}
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.20", 300))
	cfg := writeFile(t, dir, "civicdns.toml", fmt.Sprintf("[server]\nlisten = [\"127.0.0.1:0\"]\ntls_listen = [\"127.0.0.1:0\"]\ntls_cert = %q\ntls_key = %q\n[metrics]\nlisten = \"\"\n[upstream]\nservers = [%q]\n",
		filepath.Join(caDir, "dns.pem"), filepath.Join(caDir, "dns.key"), up.Addr))
	out.Reset()
	if code := run([]string{"check", cfg}, &out, &errb); code != 0 || strings.Contains(out.String(), "WARNING: tls_cert") {
		t.Errorf("check: %d %s %s", code, out.String(), errb.String())
	}
	d := startDaemon(t, cfg)
	dot := encryptedAddr(t, d, "tls://")
	host, port, _ := net.SplitHostPort(dot)
	kdig, err := exec.Command("kdig", "@"+host, "-p", port, "+tls-ca="+filepath.Join(caDir, "ca.pem"), "+tls-hostname=dns.city.example",
		"+time=5", "+retry=0", "www.example.com", "A").CombinedOutput()
	if err != nil || !strings.Contains(string(kdig), "192.0.2.20") {
		t.Fatalf("kdig +tls with the city CA: %v\n%s", err, kdig)
	}
	caPEM, _ := os.ReadFile(filepath.Join(caDir, "ca.pem"))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	first := servedSerial(t, dot, pool)
	if code := run([]string{"ca", "issue", "-dir", caDir, "-name", "dns.city.example", "-ip", "127.0.0.1", "-days", "30"}, &out, &errb); code != 0 {
		t.Fatalf("renewal: %s", errb.String())
	}
	deadline := time.Now().Add(15 * time.Second)
	for servedSerial(t, dot, pool) == first {
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate is not served")
		}
		time.Sleep(200 * time.Millisecond) // the files are checked once a second
	}
}

// encryptedAddr is the address of the served transport with scheme
// ("tls://", "https://"), from the start-up log.
func encryptedAddr(t *testing.T, d *process, scheme string) string {
	t.Helper()
	list, _ := d.serving["encrypted"].([]any)
	for _, a := range list {
		if s, _ := a.(string); strings.HasPrefix(s, scheme) {
			return strings.TrimSuffix(strings.TrimPrefix(s, scheme), "/dns-query")
		}
	}
	t.Fatalf("no %s address served: %v", scheme, d.serving)
	return ""
}
