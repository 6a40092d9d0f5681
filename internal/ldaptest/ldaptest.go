// Package ldaptest runs a throwaway OpenLDAP server for tests: Debian's
// slapd with a configuration file and a database of its own in a
// temporary folder, ldap:// (StartTLS) and ldaps:// on free loopback
// ports, a city's staff, service account and groups (nested ones too),
// stopped and removed at the end. `make test` installs slapd when it is
// missing; a test that needs it fails without it.
package ldaptest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/go-ldap/ldap/v3"
)

// The directory's names and secrets.
const (
	Base            = "dc=city,dc=example"
	UserBase        = "ou=staff," + Base
	ServiceDN       = "cn=civicdns,ou=service," + Base
	ServicePassword = "service-secret"
	LibraryGroup    = "cn=library-directors,ou=groups," + Base
	AdminGroup      = "cn=it-admins,ou=groups," + Base // its member is the it-staff group: nested
	StaffGroup      = "cn=it-staff,ou=groups," + Base
	rootDN          = "cn=admin," + Base
	rootPassword    = "root-secret"
)

// Server is a running slapd.
type Server struct {
	LDAPURL  string // ldap://127.0.0.1:PORT (StartTLS)
	LDAPSURL string // ldaps://127.0.0.1:PORT
	CACert   string // the PEM its certificate verifies with
	Dir      string
	cmd      *exec.Cmd
	exited   chan struct{}
}

// The people: alice directs the library, bob is an admin through it-staff
// (a member of it-admins), carol directs nothing.
const people = `
dn: uid=alice,ou=staff,dc=city,dc=example
objectClass: inetOrgPerson
uid: alice
cn: Alice Archer
sn: Archer
displayName: Alice Archer
mail: alice@city.example
userPassword: alice-pass

dn: uid=bob,ou=staff,dc=city,dc=example
objectClass: inetOrgPerson
uid: bob
cn: Bob Byte
sn: Byte
mail: bob@city.example
userPassword: bob-pass

dn: uid=carol,ou=staff,dc=city,dc=example
objectClass: inetOrgPerson
uid: carol
cn: Carol Clerk
sn: Clerk
userPassword: carol-pass

dn: cn=library-directors,ou=groups,dc=city,dc=example
objectClass: groupOfNames
cn: library-directors
member: cn=placeholder,ou=groups,dc=city,dc=example
member: uid=alice,ou=staff,dc=city,dc=example

dn: cn=it-staff,ou=groups,dc=city,dc=example
objectClass: groupOfNames
cn: it-staff
member: uid=bob,ou=staff,dc=city,dc=example

dn: cn=it-admins,ou=groups,dc=city,dc=example
objectClass: groupOfNames
cn: it-admins
member: cn=it-staff,ou=groups,dc=city,dc=example
`

const skeleton = `dn: dc=city,dc=example
objectClass: dcObject
objectClass: organization
o: City
dc: city

dn: ou=staff,dc=city,dc=example
objectClass: organizationalUnit
ou: staff

dn: ou=groups,dc=city,dc=example
objectClass: organizationalUnit
ou: groups

dn: ou=service,dc=city,dc=example
objectClass: organizationalUnit
ou: service

dn: cn=civicdns,ou=service,dc=city,dc=example
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: civicdns
userPassword: service-secret
`

func freePort(tb testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start runs a slapd with the city's directory; it is stopped and removed when tb ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	slapd, err := exec.LookPath("slapd")
	if err != nil {
		if _, e := os.Stat("/usr/sbin/slapd"); e != nil {
			tb.Fatal("slapd is needed (apt-get install slapd; make test installs it)")
		}
		slapd = "/usr/sbin/slapd"
	}
	dir := tb.TempDir()
	certPath, keyPath, _ := dnstest.CertFiles(tb, "ldap.city.example")
	s := &Server{Dir: dir, CACert: certPath, exited: make(chan struct{})}
	conf := filepath.Join(dir, "slapd.conf")
	os.MkdirAll(filepath.Join(dir, "db"), 0o700)
	os.WriteFile(conf, []byte(fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile %[1]s/slapd.pid
argsfile %[1]s/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCertificateFile %[2]s
TLSCertificateKeyFile %[3]s
database mdb
suffix "%[4]s"
rootdn "%[5]s"
rootpw %[6]s
directory %[1]s/db
maxsize 10485760
access to attrs=userPassword by self read by anonymous auth by * none
access to * by users read by * none
`, dir, certPath, keyPath, Base, rootDN, rootPassword)), 0o600)
	ldif := filepath.Join(dir, "city.ldif")
	os.WriteFile(ldif, []byte(skeleton+people), 0o600)
	slapadd := filepath.Join(filepath.Dir(slapd), "slapadd")
	if out, err := exec.Command(slapadd, "-f", conf, "-l", ldif).CombinedOutput(); err != nil {
		tb.Fatalf("slapadd: %v\n%s", err, out)
	}
	plain, secure := freePort(tb), freePort(tb)
	s.LDAPURL, s.LDAPSURL = fmt.Sprintf("ldap://127.0.0.1:%d", plain), fmt.Sprintf("ldaps://127.0.0.1:%d", secure)
	var logs strings.Builder
	s.cmd = exec.Command(slapd, "-d", "0", "-f", conf, "-h", s.LDAPURL+"/ "+s.LDAPSURL+"/")
	s.cmd.Stdout, s.cmd.Stderr = &logs, &logs
	if err := s.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	tb.Cleanup(s.Stop)
	deadline := time.Now().Add(15 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", secure), time.Second); err == nil {
			c.Close()
			break
		}
		select {
		case <-s.exited:
			tb.Fatalf("slapd ended at start:\n%s", logs.String())
		case <-time.After(20 * time.Millisecond): // polling the port it opens
		}
		if time.Now().After(deadline) {
			tb.Fatalf("slapd did not listen within 15 s:\n%s", logs.String())
		}
	}
	return s
}

// Stop ends slapd (the folder goes with the test).
func (s *Server) Stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Kill()
	<-s.exited
}

// RemoveMember takes member out of group, as the directory's admin.
func (s *Server) RemoveMember(tb testing.TB, group, member string) {
	tb.Helper()
	c, err := ldap.DialURL(s.LDAPURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(rootDN, rootPassword); err != nil {
		tb.Fatal(err)
	}
	m := ldap.NewModifyRequest(group, nil)
	m.Delete("member", []string{member})
	if err := c.Modify(m); err != nil {
		tb.Fatalf("removing %s from %s: %v", member, group, err)
	}
}
