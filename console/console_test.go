package console

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/pgtest"
	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/state"
)

func TestSignInAndSessionCookie(t *testing.T) {
	t.Parallel()
	for _, overTLS := range []bool{false, true} {
		f := newFixture(t, overTLS)
		c := f.srv.Client()
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := c.PostForm(f.srv.URL+"/signin", url.Values{"name": {"Chief of Police"}, "password": {"wrong"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
			t.Errorf("wrong password: %d, cookies %v", resp.StatusCode, resp.Cookies())
		}
		for k, want := range map[string]string{"Content-Security-Policy": "frame-ancestors 'none'", "X-Content-Type-Options": "nosniff",
			"Referrer-Policy": "same-origin", "Cache-Control": "no-store"} {
			if got := resp.Header.Get(k); !strings.Contains(got, want) {
				t.Errorf("%s: %q, want %q", k, got, want)
			}
		}
		resp, err = c.PostForm(f.srv.URL+"/signin", url.Values{"name": {"chief of police"}, "password": {"correct horse battery"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		ck := resp.Cookies()
		if resp.StatusCode != http.StatusSeeOther || len(ck) != 1 {
			t.Fatalf("sign in: %d %v", resp.StatusCode, ck)
		}
		if !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode || ck[0].Secure != overTLS || len(ck[0].Value) < 40 {
			t.Errorf("session cookie (TLS %v): %+v", overTLS, ck[0])
		}
		// The session ends by itself.
		jar, _ := cookiejar.New(nil)
		u, _ := url.Parse(f.srv.URL)
		jar.SetCookies(u, ck)
		c.Jar = jar
		if code, _ := do(t, c, "GET", f.srv.URL+"/api/v1/session", nil, nil); code != 200 {
			t.Errorf("session: %d", code)
		}
		f.clock.Advance(sessionLife + time.Minute)
		if code, _ := do(t, c, "GET", f.srv.URL+"/api/v1/session", nil, nil); code != http.StatusUnauthorized {
			t.Errorf("after the session's life: %d", code)
		}
		audit, _ := f.store.AuditSince(time.Time{})
		var actions []string
		for _, ev := range audit {
			actions = append(actions, ev.Action+" "+ev.Who)
		}
		if got := strings.Join(actions, ", "); !strings.Contains(got, "sign-in-failed Chief of Police, sign-in Chief of Police") {
			t.Errorf("audit: %s", got)
		}
	}
}

// A director sees and acts on their own department alone: every page and
// API route, whatever ID they send.
func TestDirectorsSeeOnlyTheirOwnDepartment(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	chief, csrf := f.client(t, "Chief of Police", "correct horse battery")
	_, page := do(t, chief, "GET", f.srv.URL+"/", nil, nil)
	if !strings.Contains(page, f.police.ID) || strings.Contains(page, f.parks.ID) || strings.Contains(page, f.parksX.ID) {
		t.Errorf("dashboard shows another department's requests or exemptions")
	}
	_, reqs := do(t, chief, "GET", f.srv.URL+"/api/v1/requests", nil, nil)
	_, exs := do(t, chief, "GET", f.srv.URL+"/api/v1/exemptions", nil, nil)
	if !strings.Contains(reqs, f.police.ID) || strings.Contains(reqs, f.parks.ID) || strings.Contains(exs, f.parksX.ID) {
		t.Errorf("API lists another department's: %s %s", reqs, exs)
	}
	form := func(v url.Values) io.Reader { v.Set("csrf", csrf); return strings.NewReader(v.Encode()) }
	formHdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	apiHdr := map[string]string{"Content-Type": "application/json", "X-CSRF-Token": csrf}
	approval := url.Values{"expires": {"2026-12-31"}, "reason": {"r"}}
	for _, tc := range []struct {
		name, path string
		body       io.Reader
		header     map[string]string
	}{
		{"page approve", "/requests/" + f.parks.ID + "/approve", form(approval), formHdr},
		{"page deny", "/requests/" + f.parks.ID + "/deny", form(url.Values{}), formHdr},
		{"page revoke", "/exemptions/" + f.parksX.ID + "/revoke", form(url.Values{}), formHdr},
		{"API approve", "/api/v1/requests/" + f.parks.ID + "/approve", strings.NewReader(`{"expires":"2026-12-31","reason":"r"}`), apiHdr},
		{"API deny", "/api/v1/requests/" + f.parks.ID + "/deny", strings.NewReader(`{}`), apiHdr},
		{"API revoke", "/api/v1/exemptions/" + f.parksX.ID + "/revoke", nil, apiHdr},
		{"made-up ID", "/api/v1/requests/R-AAAAAAAA/approve", strings.NewReader(`{"expires":"2026-12-31","reason":"r"}`), apiHdr},
	} {
		if code, _ := do(t, chief, "POST", f.srv.URL+tc.path, tc.body, tc.header); code != http.StatusNotFound {
			t.Errorf("%s of Parks' by the Chief of Police: %d, want 404", tc.name, code)
		}
	}
	st, _ := f.store.Load()
	if st.Request(f.parks.ID).Status != state.Pending || st.Grant(f.parksX.ID).Revoked {
		t.Fatal("the Chief of Police changed Parks' workflow")
	}
	if f.changes != 1 {
		t.Errorf("%d refreshes for refused actions", f.changes-1)
	}
}

func TestPostsNeedTheSessionsCSRFToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	chief, _ := f.client(t, "Chief of Police", "correct horse battery")
	for _, tc := range []struct{ path, body, ctype, token string }{
		{"/requests/" + f.police.ID + "/approve", "expires=2026-12-31&reason=r", "application/x-www-form-urlencoded", ""},
		{"/requests/" + f.police.ID + "/deny", "csrf=forged", "application/x-www-form-urlencoded", ""},
		{"/api/v1/requests/" + f.police.ID + "/approve", `{"expires":"2026-12-31","reason":"r"}`, "application/json", "forged"},
		{"/api/v1/requests/" + f.police.ID + "/deny", `{}`, "application/json", ""},
	} {
		code, _ := do(t, chief, "POST", f.srv.URL+tc.path, strings.NewReader(tc.body), map[string]string{"Content-Type": tc.ctype, "X-CSRF-Token": tc.token})
		if code != http.StatusForbidden {
			t.Errorf("%s without the token: %d", tc.path, code)
		}
	}
	if st, _ := f.store.Load(); st.Request(f.police.ID).Status != state.Pending {
		t.Error("a forged post decided")
	}
	// Not signed in: the API says 401, pages go to the sign-in.
	if code, _ := do(t, http.DefaultClient, "GET", f.srv.URL+"/api/v1/requests", nil, nil); code != 401 {
		t.Errorf("API without a session: %d", code)
	}
}

// An approval in the console is live for the next query of the department,
// ends by itself at its expiry, and a revocation ends it at once.
func TestApprovalIsLiveAndEndsByItself(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	chief, csrf := f.client(t, "Chief of Police", "correct horse battery")
	client := netip.MustParseAddr("10.20.9.9") // another device of the Police
	decide := func() string {
		snap := f.state.Snapshot()
		return snap.Decide(snap.Policy.Department(client), client, "www.pokerstars.com", f.clock.Now()).Action
	}
	if got := decide(); got != policy.Blocked {
		t.Fatalf("before: %s", got)
	}
	code, body := do(t, chief, "POST", f.srv.URL+"/api/v1/requests/"+f.police.ID+"/approve",
		strings.NewReader(`{"expires":"2026-11-30","reason":"Fraud unit","reference":"Memo 9"}`), map[string]string{"Content-Type": "application/json", "X-CSRF-Token": csrf})
	if code != http.StatusCreated {
		t.Fatalf("approve: %d %s", code, body)
	}
	var g state.Grant
	if err := json.Unmarshal([]byte(body), &g); err != nil || g.ID == "" {
		t.Fatalf("approval answer %s: %v", body, err)
	}
	if got := decide(); got != policy.Exempted {
		t.Errorf("after the approval: %s", got)
	}
	if other := netip.MustParseAddr("192.0.2.9"); f.state.Snapshot().Decide(nil, other, "www.pokerstars.com", f.clock.Now()).Action != policy.Blocked {
		t.Error("the Police's exemption reaches a client of no department")
	}
	// A second approval of the same request is one decision already made.
	code, _ = do(t, chief, "POST", f.srv.URL+"/api/v1/requests/"+f.police.ID+"/approve",
		strings.NewReader(`{"expires":"2026-11-30","reason":"again"}`), map[string]string{"Content-Type": "application/json", "X-CSRF-Token": csrf})
	if code != http.StatusConflict {
		t.Errorf("approving twice: %d", code)
	}
	f.clock.Set(time.Date(2026, 12, 1, 0, 0, 1, 0, time.UTC)) // past its last day; no reload, no refresh
	if got := decide(); got != policy.Blocked {
		t.Errorf("after its expiry: %s", got)
	}
	f.clock.Set(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	chief, csrf = f.client(t, "Chief of Police", "correct horse battery") // the first session has ended
	code, _ = do(t, chief, "POST", f.srv.URL+"/exemptions/"+g.ID+"/revoke", strings.NewReader("csrf="+url.QueryEscape(csrf)),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if code != 200 || decide() != policy.Blocked {
		t.Errorf("revoke: %d, then %s", code, decide())
	}
	audit, _ := f.store.AuditSince(time.Time{})
	var last []string
	for _, ev := range audit {
		if ev.Who == "Chief of Police" {
			last = append(last, ev.Action)
		}
	}
	if got := strings.Join(last, ","); got != "sign-in,approve,sign-in,revoke" {
		t.Errorf("audit of the Chief: %s", got)
	}
}

// A director suspends and restores devices of their own department only.
func TestDirectorsSuspendOnlyTheirOwnDevices(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	chief, csrf := f.client(t, "Chief of Police", "correct horse battery")
	parks, parksCSRF := f.client(t, "Parks Director", "green fields forever")
	post := func(c *http.Client, token, path, body string) (int, string) {
		return do(t, c, "POST", f.srv.URL+path, strings.NewReader(body), map[string]string{"Content-Type": "application/json", "X-CSRF-Token": token})
	}
	code, body := post(chief, csrf, "/api/v1/suspensions", `{"client":"10.20.9.9","reason":"misuse of the network","until":"2026-12-31"}`)
	if code != http.StatusCreated {
		t.Fatalf("suspend a Police device: %d %s", code, body)
	}
	var sus state.Suspension
	json.Unmarshal([]byte(body), &sus)
	client := netip.MustParseAddr("10.20.9.9")
	decide := func() policy.Decision {
		snap := f.state.Snapshot()
		return snap.Decide(snap.Policy.Department(client), client, "www.example.org", f.clock.Now())
	}
	if got := decide(); got.Action != policy.Blocked || got.Category != policy.SuspendedCategory {
		t.Errorf("after the suspension: %s %s", got.Action, got.Category)
	}
	for _, tc := range []struct{ client string }{{"10.30.1.1"}, {"10.0.0.0/8"}, {"192.0.2.1"}} {
		if code, _ := post(chief, csrf, "/api/v1/suspensions", `{"client":"`+tc.client+`","reason":"r"}`); code != http.StatusForbidden {
			t.Errorf("the Chief of Police suspending %s: %d", tc.client, code)
		}
	}
	if _, list := do(t, parks, "GET", f.srv.URL+"/api/v1/suspensions", nil, nil); strings.Contains(list, sus.ID) {
		t.Error("Parks sees the Police's suspension")
	}
	if code, _ := post(parks, parksCSRF, "/api/v1/suspensions/"+sus.ID+"/restore", ``); code != http.StatusNotFound {
		t.Errorf("Parks restoring the Police's suspension: %d", code)
	}
	if code, _ := post(chief, csrf, "/api/v1/suspensions/"+sus.ID+"/restore", ``); code != http.StatusOK {
		t.Errorf("restore: %d", code)
	}
	if got := decide(); got.Action != policy.Allowed {
		t.Errorf("after the restoration: %s", got.Action)
	}
}

// With [state] postgres and the database away, the console says it is
// read-only and refuses decisions with that message; back, it decides.
func TestConsoleIsReadOnlyWhileTheSharedDatabaseIsAway(t *testing.T) {
	c := pgtest.Start(t)
	f := newFixture(t, false, c.DSN())
	chief, csrf := f.client(t, "Chief of Police", "correct horse battery")
	approve := func() (int, string) {
		return do(t, chief, "POST", f.srv.URL+"/api/v1/requests/"+f.police.ID+"/approve",
			strings.NewReader(`{"expires":"2026-11-30","reason":"Fraud unit"}`), map[string]string{"Content-Type": "application/json", "X-CSRF-Token": csrf})
	}
	// The store's watcher (the daemon runs it) notices the database going.
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { f.store.Run(ctx); close(ran) }()
	defer func() { cancel(); <-ran }()
	c.Kill()
	waitFor(t, "the store to see the database gone", func() bool { return !f.store.Online() })
	code, body := do(t, chief, "GET", f.srv.URL+"/", nil, nil)
	if code != http.StatusOK || !strings.Contains(body, "The console is read-only") || !strings.Contains(body, f.police.ID) {
		t.Fatalf("the dashboard without the database: %d\n%s", code, body)
	}
	if code, body := approve(); code != http.StatusServiceUnavailable || !strings.Contains(body, "read-only") {
		t.Fatalf("an approval without the database: %d %s", code, body)
	}
	c.Restart(t)
	if code, body := approve(); code != http.StatusCreated {
		t.Fatalf("an approval with the database back: %d %s", code, body)
	}
	if _, body := do(t, chief, "GET", f.srv.URL+"/", nil, nil); strings.Contains(body, "The console is read-only") {
		t.Fatal("still read-only with the database back")
	}
}

// Two instances' consoles over one shared database: the same director
// approving one request on both at once ends in one decision (201 and 409),
// and each console shows it.
func TestConcurrentApprovalsFromTwoConsoles(t *testing.T) {
	c := pgtest.Start(t)
	fa, fb := newFixture(t, false, c.DSN()), newFixture(t, false, c.DSN())
	chiefA, csrfA := fa.client(t, "Chief of Police", "correct horse battery")
	chiefB, csrfB := fb.client(t, "Chief of Police", "correct horse battery")
	approve := func(cl *http.Client, base, csrf string, codes chan<- int) {
		code, _ := do(t, cl, "POST", base+"/api/v1/requests/"+fa.police.ID+"/approve",
			strings.NewReader(`{"expires":"2026-11-30","reason":"Fraud unit"}`), map[string]string{"Content-Type": "application/json", "X-CSRF-Token": csrf})
		codes <- code
	}
	codes := make(chan int, 2)
	go approve(chiefA, fa.srv.URL, csrfA, codes)
	go approve(chiefB, fb.srv.URL, csrfB, codes)
	got := []int{<-codes, <-codes}
	slices.Sort(got)
	if got[0] != http.StatusCreated || got[1] != http.StatusConflict {
		t.Fatalf("two approvals at once: %v; want one 201 and one 409", got)
	}
	for _, f := range []*fixture{fa, fb} {
		st, err := f.store.Load()
		if err != nil || st.Request(fa.police.ID).Status != state.Approved {
			t.Fatalf("the request on one console: %v", err)
		}
	}
}

// waitFor waits (10 s at most) for cond, checking every 10 ms: for what
// another goroutine notices on its own, such as a database that went away.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A request blocked by a chat service can be granted for the whole
// service: every domain of it opens for the department, nothing else.
func TestApprovalOfAWholeChatService(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	q, err := f.store.Submit(state.Request{Client: netip.MustParseAddr("10.20.1.1"), Department: "Police", Name: "web.telegram.org",
		Category: "chat", Matched: "telegram.org", Service: "Telegram", ServiceID: "telegram", Requester: "Pat", Email: "pat@city.example", Reason: "tip line"})
	if err != nil {
		t.Fatal(err)
	}
	chief, csrf := f.client(t, "Chief of Police", "correct horse battery")
	_, page := do(t, chief, "GET", f.srv.URL+"/", nil, nil)
	if !strings.Contains(page, "(chat: Telegram)") || !strings.Contains(page, `<option value="service">all of Telegram (every domain of the service)</option>`) {
		t.Errorf("the request's form:\n%s", page)
	}
	code, body := do(t, chief, "POST", f.srv.URL+"/api/v1/requests/"+q.ID+"/approve",
		strings.NewReader(`{"expires":"2026-11-30","reason":"Tip line","lifts":"service"}`), map[string]string{"Content-Type": "application/json", "X-CSRF-Token": csrf})
	if code != http.StatusCreated {
		t.Fatalf("approve: %d %s", code, body)
	}
	client := netip.MustParseAddr("10.20.9.9")
	snap := f.state.Snapshot()
	for name, want := range map[string]string{"web.telegram.org": policy.Exempted, "t.me": policy.Exempted, "cdn4.telegram-cdn.org": policy.Exempted,
		"signal.org": policy.Blocked, "www.pokerstars.com": policy.Blocked} {
		if got := snap.Decide(snap.Policy.Department(client), client, name, f.clock.Now()).Action; got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	// A request without a service cannot be granted for one.
	code, body = do(t, chief, "POST", f.srv.URL+"/api/v1/requests/"+f.police.ID+"/approve",
		strings.NewReader(`{"expires":"2026-11-30","reason":"x","lifts":"service"}`), map[string]string{"Content-Type": "application/json", "X-CSRF-Token": csrf})
	if code != http.StatusBadRequest || !strings.Contains(body, "names no service") {
		t.Errorf("lifts service without one: %d %s", code, body)
	}
}
