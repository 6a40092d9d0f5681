package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/daemon"
	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/miekg/dns"
)

func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed (apt-get install %s; make test installs it)", name, pkg)
	}
	return p
}

// The unit passes systemd-analyze verify (its ExecStart pointed at a real
// binary: verify checks the program exists).
func TestUnitVerifies(t *testing.T) {
	analyze := tool(t, "systemd-analyze", "systemd")
	unit, err := os.ReadFile("civicdns.service")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "civicdns")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/civicdns").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	text := strings.ReplaceAll(string(unit), "/usr/bin/civicdns", bin)
	path := filepath.Join(dir, "civicdns.service")
	os.WriteFile(path, []byte(text), 0o644)
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	// Warnings about the environment of a container (no D-Bus, no users) are
	// not the unit's; anything naming the unit file is.
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "civicdns.service") {
			t.Errorf("systemd-analyze verify: %s", line)
		}
	}
	if err != nil && strings.Contains(string(out), "civicdns.service") {
		t.Errorf("verify failed: %v\n%s", err, out)
	}
	for _, want := range []string{"Type=notify", "WatchdogSec=", "ExecReload=/bin/kill -HUP $MAINPID", "AmbientCapabilities=CAP_NET_BIND_SERVICE", "ProtectSystem=strict", "StateDirectory=civicdns", "User=civicdns"} {
		if !strings.Contains(text, want) {
			t.Errorf("the unit lacks %s", want)
		}
	}
}

// The alert rules load, and fire as their unit tests say.
func TestAlertRules(t *testing.T) {
	promtool := tool(t, "promtool", "prometheus")
	if out, err := exec.Command(promtool, "check", "rules", "prometheus/civicdns-alerts.yml").CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	cmd := exec.Command(promtool, "test", "rules", "civicdns-alerts_test.yml")
	cmd.Dir = "prometheus"
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

// Every panel of the Grafana dashboard returns data from a real Prometheus
// scraping a real civicdns under load.
func TestDashboardQueriesReturnData(t *testing.T) {
	promBin := tool(t, "prometheus", "prometheus")
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	data, err := os.ReadFile("grafana/civicdns-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// civicdns with everything that has metrics on.
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.1", 1))
	metricsAddr, blockAddr := freeAddr(t), freeAddr(t)
	cfg := filepath.Join(dir, "civicdns.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("[server]\nlisten = [\"127.0.0.1:0\"]\n[upstream]\nservers = [%q]\n[metrics]\nlisten = %q\n"+
		"[blockpage]\nlisten = %q\n[log]\ndir = \"querylog\"\n[lists]\nwatch = \"0s\"\n", up.Addr, metricsAddr, blockAddr)), 0o644)
	d, err := daemon.New(daemon.Options{ConfigPath: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	dnsAddr := d.DNS.Addrs()[0].String()
	// Prometheus scraping it every second.
	promAddr := freeAddr(t)
	promCfg := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(promCfg, []byte(fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: civicdns\n    static_configs:\n      - targets: [%q]\n", metricsAddr)), 0o644)
	prom := exec.Command(promBin, "--config.file="+promCfg, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--web.listen-address="+promAddr)
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { prom.Process.Kill(); prom.Wait() }()
	// Load: hits, misses (1 s TTLs), blocks, a block page view; until every
	// panel has data, for at most a minute.
	stop := make(chan struct{})
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			name := []string{"www.example.com", fmt.Sprintf("n%d.example.org", i), "www.pokerstars.com"}[i%3]
			dnstest.TryExchange("udp", dnsAddr, dnstest.Query(name, dns.TypeA))
			if i%50 == 0 {
				req, _ := http.NewRequest("GET", "http://"+blockAddr+"/", nil)
				req.Host = "www.pokerstars.com"
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
			}
			time.Sleep(2 * time.Millisecond) // a steady load, bounded in rate
		}
	}()
	defer close(stop)
	deadline := time.Now().Add(60 * time.Second)
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			for {
				n, err := promQuery(promAddr, target.Expr)
				if err == nil && n > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("panel %q: %q returned no data (%v)", p.Title, target.Expr, err)
				}
				time.Sleep(500 * time.Millisecond) // polling Prometheus for the next scrape
			}
		}
	}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// promQuery runs an instant query and counts the series it returns.
func promQuery(addr, expr string) (int, error) {
	resp, err := http.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Data   struct{ Result []json.RawMessage }
		Error  string
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return 0, err
	}
	if r.Status != "success" {
		return 0, fmt.Errorf("%s", r.Error)
	}
	return len(r.Data.Result), nil
}

// make deb builds a package with the binary, the unit, a starting
// configuration (a conffile), the maintainer scripts, the alert rules and
// the dashboard; unpacked, its binary checks its configuration, and that
// configuration (moved to loopback) serves.
func TestDebianPackage(t *testing.T) {
	tool(t, "dpkg-deb", "dpkg")
	out := t.TempDir()
	cmd := exec.Command("bash", "deb.sh")
	cmd.Env = append(os.Environ(), "OUT="+out, "VERSION=9.9.9")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("deb.sh: %v\n%s", err, b)
	}
	deb := strings.TrimSpace(string(b))
	if !filepath.IsAbs(deb) {
		deb = filepath.Join("..", deb)
	}
	info, err := exec.Command("dpkg-deb", "--info", deb).CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Package: civicdns", "Version: 9.9.9", "Depends: adduser", "conffiles", "postinst", "prerm"} {
		if !strings.Contains(string(info), want) {
			t.Errorf("package info lacks %q:\n%s", want, info)
		}
	}
	root := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "-x", deb, root).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -x: %v\n%s", err, out)
	}
	for _, f := range []string{"usr/bin/civicdns", "lib/systemd/system/civicdns.service", "etc/civicdns/civicdns.toml",
		"usr/share/civicdns/prometheus/civicdns-alerts.yml", "usr/share/civicdns/grafana/civicdns-dashboard.json", "usr/share/doc/civicdns/SOURCES.md",
		"usr/share/doc/civicdns/copyright", "usr/share/civicdns/blocklists/gambling.toml", "usr/share/civicdns/blocklists/data/SOURCES.md",
		"usr/share/doc/civicdns/examples/civicdns.example.toml", "usr/share/doc/civicdns/docs/security.md"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("the package lacks %s", f)
		}
	}
	bin := filepath.Join(root, "usr/bin/civicdns")
	if v, err := exec.Command(bin, "version").Output(); err != nil || !strings.Contains(string(v), "9.9.9") {
		t.Errorf("version: %q %v", v, err)
	}
	conf := filepath.Join(root, "etc/civicdns/civicdns.toml")
	if out, err := exec.Command(bin, "check", "-config", conf).CombinedOutput(); err != nil {
		t.Fatalf("the packaged configuration does not check: %v\n%s", err, out)
	}
	if cp, _ := os.ReadFile(filepath.Join(root, "usr/share/doc/civicdns/copyright")); !strings.Contains(string(cp), "CC-BY-SA-4.0") || !strings.Contains(string(cp), "GPL-3.0") {
		t.Error("copyright does not name the lists' licences")
	}
	if ex, _ := os.ReadFile(filepath.Join(root, "usr/share/doc/civicdns/examples/civicdns.example.toml")); !strings.Contains(string(ex), `dir = "/usr/share/civicdns/blocklists"`) {
		t.Error("the example does not read the shipped lists from /usr/share/civicdns/blocklists")
	}
	// Served on loopback (the packaged one listens on port 53 of every address).
	text, _ := os.ReadFile(conf)
	dir := t.TempDir()
	local := strings.NewReplacer(`["0.0.0.0:53", "[::]:53"]`, `["127.0.0.1:0"]`, `"/var/lib/civicdns/querylog"`, `"`+dir+`/querylog"`,
		`"/var/lib/civicdns"`, `"`+dir+`/state"`, `"127.0.0.1:9153"`, `""`).Replace(string(text))
	cfg := filepath.Join(dir, "civicdns.toml")
	os.WriteFile(cfg, []byte(local), 0o644)
	d, err := daemon.New(daemon.Options{ConfigPath: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	r, err := dnstest.TryExchange("udp", d.DNS.Addrs()[0].String(), dnstest.Query("www.pokerstars.com", dns.TypeA))
	if err != nil || r.Rcode != dns.RcodeNameError {
		t.Errorf("the packaged configuration's answer to a gambling site: %v %v", r, err)
	}
	t.Run("installed", func(t *testing.T) { installAndServe(t, deb) })
}

// The .deb's configuration binds every address but serves only loopback
// until departments are added: never an open resolver.
func TestPackagedConfigurationIsNoOpenResolver(t *testing.T) {
	t.Parallel()
	text, err := os.ReadFile("debian/civicdns.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("debian/civicdns.toml", text)
	if err != nil {
		t.Fatal(err)
	}
	var served []string
	for _, p := range cfg.Server.AllowPrefixes {
		served = append(served, p.String())
	}
	if got := strings.Join(served, " "); got != "127.0.0.0/8 ::1/128" {
		t.Errorf("the packaged configuration serves %s", got)
	}
	post, _ := os.ReadFile("debian/postinst")
	if !strings.Contains(string(post), "never the world") || !strings.Contains(string(post), "DHCP option 6") {
		t.Error("postinst does not say who is served and what to do next")
	}
}
