package console

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/internal/pgtest"
	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/state"
	"golang.org/x/crypto/bcrypt"
)

// reload applies the fixture's configuration with old replaced by new
// (old "": new added at the end).
func (f *fixture) reload(t *testing.T, old, new string) {
	t.Helper()
	switch {
	case old == "":
		f.text += new
	case !strings.Contains(f.text, old):
		t.Fatalf("the configuration has no %q", old)
	default:
		f.text = strings.Replace(f.text, old, new, 1)
	}
	cfg, err := config.Parse("civicdns.toml", []byte(f.text))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Load(cfg, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.state.Apply(cfg, pol); err != nil {
		t.Fatal(err)
	}
}

// A session ends when the director's entry changes: a new password hash,
// another department, the director removed.
func TestSessionsEndWhenTheDirectorsEntryChanges(t *testing.T) {
	t.Parallel()
	for _, change := range []string{"password", "department", "removed"} {
		t.Run(change, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, false)
			chief, _ := f.client(t, "Chief of Police", "correct horse battery")
			if code, _ := do(t, chief, "GET", f.srv.URL+"/api/v1/session", nil, nil); code != http.StatusOK {
				t.Fatalf("signed in: %d", code)
			}
			switch change {
			case "password":
				start := strings.Index(f.text, `department = "police"`)
				i := strings.Index(f.text[start:], `password_hash = "`) + start + len(`password_hash = "`)
				j := strings.IndexByte(f.text[i:], '"') + i
				f.reload(t, f.text[i:j], hash(t, "a new passphrase"))
			case "department":
				f.reload(t, `department = "police"`, `department = "Parks"`)
			case "removed":
				f.reload(t, `name = "Chief of Police"`, `name = "Deputy Chief"`)
			}
			if code, _ := do(t, chief, "GET", f.srv.URL+"/api/v1/session", nil, nil); code != http.StatusUnauthorized {
				t.Errorf("after the %s changed: %d, want 401", change, code)
			}
		})
	}
}

// Names are compared after Unicode case folding; a name in compatibility
// forms (ſ for s) is refused, never taken for the one it resembles.
func TestSignInNamesAreCaseFoldedAndCompatibilityFormsRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	post := func(name, origin string) int {
		req := httptest.NewRequest("POST", "http://127.0.0.1:8053/signin", strings.NewReader(url.Values{"name": {name}, "password": {"green fields forever"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		rec := httptest.NewRecorder()
		f.srv.Config.Handler.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := post("PARKS DIRECTOR", ""); code != http.StatusSeeOther {
		t.Errorf("the name in capitals: %d", code)
	}
	if code := post("Parkſ Director", ""); code != http.StatusUnauthorized {
		t.Errorf("the name with ſ: %d, want 401", code)
	}
	if code := post("ＰＡＲＫＳ Director", ""); code != http.StatusUnauthorized {
		t.Errorf("the name in full-width letters: %d, want 401", code)
	}
	// Login CSRF: a sign-in posted from another site is refused.
	if code := post("Parks Director", "https://evil.example"); code != http.StatusForbidden {
		t.Errorf("a sign-in from another origin: %d, want 403", code)
	}
	if code := post("Parks Director", "http://127.0.0.1:8053"); code != http.StatusSeeOther {
		t.Errorf("a sign-in from the console's own origin: %d", code)
	}
}

// What a refused sign-in writes to the audit trail is bounded: a 64 KB
// name is cut to 64 characters.
func TestARefusedSignInWritesABoundedName(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	huge := strings.Repeat("x", 64<<10-100)
	resp, err := http.PostForm(f.srv.URL+"/signin", url.Values{"name": {huge}, "password": {"guess"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ev, _ := f.store.AuditSince(time.Time{})
	var last *state.AuditEvent
	for i := range ev {
		if ev[i].Action == "sign-in-failed" {
			last = &ev[i]
		}
	}
	if last == nil || len(last.Who) > 100 || !strings.Contains(last.Who, "65436 bytes") {
		t.Fatalf("audited %+v", last)
	}
}

// An unknown name is compared with a hash of the highest configured cost,
// so it costs what a known name costs; the configuration rejects hashes
// below cost 10.
func TestUnknownNamesCostWhatKnownOnesCost(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	h12, _ := bcrypt.GenerateFromPassword([]byte("x"), 12)
	f.reload(t, "", `
[[director]]
name = "Mayor"
department = "Parks"
password_hash = "`+string(h12)+`"
`)
	con := f.srv.Config.Handler.(*Server)
	if c, _ := bcrypt.Cost(con.dummies.get(topCost(f.state.Snapshot().Config.Director))); c != 12 {
		t.Errorf("the unknown name's hash has cost %d, want 12", c)
	}
	h4, _ := bcrypt.GenerateFromPassword([]byte("x"), 4)
	_, err := config.Parse("civicdns.toml", []byte(strings.Replace(f.text, string(h12), string(h4), 1)))
	if err == nil || !strings.Contains(err.Error(), "bcrypt cost 4, below 10") {
		t.Errorf("a cost-4 hash: %v", err)
	}
}

// ?done= shows only the fixed message of a known code: arbitrary text in
// the address is never put into the page.
func TestDoneShowsOnlyFixedMessages(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	chief, _ := f.client(t, "Chief of Police", "correct horse battery")
	_, page := do(t, chief, "GET", f.srv.URL+"/?done="+url.QueryEscape("Your session expired: sign in at https://evil.example"), nil, nil)
	if strings.Contains(page, "evil.example") || strings.Contains(page, `class="done"`) {
		t.Error("arbitrary ?done= text is shown")
	}
	_, page = do(t, chief, "GET", f.srv.URL+"/?done=approved", nil, nil)
	if !strings.Contains(page, "The request was approved") {
		t.Error("the approved message is not shown")
	}
}

// An action whose audit event cannot be written does not happen: the
// sign-in is refused with a message, the store reports itself unhealthy,
// and both recover when the trail can be written again.
func TestAnActionThatCannotBeAuditedIsRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	trail := filepath.Join(f.store.Dir(), state.AuditFile)
	os.Remove(trail)
	if err := os.Mkdir(trail, 0o700); err != nil { // a directory where the file must be: every write fails
		t.Fatal(err)
	}
	resp, err := http.PostForm(f.srv.URL+"/signin", url.Values{"name": {"Chief of Police"}, "password": {"correct horse battery"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "audit trail") {
		t.Fatalf("sign-in without an audit trail: %d %s", resp.StatusCode, body)
	}
	if f.store.Health() == nil {
		t.Error("the store does not say it cannot write")
	}
	os.Remove(trail)
	f.client(t, "Chief of Police", "correct horse battery")
	if err := f.store.Health(); err != nil {
		t.Errorf("still unhealthy after the trail came back: %v", err)
	}
}

// The console answers only to its own names and IP literals (DNS
// rebinding); X-Forwarded-For is believed only from a trusted proxy.
func TestHostCheckAndTrustedProxies(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	f.reload(t, "[admin]\n", "[admin]\ntrusted_proxies = [\"10.9.9.9\"]\n")
	f.reload(t, "[server]\n", "[server]\nname = \"dns.city.example\"\n")
	get := func(host string) int {
		req := httptest.NewRequest("GET", "/signin", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		f.srv.Config.Handler.ServeHTTP(rec, req)
		return rec.Code
	}
	for host, want := range map[string]int{"evil.example": 421, "evil.example:8053": 421, "dns.city.example:8053": 200, "127.0.0.1:8053": 200, "[::1]:8053": 200, "localhost": 200} {
		if code := get(host); code != want {
			t.Errorf("Host %s: %d, want %d", host, code, want)
		}
	}
	con := f.srv.Config.Handler.(*Server)
	from := func(peer, xff string) string {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = peer + ":40000"
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		return con.clientOf(req)
	}
	for _, tc := range []struct{ peer, xff, want string }{
		{"10.20.1.1", "192.0.2.99", "10.20.1.1"},           // not a proxy: the header is ignored
		{"10.9.9.9", "10.20.1.1", "10.20.1.1"},             // the trusted proxy's client
		{"10.9.9.9", "192.0.2.99, 10.20.1.1", "10.20.1.1"}, // the nearest hop: the client cannot forge an earlier one
		{"10.9.9.9", "10.20.1.1, 10.9.9.9", "10.20.1.1"},   // through the proxy twice
		{"10.9.9.9", "", "10.9.9.9"},                       // no header
		{"10.9.9.9", "not-an-address", "10.9.9.9"},         // garbage: nothing believed
	} {
		if got := from(tc.peer, tc.xff); got != tc.want {
			t.Errorf("from %s with X-Forwarded-For %q: %s, want %s", tc.peer, tc.xff, got, tc.want)
		}
	}
}

// Failed sign-ins slow the address down (three free, then a doubling
// wait); the name is never locked: the director signs in from elsewhere
// meanwhile, and from the same address once the wait is over.
func TestFailedSignInsSlowTheAddressNotTheName(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	signin := func(from, password string) int {
		req := httptest.NewRequest("POST", "http://127.0.0.1:8053/signin", strings.NewReader(url.Values{"name": {"Parks Director"}, "password": {password}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = from + ":40000"
		rec := httptest.NewRecorder()
		f.srv.Config.Handler.ServeHTTP(rec, req)
		return rec.Code
	}
	var codes []int
	for i := range 6 {
		codes = append(codes, signin("10.0.0.1", "guess"+string(rune('a'+i))))
	}
	if fmt.Sprint(codes) != "[401 401 401 401 429 429]" {
		t.Errorf("codes %v: four failures, then 429 while the wait runs", codes)
	}
	if code := signin("10.0.0.1", "green fields forever"); code != http.StatusTooManyRequests {
		t.Errorf("the right password during the wait: %d", code)
	}
	if code := signin("10.0.0.2", "green fields forever"); code != http.StatusSeeOther {
		t.Errorf("the director from another device during the wait: %d (locked out)", code)
	}
	f.clock.Advance(2 * time.Second)
	if code := signin("10.0.0.1", "green fields forever"); code != http.StatusSeeOther {
		t.Errorf("after the wait: %d", code)
	}
	// The refused tries are audited once, with their count, not each.
	ev, _ := f.store.AuditSince(time.Time{})
	refused := 0
	for _, e := range ev {
		if e.Action == "sign-in-refused" {
			refused++
		}
	}
	if refused != 1 {
		t.Errorf("%d sign-in-refused events for 3 refused tries, want 1", refused)
	}
}

// /api/v1/status answers this machine itself (loopback, no proxy) and a
// signed-in director; nobody else.
func TestStatusIsForThisMachineOrADirector(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	con := New(Options{State: f.state, Store: f.store, Now: f.clock.Now, Status: func() any { return map[string]string{"state": "serving"} }})
	for _, tc := range []struct {
		peer, xff string
		want      int
	}{{"127.0.0.1", "", 200}, {"[::1]", "", 200}, {"10.20.1.1", "", 401}, {"127.0.0.1", "10.20.1.1", 401}} {
		req := httptest.NewRequest("GET", "http://127.0.0.1:8053/api/v1/status", nil)
		req.RemoteAddr = tc.peer + ":40000"
		if tc.xff != "" {
			req.Header.Set("X-Forwarded-For", tc.xff)
		}
		rec := httptest.NewRecorder()
		con.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("from %s (X-Forwarded-For %q): %d, want %d", tc.peer, tc.xff, rec.Code, tc.want)
		}
	}
}

// A restart signs nobody out: the session is in the state store (its
// token's hash only), and a new console on the same store knows it; a
// signed-out session stays out.
func TestSessionsOutliveARestart(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	chief, csrf := f.client(t, "Chief of Police", "correct horse battery")
	restarted := httptest.NewServer(New(Options{State: f.state, Store: f.store, Now: f.clock.Now}))
	defer restarted.Close()
	cookies := chief.Jar.Cookies(mustURL(t, f.srv.URL))
	ask := func(c *http.Cookie) int {
		req, _ := http.NewRequest("GET", restarted.URL+"/api/v1/session", nil)
		req.AddCookie(c)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && !strings.Contains(string(b), csrf) {
			t.Errorf("the CSRF token changed with the restart: %s", b)
		}
		return resp.StatusCode
	}
	if len(cookies) != 1 || ask(cookies[0]) != http.StatusOK {
		t.Fatal("the session did not outlive the restart")
	}
	data, _ := os.ReadFile(filepath.Join(f.store.Dir(), state.SessionsFile))
	if strings.Contains(string(data), cookies[0].Value) {
		t.Error("the session token itself is in the store")
	}
	if code, _ := do(t, chief, "POST", f.srv.URL+"/signout", strings.NewReader("csrf="+url.QueryEscape(csrf)), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}); code != http.StatusOK && code != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", code)
	}
	third := New(Options{State: f.state, Store: f.store, Now: f.clock.Now})
	req := httptest.NewRequest("GET", "http://127.0.0.1:8053/api/v1/session", nil)
	req.AddCookie(cookies[0])
	rec := httptest.NewRecorder()
	third.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("a signed-out session after a restart: %d", rec.Code)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// With [state] postgres a session opened on one instance works on another.
func TestSessionsWorkOnEveryInstance(t *testing.T) {
	c := pgtest.Start(t)
	f := newFixture(t, false, c.DSN())
	chief, _ := f.client(t, "Chief of Police", "correct horse battery")
	other, err := state.OpenShared(filepath.Join(t.TempDir(), "b"), c.DSN(), f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	b := New(Options{State: f.state, Store: other, Now: f.clock.Now})
	req := httptest.NewRequest("GET", "http://127.0.0.1:8053/api/v1/session", nil)
	for _, ck := range chief.Jar.Cookies(mustURL(t, f.srv.URL)) {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	b.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Chief of Police") {
		t.Errorf("the session on the other instance: %d %s", rec.Code, rec.Body.String())
	}
}
