package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/miekg/dns"
)

// binary is the civicdns built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "civicdns-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "civicdns")
	if out, err := exec.Command("go", "build", "-race", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestVersionAndUsage(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	if code := run([]string{"version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "civicdns ") {
		t.Errorf("version: %d %q", code, out.String())
	}
	if code := run([]string{"frobnicate"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown command") {
		t.Errorf("unknown command: %d %q", code, errb.String())
	}
}

func writeFile(t testing.TB, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := writeFile(t, dir, "good.toml", "[server]\nlisten = [\"127.0.0.1:5353\"]\n[upstream]\nservers = [\"192.0.2.1\"]\n")
	var out, errb bytes.Buffer
	if code := run([]string{"check", "-config", good}, &out, &errb); code != 0 {
		t.Fatalf("check good: %d %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "OK") || !strings.Contains(out.String(), "192.0.2.1") {
		t.Errorf("summary: %s", out.String())
	}
	bad := writeFile(t, dir, "bad.toml", "[server]\nlisten = [\"127.0.0.1:5353\"]\n\n[cache]\nsize = -1\nbogus = true\n")
	out.Reset()
	errb.Reset()
	if code := run([]string{"check", "-config", bad}, &out, &errb); code != 1 {
		t.Fatalf("check bad: exit %d", code)
	}
	for _, want := range []string{bad + ":5: cache.size must be at least 1\n" + bad + `:6: unknown key "cache.bogus"` + "\n2 errors\n"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("check output %q lacks %q", errb.String(), want)
		}
	}
	one := writeFile(t, dir, "one.toml", "[cache]\nsize = \"big\"\n")
	errb.Reset()
	if code := run([]string{"check", "-config", one}, &out, &errb); code != 1 || !strings.HasSuffix(errb.String(), "\n1 error\n") {
		t.Errorf("check one error: exit %d, %q", code, errb.String())
	}
}

// process is a civicdns serve process.
type process struct {
	cmd       *exec.Cmd
	logs      chan map[string]any
	addr      string
	upstreams map[string]any // the start-up log line that names the upstreams
	serving   map[string]any // the "serving DNS" log line: the addresses
}

func startDaemon(t testing.TB, cfgPath string, flags ...string) *process {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve", "-config", cfgPath, "-log-json", "-log-level", "debug"}, flags...)...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &process{cmd: cmd, logs: make(chan map[string]any, 1000)}
	exited := make(chan struct{})
	var other []string // lines that are not log records (a race report, a panic)
	go func() {
		defer close(exited)
		defer close(d.logs)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				other = append(other, sc.Text())
				continue
			}
			select {
			case d.logs <- rec:
			default: // nobody is reading: the test has what it needs
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		cmd.Wait()
		for _, l := range other {
			t.Logf("civicdns stderr: %s", l)
		}
	})
	d.upstreams = d.waitLog(t, "upstreams")
	rec := d.waitLog(t, "serving DNS")
	d.addr, d.serving = rec["addrs"].([]any)[0].(string), rec
	return d
}

// waitLog reads log records until one with msg, failing if the process ends first.
func (d *process) waitLog(t testing.TB, msg string) map[string]any {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case rec, ok := <-d.logs:
			if !ok {
				t.Fatalf("civicdns exited before logging %q", msg)
			}
			if rec["msg"] == msg {
				return rec
			}
		case <-timeout:
			t.Fatalf("no %q in the log", msg)
		}
	}
}

// serve -trace and -cpuprofile write a runtime execution trace and a CPU
// profile of the whole run, complete once the server has drained; a path
// that cannot be written is an error before anything starts.
func TestServeWritesTraceAndProfile(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.20", 300))
	dir := t.TempDir()
	cfg := writeFile(t, dir, "civicdns.toml", "[server]\nlisten = [\"127.0.0.1:0\"]\n[metrics]\nlisten = \"\"\n[upstream]\nservers = [\""+up.Addr+"\"]\n")
	tracePath, profPath := filepath.Join(dir, "run.trace"), filepath.Join(dir, "cpu.pprof")
	d := startDaemon(t, cfg, "-trace", tracePath, "-cpuprofile", profPath)
	dnstest.Exchange(t, "udp", d.addr, dnstest.Query("www.example.com", dns.TypeA))
	d.cmd.Process.Signal(syscall.SIGTERM)
	if err := d.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if b, err := os.ReadFile(tracePath); err != nil || !bytes.HasPrefix(b, []byte("go 1.")) || len(b) < 1000 {
		t.Errorf("trace: %d bytes, %v", len(b), err)
	}
	if b, err := os.ReadFile(profPath); err != nil || len(b) < 100 || b[0] != 0x1f || b[1] != 0x8b { // gzipped protobuf
		t.Errorf("profile: %d bytes, %v", len(b), err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"serve", "-config", cfg, "-trace", filepath.Join(dir, "no", "such", "dir", "t")}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "no such file") {
		t.Errorf("unwritable trace path: exit %d, %q", code, errb.String())
	}
}

func TestServeReloadAndDrainWithDig(t *testing.T) {
	if _, err := exec.LookPath("dig"); err != nil {
		t.Fatal("dig is needed (apt-get install dnsutils); .ci/run installs it")
	}
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.20", 300))
	corp := dnstest.StartUpstream(t, dnstest.Answer("10.0.0.20", 300))
	dir := t.TempDir()
	base := "[server]\nlisten = [\"127.0.0.1:0\"]\n[metrics]\nlisten = \"\"\n[upstream]\nservers = [\"" + up.Addr + "\"]\n"
	cfg := writeFile(t, dir, "civicdns.toml", base)
	d := startDaemon(t, cfg)
	if servers := fmt.Sprint(d.upstreams["servers"]); servers != "["+up.Addr+"]" {
		t.Errorf("start-up names the upstreams %s, want [%s]", servers, up.Addr)
	}

	if got := dnstest.Dig(t, d.addr, "+short", "www.example.com", "A"); strings.TrimSpace(got) != "192.0.2.20" {
		t.Errorf("dig: %q", got)
	}
	if got := dnstest.Dig(t, d.addr, "+tcp", "+short", "www.example.com", "A"); strings.TrimSpace(got) != "192.0.2.20" {
		t.Errorf("dig +tcp: %q", got)
	}
	if got := dnstest.Dig(t, d.addr, "www.example.com", "ANY"); !strings.Contains(got, "status: REFUSED") {
		t.Errorf("ANY: %s", got)
	}

	// A good reload adds a zone; a bad one keeps it.
	writeFile(t, dir, "civicdns.toml", base+"[[upstream.zone]]\nname = \"city.internal\"\nservers = [\""+corp.Addr+"\"]\n")
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitLog(t, "configuration reloaded")
	if got := dnstest.Dig(t, d.addr, "+short", "dc1.city.internal", "A"); strings.TrimSpace(got) != "10.0.0.20" {
		t.Errorf("after reload: %q", got)
	}
	writeFile(t, dir, "civicdns.toml", base+"[cache]\nsize = \"many\"\n")
	d.cmd.Process.Signal(syscall.SIGHUP)
	rec := d.waitLog(t, "reload failed; the running configuration stays")
	if e, _ := rec["err"].(string); !strings.Contains(e, "civicdns.toml:8: cache.size") {
		t.Errorf("reload error %q does not name file:line", e)
	}
	if got := dnstest.Dig(t, d.addr, "+short", "dc2.city.internal", "A"); strings.TrimSpace(got) != "10.0.0.20" {
		t.Errorf("after a failed reload: %q", got)
	}

	// A burst of SIGHUPs must not crowd out the SIGTERM that follows.
	for i := 0; i < 20; i++ {
		d.cmd.Process.Signal(syscall.SIGHUP)
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.waitLog(t, "stopped")
	if err := d.cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}

func TestListChangesReloadWithoutSignal(t *testing.T) {
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.20", 300))
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "lists"), 0o755)
	writeFile(t, dir, "lists/gambling.toml", "category = \"gambling\"\nblock = [\"casino.example\"]\n")
	cfg := writeFile(t, dir, "civicdns.toml", "[server]\nlisten = [\"127.0.0.1:0\"]\n[metrics]\nlisten = \"\"\n[upstream]\nservers = [\""+up.Addr+"\"]\n"+
		"[lists]\ndir = \"lists\"\nwatch = \"50ms\"\n[policy]\nblock = [\"gambling\"]\n")
	d := startDaemon(t, cfg)
	if got := dnstest.Dig(t, d.addr, "poker.example", "A"); !strings.Contains(got, "status: NOERROR") || !strings.Contains(got, "192.0.2.20") {
		t.Fatalf("before the change: %s", got)
	}
	writeFile(t, dir, "lists/gambling.toml", "category = \"gambling\"\nblock = [\"casino.example\", \"poker.example\"]\n")
	rec := d.waitLog(t, "configuration reloaded")
	if why, _ := rec["why"].(string); !strings.Contains(why, "gambling.toml") {
		t.Errorf("reload reason %q", why)
	}
	got := dnstest.Dig(t, d.addr, "www.poker.example", "A")
	if !strings.Contains(got, "status: NXDOMAIN") || !strings.Contains(got, "EDE: 15 (Blocked): (Blocked (gambling))") {
		t.Errorf("after the change: %s", got)
	}
	// A list that does not parse keeps the running policy.
	writeFile(t, dir, "lists/gambling.toml", "category = \"gambling\"\nblock = [\"casino.example\", \"bad name\"]\n")
	rec = d.waitLog(t, "reload failed; the running configuration stays")
	if e, _ := rec["err"].(string); !strings.Contains(e, "gambling.toml:2: block: \"bad name\" is not a domain name") {
		t.Errorf("reload error %q", e)
	}
	if got := dnstest.Dig(t, d.addr, "poker.example", "A"); !strings.Contains(got, "status: NXDOMAIN") {
		t.Errorf("after a failed reload: %s", got)
	}
}

func TestExplainCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "lists"), 0o755)
	writeFile(t, dir, "lists/gambling.toml", "category = \"gambling\"\nblock = [\n  \"casino.example\",\n]\n")
	cfg := writeFile(t, dir, "civicdns.toml", "[lists]\ndir = \"lists\"\n[policy]\nblock = [\"gambling\"]\n"+
		"[[department]]\nname = \"Parks\"\nnetworks = [\"10.30.0.0/16\"]\n"+
		"[[exemption]]\ndepartment = \"Parks\"\ncategory = \"gambling\"\napproved_by = \"Parks Director\"\nreason = \"Charity raffle research\"\nreference = \"Memo 7\"\nexpires = 2026-12-31\n")
	var out, errb bytes.Buffer
	if code := run([]string{"explain", "-config", cfg, "-client", "192.0.2.7", "WWW.Casino.Example."}, &out, &errb); code != 0 {
		t.Fatalf("explain: %d %s", code, errb.String())
	}
	for _, want := range []string{"www.casino.example for 192.0.2.7: BLOCKED (gambling)", "department:   none", "lists/gambling.toml:3", "decision: blocked as gambling, by casino.example"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("explain output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run([]string{"explain", "-config", cfg, "-client", "10.30.1.1", "-at", "2026-12-01", "casino.example"}, &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	for _, want := range []string{"EXEMPTED (gambling)", "department:   Parks (network 10.30.0.0/16", ": gambling for department Parks, approved by Parks Director (Charity raffle research; ref Memo 7), expires 2026-12-31, active, 31 days left", "civicdns.toml:8)  ← lifts this block", "by exemption c-"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("explain output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	run([]string{"explain", "-config", cfg, "-client", "10.30.1.1", "-at", "2027-01-01", "casino.example"}, &out, &errb)
	if !strings.Contains(out.String(), "BLOCKED (gambling)") || !strings.Contains(out.String(), "expired") {
		t.Errorf("after expiry:\n%s", out.String())
	}
	out.Reset()
	run([]string{"check", "-config", cfg}, &out, &errb)
	for _, want := range []string{"gambling", "1 names", "Parks", "exemption c-", ": gambling for department Parks"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestExplainTheCanary(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	if code := run([]string{"explain", "-client", "10.1.2.3", "use-application-dns.net"}, &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	if s := out.String(); !strings.Contains(s, "answered NXDOMAIN for every client (category bypass, built in: the DNS-over-HTTPS canary)") || strings.Contains(s, "()") {
		t.Errorf("explain:\n%s", s)
	}
}

// The README's example configuration checks once its CA is made, as the
// quick start does (`ca init`), its /etc and /var paths moved to a
// folder of the test's.
func TestExampleConfigChecks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	text, err := os.ReadFile("../../testdata/civicdns.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	lists, _ := filepath.Abs("../../blocklists")
	moved := strings.NewReplacer("/etc/civicdns", filepath.Join(dir, "etc"), "/var/lib/civicdns", filepath.Join(dir, "var"),
		`"../blocklists"`, strconv.Quote(lists)).Replace(string(text))
	cfg := writeFile(t, dir, "civicdns.toml", moved)
	var out, errb bytes.Buffer
	if code := run([]string{"check", cfg}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "ca.pem") {
		t.Errorf("without its CA the example must not check: exit %d %s", code, errb.String())
	}
	if code := run([]string{"ca", "init", "-dir", filepath.Join(dir, "etc")}, &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"check", cfg}, &out, &errb); code != 0 {
		t.Fatalf("the README's example does not check: %s", errb.String())
	}
	for _, want := range []string{"Police", "Library", "zone city.internal", ": example-research.com for clients 10.40.9.0/24",
		"answered blockpage (A/AAAA → 10.0.0.53)", "its own names (Police): example-stream.com"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

func TestCheckReportsEveryFileAtOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "lists"), 0o755)
	writeFile(t, dir, "lists/gambling.toml", "category = \"gambling\"\nblock = [\"ok.example\", \"bad name\"]\n")
	writeFile(t, dir, "lists/chat.toml", "category = \"chat\"\ntitel = \"typo\"\n")
	cfg := writeFile(t, dir, "civicdns.toml", "[lists]\ndir = \"lists\"\n[policy]\nblock = [\"gambling\"]\n[[department]]\nname = \"Parks\"\nnetworks = [\"10.30.0.0/33\"]\n")
	var out, errb bytes.Buffer
	if code := run([]string{"check", "-config", cfg}, &out, &errb); code != 1 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		cfg + `:7: department "Parks": "10.30.0.0/33" is not a network`,
		filepath.Join(dir, "lists/chat.toml") + `:2: unknown key "titel"`,
		filepath.Join(dir, "lists/gambling.toml") + `:2: block: "bad name" is not a domain name`,
		"3 errors",
	} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, errb.String())
		}
	}
}

// A SIGTERM the moment DNS is served (systemd stopping a unit it has just
// started) drains and exits 0: the signal handlers are in place before the
// sockets open, never after. The block page starts after the DNS server,
// which is the window a late handler would leave.
func TestSIGTERMAsSoonAsServingDrains(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.20", 300))
	dir := t.TempDir()
	cfg := writeFile(t, dir, "civicdns.toml", "[server]\nlisten = [\"127.0.0.1:0\"]\n[metrics]\nlisten = \"\"\n[upstream]\nservers = [\""+up.Addr+"\"]\n"+
		"[block]\nanswer = \"blockpage\"\nblockpage_ipv4 = \"127.0.0.1\"\n[blockpage]\nlisten = \"127.0.0.1:0\"\n[state]\ndir = \""+dir+"/state\"\n")
	for i := 0; i < 3; i++ {
		d := startDaemon(t, cfg)
		d.cmd.Process.Signal(syscall.SIGTERM)
		d.waitLog(t, "stopped")
		if err := d.cmd.Wait(); err != nil {
			t.Fatalf("start %d: exit after an immediate SIGTERM: %v", i+1, err)
		}
	}
}
