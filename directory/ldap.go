package directory

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/go-ldap/ldap/v3"
)

// ErrBadCredentials: no such user, or the password is wrong. The console
// says only that the name or the password is wrong.
var ErrBadCredentials = errors.New("directory: the name or the password is wrong")

// UnavailableError is a directory that cannot be asked now (down, or the
// service account refused): sign-in fails with a clear message, local
// accounts still work, DNS is untouched.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string { return "the directory cannot be reached: " + e.Err.Error() }
func (e *UnavailableError) Unwrap() error { return e.Err }

// User is a directory user who signed in.
type User struct {
	DN     string
	Login  string   // the name typed
	Name   string   // displayName, else cn: what the audit trail and the console show
	Email  string   // mail
	Groups []string // the DNs of every group the user is in, nested ones too
}

// LDAP is the directory of a [directory] section.
type LDAP struct {
	cfg      config.Directory
	password string // the service account's, read from bind_password_file
	tls      *tls.Config
	timeout  time.Duration
}

// timeout bounds each directory operation: a directory that hangs fails
// a sign-in, it does not hold the console.
const timeout = 10 * time.Second

// New reads what [directory] names (the password file, the CA) and
// returns the directory. paths resolves a configured path.
func New(cfg config.Directory, paths func(string) string) (*LDAP, error) {
	pw, err := os.ReadFile(paths(cfg.BindPasswordFile))
	if err != nil {
		return nil, fmt.Errorf("directory.bind_password_file: %w", err)
	}
	u, err := url.Parse(cfg.LDAPURL)
	if err != nil {
		return nil, fmt.Errorf("directory.ldap_url: %w", err)
	}
	tc := &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	if cfg.CACert != "" {
		pem, err := os.ReadFile(paths(cfg.CACert))
		if err != nil {
			return nil, fmt.Errorf("directory.ca_cert: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("directory.ca_cert %s: no certificate in it", cfg.CACert)
		}
	}
	return &LDAP{cfg: cfg, password: strings.TrimRight(string(pw), "\r\n"), tls: tc, timeout: timeout}, nil
}

// dial connects with TLS: ldaps:// at once, ldap:// with StartTLS (a
// directory that does not offer it is refused: passwords never travel in
// plain text), then binds as the service account.
func (l *LDAP) dial() (*ldap.Conn, error) {
	dialer := &net.Dialer{Timeout: l.timeout}
	c, err := ldap.DialURL(l.cfg.LDAPURL, ldap.DialWithTLSConfig(l.tls), ldap.DialWithDialer(dialer))
	if err != nil {
		return nil, &UnavailableError{err}
	}
	c.SetTimeout(l.timeout)
	if strings.HasPrefix(l.cfg.LDAPURL, "ldap://") {
		if err := c.StartTLS(l.tls); err != nil {
			c.Close()
			return nil, &UnavailableError{fmt.Errorf("StartTLS: %w", err)}
		}
	}
	if err := c.Bind(l.cfg.BindDN, l.password); err != nil {
		c.Close()
		return nil, &UnavailableError{fmt.Errorf("the service account %s: %w", l.cfg.BindDN, err)}
	}
	return c, nil
}

// Authenticate checks login and password against the directory and
// returns the user with their groups.
func (l *LDAP) Authenticate(login, password string) (*User, error) {
	login = strings.TrimSpace(login)
	if password == "" || login == "" {
		return nil, ErrBadCredentials // an empty password is an anonymous bind to LDAP: never sent
	}
	c, err := l.dial()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	filter := strings.ReplaceAll(l.cfg.UserFilter, "%s", ldap.EscapeFilter(login))
	res, err := c.Search(ldap.NewSearchRequest(l.cfg.UserBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, int(l.timeout.Seconds()), false,
		filter, []string{"displayName", "cn", "mail"}, nil))
	if err != nil {
		return nil, &UnavailableError{fmt.Errorf("finding the user: %w", err)}
	}
	if len(res.Entries) != 1 {
		return nil, ErrBadCredentials // none, or a filter that names two users: no guess
	}
	e := res.Entries[0]
	if err := c.Bind(e.DN, password); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			return nil, ErrBadCredentials
		}
		return nil, &UnavailableError{fmt.Errorf("binding as the user: %w", err)}
	}
	if err := c.Bind(l.cfg.BindDN, l.password); err != nil { // groups are read as the service account
		return nil, &UnavailableError{err}
	}
	groups, err := l.groupsOf(c, e.DN)
	if err != nil {
		return nil, err
	}
	name := e.GetAttributeValue("displayName")
	if name == "" {
		name = e.GetAttributeValue("cn")
	}
	return &User{DN: e.DN, Login: login, Name: name, Email: e.GetAttributeValue("mail"), Groups: groups}, nil
}

// Groups returns the groups dn is a member of now (a session's re-check).
func (l *LDAP) Groups(dn string) ([]string, error) {
	c, err := l.dial()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return l.groupsOf(c, dn)
}

// maxNesting bounds how deep nested groups are followed.
const maxNesting = 8

// groupsOf walks membership outwards from dn: the groups whose member (or
// uniqueMember) is dn, then the groups those are members of, and so on.
// It works on OpenLDAP and Active Directory alike (AD's in-chain matching
// rule is AD's alone).
func (l *LDAP) groupsOf(c *ldap.Conn, dn string) ([]string, error) {
	base := domainOf(l.cfg.UserBase)
	seen := map[string]bool{}
	var out []string
	frontier := []string{dn}
	for depth := 0; depth < maxNesting && len(frontier) > 0; depth++ {
		var next []string
		for _, member := range frontier {
			m := ldap.EscapeFilter(member)
			res, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, int(l.timeout.Seconds()), false,
				"(|(member="+m+")(uniqueMember="+m+"))", []string{"dn"}, nil))
			if err != nil {
				return nil, &UnavailableError{fmt.Errorf("reading groups: %w", err)}
			}
			for _, g := range res.Entries {
				if key := NormalizeDN(g.DN); !seen[key] {
					seen[key] = true
					out = append(out, g.DN)
					next = append(next, g.DN)
				}
			}
		}
		frontier = next
	}
	return out, nil
}

// domainOf is the dc= tail of a DN (where groups are looked for), or the
// DN itself when it has none.
func domainOf(dn string) string {
	parts := strings.Split(dn, ",")
	for i, p := range parts {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(p)), "dc=") {
			return strings.Join(parts[i:], ",")
		}
	}
	return dn
}

// NormalizeDN is how DNs are compared: lower case, no spaces around the
// separators.
func NormalizeDN(dn string) string {
	parts := strings.Split(dn, ",")
	for i, p := range parts {
		k, v, _ := strings.Cut(p, "=")
		parts[i] = strings.ToLower(strings.TrimSpace(k)) + "=" + strings.ToLower(strings.TrimSpace(v))
	}
	return strings.Join(parts, ",")
}

// MembersMail returns the mail addresses of a group's members, members of
// nested groups too (a department's directors, to tell them of a request).
func (l *LDAP) MembersMail(group string) ([]string, error) {
	c, err := l.dial()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	seen := map[string]bool{NormalizeDN(group): true}
	var mails []string
	frontier := []string{group}
	for depth := 0; depth < maxNesting && len(frontier) > 0; depth++ {
		var next []string
		for _, g := range frontier {
			res, err := c.Search(ldap.NewSearchRequest(g, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, int(l.timeout.Seconds()), false,
				"(objectClass=*)", []string{"member", "uniqueMember", "mail"}, nil))
			if err != nil {
				if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
					continue
				}
				return nil, &UnavailableError{fmt.Errorf("reading %s: %w", g, err)}
			}
			for _, e := range res.Entries {
				if m := e.GetAttributeValue("mail"); m != "" && depth > 0 {
					mails = append(mails, m)
				}
				for _, member := range append(e.GetAttributeValues("member"), e.GetAttributeValues("uniqueMember")...) {
					if key := NormalizeDN(member); !seen[key] {
						seen[key] = true
						next = append(next, member)
					}
				}
			}
		}
		frontier = next
	}
	return mails, nil
}
