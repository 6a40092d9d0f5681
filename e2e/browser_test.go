package e2e

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/civicdns/civicdns/blockpage"
	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/daemon"
	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/miekg/dns"
	"golang.org/x/crypto/bcrypt"
)

var updateDocs = flag.Bool("update-docs", false, "copy the screenshots to docs/ (for the README)")

// chromium finds Debian's chromium; make test installs it. The test never
// skips: a missing browser is a failure.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is needed (apt-get install chromium libnss3-tools); make test installs it")
	return ""
}

// trustCA makes an NSS database under home that trusts the CA, as a city
// device trusts the city CA: chromium on Linux reads $HOME/.pki/nssdb.
func trustCA(t *testing.T, home, caFile string) {
	db := filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(db, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-N", "-d", "sql:" + db, "--empty-password"},
		{"-A", "-d", "sql:" + db, "-n", "civicdns test city CA", "-t", "C,,", "-i", caFile},
	} {
		if out, err := exec.Command("certutil", args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %v: %v\n%s (apt-get install libnss3-tools; make test installs it)", args, err, out)
		}
	}
}

// ask resolves name through civicdns from a chosen loopback source address.
func ask(t *testing.T, server, from, name string) string {
	t.Helper()
	c := &dns.Client{Timeout: 5 * time.Second, Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(from)}}}
	r, _, err := c.Exchange(dnstest.Query(name, dns.TypeA), server)
	if err != nil {
		t.Fatalf("asking civicdns from %s: %v", from, err)
	}
	return dnstest.FirstA(r)
}

// chromiumLeftovers are chromium's folders in the system's temporary folder.
func chromiumLeftovers(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, pat := range []string{"org.chromium.*", ".org.chromium.*", "chromedp-runner*"} {
		m, _ := filepath.Glob(filepath.Join(os.TempDir(), pat))
		out = append(out, m...)
	}
	return out
}

// The whole exemption loop in a real browser: an employee opens a blocked
// name over HTTPS, sees the block page (no certificate error: the browser
// trusts the city CA), asks for an exemption; the director signs in to the
// console and approves it; the name then resolves to its real address for
// that department's devices and stays blocked for the others.
func TestExemptionLoopInABrowser(t *testing.T) {
	exe := chromium(t)
	dir := t.TempDir()
	shots := filepath.Join(dir, "screenshots")
	os.MkdirAll(shots, 0o755)
	caFile, keyFile, err := blockpage.CreateCA(filepath.Join(dir, "ca"), "Test City CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.77", 300))
	hash, _ := bcrypt.GenerateFromPassword([]byte("correct horse battery"), config.MinBcryptCost)
	cfgText := fmt.Sprintf(`
[server]
listen = ["127.0.0.1:0"]
[upstream]
servers = [%q]
[metrics]
listen = ""
[lists]
watch = "0s"
[block]
answer = "blockpage"
blockpage_ipv4 = "127.0.0.1"
[blockpage]
tls_listen = "127.0.0.1:0"
listen = "127.0.0.1:0"
ca_cert = %q
ca_key = %q
contact = "Office of Technology and Communications, 651-266-6786"
[state]
dir = %q
[admin]
listen = "127.0.0.1:0"
[[department]]
name = "Police"
networks = ["127.0.0.1/32"]
[[director]]
name = "Chief of Police"
department = "Police"
password_hash = %q
`, up.Addr, caFile, keyFile, filepath.Join(dir, "state"), hash)
	cfgPath := filepath.Join(dir, "civicdns.toml")
	os.WriteFile(cfgPath, []byte(cfgText), 0o644)
	d, err := daemon.New(daemon.Options{ConfigPath: cfgPath})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.Shutdown(ctx)
	})
	dnsAddr := d.DNS.Addrs()[0].String()
	_, httpsPort, _ := net.SplitHostPort(d.BlockTLS.Addr().String())
	consoleURL := "http://" + d.Console.Addr().String()

	// civicdns answers the blocked name with the block page's address; the
	// browser is told to use that answer (its own resolver cannot be pointed
	// at a DNS server on a custom port).
	const name = "www.pokerstars.com"
	blockIP := ask(t, dnsAddr, "127.0.0.1", name)
	if blockIP != "127.0.0.1" {
		t.Fatalf("civicdns answered %s with %s, not the block page", name, blockIP)
	}
	home := filepath.Join(dir, "home")
	trustCA(t, home, caFile)
	// Chromium's own temporary folders go under the test's, removed with it.
	tmp := filepath.Join(dir, "tmp")
	os.MkdirAll(tmp, 0o700)
	leftBefore := chromiumLeftovers(t)
	t.Cleanup(func() {
		for _, p := range chromiumLeftovers(t) {
			if !slices.Contains(leftBefore, p) {
				t.Errorf("chromium left %s behind", p)
				os.RemoveAll(p)
			}
		}
	})
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Headless,
		chromedp.UserDataDir(filepath.Join(dir, "profile")), chromedp.Env("HOME="+home, "TMPDIR="+tmp),
		chromedp.Flag("host-resolver-rules", "MAP "+name+" "+blockIP),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1000, 900),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	shot := func(file string) {
		t.Helper()
		buf, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", file, err)
		}
		p := filepath.Join(shots, file)
		os.WriteFile(p, buf, 0o644)
		if *updateDocs {
			os.WriteFile(filepath.Join("..", "docs", file), buf, 0o644)
		}
		t.Logf("screenshot %s", p)
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	// 1. The employee opens the blocked site over HTTPS.
	if err := chromedp.Do(bctx, chromedp.Navigate("https://"+name+":"+httpsPort+"/promotions")); err != nil {
		t.Fatalf("opening %s: %v", name, err)
	}
	page := text("main")
	for _, want := range []string{"This site is blocked by the city's Internet-use policy", name, "Gambling",
		"prohibited uses (gambling)", "Police", "Office of Technology and Communications"} {
		if !strings.Contains(page, want) {
			t.Errorf("block page lacks %q:\n%s", want, page)
		}
	}
	shot("blockpage.png")

	// 2. The employee asks for an exemption.
	err = chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.ID("requester"), "Pat Doe"),
		chromedp.SendKeys(chromedp.ID("email"), "pat.doe@city.example"),
		chromedp.SendKeys(chromedp.ID("reason"), "Vice unit: investigating an illegal sports-betting ring (case 2026-311)."),
		chromedp.Click(chromedp.CSS("form button"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.ID("request-status")),
	)
	if err != nil {
		t.Fatalf("sending the request: %v", err)
	}
	ack := text("#request-status")
	reqID := regexp.MustCompile(`R-[A-Z2-7]{8}`).FindString(ack)
	if !strings.Contains(ack, "was received and stored") || reqID == "" {
		t.Fatalf("acknowledgement:\n%s", ack)
	}
	shot("request-sent.png")

	// 3. The director signs in to the console and approves it.
	err = chromedp.Do(bctx,
		chromedp.Navigate(consoleURL+"/signin"),
		chromedp.SendKeys(chromedp.ID("name"), "Chief of Police"),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("pending")),
	)
	if err != nil {
		t.Fatalf("signing in: %v", err)
	}
	if dash := text("main"); !strings.Contains(dash, reqID) || !strings.Contains(dash, "Pat Doe") || !strings.Contains(dash, "illegal sports-betting") {
		t.Fatalf("the request is not on the dashboard:\n%s", dash)
	}
	shot("console.png")
	err = chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.ID("why-"+reqID), "Vice unit investigation"),
		chromedp.SendKeys(chromedp.ID("ref-"+reqID), "Memo 2026-311"),
		chromedp.Click(chromedp.CSS(`form[action="/requests/`+reqID+`/approve"] button`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(".done")),
	)
	if err != nil {
		t.Fatalf("approving: %v", err)
	}
	if done := text(".done"); !strings.Contains(done, "The request was approved") {
		t.Errorf("after approving: %s", done)
	}
	shot("console-approved.png")

	// 4. The name resolves to its real address for the department's
	// device, at once, and stays blocked for others.
	if got := ask(t, dnsAddr, "127.0.0.1", name); got != "192.0.2.77" {
		t.Errorf("Police device after the approval: %s, want the real address", got)
	}
	if got := ask(t, dnsAddr, "127.0.0.2", name); got != "127.0.0.1" {
		t.Errorf("a device of no department: %s, want the block page", got)
	}
	// And the block page, asked again, says so.
	if err := chromedp.Do(bctx, chromedp.Navigate("https://"+name+":"+httpsPort+"/")); err != nil {
		t.Fatal(err)
	}
	if p := text("main"); !strings.Contains(p, "not blocked for your device") {
		t.Errorf("block page after the approval:\n%s", p)
	}
}
