package directory

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/internal/ldaptest"
)

func openDirectory(t *testing.T, url, ca string) *LDAP {
	t.Helper()
	pw := filepath.Join(t.TempDir(), "ldap.pass")
	os.WriteFile(pw, []byte(ldaptest.ServicePassword+"\n"), 0o600)
	l, err := New(config.Directory{LDAPURL: url, BindDN: ldaptest.ServiceDN, BindPasswordFile: pw, UserBase: ldaptest.UserBase,
		UserFilter: "(|(uid=%s)(sAMAccountName=%s))", CACert: ca}, func(p string) string { return p })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Against a real OpenLDAP, over ldaps:// and over ldap:// with StartTLS:
// a user signs in with their password and gets their groups, nested ones
// too; a wrong or empty password, an unknown user and a filter injection
// are refused alike; a directory that is down is an UnavailableError.
func TestAuthenticateAgainstOpenLDAP(t *testing.T) {
	t.Parallel()
	srv := ldaptest.Start(t)
	for _, url := range []string{srv.LDAPSURL, srv.LDAPURL} {
		l := openDirectory(t, url, srv.CACert)
		alice, err := l.Authenticate("alice", "alice-pass")
		if err != nil || alice.Name != "Alice Archer" || alice.Email != "alice@city.example" || !hasGroup(alice.Groups, ldaptest.LibraryGroup) {
			t.Fatalf("%s: alice: %+v %v", url, alice, err)
		}
		bob, err := l.Authenticate("bob", "bob-pass")
		if err != nil || bob.Name != "Bob Byte" || !hasGroup(bob.Groups, ldaptest.StaffGroup) || !hasGroup(bob.Groups, ldaptest.AdminGroup) {
			t.Fatalf("%s: bob, an admin through a nested group: %+v %v", url, bob, err)
		}
		for _, bad := range [][2]string{{"alice", "wrong"}, {"alice", ""}, {"nobody", "x"}, {"*", "alice-pass"}, {"alice)(uid=*", "alice-pass"}, {"", "x"}} {
			if _, err := l.Authenticate(bad[0], bad[1]); !errors.Is(err, ErrBadCredentials) {
				t.Errorf("%s: %q/%q: %v", url, bad[0], bad[1], err)
			}
		}
		if g, err := l.Groups(alice.DN); err != nil || !hasGroup(g, ldaptest.LibraryGroup) {
			t.Fatalf("re-check: %v %v", g, err)
		}
	}
	// Without the directory's CA (the system's roots do not know it): refused.
	if _, err := openDirectory(t, srv.LDAPSURL, "").Authenticate("alice", "alice-pass"); !errors.As(err, new(*UnavailableError)) {
		t.Errorf("an untrusted directory certificate: %v", err)
	}
	srv.Stop()
	if _, err := openDirectory(t, srv.LDAPSURL, srv.CACert).Authenticate("alice", "alice-pass"); !errors.As(err, new(*UnavailableError)) {
		t.Errorf("a directory that is down: %v", err)
	}
}

func hasGroup(groups []string, dn string) bool {
	return slices.ContainsFunc(groups, func(g string) bool { return NormalizeDN(g) == NormalizeDN(dn) })
}

func TestNormalizeDN(t *testing.T) {
	if NormalizeDN("CN=IT-Admins, OU=Groups,DC=City,DC=Example") != "cn=it-admins,ou=groups,dc=city,dc=example" {
		t.Error(NormalizeDN("CN=IT-Admins, OU=Groups,DC=City,DC=Example"))
	}
	if domainOf("ou=staff,dc=city,dc=example") != "dc=city,dc=example" || domainOf("o=city") != "o=city" {
		t.Error("domainOf")
	}
}
