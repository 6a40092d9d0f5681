package console

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"
)

// Directors sign in through a real OpenID provider started by the test
// (mockoidc: discovery, the authorization code flow with PKCE, signed ID
// tokens, refresh): the groups claim maps to the department; someone in
// no director group is refused; a callback that this browser did not
// start is refused; the session is re-checked after 5 minutes through the
// refresh token, and on an instance that has none it ends at that check.
func TestDirectorsSignInThroughOpenIDConnect(t *testing.T) {
	t.Parallel()
	op, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	defer op.Shutdown()
	secret := filepath.Join(t.TempDir(), "oidc.secret")
	os.WriteFile(secret, []byte(op.ClientSecret), 0o600)
	f := newFixtureWith(t, false, `
---
[directory]
oidc_issuer = "`+op.Issuer()+`"
oidc_client_id = "`+op.ClientID+`"
oidc_client_secret_file = "`+secret+`"
[[director]]
group = "library-directors"
department = "Parks"
`)
	f.clock.Set(time.Now()) // the provider's tokens carry the real time
	browser := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar, Timeout: 10 * time.Second}
	}
	signIn := func(c *http.Client, user *mockoidc.MockUser) (int, string) {
		op.QueueUser(user)
		resp, err := c.Get(f.srv.URL + "/oidc/start")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	alice := browser()
	if code, page := signIn(alice, &mockoidc.MockUser{Subject: "a-1", Email: "alice@city.example", PreferredUsername: "alice",
		Groups: []string{"staff", "library-directors"}}); code != 200 || !strings.Contains(page, "Exemptions for Parks") || !strings.Contains(page, f.parks.ID) {
		t.Fatalf("alice through OpenID: %d\n%s", code, page)
	}
	if code, page := signIn(browser(), &mockoidc.MockUser{Subject: "c-1", PreferredUsername: "carol", Groups: []string{"staff"}}); code != http.StatusForbidden ||
		!strings.Contains(page, "in no group") {
		t.Errorf("carol, in no director group: %d", code)
	}
	if resp, err := browser().Get(f.srv.URL + "/oidc/callback?code=x&state=y"); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a callback this browser did not start: %v %v", err, resp.StatusCode)
	}
	// Five minutes on: the refresh token re-checks the groups; the session goes on.
	f.clock.Advance(recheckEvery + time.Second)
	op.FastForward(recheckEvery + time.Second)
	if code, _ := do(t, alice, "GET", f.srv.URL+"/api/v1/session", nil, nil); code != http.StatusOK {
		t.Fatalf("after the re-check through the refresh token: %d", code)
	}
	// On an instance that holds no refresh token (a restart), the session
	// ends at its re-check: the director signs in again.
	con := f.srv.Config.Handler.(*Server)
	con.oidc.mu.Lock()
	con.oidc.refresh = map[string]string{}
	con.oidc.mu.Unlock()
	f.clock.Advance(recheckEvery + time.Second)
	op.FastForward(recheckEvery + time.Second)
	if code, _ := do(t, alice, "GET", f.srv.URL+"/api/v1/session", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("without its refresh token, past the re-check: %d", code)
	}
	audit, _ := f.store.AuditSince(time.Time{})
	var got []string
	for _, ev := range audit {
		got = append(got, ev.Action+" "+ev.Who+" "+ev.What)
	}
	if all := strings.Join(got, "\n"); !strings.Contains(all, "sign-in alice (alice) department Parks, through the directory as oidc:a-1") ||
		!strings.Contains(all, "sign-in-failed (OpenID)") {
		t.Errorf("audit:\n%s", all)
	}
}
