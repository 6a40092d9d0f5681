package console

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/ldaptest"
)

// Directors sign in with their city account against a real OpenLDAP:
// the groups map to departments (alice directs Parks) and to the admin
// role (bob, through a nested group); someone in no director group, a
// wrong password and an empty one are refused; a user taken out of the
// group loses the session at the next re-check; with the directory down,
// directory accounts are refused with a clear message while the local
// break-glass account still signs in. Every step is audited with the
// directory's name for the user.
func TestDirectorsSignInThroughTheDirectory(t *testing.T) {
	t.Parallel()
	srv := ldaptest.Start(t)
	pw := filepath.Join(t.TempDir(), "ldap.pass")
	os.WriteFile(pw, []byte(ldaptest.ServicePassword), 0o600)
	f := newFixtureWith(t, false, `
---
[directory]
ldap_url = "`+srv.LDAPURL+`"
bind_dn = "`+ldaptest.ServiceDN+`"
bind_password_file = "`+pw+`"
user_base = "`+ldaptest.UserBase+`"
user_filter = "(uid=%s)"
ca_cert = "`+srv.CACert+`"
[[director]]
group = "`+strings.ToUpper(ldaptest.LibraryGroup)+`"
department = "Parks"
[[director]]
group = "`+ldaptest.AdminGroup+`"
department = "Police"
role = "admin"
`)
	signIn := func(name, password string) (int, string) {
		shared := *f.srv.Client() // a client of its own: the server's is shared
		c := &shared
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return do(t, c, "POST", f.srv.URL+"/signin", strings.NewReader(url.Values{"name": {name}, "password": {password}}.Encode()),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	}
	alice, _ := f.client(t, "alice", "alice-pass")
	if _, page := do(t, alice, "GET", f.srv.URL+"/", nil, nil); !strings.Contains(page, "Exemptions for Parks") || !strings.Contains(page, f.parks.ID) || !strings.Contains(page, "Alice Archer (alice)") {
		t.Fatalf("alice's dashboard:\n%s", page)
	}
	bob, _ := f.client(t, "bob", "bob-pass")
	if _, page := do(t, bob, "GET", f.srv.URL+"/devices", nil, nil); !strings.Contains(page, "Every department") {
		t.Fatal("bob is not an admin through his nested group")
	}
	for _, c := range []struct {
		name, password string
		status         int
		says           string
	}{
		{"carol", "carol-pass", http.StatusForbidden, "in no group"},
		{"alice", "wrong", http.StatusUnauthorized, "wrong"},
		{"alice", "", http.StatusUnauthorized, "wrong"},
		{"nobody", "x", http.StatusUnauthorized, "wrong"},
	} {
		if code, page := signIn(c.name, c.password); code != c.status || !strings.Contains(page, c.says) {
			t.Errorf("%s/%q: %d", c.name, c.password, code)
		}
	}
	// Taken out of the group: the session ends at the next re-check.
	srv.RemoveMember(t, ldaptest.LibraryGroup, "uid=alice,"+ldaptest.UserBase)
	if code, _ := do(t, alice, "GET", f.srv.URL+"/api/v1/session", nil, nil); code != http.StatusOK {
		t.Fatalf("before the re-check: %d", code)
	}
	f.clock.Advance(recheckEvery + time.Second)
	if code, _ := do(t, alice, "GET", f.srv.URL+"/api/v1/session", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("after the re-check, alice out of the group: %d", code)
	}
	// The directory down: a clear refusal; the break-glass account works.
	srv.Stop()
	if code, page := signIn("bob", "bob-pass"); code != http.StatusServiceUnavailable || !strings.Contains(page, "directory cannot be reached") {
		t.Errorf("with the directory down: %d", code)
	}
	f.client(t, "Chief of Police", "correct horse battery")
	audit, _ := f.store.AuditSince(time.Time{})
	var got []string
	for _, ev := range audit {
		if strings.HasPrefix(ev.Action, "sign-in") {
			got = append(got, ev.Action+" "+ev.Who)
		}
	}
	for _, want := range []string{"sign-in Alice Archer (alice)", "sign-in Bob Byte (bob)", "sign-in-refused Carol Clerk (carol)", "sign-in-failed alice", "sign-in Chief of Police"} {
		if !strings.Contains(strings.Join(got, "\n"), want) {
			t.Errorf("the audit trail lacks %q:\n%s", want, strings.Join(got, "\n"))
		}
	}
}
