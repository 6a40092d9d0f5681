package blockpage

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/civicdns/civicdns/live"
	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/state"
	"github.com/prometheus/client_golang/prometheus"
)

const testConfig = `
[server]
listen = ["127.0.0.1:5399"]
[upstream]
servers = ["192.0.2.1:53"]
[blockpage]
contact = "Office of Technology, 651-266-6786"
[[department]]
name = "Police"
networks = ["127.0.0.1/32"]
`

type fixture struct {
	state *live.State
	store *state.Store
	page  *Server
	clock *dnstest.Clock
	srv   *httptest.Server
}

func newFixture(t testing.TB, withStore bool, extra ...string) *fixture {
	t.Helper()
	cfg, err := config.Parse("civicdns.toml", []byte(testConfig+strings.Join(extra, "")))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Load(cfg, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{clock: dnstest.NewClock()}
	if f.state, err = live.New(cfg, pol, live.Options{Now: f.clock.Now}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.state.Close() })
	if withStore {
		if f.store, err = state.Open(t.TempDir(), f.clock.Now); err != nil {
			t.Fatal(err)
		}
	}
	f.page = New(Options{State: f.state, Store: f.store, Now: f.clock.Now, Registry: prometheus.NewRegistry()})
	f.srv = httptest.NewServer(f.page)
	t.Cleanup(f.srv.Close)
	return f
}

// get asks the block page as a browser sent to it for host would.
func (f *fixture) get(t *testing.T, host, query, accept string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+"/some/path"+query, nil)
	req.Host = host
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
	return resp.StatusCode, string(b)
}

func TestBlockPageSaysWhatAndWhy(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	code, body := f.get(t, "www.pokerstars.com", "", "")
	if code != http.StatusForbidden {
		t.Errorf("status %d", code)
	}
	for _, want := range []string{
		"This site is blocked by the city's Internet-use policy", "www.pokerstars.com", "Gambling",
		"Internet and Email Policy: prohibited uses (gambling)", "<dd>Police</dd>", "<dd>127.0.0.1</dd>",
		"Office of Technology, 651-266-6786", "B-", `name="csrf"`, `action="/.civicdns/request"`, `lang="en"`, `<label for="reason">`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "http://") || strings.Contains(body, "https://") || strings.Contains(body, "<script") {
		t.Error("the page loads something from outside or runs a script")
	}
	// The same facts as JSON, by query or by Accept.
	for _, how := range []struct{ query, accept string }{{"?format=json", ""}, {"", "application/json"}} {
		code, body := f.get(t, "www.pokerstars.com", how.query, how.accept)
		var facts Facts
		if err := json.Unmarshal([]byte(body), &facts); err != nil {
			t.Fatalf("%d %s", code, body)
		}
		if !facts.Blocked || facts.Category != "gambling" || facts.Title != "Gambling" || facts.Department != "Police" ||
			facts.Matched != "pokerstars.com" || !facts.CanRequest || facts.Contact == "" || !strings.HasPrefix(facts.Reference, "B-") {
			t.Errorf("facts %+v", facts)
		}
	}
	// A name that is not blocked for this client says so.
	code, body = f.get(t, "www.example.org", "", "")
	if code != http.StatusOK || !strings.Contains(body, "is not blocked for your device") || strings.Contains(body, `name="csrf"`) {
		t.Errorf("not blocked: %d", code)
	}
	// Without a state store there is no form, only the contact.
	g := newFixture(t, false)
	if _, body := g.get(t, "www.pokerstars.com", "", ""); strings.Contains(body, "<form") || !strings.Contains(body, "Office of Technology") {
		t.Error("a form without a store to keep requests")
	}
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (f *fixture) post(t *testing.T, host string, form url.Values) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", f.srv.URL+"/.civicdns/request", strings.NewReader(form.Encode()))
	req.Host = host
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (f *fixture) form(t *testing.T, host string) url.Values {
	_, body := f.get(t, host, "", "")
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no csrf token on the page")
	}
	return url.Values{"csrf": {m[1]}, "requester": {"Pat Doe"}, "email": {"pat.doe@city.example"}, "reason": {"Investigating an illegal betting ring"}}
}

func TestRequestFormStoresDurablyAndShowsStatus(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	code, body := f.post(t, "www.pokerstars.com", f.form(t, "www.pokerstars.com"))
	if code != http.StatusCreated || !strings.Contains(body, "was received and stored") {
		t.Fatalf("%d %s", code, body)
	}
	st, err := f.store.Load()
	if err != nil || len(st.Requests) != 1 {
		t.Fatalf("stored: %v %d", err, len(st.Requests))
	}
	q := st.Requests[0]
	if q.Name != "www.pokerstars.com" || q.Matched != "pokerstars.com" || q.Department != "Police" || q.Client.String() != "127.0.0.1" || q.Requester != "Pat Doe" {
		t.Errorf("request %+v", q.Request)
	}
	if !strings.Contains(body, q.ID) {
		t.Error("the acknowledgement does not give the request's number")
	}
	// Its status, by its number; an e-mail address is not shown there.
	req, _ := http.NewRequest("GET", f.srv.URL+"/.civicdns/request/"+q.ID+"?format=json", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"status":"pending"`) || strings.Contains(string(b), "pat.doe") {
		t.Errorf("status: %s", b)
	}
	f.store.Deny(q.ID, "Chief", "", "use the case system")
	req, _ = http.NewRequest("GET", f.srv.URL+"/.civicdns/request/"+q.ID, nil)
	resp, _ = http.DefaultClient.Do(req)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	// The decision, never the director's note: that is for the department.
	if !strings.Contains(string(b), "denied") || strings.Contains(string(b), "use the case system") {
		t.Errorf("status page: %s", b)
	}
}

func TestRequestFormRefusesForgeriesBadInputAndFloods(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	good := f.form(t, "www.pokerstars.com")
	for _, tc := range []struct {
		name   string
		host   string
		change func(url.Values)
		status int
		says   string
	}{
		{"no token", "www.pokerstars.com", func(v url.Values) { v.Del("csrf") }, 403, "expired or did not come from this page"},
		{"a forged token", "www.pokerstars.com", func(v url.Values) { v.Set("csrf", "1.AAAA") }, 403, "expired"},
		{"a token for another name", "bet365.com", func(url.Values) {}, 403, "expired"},
		{"no name", "www.pokerstars.com", func(v url.Values) { v.Set("requester", "") }, 400, "Please give your name"},
		{"a bad e-mail", "www.pokerstars.com", func(v url.Values) { v.Set("email", "pat at city") }, 400, "e-mail"},
		{"a short reason", "www.pokerstars.com", func(v url.Values) { v.Set("reason", "pls") }, 400, "why you need"},
	} {
		v := url.Values{}
		for k, vs := range good {
			v[k] = append([]string(nil), vs...)
		}
		tc.change(v)
		code, body := f.post(t, tc.host, v)
		if code != tc.status || !strings.Contains(body, tc.says) {
			t.Errorf("%s: %d, want %d saying %q", tc.name, code, tc.status, tc.says)
		}
	}
	// A name not blocked for this client: nothing to ask for.
	allowed := url.Values{"csrf": {f.page.csrf.token("127.0.0.1", "www.example.org", f.clock.Now())}, "requester": {"Pat"},
		"email": {"pat@city.example"}, "reason": {"no reason to block it"}}
	if code, _ := f.post(t, "www.example.org", allowed); code != 400 {
		t.Errorf("request for an allowed name: %d", code)
	}
	st, _ := f.store.Load()
	if len(st.Requests) != 0 {
		t.Fatalf("%d requests stored from refused forms", len(st.Requests))
	}
	// Three at once from one device, then one each ten minutes.
	for i := 0; i < requestBurst; i++ {
		if code, body := f.post(t, "www.pokerstars.com", good); code != 201 {
			t.Fatalf("request %d: %d %s", i, code, body)
		}
	}
	if code, _ := f.post(t, "www.pokerstars.com", good); code != http.StatusTooManyRequests {
		t.Errorf("fourth request: %d", code)
	}
	f.clock.Advance(requestEvery)
	if code, _ := f.post(t, "www.pokerstars.com", f.form(t, "www.pokerstars.com")); code != 201 {
		t.Errorf("after ten minutes: %d", code)
	}
}

// newCA makes a test CA and its pool.
func newCA(t testing.TB) (*CA, *x509.CertPool) {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile, err := CreateCA(dir, "Test City CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ca, err := LoadCA(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return ca, pool
}

func TestHTTPSBlockPageMintsACertificateForTheName(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	ca, pool := newCA(t)
	m, err := NewMinter(ca, "", time.Now, f.page.metrics) // the TLS client checks against the real time
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(f.page)
	srv.TLS = m.TLSConfig()
	srv.StartTLS()
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "www.pokerstars.com"}}}
	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	req.Host = "www.pokerstars.com"
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("a client trusting the city CA: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(b), "Gambling") {
		t.Errorf("%d", resp.StatusCode)
	}
	leaf := resp.TLS.PeerCertificates[0]
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "www.pokerstars.com", Roots: pool}); err != nil {
		t.Errorf("the minted certificate does not verify for the name: %v", err)
	}
	if life := leaf.NotAfter.Sub(leaf.NotBefore); life > 26*time.Hour {
		t.Errorf("certificate valid for %s: short-lived certificates only", life)
	}
	// The next handshake for the name uses the cached certificate.
	c2, err := m.Certificate("www.pokerstars.com", "192.0.2.1")
	if err != nil || c2.Leaf.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Errorf("not the cached certificate: %v", err)
	}
	// A client that does not trust the city CA gets a certificate error, not the page.
	plain := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{ServerName: "www.pokerstars.com"}}}
	if _, err := plain.Get(srv.URL); err == nil {
		t.Error("a client without the city CA accepted the certificate")
	}
}

func TestMintingIsRateLimited(t *testing.T) {
	t.Parallel()
	ca, _ := newCA(t)
	clock := dnstest.NewClock()
	m, err := NewMinter(ca, "", clock.Now, newMetrics(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for i := 0; i < mintBurst+20; i++ {
		if _, err := m.Certificate("n"+strings.Repeat("x", i%7)+time.Duration(i).String()+".example", fmt.Sprintf("192.0.2.%d", i%20)); err == ErrMintLimit {
			refused++
		}
	}
	if refused != 20 {
		t.Errorf("%d of %d new names refused, want 20 past the burst of %d", refused, mintBurst+20, mintBurst)
	}
	// Cached names are still served while minting is held back.
	if _, err := m.Certificate("n0s.example", "192.0.2.1"); err != nil {
		t.Errorf("a cached name: %v", err)
	}
	clock.Advance(time.Second)
	if _, err := m.Certificate("fresh.example", "192.0.2.1"); err != nil {
		t.Errorf("a second later: %v", err)
	}
}

// One client cannot use up the minting limit for everyone: past its own
// burst it is refused, and another client still gets certificates.
func TestMintingIsLimitedPerClient(t *testing.T) {
	t.Parallel()
	ca, _ := newCA(t)
	m, err := NewMinter(ca, "", dnstest.NewClock().Now, newMetrics(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for i := range clientBurst + 10 {
		if _, err := m.Certificate(fmt.Sprintf("flood%d.example", i), "192.0.2.66"); err == ErrMintLimit {
			refused++
		}
	}
	if refused != 10 {
		t.Errorf("the flooding client: %d refused, want 10", refused)
	}
	if _, err := m.Certificate("www.pokerstars.com", "192.0.2.7"); err != nil {
		t.Errorf("another client during the flood: %v", err)
	}
}

// Minted certificates outlive a restart: a new minter on the same folder
// serves the certificate minted before, with the same key, minting nothing.
func TestMintedCertificatesOutliveARestart(t *testing.T) {
	t.Parallel()
	ca, _ := newCA(t)
	dir := filepath.Join(t.TempDir(), "certs")
	first, err := NewMinter(ca, dir, time.Now, newMetrics(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	c1, err := first.Certificate("www.pokerstars.com", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	second, err := NewMinter(ca, dir, time.Now, newMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	c2, err := second.Certificate("www.pokerstars.com", "192.0.2.1")
	if err != nil || c2.Leaf.SerialNumber.Cmp(c1.Leaf.SerialNumber) != 0 {
		t.Fatalf("after a restart: %v, serial %v then %v", err, c1.Leaf.SerialNumber, c2.Leaf.SerialNumber)
	}
	if got := testutil.ToFloat64(second.metrics.certs.WithLabelValues("minted")); got != 0 {
		t.Errorf("%v minted after the restart, want 0", got)
	}
	for _, f := range []string{"leaf.key", filepath.Base(second.disk.path("www.pokerstars.com"))} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", f, err, fi)
		}
	}
	// Signed by another CA (the city made a new one): minted again.
	other, _ := newCA(t)
	third, _ := NewMinter(other, dir, time.Now, newMetrics(prometheus.NewRegistry()))
	c3, err := third.Certificate("www.pokerstars.com", "192.0.2.1")
	if err != nil || c3.Leaf.CheckSignatureFrom(other.Cert) != nil {
		t.Errorf("with another CA: %v", err)
	}
}

func BenchmarkMint(b *testing.B) {
	ca, _ := newCA(b)
	m, _ := NewMinter(ca, "", nil, newMetrics(prometheus.NewRegistry()))
	now := time.Now()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := m.mint("www.example.org", now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCachedHandshake is a whole TLS handshake over loopback with a
// cached certificate: what a page of blocked names costs the server.
func BenchmarkCachedHandshake(b *testing.B) {
	ca, pool := newCA(b)
	m, _ := NewMinter(ca, "", nil, newMetrics(prometheus.NewRegistry()))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.TLS = m.TLSConfig()
	srv.StartTLS()
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	cfg := &tls.Config{RootCAs: pool, ServerName: "www.pokerstars.com"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
}

// A category the department's personal-use hours open: the page says when.
func TestBlockPageSaysWhenTheCategoryOpens(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false, "block = [\"social\"]\n[[department.hours]]\ndays = [\"daily\"]\nhours = \"12:00-13:00\"\nopen = [\"social\"]\n")
	code, body := f.get(t, "www.facebook.com", "?format=json", "")
	var facts Facts
	json.Unmarshal([]byte(body), &facts)
	// The fixture's clock is 2026-11-23 12:00 UTC, in the window when the server's zone is UTC;
	// whatever the zone, the page names the next opening or the name is open now.
	if code == http.StatusForbidden && (facts.Category != "social" || facts.OpensAt == "") {
		t.Errorf("blocked %s without an opening time: %+v", facts.Category, facts)
	}
	f.clock.Advance(2 * time.Hour)
	_, body = f.get(t, "www.facebook.com", "", "")
	if !strings.Contains(body, "Personal use of this category is allowed for your department from") {
		t.Errorf("page:\n%s", body)
	}
}

// A suspended device is told so, whatever it asks for, with no request form.
func TestBlockPageForASuspendedDevice(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	f.state.SetSuspensions([]*policy.Suspension{{ID: "S-1", Client: netip.MustParsePrefix("127.0.0.1/32"), Reason: "lost laptop"}})
	code, body := f.get(t, "www.example.org", "", "")
	if code != http.StatusForbidden || !strings.Contains(body, "Internet access from this device is suspended") ||
		!strings.Contains(body, "lost laptop") || strings.Contains(body, "<form") || !strings.Contains(body, "Office of Technology") {
		t.Errorf("%d\n%s", code, body)
	}
}

// An unapproved messenger's page names the service; the approved one opens.
func TestBlockPageNamesTheChatService(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	code, body := f.get(t, "web.telegram.org", "", "")
	if code != http.StatusForbidden || !strings.Contains(body, "<dd>Telegram (not a service the city approved)</dd>") ||
		!strings.Contains(body, "web.telegram.org</span> (Telegram)") {
		t.Errorf("%d %s", code, body)
	}
	_, body = f.get(t, "web.telegram.org", "?format=json", "")
	var facts Facts
	if err := json.Unmarshal([]byte(body), &facts); err != nil || facts.Service != "Telegram" || facts.Category != "chat" {
		t.Errorf("facts %+v %v", facts, err)
	}
	if code, _ := f.get(t, "teams.microsoft.com", "", ""); code != http.StatusOK {
		t.Errorf("Microsoft Teams, approved by default: %d", code)
	}
	// A request keeps the service, for the director to grant it whole.
	if code, body := f.post(t, "web.telegram.org", f.form(t, "web.telegram.org")); code != http.StatusCreated {
		t.Fatalf("request: %d %s", code, body)
	}
	if p, _, _ := f.store.Pending("Police", 10); len(p) != 1 || p[0].Service != "Telegram" || p[0].ServiceID != "telegram" {
		t.Errorf("pending %+v", p)
	}
}
