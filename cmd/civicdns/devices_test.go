package main

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// devicesWorld is two instances sharing PostgreSQL, serving DoT and DoH as
// dns.city.example with a certificate from the city CA, to nobody by
// address (allow names another loopback address): only roaming devices.
func devicesWorld(tb testing.TB) (*twoInstances, string) {
	tb.Helper()
	caDir := filepath.Join(tb.TempDir(), "ca")
	var out, errb bytes.Buffer
	if run([]string{"ca", "init", "-dir", caDir}, &out, &errb) != 0 ||
		run([]string{"ca", "issue", "-dir", caDir, "-name", "dns.city.example", "-ip", "127.0.0.1"}, &out, &errb) != 0 {
		tb.Fatalf("the city CA: %s", errb.String())
	}
	w := startTwoInstancesWith(tb, fmt.Sprintf(`name = "dns.city.example"
allow = ["127.9.9.9/32"]
tls_listen = ["127.0.0.1:0"]
https_listen = ["127.0.0.1:0"]
tls_cert = %q
tls_key = %q`, filepath.Join(caDir, "dns.pem"), filepath.Join(caDir, "dns.key")))
	return w, filepath.Join(caDir, "ca.pem")
}

// kdigDevice asks name of instance d as the device with token, over DoH
// (the token in the path) or DoT (in the server name), with the city CA
// checked, and returns kdig's status line and answer.
func kdigDevice(t testing.TB, d *process, caPEM, transport, token, name string) string {
	t.Helper()
	var args []string
	switch transport {
	case "doh":
		host, port, _ := net.SplitHostPort(encryptedAddr(t.(*testing.T), d, "https://"))
		args = []string{"@" + host, "-p", port, "+https=/dns-query/" + token, "+tls-hostname=dns.city.example"}
	case "dot":
		host, port, _ := net.SplitHostPort(encryptedAddr(t.(*testing.T), d, "tls://"))
		args = []string{"@" + host, "-p", port, "+tls", "+tls-sni=" + token + ".dns.city.example", "+tls-hostname=" + token + ".dns.city.example"}
	}
	out, _ := exec.Command("kdig", append(args, "+tls-ca="+caPEM, "+time=5", "+retry=0", "+noall", "+header", "+answer", name, "A")...).CombinedOutput()
	return string(out)
}

var tokenLine = regexp.MustCompile(`(?m)^  DNS over TLS.*?([a-z2-7]{26})\.dns\.city\.example`)

// A device enrolled from a shell against one instance is served by both,
// over DoH and DoT with real clients (kdig), from an address the allow
// list refuses, with its department's policy; `devices list` shows it
// (never its token); revoked on one instance, the other refuses it.
func TestDevicesEnrolledAndRevokedAcrossInstances(t *testing.T) {
	if _, err := exec.LookPath("kdig"); err != nil {
		t.Fatal("kdig is needed (apt-get install knot-dnsutils); make test installs it")
	}
	w, caPEM := devicesWorld(t)
	var out, errb bytes.Buffer
	if code := run([]string{"devices", "-config", w.cfgA, "add", "-department", "police", "-name", "Patrol car 12", "-by", "Chief of Police"}, &out, &errb); code != 0 {
		t.Fatalf("devices add: %d %s", code, errb.String())
	}
	m := tokenLine.FindStringSubmatch(out.String())
	if m == nil || !strings.Contains(out.String(), "https://dns.city.example:0/dns-query/"+m[1]) || !strings.Contains(out.String(), `"Patrol car 12" of Police`) {
		t.Fatalf("devices add printed:\n%s", out.String())
	}
	token := m[1]
	id := strings.Fields(out.String())[1]
	for _, d := range []*process{w.a, w.b} {
		for _, tr := range []string{"doh", "dot"} {
			if got := kdigDevice(t, d, caPEM, tr, token, "n1.example"); !strings.Contains(got, "10.0.0.53") {
				t.Fatalf("%s over %s: the device did not get the Police policy:\n%s", d.addr, tr, got)
			}
			if got := kdigDevice(t, d, caPEM, tr, token, "www.city.gov"); !strings.Contains(got, "192.0.2.20") {
				t.Fatalf("%s over %s: the device's lookup:\n%s", d.addr, tr, got)
			}
		}
	}
	if got := kdigDevice(t, w.b, caPEM, "dot", strings.Repeat("a", 26), "www.city.gov"); !strings.Contains(got, "REFUSED") {
		t.Fatalf("an unknown token:\n%s", got)
	}
	out.Reset()
	if run([]string{"devices", w.cfgB, "list"}, &out, &errb) != 0 || !strings.Contains(out.String(), id) || strings.Contains(out.String(), token) {
		t.Fatalf("devices list: %s", out.String())
	}
	errb.Reset()
	if code := run([]string{"check", w.cfgA}, &out, &errb); code != 0 || strings.Contains(errb.String(), "device") {
		t.Fatalf("check with an enrolled device: %d %s", code, errb.String())
	}
	if code := run([]string{"devices", "-config", w.cfgA, "revoke", id, "-by", "Chief of Police"}, &out, &errb); code != 0 {
		t.Fatalf("devices revoke: %s", errb.String())
	}
	start := time.Now()
	for !strings.Contains(kdigDevice(t, w.b, caPEM, "dot", token, "www.city.gov"), "REFUSED") {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the revoked device is still served by the other instance after 10 s")
		}
	}
	t.Logf("revoked on a, refused by b after %v", time.Since(start).Round(time.Millisecond))
	out.Reset()
	run([]string{"audit", "-config", w.cfgB}, &out, &errb)
	if !strings.Contains(out.String(), "device-add") || !strings.Contains(out.String(), "device-revoke") {
		t.Fatalf("the audit trail:\n%s", out.String())
	}
	// Bad input: an unknown department, a name twice, no -by.
	for _, args := range [][]string{
		{"add", "-department", "Nowhere", "-name", "x", "-by", "Chief of Police"},
		{"add", "-department", "Police", "-name", "x"},
		{"revoke", id, "-by", "Chief of Police"},
	} {
		errb.Reset()
		if code := run(append([]string{"devices", "-config", w.cfgA}, args...), &out, &errb); code == 0 || errb.Len() == 0 {
			t.Errorf("devices %v: %d %s", args, code, errb.String())
		}
	}
}
