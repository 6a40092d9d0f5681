package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsAndEmbedded(t *testing.T) {
	t.Parallel()
	c, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Server.Listen; len(got) != 1 || got[0] != "127.0.0.1:5353" {
		t.Errorf("listen %v", got)
	}
	if len(c.Upstream.Servers) != 0 || !c.Embedded || c.Lists.Dir != "" {
		t.Errorf("the default forwards to the system's resolvers with the built-in lists: %+v", c.Upstream)
	}
	if got := strings.Join(c.Policy.Block, ","); got != "adult,gambling,filesharing,chat,security" {
		t.Errorf("citywide minimum %s", got)
	}
}

func TestParseFull(t *testing.T) {
	t.Parallel()
	text := `
[server]
listen = ["127.0.0.1:53", "[::1]:53"]
[upstream]
servers = ["192.0.2.10:53", "192.0.2.11", "tls://dns.example:853#dns.example"]
timeout = "1500ms"
[[upstream.zone]]
name = "City.Internal."
servers = ["10.0.0.10:53"]
[cache]
size = 5000
max_ttl = "2h"
serve_stale = "0s"
`
	c, err := Parse("civicdns.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Server.ListenAddrs) != 2 || c.Server.ListenAddrs[1].Addr().String() != "::1" {
		t.Errorf("listen %v", c.Server.ListenAddrs)
	}
	if c.Upstream.Timeout.D() != 1500*time.Millisecond || c.Cache.MaxTTL.D() != 2*time.Hour || c.Cache.Size != 5000 {
		t.Errorf("values not decoded: %+v %+v", c.Upstream, c.Cache)
	}
	if c.Upstream.Zone[0].Name != "city.internal" {
		t.Errorf("zone name not normalised: %q", c.Upstream.Zone[0].Name)
	}
	if c.Server.TCPMaxConnections != 1000 {
		t.Error("defaults lost for keys the file leaves out")
	}
}

func TestBadConfigsNameFileAndLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, text string
		want       []string // every line of the error, in order
	}{
		{"not TOML", "[server\nlisten = 1", []string{"c.toml:2:8: expected '.' or ']' to end table name"}},
		{"DoT without a certificate", "[server]\ntls_listen = [\"127.0.0.1:853\"]\n", []string{"c.toml:1: server.tls_listen, https_listen and quic_listen need tls_cert and tls_key"}},
		{"a bad DoT address", "[server]\ntls_listen = [\"853\"]\ntls_cert = \"a\"\ntls_key = \"b\"\n", []string{`c.toml:2: server.tls_listen: "853" is not an IP:port`}},
		{"a bad DoQ address", "[server]\nquic_listen = [\"[::1]853\"]\ntls_cert = \"a\"\ntls_key = \"b\"\n", []string{`c.toml:2: server.quic_listen: "[::1]853" is not an IP:port`}},
		{"a local zone that is none", "[server]\nlocal_zones_off = [\"bad name!\"]\n", []string{`c.toml:2: server.local_zones_off: "bad name!" is not a zone name`}},
		{"wrong type", "[cache]\nsize = \"big\"", []string{`c.toml:2: cache.size: incompatible types: TOML value has type string; destination has type integer`}},
		{"bad duration", "[upstream]\n\ntimeout = \"2x\"", []string{`c.toml:3:12: upstream.timeout: "2x" is not a duration`}},
		{"unknown key", "[server]\nlisten = [\"127.0.0.1:53\"]\nlisen = 1\n", []string{`c.toml:3: unknown key "server.lisen"`}},
		{"unknown table", "[sever]\nlisten = 1\n", []string{`c.toml:1: unknown key "sever"`}},
		{"unknown key in an array table", "[[department]]\nname = \"A\"\nnetworks = [\"10.0.0.0/8\"]\n[[department]]\nname = \"B\"\nnetworks = [\"10.1.0.0/16\"]\nnetwork = 1\n",
			[]string{`c.toml:7: unknown key "department.network"`}},
		{"every error at once", "[server]\nlisten = [\"nope\"]\n[upstream]\nmode = \"magic\"\nservers = [\"quic://x\"]\n[cache]\nsize = 0\n",
			[]string{
				`c.toml:2: server.listen: "nope" is not an IP:port`,
				`c.toml:4: upstream.mode must be "forward" or "recursive", not "magic"`,
				`c.toml:5: upstream.servers: "quic://x": only plain (IP:port), tls:// and https:// upstreams are supported`,
				`c.toml:7: cache.size must be at least 1`,
			}},
		{"exemption past max_exemption", "[policy]\nmax_exemption = \"30d\"\n[[department]]\nname = \"P\"\nnetworks = [\"10.0.0.0/8\"]\n[[exemption]]\ndepartment = \"P\"\ncategory = \"adult\"\napproved_by = \"C\"\nreason = \"r\"\nstarts = 2026-01-01\nexpires = 2099-06-30\n",
			[]string{`exemption expires 2099-06-30, more than policy.max_exemption (30 days) after`}},
		{"plain upstream by name", "[upstream]\nservers = [\"dns.google:53\"]\n", []string{`c.toml:2: upstream.servers: "dns.google:53": a plain upstream needs an IP address`}},
		{"recursive with servers", "[upstream]\nmode = \"recursive\"\nservers = [\"192.0.2.1\"]\n", []string{`c.toml:3: upstream.servers is for mode = "forward"`}},
		{"root hints in forward mode", "[upstream]\nroot_hints = \"/etc/hosts\"\n", []string{`c.toml:2: upstream.root_hints is for mode = "recursive"`}},
		{"bad state DSN", "[state]\ndir = \"/tmp\"\npostgres = \"postgres://u:secret@db:notaport/x\"\n", []string{`c.toml:3: state.postgres is not a PostgreSQL connection string`}},
		{"state DSN without dir", "[state]\npostgres = \"postgres://db/x\"\n", []string{`c.toml:2: state.postgres needs [state] dir`}},
		{"missing trust anchor", "[upstream]\nmode = \"recursive\"\ntrust_anchor = \"/nonexistent/root.key\"\n", []string{`c.toml:3: upstream.trust_anchor: stat /nonexistent/root.key: no such file or directory`}},
		{"zone without servers", "[[upstream.zone]]\nname = \"a.b\"\n[[upstream.zone]]\nname = \"c.d\"\nservers = []\n", []string{
			`c.toml:1: upstream.zone "a.b" needs at least one server`, `c.toml:5: upstream.zone "c.d" needs at least one server`}},
		{"bad CIDR", "[[department]]\nname = \"Police\"\nnetworks = [\"10.20.0.0/33\"]\n", []string{`c.toml:3: department "Police": "10.20.0.0/33" is not a network`}},
		{"host bits", "[[department]]\nname = \"Police\"\nnetworks = [\"10.20.1.0/16\"]\n", []string{`c.toml:3: department "Police": "10.20.1.0/16" has host bits set (did you mean 10.20.0.0/16?)`}},
		{"bad date", "[[exemption]]\ndepartment = \"x\"\nexpires = \"June\"\n", []string{`c.toml:3:`, `is not a date`}},
		{"bad block answer", "[block]\nanswer = \"drop\"\n", []string{`c.toml:2: block.answer must be "blockpage", "nxdomain" or "null", not "drop"`}},
		{"a weekly report at no time", "[state]\ndir = \"/tmp\"\n[notify]\nsmtp = \"mail.city.example:587\"\nfrom = \"civicdns@city.example\"\nweekly_report = \"someday 7\"\n",
			[]string{`c.toml:6: notify.weekly_report "someday 7" is not a day and a time such as "mon 07:00"`}},
		{"mail without its relay's address", "[state]\ndir = \"/tmp\"\n[notify]\nsmtp = \"mail.city.example\"\nfrom = \"nobody\"\n",
			[]string{`c.toml:4: notify.smtp "mail.city.example" is not host:port`, `c.toml:5: notify.from "nobody" is not an e-mail address`}},
		{"a role that is none", "[[department]]\nname = \"P\"\nnetworks = [\"10.0.0.0/8\"]\n[[director]]\nname = \"A\"\ndepartment = \"P\"\npassword_hash = \"$2a$10$PP9k2wp7rIAu5QMVyCErxuy1fPXUEzX9SDRudRlr6HueqaZkN7Z5a\"\nrole = \"boss\"\n",
			[]string{`c.toml:8: director "A": role "boss" is not a role`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("c.toml", []byte(tc.text))
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			rest := msg
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error %q\nlacks (in order) %q", msg, w)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestLoadResolvesPathsFromTheFileFolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "civicdns.toml")
	os.WriteFile(p, []byte("[lists]\ndir = \"lists\"\n"), 0o644)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Path(c.Lists.Dir); got != filepath.Join(dir, "lists") {
		t.Errorf("lists dir %s", got)
	}
	if _, err := Load(filepath.Join(dir, "missing.toml")); err == nil {
		t.Error("no error for a missing file")
	}
}

func TestNormalizeName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"Example.COM.", "example.com"},
		{"bücher.example", "xn--bcher-kva.example"},
		{"  spaced.example ", "spaced.example"},
		{"", ""},
	} {
		got, err := NormalizeName(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"a..b", "has space.com", strings.Repeat("a", 64) + ".com", "semi;colon.com"} {
		if _, err := NormalizeName(bad); err == nil {
			t.Errorf("NormalizeName(%q) accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("[server]\nlisten = [\"127.0.0.1:53\"]\n"))
	f.Add(DefaultTOML())
	f.Add([]byte("[[department]]\nname = \"P\"\nnetworks = [\"10.0.0.0/8\"]\n[[exemption]]\ndepartment = \"P\"\ncategory = \"adult\"\napproved_by = \"x\"\nreason = \"y\"\nexpires = 2027-01-01\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.toml", data)
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
		if err != nil && !strings.HasPrefix(err.Error(), "fuzz.toml") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}

// One value of the wrong type hides no other error: every problem is
// reported at once, in line order, without echoes of the wrong value.
func TestEveryErrorAtOnce(t *testing.T) {
	t.Parallel()
	text := `[server]
listen = ["127.0.0.1:5353"]
bogus = 1

[cache]
size = "big"

[[department]]
name = "Police"
networks = ["10.20.0.0/33"]

[[exemption]]
department = "Police"
category = "adult"
approved_by = "x"
reason = "y"
expires = "next friday"
`
	_, errs := ParseAll("c.toml", []byte(text))
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		`c.toml:3: unknown key "server.bogus"`,
		`c.toml:6: cache.size: incompatible types: TOML value has type string; destination has type integer`,
		`c.toml:10: department "Police": "10.20.0.0/33" is not a network (write 10.20.0.0/16 or fd00:20::/48)`,
		`c.toml:17:12: exemption.expires: "next friday" is not a date (write 2027-06-30)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s := errs.Summary(); s != "4 errors" {
		t.Errorf("summary %q", s)
	}
	if s := errs[:1].Summary(); s != "1 error" {
		t.Errorf("summary %q", s)
	}
	// A syntax error still stops at once: the rest cannot be read.
	if _, errs := ParseAll("c.toml", []byte("[server\nlisten = 1\n")); len(errs) != 1 || errs[0].Line != 2 {
		t.Errorf("syntax error: %v", errs)
	}
}

// Department names are trimmed and compared without letter case: an
// exemption for "police" is Police's, and "Police" beside "police " is an error.
func TestDepartmentNamesAreNormalised(t *testing.T) {
	t.Parallel()
	c, err := Parse("c.toml", []byte("[[department]]\nname = \" Police \"\nnetworks = [\"10.20.0.0/16\"]\n"+
		"[[exemption]]\ndepartment = \"police\"\ncategory = \"adult\"\napproved_by = \"x\"\nreason = \"y\"\nexpires = 2027-01-01\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Department[0].Name != "Police" || c.Exemption[0].Department != "Police" {
		t.Errorf("department %q, exemption for %q", c.Department[0].Name, c.Exemption[0].Department)
	}
	_, err = Parse("c.toml", []byte("[[department]]\nname = \"Police\"\nnetworks = [\"10.20.0.0/16\"]\n[[department]]\nname = \"police \"\nnetworks = [\"10.21.0.0/16\"]\n"))
	if err == nil || !strings.Contains(err.Error(), `c.toml:5: department "Police" and "police" differ only in letter case`) {
		t.Errorf("err = %v", err)
	}
}

func TestLabelEnd(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		want int
	}{
		{"www.example.com", 3},
		{`www\.example.com`, 12},
		{`a\\.b`, 3},
		{`a\046b.c`, 6},
		{"com", -1},
		{`x\.`, -1},
	} {
		if got := LabelEnd(tc.name); got != tc.want {
			t.Errorf("LabelEnd(%q) = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// DNSSEC validation is on by default in recursive mode, off in forward
// mode, and either way as set.
func TestDNSSECDefaults(t *testing.T) {
	for _, c := range []struct {
		text string
		want bool
	}{
		{"[upstream]\nmode = \"recursive\"\n", true},
		{"[upstream]\nmode = \"recursive\"\ndnssec = false\n", false},
		{"[upstream]\nmode = \"forward\"\n", false},
		{"[upstream]\nmode = \"forward\"\ndnssec = true\n", true},
	} {
		cfg, err := Parse("c.toml", []byte(c.text))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Upstream.DNSSEC != c.want {
			t.Errorf("%q: dnssec %v", c.text, cfg.Upstream.DNSSEC)
		}
	}
}

func TestParseDurationTakesDays(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"7d", 7 * 24 * time.Hour, true}, {"365d", 365 * 24 * time.Hour, true}, {"1d12h", 36 * time.Hour, true},
		{"90s", 90 * time.Second, true}, {"24h", 24 * time.Hour, true}, {"0s", 0, true},
		{"d", 0, false}, {"7x", 0, false}, {"-7d", 0, false}, {"7dd", 0, false}, {"", 0, false}, {"1.5d", 0, false},
	} {
		got, err := ParseDuration(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%q: %v %v, want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestWeeklyLast(t *testing.T) {
	w, ok := parseWeekly("Mon 07:00")
	if !ok {
		t.Fatal("not parsed")
	}
	for _, c := range []struct{ now, want string }{
		{"2026-12-07 09:00", "2026-12-07 07:00"}, // a Monday, after
		{"2026-12-07 06:59", "2026-11-30 07:00"}, // before: last week's
		{"2026-12-10 12:00", "2026-12-07 07:00"}, // Thursday
		{"2026-12-13 23:00", "2026-12-07 07:00"}, // Sunday
	} {
		now, _ := time.ParseInLocation("2006-01-02 15:04", c.now, time.UTC)
		if got := w.Last(now, time.UTC).Format("2006-01-02 15:04"); got != c.want {
			t.Errorf("Last(%s) = %s, want %s", c.now, got, c.want)
		}
	}
}
