package main

import (
	"bytes"
	"strings"
	"syscall"
	"testing"

	"github.com/civicdns/civicdns/internal/dnstest"
)

// Local answers are logged with their own action and rule, and counted by
// the report per department.
func TestLocalAnswersInTheLogAndReport(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.20", 300))
	dir := t.TempDir()
	cfg := writeFile(t, dir, "civicdns.toml", "[server]\nlisten = [\"127.0.0.1:0\"]\n[metrics]\nlisten = \"\"\n[upstream]\nservers = [\""+up.Addr+"\"]\n"+
		"[log]\ndir = \"log\"\n[[department]]\nname = \"Parks\"\nnetworks = [\"127.0.0.0/8\"]\n")
	d := startDaemon(t, cfg)
	dnstest.Dig(t, d.addr, "-x", "192.168.1.5")
	dnstest.Dig(t, d.addr, "wpad.parks.example", "A")
	dnstest.Dig(t, d.addr, "www.example.com", "A")
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.waitLog(t, "stopped")
	d.cmd.Wait()
	var out, errb bytes.Buffer
	if code := run([]string{"logs", cfg, "-action", "local", "-json"}, &out, &errb); code != 0 {
		t.Fatalf("logs: %d %s", code, errb.String())
	}
	for _, want := range []string{`"name":"5.1.168.192.in-addr.arpa"`, `"action":"local"`, `"rule":"built in: RFC 6303: private space 192.168/16 (168.192.in-addr.arpa)"`,
		`"name":"wpad.parks.example"`, `"rcode":"NXDOMAIN"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("logs -action local lacks %s:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "www.example.com") {
		t.Errorf("an ordinary name logged as local:\n%s", out.String())
	}
	out.Reset()
	if code := run([]string{"report", cfg}, &out, &errb); code != 0 || !strings.Contains(out.String(), "Parks: 3 lookups, 0 blocked, 0 exempted, 2 answered locally") {
		t.Errorf("report: %d %s %s", code, out.String(), errb.String())
	}
}
