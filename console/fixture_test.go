package console

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/civicdns/civicdns/live"
	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/state"
	"golang.org/x/crypto/bcrypt"
)

// testHashes keeps the tests' bcrypt hashes: one made per password for
// the whole run (cost 10, the lowest check takes, is slow under -race).
// Test scaffolding only.
var testHashes sync.Map

// hash is a director's bcrypt hash at cost 10.
func hash(t *testing.T, pw string) string {
	if h, ok := testHashes.Load(pw); ok {
		return h.(string)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), config.MinBcryptCost)
	if err != nil {
		t.Fatal(err)
	}
	testHashes.Store(pw, string(h))
	return string(h)
}

type fixture struct {
	state   *live.State
	store   *state.Store
	clock   *dnstest.Clock
	srv     *httptest.Server
	changes int
	police  *state.RequestState // a pending request of each department
	parks   *state.RequestState
	parksX  *state.Grant // an exemption Parks granted
	text    string       // the configuration it was made from
}

// newFixture makes the console of a store of files, or with dsn a store
// shared through that PostgreSQL database.
func newFixture(t *testing.T, tlsServer bool, dsn ...string) *fixture {
	t.Helper()
	return newFixtureWith(t, tlsServer, "", dsn...)
}

// newFixtureWith is newFixture with more configuration: [server] keys
// first, then anything after the directors.
func newFixtureWith(t *testing.T, tlsServer bool, more string, dsn ...string) *fixture {
	t.Helper()
	serverKeys, after, _ := strings.Cut(more, "\n---\n")
	text := `
[server]
listen = ["127.0.0.1:5399"]
` + serverKeys + `
[upstream]
servers = ["192.0.2.1:53"]
[state]
dir = "` + t.TempDir() + `"
[admin]
listen = "127.0.0.1:0"
[[department]]
name = "Police"
networks = ["10.20.0.0/16"]
[[department]]
name = "Parks"
networks = ["10.30.0.0/16"]
[[director]]
name = "Chief of Police"
department = "police"
password_hash = "` + hash(t, "correct horse battery") + `"
[[director]]
name = "Parks Director"
department = "Parks"
password_hash = "` + hash(t, "green fields forever") + `"
` + after
	cfg, err := config.Parse("civicdns.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Load(cfg, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{clock: dnstest.NewClock(), text: text}
	if f.state, err = live.New(cfg, pol, live.Options{Now: f.clock.Now}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.state.Close() })
	if len(dsn) > 0 {
		f.store, err = state.OpenShared(cfg.State.Dir, dsn[0], f.clock.Now)
	} else {
		f.store, err = state.Open(cfg.State.Dir, f.clock.Now)
	}
	if err != nil {
		t.Fatal(err)
	}
	refresh := func() {
		f.changes++
		st, _ := f.store.Load()
		f.state.SetStoreExemptions(st.Exemptions(time.UTC))
		f.state.SetSuspensions(st.PolicySuspensions(time.UTC))
		f.state.SetDevices(st.PolicyDevices())
	}
	con := New(Options{State: f.state, Store: f.store, Now: f.clock.Now, OnChange: refresh})
	if tlsServer {
		f.srv = httptest.NewTLSServer(con)
	} else {
		f.srv = httptest.NewServer(con)
	}
	t.Cleanup(f.srv.Close)
	submit := func(client, dept string) *state.RequestState {
		q, err := f.store.Submit(state.Request{Client: netip.MustParseAddr(client), Department: dept, Name: "www.pokerstars.com",
			Category: "gambling", Matched: "pokerstars.com", Requester: "Pat", Email: "pat@city.example", Reason: "an investigation"})
		if err != nil {
			t.Fatal(err)
		}
		return &state.RequestState{Request: q, Status: state.Pending}
	}
	f.police = submit("10.20.1.1", "Police")
	f.parks = submit("10.30.1.1", "Parks")
	granted := submit("10.30.1.2", "Parks")
	if f.parksX, err = f.store.Approve(granted.ID, state.Approval{By: "Parks Director", Expires: config.Date{Year: 2026, Month: 12, Day: 31}, Reason: "events"}); err != nil {
		t.Fatal(err)
	}
	refresh()
	return f
}

// client is a browser with its own cookies, signed in as name.
func (f *fixture) client(t *testing.T, name, password string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	shared := *f.srv.Client() // a client (a browser) of its own: its own cookies
	c := &shared
	c.Jar = jar
	resp, err := c.PostForm(f.srv.URL+"/signin", url.Values{"name": {name}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(body))
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("sign in as %s: %d %s", name, resp.StatusCode, body)
	}
	return c, m[1]
}

func do(t *testing.T, c *http.Client, method, u string, body io.Reader, header map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, body)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
