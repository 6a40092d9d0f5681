package main

import (
	"fmt"
	"io"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/civicdns/civicdns/internal/ldaptest"
	"github.com/civicdns/civicdns/internal/smtptest"
)

// freeAddr is a loopback address with a port free a moment ago (for a
// listener whose address must be in the configuration beforehand).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// mailText is a received message with its quoted-printable parts decoded.
func mailText(m smtptest.Mail) string {
	b, _ := io.ReadAll(quotedprintable.NewReader(strings.NewReader(strings.ReplaceAll(m.Data, "\r\n", "\n"))))
	return string(b)
}

// End to end, with a real OpenLDAP and a real SMTP server: an employee
// asks for an exemption on the block page; the Library's director, whose
// only account is in the directory, receives a mail with the console's
// link, follows it, signs in with the directory password and approves;
// the requester receives the decision, and the name resolves.
func TestDirectoryDirectorIsMailedAndApproves(t *testing.T) {
	ldap, mail := ldaptest.Start(t), smtptest.Start(t)
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.20", 300))
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ldap.pass"), []byte(ldaptest.ServicePassword), 0o600)
	page, console := freeAddr(t), freeAddr(t)
	cfg := writeFile(t, dir, "civicdns.toml", fmt.Sprintf(`[server]
listen = ["127.0.0.1:0"]
[metrics]
listen = ""
[upstream]
servers = [%q]
[state]
dir = "state"
[block]
answer = "blockpage"
blockpage_ipv4 = "10.0.0.53"
[blockpage]
listen = %q
[admin]
listen = %q
[directory]
ldap_url = %q
bind_dn = %q
bind_password_file = "ldap.pass"
user_base = %q
user_filter = "(uid=%%s)"
ca_cert = %q
[notify]
smtp = %q
from = "civicdns@city.example"
ca_cert = %q
console_url = "http://%s"
[[department]]
name = "Library"
networks = ["127.0.0.1/32"]
[[director]]
group = %q
department = "Library"
`, up.Addr, page, console, ldap.LDAPSURL, ldaptest.ServiceDN, ldaptest.UserBase, ldap.CACert, mail.Addr, mail.CACert, console, ldaptest.LibraryGroup))
	d := startDaemon(t, cfg)

	// The employee's request, from the block page.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	get := func(host, u string) string {
		req, _ := http.NewRequest("GET", u, nil)
		req.Host = host
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(get("www.pokerstars.com", "http://"+page+"/"))
	if csrf == nil {
		t.Fatal("no request form on the block page")
	}
	req, _ := http.NewRequest("POST", "http://"+page+"/.civicdns/request", strings.NewReader(url.Values{"csrf": {csrf[1]}, "requester": {"Pat Doe"},
		"email": {"pat@city.example"}, "reason": {"a fraud investigation"}}.Encode()))
	req.Host = "www.pokerstars.com"
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := browser.Do(req); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("the request: %v %v", err, resp)
	}

	// The director's mail, with the link.
	got := mail.Wait(t, 1)
	text := mailText(got[0])
	link := ""
	if m := regexp.MustCompile(`Decide in the director console: (\S+)`).FindStringSubmatch(text); m != nil {
		link = m[1]
	}
	if got[0].To[0] != "alice@city.example" || link != "http://"+console+"/" {
		t.Fatalf("the director's mail (to %v), link %q:\n%s", got[0].To, link, text)
	}
	// Following it: the sign-in page; the directory password; the dashboard.
	if !strings.Contains(get(console, link), `action="/signin"`) {
		t.Fatal("the link does not lead to the sign-in")
	}
	form := func(path string, v url.Values) string {
		req, _ := http.NewRequest("POST", link+strings.TrimPrefix(path, "/"), strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", strings.TrimSuffix(link, "/"))
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	dash := form("/signin", url.Values{"name": {"alice"}, "password": {"alice-pass"}})
	ids := regexp.MustCompile(`action="/requests/(R-[A-Z2-7]{8})/approve"`).FindStringSubmatch(dash)
	token := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(dash)
	if ids == nil || token == nil || !strings.Contains(dash, "Alice Archer (alice)") {
		t.Fatalf("alice's dashboard:\n%s", dash)
	}
	form("/requests/"+ids[1]+"/approve", url.Values{"csrf": {token[1]}, "expires": {time.Now().AddDate(0, 0, 30).Format("2006-01-02")}, "reason": {"fraud unit"}})

	// The requester hears of it, and the name resolves.
	got = mail.Wait(t, 2)
	if text := mailText(got[1]); got[1].To[0] != "pat@city.example" || !strings.Contains(text, "approved") || !strings.Contains(text, "Alice Archer (alice)") {
		t.Fatalf("the requester's mail (to %v):\n%s", got[1].To, text)
	}
	if a := strings.TrimSpace(dnstest.Dig(t, d.addr, "+short", "www.pokerstars.com", "A")); a != "192.0.2.20" {
		t.Errorf("after the approval: %q", a)
	}
}
