package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/civicdns/civicdns/blocklists"
	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/civicdns/civicdns/live"
	"github.com/civicdns/civicdns/state"
	"golang.org/x/crypto/bcrypt"
)

func TestCAInit(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ca")
	var out, errb bytes.Buffer
	if code := run([]string{"ca", "init", "-dir", dir}, &out, &errb); code != 0 {
		t.Fatalf("%d %s", code, errb.String())
	}
	fi, err := os.Stat(filepath.Join(dir, "ca.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("ca.key: %v %v", err, fi.Mode())
	}
	if !strings.Contains(out.String(), "Trusted Root") || !strings.Contains(out.String(), "ca_cert") {
		t.Errorf("no deployment instructions:\n%s", out.String())
	}
	// Run as root, it says how the service's user gets to read the key
	// (or gives it the key when that user exists).
	if os.Geteuid() == 0 && !strings.Contains(out.String(), "civicdns") {
		t.Errorf("as root, nothing about the civicdns user:\n%s", out.String())
	}
	if code := run([]string{"ca", "init", "-dir", dir + "2", "-permit", "city.example", "-permit", "bad name!"}, &out, &errb); code != 2 {
		t.Errorf("a bad -permit: exit %d", code)
	}
	if code := run([]string{"ca", "init", "-dir", dir}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "not overwritten") {
		t.Errorf("second init: %d %s", code, errb.String())
	}
}

func TestPasswdPrintsABcryptHash(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		input string
		code  int
	}{{"a long enough password\n", 0}, {"short\n", 1}} {
		r, w, _ := os.Pipe()
		w.WriteString(tc.input)
		w.Close()
		var out, errb bytes.Buffer
		code := cmdPasswd(nil, r, &out, &errb)
		r.Close()
		if code != tc.code {
			t.Fatalf("%q: exit %d %s", tc.input, code, errb.String())
		}
		if code == 0 {
			hash := strings.TrimSpace(out.String())
			if bcrypt.CompareHashAndPassword([]byte(hash), []byte("a long enough password")) != nil {
				t.Errorf("hash %q does not match", hash)
			}
			if cost, _ := bcrypt.Cost([]byte(hash)); cost < 12 {
				t.Errorf("cost %d", cost)
			}
		}
	}
}

// An approval from a shell takes effect on the running server within a
// second, without a reload; a revocation ends it; both are audited.
func TestExemptionsFromAShellWhileServing(t *testing.T) {
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.20", 300))
	dir := t.TempDir()
	cfg := writeFile(t, dir, "civicdns.toml", "[server]\nlisten = [\"127.0.0.1:0\"]\n[metrics]\nlisten = \"\"\n[upstream]\nservers = [\""+up.Addr+"\"]\n"+
		"[state]\ndir = \"state\"\n[block]\nanswer = \"blockpage\"\nblockpage_ipv4 = \"10.0.0.53\"\n"+
		"[[department]]\nname = \"Police\"\nnetworks = [\"127.0.0.1/32\"]\n"+testDirector("Chief of Police", "Police"))
	store, err := state.Open(filepath.Join(dir, "state"), nil)
	if err != nil {
		t.Fatal(err)
	}
	q, err := store.Submit(state.Request{Client: netip.MustParseAddr("127.0.0.1"), Department: "Police", Name: "www.pokerstars.com",
		Category: "gambling", Matched: "pokerstars.com", Requester: "Pat", Email: "pat@city.example", Reason: "fraud case"})
	if err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfg)
	if got := strings.TrimSpace(dnstest.Dig(t, d.addr, "+short", "www.pokerstars.com", "A")); got != "10.0.0.53" {
		t.Fatalf("before: %q", got)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"exemptions", "-config", cfg, "list"}, &out, &errb); code != 0 || !strings.Contains(out.String(), q.ID) {
		t.Fatalf("list: %d %s %s", code, out.String(), errb.String())
	}
	out.Reset()
	expires := time.Now().AddDate(0, 1, 0).Format("2006-01-02")
	if code := run([]string{"exemptions", "-config", cfg, "approve", q.ID, "-by", "Chief of Police", "-expires", expires, "-reference", "Memo 9"}, &out, &errb); code != 0 {
		t.Fatalf("approve: %d %s", code, errb.String())
	}
	xid := regexp.MustCompile(`exemption (x-[A-Z2-7]{8})`).FindStringSubmatch(out.String())
	if xid == nil {
		t.Fatalf("approve said %q", out.String())
	}
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			got := strings.TrimSpace(dnstest.Dig(t, d.addr, "+short", "www.pokerstars.com", "A"))
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("still %q, want %q", got, want)
			}
			time.Sleep(50 * time.Millisecond) // polling the condition
		}
	}
	start := time.Now()
	waitFor("192.0.2.20")
	t.Logf("the approval was live after %v", time.Since(start))
	out.Reset()
	if code := run([]string{"explain", "-config", cfg, "-client", "127.0.0.1", "www.pokerstars.com"}, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), "EXEMPTED (gambling)") || !strings.Contains(out.String(), xid[1]) || !strings.Contains(out.String(), "(state store)") {
		t.Errorf("explain after the approval:\n%s", out.String())
	}
	if code := run([]string{"exemptions", "-config", cfg, "revoke", xid[1], "-by", "Chief of Police"}, &out, &errb); code != 0 {
		t.Fatalf("revoke: %d %s", code, errb.String())
	}
	waitFor("10.0.0.53")
	out.Reset()
	if code := run([]string{"audit", "-config", cfg, "-since", "1h"}, &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	for _, want := range []string{"approve", "revoke", "Chief of Police", q.ID} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("audit lacks %q:\n%s", want, out.String())
		}
	}
}

// A device suspended from a shell gets the block page for every name on the
// running server within a second; restored, it resolves again; both audited.
func TestAccessSuspendFromAShellWhileServing(t *testing.T) {
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.20", 300))
	dir := t.TempDir()
	cfg := writeFile(t, dir, "civicdns.toml", "[server]\nlisten = [\"127.0.0.1:0\"]\n[metrics]\nlisten = \"\"\n[upstream]\nservers = [\""+up.Addr+"\"]\n"+
		"[state]\ndir = \"state\"\n[block]\nanswer = \"blockpage\"\nblockpage_ipv4 = \"10.0.0.53\"\n"+
		"[[department]]\nname = \"IT\"\nnetworks = [\"10.99.0.0/16\"]\n"+testDirector("Network admin", "IT"))
	d := startDaemon(t, cfg)
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			if got := strings.TrimSpace(dnstest.Dig(t, d.addr, "+short", "www.example.org", "A")); got == want {
				return
			} else if time.Now().After(deadline) {
				t.Fatalf("still %q, want %q", got, want)
			}
			time.Sleep(50 * time.Millisecond) // polling the condition
		}
	}
	waitFor("192.0.2.20")
	var out, errb bytes.Buffer
	if code := run([]string{"access", "-config", cfg, "suspend", "-client", "127.0.0.1", "-by", "Network admin", "-reason", "malware beaconing"}, &out, &errb); code != 0 {
		t.Fatalf("suspend: %d %s", code, errb.String())
	}
	id := regexp.MustCompile(`S-[A-Z2-7]{8}`).FindString(out.String())
	waitFor("10.0.0.53")
	if got := dnstest.Dig(t, d.addr, "www.example.org", "A"); !strings.Contains(got, "Blocked (suspended)") {
		t.Errorf("no EDE for the suspension:\n%s", got)
	}
	out.Reset()
	run([]string{"access", "-config", cfg, "list"}, &out, &errb)
	if !strings.Contains(out.String(), id) || !strings.Contains(out.String(), "malware beaconing") {
		t.Errorf("list:\n%s", out.String())
	}
	if code := run([]string{"access", "-config", cfg, "restore", id, "-by", "network ADMIN"}, &out, &errb); code != 0 {
		t.Fatalf("restore: %d %s", code, errb.String())
	}
	waitFor("192.0.2.20")
	out.Reset()
	run([]string{"audit", "-config", cfg}, &out, &errb)
	if !strings.Contains(out.String(), "suspend") || !strings.Contains(out.String(), "restore") {
		t.Errorf("audit:\n%s", out.String())
	}
}

// lists diff shows what a refresh added and removed, per category.
func TestListsDiff(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("kept.example\nadded.example\n"))
	}))
	defer srv.Close()
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "lists"), 0o755)
	writeFile(t, dir, "lists/gambling.toml", "category = \"gambling\"\n[[import]]\npath = \"gambling.list\"\nurl = \""+srv.URL+"/g.list\"\nformat = \"domains\"\nrefresh = \"1h\"\n")
	writeFile(t, dir, "lists/gambling.list", "kept.example\ngone.example\n")
	cfg := writeFile(t, dir, "civicdns.toml", "[lists]\ndir = \"lists\"\nupdate = true\ndownload_dir = \"downloads\"\n[policy]\nblock = [\"gambling\"]\n")
	var out, errb bytes.Buffer
	run([]string{"lists", "-config", cfg, "diff"}, &out, &errb)
	if !strings.Contains(out.String(), "not downloaded yet") {
		t.Errorf("before a download:\n%s%s", out.String(), errb.String())
	}
	_, pol, err := live.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	(&blocklists.Updater{}).Check(context.Background(), pol.Lists().Downloads)
	out.Reset()
	if code := run([]string{"lists", "-config", cfg, "diff"}, &out, &errb); code != 0 {
		t.Fatalf("%d %s", code, errb.String())
	}
	for _, want := range []string{"gambling: " + srv.URL + "/g.list: 1 added, 1 removed", "  + added.example", "  - gone.example"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("diff lacks %q:\n%s", want, out.String())
		}
	}
}

// explain -at shows the personal-use windows in force at that time, in [policy] timezone.
func TestExplainAtAWindow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := writeFile(t, dir, "civicdns.toml", "[policy]\ntimezone = \"America/Chicago\"\n[[department]]\nname = \"Parks\"\nnetworks = [\"10.30.0.0/16\"]\nblock = [\"social\"]\n"+
		"[[department.hours]]\ndays = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]\nhours = \"12:00-13:00\"\nopen = [\"social\"]\n")
	var out, errb bytes.Buffer
	if code := run([]string{"explain", "-config", cfg, "-client", "10.30.1.1", "-at", "2026-11-23 12:10", "www.facebook.com"}, &out, &errb); code != 0 {
		t.Fatalf("%d %s", code, errb.String())
	}
	if s := out.String(); !strings.Contains(s, "ALLOWED") || !strings.Contains(s, "mon,tue,wed,thu,fri 12:00-13:00 opens social") || !strings.Contains(s, "IN FORCE now") {
		t.Errorf("at lunch:\n%s", s)
	}
	out.Reset()
	run([]string{"explain", "-config", cfg, "-client", "10.30.1.1", "-at", "2026-11-23 13:10", "www.facebook.com"}, &out, &errb)
	if s := out.String(); !strings.Contains(s, "BLOCKED (social)") || !strings.Contains(s, "not in force now") {
		t.Errorf("after lunch:\n%s", s)
	}
}

// Type=notify: civicdns tells systemd it is ready, reloading and stopping,
// and feeds the watchdog while its DNS server answers.
func TestSystemdNotify(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cfg := writeFile(t, dir, "civicdns.toml", "[server]\nlisten = [\"127.0.0.1:0\"]\n[metrics]\nlisten = \"\"\n[upstream]\nservers = [\"192.0.2.1\"]\n")
	cmd := exec.Command(binary, "serve", "-config", cfg)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=200000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	read := func(want string) {
		t.Helper()
		buf := make([]byte, 512)
		deadline := time.Now().Add(20 * time.Second)
		for {
			conn.SetReadDeadline(deadline)
			n, err := conn.Read(buf)
			if err != nil {
				t.Fatalf("waiting for %q: %v", want, err)
			}
			if strings.Contains(string(buf[:n]), want) {
				return
			}
		}
	}
	read("READY=1")
	read("WATCHDOG=1")
	cmd.Process.Signal(syscall.SIGHUP)
	read("RELOADING=1")
	read("READY=1")
	cmd.Process.Signal(syscall.SIGTERM)
	read("STOPPING=1")
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
}

// testDirector is a [[director]] block (password "test director", cost 10).
func testDirector(name, dept string) string {
	return "[[director]]\nname = \"" + name + "\"\ndepartment = \"" + dept + "\"\npassword_hash = \"$2a$10$PP9k2wp7rIAu5QMVyCErxuy1fPXUEzX9SDRudRlr6HueqaZkN7Z5a\"\n"
}
