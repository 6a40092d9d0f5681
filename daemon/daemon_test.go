package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/civicdns/civicdns/blockpage"
	"github.com/civicdns/civicdns/config"
	"golang.org/x/crypto/bcrypt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/civicdns/civicdns/querylog"
	"github.com/miekg/dns"
	dto "github.com/prometheus/client_model/go"
)

// fake is a component that notes when it starts and stops.
type fake struct {
	name string
	log  *[]string
	mu   *sync.Mutex
	fail bool
}

func (f fake) Name() string { return f.name }
func (f fake) Start(context.Context) error {
	if f.fail {
		return errors.New("cannot bind")
	}
	f.note("start " + f.name)
	return nil
}
func (f fake) Shutdown(context.Context) error { f.note("stop " + f.name); return nil }
func (f fake) note(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	*f.log = append(*f.log, s)
}

func TestComponentsStartInOrderAndStopInReverse(t *testing.T) {
	t.Parallel()
	d := newTestDaemon(t, "")
	var log []string
	var mu sync.Mutex
	d.components = []Component{fake{"metrics", &log, &mu, false}, fake{"dns", &log, &mu, false}, fake{"watcher", &log, &mu, false}}
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := d.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(log, ", "); got != "start metrics, start dns, start watcher, stop watcher, stop dns, stop metrics" {
		t.Errorf("order: %s", got)
	}
	// A component that fails to start stops those started before it.
	log = nil
	d2 := newTestDaemon(t, "")
	d2.components = []Component{fake{"metrics", &log, &mu, false}, fake{"dns", &log, &mu, true}, fake{"watcher", &log, &mu, false}}
	err := d2.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "dns: cannot bind") {
		t.Fatalf("err = %v", err)
	}
	if got := strings.Join(log, ", "); got != "start metrics, stop metrics" {
		t.Errorf("after a failed start: %s", got)
	}
}

// newTestDaemon builds (but does not start) a daemon on a configuration
// with loopback addresses, port 0, and extra TOML.
func newTestDaemon(t *testing.T, extra string) *Daemon {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "civicdns.toml")
	text := "[server]\nlisten = [\"127.0.0.1:0\"]\nname = \"dns.city.example\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n[lists]\nwatch = \"0s\"\n" + extra
	if !strings.Contains(extra, "[upstream]") {
		text += "[upstream]\nservers = [\"192.0.2.1:53\"]\n"
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := New(Options{ConfigPath: path})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The metrics server is the last to stop: while the DNS server drains,
// /healthz answers 503 over real HTTP instead of refusing connections, and
// the query in flight still gets its answer.
func TestHealthzAnswers503WhileDNSDrains(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	up := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		<-release
		dnstest.Answer("192.0.2.7", 60)(w, r)
	})
	d := newTestDaemon(t, "[upstream]\ntimeout = \"10s\"\nservers = [\""+up.Addr+"\"]\n")
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	base := "http://" + d.Metrics.Addr().String()
	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz %d %q", code, body)
	}
	dnsAddr := d.DNS.Addrs()[0].String()
	answered := make(chan string, 1)
	go func() {
		r, err := dnstest.TryExchange("udp", dnsAddr, dnstest.Query("drain.example", dns.TypeA))
		if err != nil {
			answered <- err.Error()
			return
		}
		answered <- dnstest.FirstA(r)
	}()
	<-up.Seen
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- d.Shutdown(ctx)
	}()
	for {
		code, _ := get(t, base+"/healthz")
		if code == http.StatusServiceUnavailable {
			break
		}
		time.Sleep(time.Millisecond) // polling the condition
	}
	code, body := get(t, base+"/metrics")
	if code != 200 || !strings.Contains(body, "civicdns_cache_misses_total 1") || !strings.Contains(body, `civicdns_config_reloads_total{result="failure"} 0`) {
		t.Errorf("/metrics while draining: %d\n%s", code, body)
	}
	for _, want := range []string{`civicdns_upstream_errors_total{kind="timeout",upstream="` + up.Addr + `"} 0`, `civicdns_upstream_retransmits_total{upstream="` + up.Addr + `"} 0`, "go_goroutines", "civicdns_exemptions_active 0"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	close(release)
	if ip := <-answered; ip != "192.0.2.7" {
		t.Errorf("the query in flight got %q", ip)
	}
	if err := <-stopped; err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("the metrics server still answers after shutdown")
	}
}

// On a full disk the query log drops (and counts) records while DNS is
// answered; /healthz says the query log is degraded and the metric is 1.
func TestHealthzSaysDegradedOnAFullDisk(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.7", 60))
	logDir := t.TempDir()
	today := time.Now().Format("2006-01-02")
	if err := os.Symlink("/dev/full", querylog.DayFile(logDir, today)); err != nil {
		t.Fatal(err)
	}
	d := newTestDaemon(t, "[upstream]\nservers = [\""+up.Addr+"\"]\n[log]\ndir = \""+logDir+"\"\n[policy]\ntimezone = \"Local\"\n")
	startStopped(t, d)
	base := "http://" + d.Metrics.Addr().String()
	dnsAddr := d.DNS.Addrs()[0].String()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if r := dnstest.Exchange(t, "udp", dnsAddr, dnstest.Query("full.example", dns.TypeA)); dnstest.FirstA(r) != "192.0.2.7" {
			t.Fatalf("DNS on a full disk: %v", r)
		}
		if _, body := get(t, base+"/healthz"); strings.HasPrefix(body, "degraded\n") {
			if !strings.Contains(body, "query log: ") || !strings.Contains(body, "no space left") {
				t.Errorf("/healthz: %q", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/healthz never said degraded")
		}
		time.Sleep(50 * time.Millisecond) // polling the condition: the writer flushes once a second
	}
	if _, body := get(t, base+"/metrics"); !strings.Contains(body, `civicdns_degraded{part="query log"} 1`) || !strings.Contains(body, `civicdns_degraded{part="state store"} 0`) {
		t.Errorf("the metric does not say it")
	}
}

// With [server] name and the block page's city CA, the console serves
// HTTPS with a certificate for that name and sets its cookie Secure and
// SameSite=Strict; /metrics answers only to its own names (DNS rebinding).
func TestConsoleServesHTTPSAndMetricsChecksHost(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	caFile, keyFile, err := blockpage.CreateCA(filepath.Join(dir, "ca"), "Test City CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte("correct horse battery"), config.MinBcryptCost)
	d := newTestDaemon(t, fmt.Sprintf("[blockpage]\nca_cert = %q\nca_key = %q\n[state]\ndir = %q\n[admin]\nlisten = \"127.0.0.1:0\"\n"+
		"[[department]]\nname = \"Police\"\nnetworks = [\"10.20.0.0/16\"]\n[[director]]\nname = \"Chief\"\ndepartment = \"Police\"\npassword_hash = %q\n",
		caFile, keyFile, filepath.Join(dir, "state"), hash))
	startStopped(t, d)
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(caFile)
	pool.AppendCertsFromPEM(caPEM)
	addr := d.Console.Addr().String()
	client := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "dns.city.example"}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, _ := http.NewRequest("POST", "https://"+addr+"/signin", strings.NewReader("name=Chief&password=correct+horse+battery"))
	req.Host = "dns.city.example"
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("HTTPS with the city CA's certificate for dns.city.example: %v", err)
	}
	resp.Body.Close()
	cookie := resp.Header.Get("Set-Cookie")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(cookie, "Secure") || !strings.Contains(cookie, "SameSite=Strict") || !strings.Contains(cookie, "HttpOnly") {
		t.Errorf("sign-in over HTTPS: %d, cookie %q", resp.StatusCode, cookie)
	}
	mreq, _ := http.NewRequest("GET", "http://"+d.Metrics.Addr().String()+"/metrics", nil)
	mreq.Host = "evil.example"
	mresp, err := http.DefaultClient.Do(mreq)
	if err != nil {
		t.Fatal(err)
	}
	mresp.Body.Close()
	if mresp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("/metrics for Host evil.example: %d, want 421", mresp.StatusCode)
	}
}

// [lists] update turned on by a reload takes effect without a restart.
func TestListUpdatesTurnOnWithAReload(t *testing.T) {
	t.Parallel()
	served := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("casino.example\nbet.example\n"))
		select {
		case served <- struct{}{}:
		default:
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	lists := filepath.Join(dir, "lists")
	os.MkdirAll(lists, 0o755)
	os.WriteFile(filepath.Join(lists, "bundled.list"), []byte("casino.example\n"), 0o644)
	os.WriteFile(filepath.Join(lists, "g.toml"), []byte("category = \"g\"\n[[import]]\npath = \"bundled.list\"\nurl = \""+srv.URL+"/g.list\"\nformat = \"domains\"\nrefresh = \"1h\"\n"), 0o644)
	path := filepath.Join(dir, "civicdns.toml")
	base := "[server]\nlisten = [\"127.0.0.1:0\"]\n[metrics]\nlisten = \"\"\n[upstream]\nservers = [\"192.0.2.1:53\"]\n[state]\ndir = \"state\"\n[policy]\nblock = [\"g\"]\n[lists]\ndir = \"lists\"\nwatch = \"0s\"\n"
	os.WriteFile(path, []byte(base), 0o644)
	d, err := New(Options{ConfigPath: path, ListCheckEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	startStopped(t, d)
	select {
	case <-served:
		t.Fatal("a list was downloaded with [lists] update off")
	case <-time.After(200 * time.Millisecond): // ten updater rounds: none may download
	}
	os.WriteFile(path, []byte(base+"update = true\n"), 0o644)
	if err := d.Reload("test"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-served:
	case <-time.After(10 * time.Second):
		t.Fatal("no download within 10 s of turning [lists] update on by a reload")
	}
}

// A reload fails on what serve would fail on (a CA that cannot be read):
// the running configuration stays. A list file that failed to load is
// still watched, and loads once fixed.
func TestReloadRefusesWhatServeRefusesAndWatchesABrokenList(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lists := filepath.Join(dir, "lists")
	os.MkdirAll(lists, 0o755)
	listFile := filepath.Join(lists, "g.toml")
	os.WriteFile(listFile, []byte("category = \"g\"\nblock = [\"casino.example\"]\n"), 0o644)
	path := filepath.Join(dir, "civicdns.toml")
	base := "[server]\nlisten = [\"127.0.0.1:0\"]\n[metrics]\nlisten = \"\"\n[upstream]\nservers = [\"192.0.2.1:53\"]\n[policy]\nblock = [\"g\"]\n[lists]\ndir = \"lists\"\nwatch = \"20ms\"\n"
	os.WriteFile(path, []byte(base), 0o644)
	d, err := New(Options{ConfigPath: path})
	if err != nil {
		t.Fatal(err)
	}
	startStopped(t, d)
	os.WriteFile(path, []byte(base+"[blockpage]\ntls_listen = \"127.0.0.1:0\"\nca_cert = \"nosuch/ca.pem\"\nca_key = \"nosuch/ca.key\"\n"), 0o644)
	if err := d.Reload("test"); err == nil || !strings.Contains(err.Error(), "ca.pem") {
		t.Errorf("a reload naming a missing CA: %v", err)
	}
	if d.State.Snapshot().Config.Blockpage.TLSListen != "" {
		t.Error("the configuration naming a missing CA was applied")
	}
	os.WriteFile(path, []byte(base), 0o644)
	if err := d.Reload("test"); err != nil {
		t.Fatal(err)
	}
	blocked := func(name string) bool {
		snap := d.State.Snapshot()
		return snap.Decide(nil, netip.MustParseAddr("127.0.0.1"), name, time.Now()).Action == "blocked"
	}
	os.WriteFile(listFile, []byte("category = \"g\"\nblock = [\"casino.example\", \"bet.example\"\nbroken\n"), 0o644)
	if err := d.Reload("test"); err == nil {
		t.Fatal("a broken list file reloaded")
	}
	os.WriteFile(listFile, []byte("category = \"g\"\nblock = [\"casino.example\", \"bet.example\"]\n"), 0o644)
	deadline := time.Now().Add(10 * time.Second)
	for !blocked("bet.example") { // the watcher, polling every 20 ms, reloads the fixed file
		if time.Now().After(deadline) {
			t.Fatal("the fixed list file was not loaded")
		}
		time.Sleep(20 * time.Millisecond) // polling the condition
	}
}

// startStopped starts d, and shuts it down (5 s at most) when the test ends.
func startStopped(t *testing.T, d *Daemon) {
	t.Helper()
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.Shutdown(ctx)
	})
}

// The metrics a daemon serves include the collector's pauses as a
// histogram (runtime/metrics), to read beside the DNS answers' tail.
func TestMetricsIncludeGCPauseHistogram(t *testing.T) {
	t.Parallel()
	reg := withDefaults(Options{}).Registry
	runtime.GC() // at least one pause to count
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "go_sched_pauses_total_gc_seconds" {
			continue
		}
		if f.GetType() != dto.MetricType_HISTOGRAM || f.GetMetric()[0].GetHistogram().GetSampleCount() == 0 {
			t.Fatalf("%s: type %v, %d pauses", f.GetName(), f.GetType(), f.GetMetric()[0].GetHistogram().GetSampleCount())
		}
		return
	}
	t.Fatal("no go_sched_pauses_total_gc_seconds histogram")
}
