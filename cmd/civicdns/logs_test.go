package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/civicdns/civicdns/internal/pgtest"
	"github.com/civicdns/civicdns/state"
)

// Every query answered before SIGTERM is in the query log; logs finds
// them, report sums them, holds are placed and released, and every use is
// audited.
func TestQueryLogEndToEnd(t *testing.T) {
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.20", 300))
	dir := t.TempDir()
	cfg := writeFile(t, dir, "civicdns.toml", "[server]\nlisten = [\"127.0.0.1:0\"]\n[metrics]\nlisten = \"\"\n[upstream]\nservers = [\""+up.Addr+"\"]\n"+
		"[log]\ndir = \"querylog\"\ninstance = \"dns1\"\nretention_days = 60\nblocked_retention_days = 365\n"+
		"[policy]\nmax_exemption = \"36500d\"\n"+
		"[[department]]\nname = \"Police\"\nnetworks = [\"127.0.0.1/32\"]\n"+
		"[[exemption]]\ndepartment = \"Police\"\ndomains = [\"betfair.com\"]\napproved_by = \"Chief\"\nreason = \"Fraud unit\"\nexpires = 2099-01-01\n")
	d := startDaemon(t, cfg)
	names := []string{"www.example.com", "www.pokerstars.com", "www.example.com", "mail.example.org", "bet365.com", "www.betfair.com"}
	for _, n := range names {
		dnstest.Dig(t, d.addr, "+short", n, "A")
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.waitLog(t, "stopped")
	d.cmd.Wait()

	var out, errb bytes.Buffer
	if code := run([]string{"logs", "-config", cfg, "-json"}, &out, &errb); code != 0 {
		t.Fatalf("logs: %d %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(names) {
		t.Fatalf("%d records for %d queries answered before SIGTERM:\n%s", len(lines), len(names), out.String())
	}
	var exempted, newest map[string]any
	json.Unmarshal([]byte(lines[0]), &exempted)
	if exempted["action"] != "exempted" || !strings.HasPrefix(exempted["rule"].(string), "c-") || exempted["answer"] != "192.0.2.20" || exempted["upstream"] != up.Addr {
		t.Errorf("exempted record %v", exempted)
	}
	json.Unmarshal([]byte(lines[1]), &newest)
	if newest["name"] != "bet365.com" || newest["action"] != "blocked" || newest["category"] != "gambling" || newest["department"] != "Police" ||
		newest["instance"] != "dns1" || !strings.Contains(newest["rule"].(string), "gambling") {
		t.Errorf("newest record %v", newest)
	}
	out.Reset()
	run([]string{"logs", "-config", cfg, "-action", "blocked", "-department", "police", "-client", "127.0.0.1"}, &out, &errb)
	if got := strings.Count(out.String(), "\n"); got != 2 || !strings.Contains(out.String(), "www.pokerstars.com (gambling)") {
		t.Errorf("blocked lookups:\n%s", out.String())
	}
	out.Reset()
	run([]string{"logs", "-config", cfg, "-name", "example.com", "-limit", "1"}, &out, &errb)
	if got := strings.Count(out.String(), "\n"); got != 1 {
		t.Errorf("-limit 1: %q", out.String())
	}
	out.Reset()
	if code := run([]string{"report", "-config", cfg}, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), "Police: 6 lookups, 2 blocked, 1 exempted") || !strings.Contains(out.String(), "blocked as gambling") {
		t.Errorf("report:\n%s", out.String())
	}
	out.Reset()
	run([]string{"report", "-config", cfg, "-csv"}, &out, &errb)
	if !strings.Contains(out.String(), "Police,blocked,,2") {
		t.Errorf("report -csv:\n%s", out.String())
	}
	out.Reset()
	if code := run([]string{"logs", "-config", cfg, "hold", "-client", "127.0.0.1", "-reason", "Case 77"}, &out, &errb); code != 0 {
		t.Fatalf("hold: %d %s", code, errb.String())
	}
	id := regexp.MustCompile(`H-[A-Z2-7]{8}`).FindString(out.String())
	out.Reset()
	run([]string{"logs", "-config", cfg, "holds"}, &out, &errb)
	if !strings.Contains(out.String(), id) || !strings.Contains(out.String(), "in force") {
		t.Errorf("holds:\n%s", out.String())
	}
	if code := run([]string{"logs", "-config", cfg, "release", id}, &out, &errb); code != 0 {
		t.Errorf("release: %d %s", code, errb.String())
	}
	// No [state] dir: the log folder keeps its own audit trail of every use.
	st, err := state.Open(filepath.Join(dir, "querylog"), nil)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := st.AuditSince(time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range evs {
		actions = append(actions, ev.Action)
	}
	if got := strings.Join(actions, ","); got != "log-search,log-search,log-search,log-report,log-report,log-hold,log-release" {
		t.Errorf("audit trail: %s", got)
	}
}

// With [log] postgres, the day files are copied into PostgreSQL (every
// record by the time SIGTERM has drained) and logs searches it.
func TestCentralQueryLogInPostgres(t *testing.T) {
	pg := pgtest.Start(t)
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.20", 300))
	dir := t.TempDir()
	cfg := writeFile(t, dir, "civicdns.toml", "[server]\nlisten = [\"127.0.0.1:0\"]\n[metrics]\nlisten = \"\"\n[upstream]\nservers = [\""+up.Addr+"\"]\n"+
		"[log]\ndir = \"querylog\"\ninstance = \"dns2\"\npostgres = \""+pg.DSN()+"\"\n")
	d := startDaemon(t, cfg)
	names := []string{"www.example.com", "www.pokerstars.com", "mail.example.org"}
	for _, n := range names {
		dnstest.Dig(t, d.addr, "+short", n, "A")
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.waitLog(t, "stopped")
	d.cmd.Wait()
	var out, errb bytes.Buffer
	if code := run([]string{"logs", "-config", cfg, "-json"}, &out, &errb); code != 0 {
		t.Fatalf("logs: %d %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(names) || !strings.Contains(lines[0], `"instance":"dns2"`) || !strings.Contains(lines[1], `"action":"blocked"`) {
		t.Errorf("central log:\n%s", out.String())
	}
}
