package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/crypto/bcrypt"
)

// The exemption workflow's sections: the block page, the state store, the
// console and its directors.

func (v *validator) hostPort(path, value string) bool {
	if value == "" {
		return false
	}
	if _, _, err := net.SplitHostPort(value); err != nil {
		v.bad(path, "%s: %q is not host:port", path, value)
		return false
	}
	return true
}

func (v *validator) blockpage() {
	b := &v.c.Blockpage
	v.hostPort("blockpage.listen", b.Listen)
	if v.hostPort("blockpage.tls_listen", b.TLSListen) && (b.CACert == "" || b.CAKey == "") {
		v.bad("blockpage.tls_listen", "blockpage.tls_listen needs ca_cert and ca_key (the city CA the HTTPS block page signs with; `civicdns ca init` makes one)")
	}
}

func (v *validator) state() {
	if v.c.State.Postgres != "" && v.c.State.Dir == "" {
		v.bad("state.postgres", "state.postgres needs [state] dir: the local copy of the shared state and the queue of requests made while the database is away are kept there")
	}
	v.dsn("state.postgres", v.c.State.Postgres)
}

// dsn checks a PostgreSQL connection string (URL or key=value form).
func (v *validator) dsn(path, dsn string) {
	if dsn == "" {
		return
	}
	if _, err := pgconn.ParseConfig(dsn); err != nil {
		v.bad(path, "%s is not a PostgreSQL connection string: %v", path, err)
	}
}

func (v *validator) admin(depts map[string]string) {
	a := &v.c.Admin
	if (a.TLSCert == "") != (a.TLSKey == "") {
		v.bad("admin.tls_cert", "admin.tls_cert and admin.tls_key go together")
	}
	for _, p := range a.TrustedProxies {
		pfx, err := ParsePrefix(p)
		if err != nil {
			v.bad("admin.trusted_proxies", "admin.trusted_proxies: %v", err)
			continue
		}
		a.TrustedProxyPrefixes = append(a.TrustedProxyPrefixes, pfx)
	}
	if n := v.c.Server.Name; n != "" {
		if name, err := NormalizeName(n); err != nil || name == "" || strings.Count(name, ".") == 0 {
			v.bad("server.name", "server.name: %q is not a host name such as \"dns.city.example\"", n)
		} else {
			v.c.Server.Name = name
		}
	}
	for i, d := range v.c.Director { // read by the shell commands too, console or not
		if d.Role != "" && d.Role != RoleAdmin {
			v.bad(fmt.Sprintf("director[%d].role", i), "director %q: role %q is not a role: \"admin\", or leave it out for a department's director", d.Name, d.Role)
		}
	}
	if !v.hostPort("admin.listen", v.c.Admin.Listen) {
		if len(v.c.Director) > 0 && v.c.Admin.Listen == "" {
			return // directors may be configured before the console is turned on
		}
	} else {
		if v.c.State.Dir == "" {
			v.bad("admin.listen", "admin.listen needs [state] dir: the console's decisions are kept there")
		}
		if len(v.c.Director) == 0 {
			v.bad("admin.listen", "admin.listen needs at least one [[director]] to sign in")
		}
	}
	v.directory()
	seen := map[string]bool{}
	for i := range v.c.Director {
		d := &v.c.Director[i]
		p := fmt.Sprintf("director[%d]", i)
		d.Name, d.Group = strings.TrimSpace(d.Name), strings.TrimSpace(d.Group)
		label := d.Name
		if d.Group != "" {
			label = d.Group
		}
		if name, ok := depts[DepartmentKey(d.Department)]; ok {
			d.Department = name
		} else {
			v.bad(p+".department", "director %q: unknown department %q", label, d.Department)
		}
		if d.Group != "" {
			v.groupDirector(p, d)
			continue
		}
		switch key := strings.ToLower(d.Name); {
		case d.Name == "":
			v.bad(p, "a [[director]] needs a name (a local account) or a group (with [directory])")
		case seen[key]:
			v.bad(p+".name", "director %q is defined twice", d.Name)
		default:
			seen[key] = true
		}
		if cost, err := bcrypt.Cost([]byte(d.PasswordHash)); err != nil {
			v.bad(p+".password_hash", "director %q: password_hash is not a bcrypt hash (`civicdns passwd` prints one)", d.Name)
		} else if cost < MinBcryptCost {
			v.bad(p+".password_hash", "director %q: password_hash has bcrypt cost %d, below %d: make a new one with `civicdns passwd`", d.Name, cost, MinBcryptCost)
		}
	}
}

// MinBcryptCost is the lowest bcrypt cost a director's hash may have.
const MinBcryptCost = 10

func (v *validator) log() {
	l := &v.c.Log
	if l.RetentionDays < 0 {
		v.bad("log.retention_days", "log.retention_days must not be negative (0 keeps every day)")
	}
	if l.BlockedRetentionDays < 0 {
		v.bad("log.blocked_retention_days", "log.blocked_retention_days must not be negative")
	} else if l.BlockedRetentionDays > 0 && l.BlockedRetentionDays < l.RetentionDays {
		v.bad("log.blocked_retention_days", "log.blocked_retention_days (%d) is shorter than retention_days (%d): blocked lookups are kept at least as long as the rest", l.BlockedRetentionDays, l.RetentionDays)
	}
	if l.Postgres != "" && l.Dir == "" {
		v.bad("log.postgres", "log.postgres needs [log] dir: the day files there are what is copied into PostgreSQL (and wait there while it is away)")
	}
	v.dsn("log.postgres", l.Postgres)
	if l.Instance == "" {
		if h, err := os.Hostname(); err == nil {
			l.Instance = h
		}
	}
}

// groupDirector checks a [[director]] that names a directory group.
func (v *validator) groupDirector(p string, d *Director) {
	if !v.c.Directory.Enabled() && !v.c.Directory.OIDC() {
		v.bad(p+".group", "director group %q needs [directory] (ldap_url or oidc_issuer, and the rest)", d.Group)
	}
	if d.PasswordHash != "" || d.Name != "" {
		v.bad(p+".group", "director group %q: its members sign in through the directory; name and password_hash belong to a local account of their own", d.Group)
	}
}

// directory checks [directory]: the URL (ldaps://, or ldap:// which is
// upgraded with StartTLS), the service account and where users are found.
func (v *validator) directory() {
	d := &v.c.Directory
	v.oidc()
	if !d.Enabled() {
		if d.BindDN != "" || d.UserBase != "" || d.UserFilter != "" || d.BindPasswordFile != "" || d.CACert != "" && !d.OIDC() {
			v.bad("directory", "[directory] needs ldap_url")
		}
		return
	}
	if u, err := url.Parse(d.LDAPURL); err != nil || (u.Scheme != "ldaps" && u.Scheme != "ldap") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		v.bad("directory.ldap_url", "directory.ldap_url %q is not ldaps://host[:port] or ldap://host[:port]", d.LDAPURL)
	}
	for _, k := range []struct{ path, value string }{{"directory.bind_dn", d.BindDN}, {"directory.bind_password_file", d.BindPasswordFile}, {"directory.user_base", d.UserBase}} {
		if strings.TrimSpace(k.value) == "" {
			v.bad(k.path, "%s is needed to find users in the directory", k.path)
		}
	}
	if strings.Count(d.UserFilter, "%s") == 0 || !strings.HasPrefix(d.UserFilter, "(") {
		v.bad("directory.user_filter", "directory.user_filter %q must be an LDAP filter with %%s for the name typed, such as \"(|(uid=%%s)(sAMAccountName=%%s))\"", d.UserFilter)
	}
}

// notify checks [notify]: where mail goes and comes from, the webhook.
func (v *validator) notify() {
	n := &v.c.Notify
	if n.SMTP != "" {
		hostport := strings.TrimPrefix(n.SMTP, "smtps://")
		if _, port, err := net.SplitHostPort(hostport); err != nil || port == "" {
			v.bad("notify.smtp", "notify.smtp %q is not host:port (STARTTLS) or smtps://host:port", n.SMTP)
		}
		if _, err := mail.ParseAddress(n.From); err != nil {
			v.bad("notify.from", "notify.from %q is not an e-mail address", n.From)
		}
		if (n.Username == "") != (n.PasswordFile == "") {
			v.bad("notify.username", "notify.username and notify.password_file go together")
		}
		if v.c.State.Dir == "" {
			v.bad("notify.smtp", "notify needs [state] dir: the outbox keeps every message until it is sent")
		}
	}
	for _, k := range []struct{ path, value string }{{"notify.console_url", n.ConsoleURL}, {"notify.webhook", n.Webhook}} {
		if k.value == "" {
			continue
		}
		if u, err := url.Parse(k.value); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			v.bad(k.path, "%s %q is not an http(s) URL", k.path, k.value)
		}
	}
	n.Weekly.Off = n.WeeklyReport == ""
	if !n.Weekly.Off {
		if w, ok := parseWeekly(n.WeeklyReport); ok {
			n.Weekly = w
		} else {
			v.bad("notify.weekly_report", "notify.weekly_report %q is not a day and a time such as \"mon 07:00\"", n.WeeklyReport)
		}
		if !n.Mail() {
			v.bad("notify.weekly_report", "notify.weekly_report is mailed: it needs notify.smtp")
		}
	}
	if n.Webhook != "" && n.WebhookSecretFile == "" {
		v.bad("notify.webhook", "notify.webhook needs webhook_secret_file: every POST is signed with it")
	}
}

// oidc checks the OpenID Connect keys of [directory].
func (v *validator) oidc() {
	d := &v.c.Directory
	if !d.OIDC() {
		if d.OIDCClientID != "" || d.OIDCClientSecretFile != "" {
			v.bad("directory.oidc_client_id", "directory.oidc_client_id needs oidc_issuer")
		}
		return
	}
	if u, err := url.Parse(d.OIDCIssuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		v.bad("directory.oidc_issuer", "directory.oidc_issuer %q is not the provider's URL", d.OIDCIssuer)
	}
	if d.OIDCClientID == "" || d.OIDCClientSecretFile == "" {
		v.bad("directory.oidc_client_id", "OpenID Connect needs oidc_client_id and oidc_client_secret_file (the console's registration at the provider)")
	}
	if d.OIDCGroupsClaim == "" {
		d.OIDCGroupsClaim = "groups"
	}
}

// parseWeekly reads "mon 07:00".
func parseWeekly(s string) (Weekly, bool) {
	day, clock, ok := strings.Cut(strings.ToLower(strings.TrimSpace(s)), " ")
	days := map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}
	d, known := days[day]
	t, err := time.Parse("15:04", strings.TrimSpace(clock))
	if !ok || !known || err != nil {
		return Weekly{}, false
	}
	return Weekly{Day: d, Hour: t.Hour(), Minute: t.Minute()}, true
}

// syslog checks [log] syslog and syslog_events, and [log] dnstap.
func (v *validator) syslog() {
	l := &v.c.Log
	if d := l.Dnstap; d != "" {
		if rest, ok := strings.CutPrefix(d, "unix:"); ok && rest == "" || !ok && !strings.HasPrefix(d, "tcp:") {
			v.bad("log.dnstap", "log.dnstap %q is not unix:/path or tcp:host:port", d)
		} else if hp, ok := strings.CutPrefix(d, "tcp:"); ok {
			if _, _, err := net.SplitHostPort(hp); err != nil {
				v.bad("log.dnstap", "log.dnstap %q is not unix:/path or tcp:host:port", d)
			}
		}
	}
	if l.Syslog == "" {
		return
	}
	u, err := url.Parse(l.Syslog)
	if err != nil || (u.Scheme != "tcp+tls" && u.Scheme != "tcp" && u.Scheme != "udp") || u.Port() == "" {
		v.bad("log.syslog", "log.syslog %q is not tcp+tls://host:port, tcp://host:port or udp://host:port", l.Syslog)
	}
	if len(l.SyslogEvents) == 0 {
		l.SyslogEvents = []string{"blocked", "audit"}
	}
	for _, e := range l.SyslogEvents {
		if e != "blocked" && e != "exempted" && e != "all" && e != "audit" {
			v.bad("log.syslog_events", "log.syslog_events: %q is not blocked, exempted, all or audit", e)
		}
	}
}
