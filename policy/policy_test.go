package policy

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/blocklists"
	"github.com/civicdns/civicdns/config"
)

const testConfig = `
[lists]
dir = "testdata/lists"

[policy]
block = ["adult", "gambling", "filesharing", "chat"]
allow = ["city.example"]

[[department]]
name = "Police"
networks = ["10.20.0.0/16", "fd00:20::/48"]
block = ["social"]
block_domains = ["stream.example"]

[[department]]
name = "Vice"
networks = ["10.20.30.0/24"]

[[department]]
name = "Library"
networks = ["10.40.0.0/16"]
safesearch = true

[[exemption]]
department = "Vice"
category = "adult"
approved_by = "Chief of Police"
reason = "Vice unit investigations"
reference = "Memo 2026-114"
expires = 2026-12-31

[[exemption]]
clients = ["10.20.3.4", "10.20.9.0/24"]
domains = ["bet.example"]
approved_by = "Chief of Police"
reason = "Fraud investigation"
reference = "Memo 2026-200"
starts = 2026-12-01
expires = 2027-01-31

[[exemption]]
department = "Police"
category = "Police"
approved_by = "Chief of Police"
reason = "Training on streaming"
expires = 2026-01-01
`

func compile(t testing.TB, text string) *Policy {
	t.Helper()
	p, err := compileErr(t, text)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// compileErr parses text and its lists (which must be good) and returns
// what Compile makes of them.
func compileErr(t testing.TB, text string) (*Policy, error) {
	t.Helper()
	cfg, err := config.Parse("civicdns.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	set, err := blocklists.Load(blocklists.Options{FS: os.DirFS(cfg.Lists.Dir), DisplayDir: cfg.Lists.Dir})
	if err != nil {
		t.Fatal(err)
	}
	return Compile(cfg, set, time.UTC)
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	p := compile(t, testConfig)
	nov := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	dec := time.Date(2026, 12, 15, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, client, qname string
		at                  time.Time
		action, category    string
		dept, matched       string
		where               string
		exemption           string // its reference
	}{
		{"citywide block, no department", "192.0.2.1", "casino.example", nov, Blocked, "gambling", "", "casino.example", "testdata/lists/gambling.toml:5", ""},
		{"a subdomain of a listed name", "192.0.2.1", "www.poker.example", nov, Blocked, "gambling", "", "poker.example", "testdata/lists/gambling.hosts:2", ""},
		{"the category's allow wins over its block", "192.0.2.1", "x.lottery.casino.example", nov, Allowed, "", "", "", "", ""},
		{"not listed", "192.0.2.1", "news.example", nov, Allowed, "", "", "", "", ""},
		{"[policy] allow is never blocked", "192.0.2.1", "casino.city.example", nov, Allowed, "", "", "", "", ""},
		{"social is not citywide", "192.0.2.1", "social.example", nov, Allowed, "", "", "", "", ""},
		{"a department blocks more", "10.20.1.1", "social.example", nov, Blocked, "social", "Police", "social.example", "testdata/lists/social.toml:2", ""},
		{"a department over IPv6", "fd00:20::9", "social.example", nov, Blocked, "social", "Police", "social.example", "testdata/lists/social.toml:2", ""},
		{"IPv4-mapped client", "::ffff:10.20.1.1", "social.example", nov, Blocked, "social", "Police", "social.example", "", ""},
		{"department block_domains: a category of its own", "10.20.1.1", "live.stream.example", nov, Blocked, "Police", "Police", "stream.example", "civicdns.toml:13", ""},
		{"the longest matching name decides the category", "10.20.1.1", "www.casino.example", nov, Blocked, "social", "Police", "www.casino.example", "", ""},
		{"the same for a client without social", "192.0.2.1", "www.casino.example", nov, Blocked, "gambling", "", "casino.example", "", ""},
		{"ties on length go alphabetically", "192.0.2.1", "a.sub.shared.example", nov, Blocked, "gambling", "", "sub.shared.example", "", ""},
		{"longest prefix: Vice is inside Police", "10.20.30.5", "social.example", nov, Allowed, "", "Vice", "", "", ""},
		{"department exemption lifts its category", "10.20.30.5", "adult.example", nov, Exempted, "adult", "Vice", "adult.example", "", "Memo 2026-114"},
		{"the exemption does not reach Police", "10.20.1.1", "adult.example", nov, Blocked, "adult", "Police", "adult.example", "", ""},
		{"an exemption lifts only its category", "10.20.30.5", "casino.example", nov, Blocked, "gambling", "Vice", "casino.example", "", ""},
		{"after its expiry day it lifts nothing", "10.20.30.5", "adult.example", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Blocked, "adult", "Vice", "", "", ""},
		{"through the end of its expiry day", "10.20.30.5", "adult.example", time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC), Exempted, "adult", "Vice", "", "", "Memo 2026-114"},
		{"a client exemption before it starts", "10.20.3.4", "bet.example", nov, Blocked, "gambling", "Police", "bet.example", "", ""},
		{"a client exemption once started", "10.20.3.4", "www.bet.example", dec, Exempted, "gambling", "Police", "bet.example", "", "Memo 2026-200"},
		{"a client exemption by network", "10.20.9.77", "bet.example", dec, Exempted, "gambling", "Police", "", "", "Memo 2026-200"},
		{"not for other clients", "10.20.3.5", "bet.example", dec, Blocked, "gambling", "Police", "", "", ""},
		{"domain exemptions lift only their names", "10.20.3.4", "casino.example", dec, Blocked, "gambling", "Police", "", "", ""},
		{"an expired exemption of the department's own category", "10.20.1.1", "stream.example", nov, Blocked, "Police", "Police", "", "", ""},
		{"the canary is always NXDOMAIN", "192.0.2.1", "use-application-dns.net", nov, Blocked, "bypass", "", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := p.Department(netip.MustParseAddr(tc.client))
			got := p.Decide(p.ConfigExemptions(), d, netip.MustParseAddr(tc.client).Unmap(), tc.qname, tc.at)
			dept := ""
			if got.Department != nil {
				dept = got.Department.Name
			}
			if got.Action != tc.action || got.Category != tc.category || dept != tc.dept {
				t.Fatalf("got %s %q (department %q), want %s %q (department %q)", got.Action, got.Category, dept, tc.action, tc.category, tc.dept)
			}
			if tc.matched != "" && got.Matched != tc.matched {
				t.Errorf("matched %q, want %q", got.Matched, tc.matched)
			}
			if tc.where != "" && got.Where() != tc.where {
				t.Errorf("where %q, want %q", got.Where(), tc.where)
			}
			ref := ""
			if got.Exemption != nil {
				ref = got.Exemption.Reference
			}
			if ref != tc.exemption {
				t.Errorf("exemption %q, want %q", ref, tc.exemption)
			}
		})
	}
}

func TestSafeSearchForTheDepartmentThatAsks(t *testing.T) {
	t.Parallel()
	p := compile(t, testConfig)
	lib := netip.MustParseAddr("10.40.1.1")
	now := time.Now()
	if got := p.Decide(nil, p.Department(lib), lib, "www.google.com", now); got.SafeSearch != "forcesafesearch.google.com" {
		t.Errorf("library: %+v", got)
	}
	if got := p.Decide(nil, p.Department(lib), lib, "www.youtube.com", now); got.SafeSearch != "restrict.youtube.com" {
		t.Errorf("library youtube: %+v", got)
	}
	other := netip.MustParseAddr("10.20.1.1")
	if got := p.Decide(nil, p.Department(other), other, "www.google.com", now); got.SafeSearch != "" {
		t.Errorf("police gets safe search: %+v", got)
	}
}

func TestCompileErrorsNameTheLine(t *testing.T) {
	t.Parallel()
	text := strings.Replace(testConfig, `block = ["social"]`, `block = ["socail"]`, 1)
	text = strings.Replace(text, `category = "adult"`, `category = "adlut"`, 1)
	_, err := compileErr(t, text)
	if err == nil {
		t.Fatal("no error for unknown categories")
	}
	for _, want := range []string{`civicdns.toml:12: unknown category "socail"`, `civicdns.toml:26: exemption for unknown category "adlut"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
}

func BenchmarkDecide(b *testing.B) { benchDecide(b, "www.sub.casino.example", Blocked) }

// benchDecide decides name for a client of Vice b.N times, failing unless
// the action is want.
func benchDecide(b *testing.B, name, want string) {
	p := compile(b, testConfig)
	client := netip.MustParseAddr("10.20.30.5")
	d := p.Department(client)
	now := time.Now()
	ex := p.ConfigExemptions()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if got := p.Decide(ex, d, client, name, now).Action; got != want {
			b.Fatalf("%s: %s, want %s", name, got, want)
		}
	}
}

func TestStoreExemptionsJoinTheConfigsWithoutRecompiling(t *testing.T) {
	t.Parallel()
	p := compile(t, testConfig)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	client := netip.MustParseAddr("10.20.1.1") // Police
	d := p.Department(client)
	if got := p.Decide(p.ConfigExemptions(), d, client, "casino.example", now); got.Action != Blocked {
		t.Fatalf("before: %s", got.Action)
	}
	approved := &Exemption{ID: "r-7", Department: "police ", Category: "gambling", ApprovedBy: "Chief of Police",
		Reason: "Fraud unit", Expires: now.Add(time.Hour), Source: SourceStore}
	ex, err := p.WithExemptions([]*Exemption{approved})
	if err != nil {
		t.Fatal(err)
	}
	got := p.Decide(ex, d, client, "casino.example", now)
	if got.Action != Exempted || got.Exemption != approved {
		t.Fatalf("with the store's exemption: %s by %v", got.Action, got.Exemption)
	}
	if got := p.Decide(ex, d, client, "casino.example", now.Add(2*time.Hour)); got.Action != Blocked {
		t.Errorf("after it expired: %s", got.Action)
	}
	if n := len(ex.All()); n != 4 || ex.Find("r-7") != approved || ex.All()[0].Source != "civicdns.toml:24" {
		t.Errorf("set: %d exemptions, first from %s", n, ex.All()[0].Source)
	}
	// The configuration's own set is unchanged.
	if got := p.Decide(p.ConfigExemptions(), d, client, "casino.example", now); got.Action != Blocked {
		t.Errorf("config set changed: %s", got.Action)
	}
	// One that no longer fits the policy is reported and lifts nothing.
	gone := &Exemption{ID: "r-8", Department: "Parks", Category: "gambling", Expires: now.Add(time.Hour), Source: SourceStore}
	if _, err := p.WithExemptions([]*Exemption{gone}); err == nil || !strings.Contains(err.Error(), `unknown department "Parks"`) {
		t.Errorf("err = %v", err)
	}
}

func TestConfigExemptionIDsAreStable(t *testing.T) {
	t.Parallel()
	a := compile(t, testConfig).ConfigExemptions().All()
	// Another entry before them moves their lines, not their IDs.
	b := compile(t, strings.Replace(testConfig, "[[exemption]]", "[[exemption]]\ndepartment = \"Library\"\ncategory = \"chat\"\napproved_by = \"x\"\nreason = \"y\"\nexpires = 2027-01-01\n\n[[exemption]]", 1)).ConfigExemptions().All()
	if len(b) != len(a)+1 {
		t.Fatalf("%d and %d exemptions", len(a), len(b))
	}
	for i, e := range a {
		if b[i+1].ID != e.ID || b[i+1].Source == e.Source || !strings.HasPrefix(e.ID, "c-") {
			t.Errorf("exemption %d: ID %s then %s (sources %s, %s)", i, e.ID, b[i+1].ID, e.Source, b[i+1].Source)
		}
	}
}

// storeExemptions makes n exemptions as the state store gives them: for
// the departments and for single clients, names and categories, active.
func storeExemptions(n int, now time.Time) []*Exemption {
	var out []*Exemption
	depts := []string{"Police", "Vice", "Library"}
	for i := 0; i < n; i++ {
		e := &Exemption{ID: fmt.Sprintf("x-%d", i), Expires: now.Add(24 * time.Hour), Source: SourceStore, ApprovedBy: "d", Reason: "r"}
		if i%2 == 0 {
			e.Department = depts[i%3]
		} else {
			e.Clients = []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 99, byte(i >> 8), byte(i)}), 32)}
		}
		if i%3 == 0 {
			e.Category = "social"
		} else {
			e.Domains = []string{fmt.Sprintf("site%d.example", i)}
		}
		out = append(out, e)
	}
	return out
}

// BenchmarkDecideWithLiveExemptions is BenchmarkDecide with 1,000 of the
// state store's exemptions live beside the configuration's.
func BenchmarkDecideWithLiveExemptions(b *testing.B) {
	p := compile(b, testConfig)
	client := netip.MustParseAddr("10.20.30.5")
	d := p.Department(client)
	now := time.Now()
	ex, err := p.WithExemptions(storeExemptions(1000, now))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if p.Decide(ex, d, client, "www.sub.casino.example", now).Action != Blocked {
			b.Fatal("not blocked")
		}
	}
}

const hoursConfig = `
[lists]
dir = "testdata/lists"
[policy]
block = ["adult", "gambling"]
timezone = "America/Chicago"
[[department]]
name = "Parks"
networks = ["10.30.0.0/16"]
block = ["social"]
[[department.hours]]
days = ["mon", "tue", "wed", "thu", "fri"]
hours = "12:00-13:00"
open = ["social"]
[[department.hours]]
days = ["sat"]
hours = "22:00-02:00"
open = ["social"]
[[department.hours]]
days = ["daily"]
hours = "08:00-09:00"
block = ["chat"]
`

// Personal-use hours open the department's own categories and block more,
// on the minute, across midnight and across a DST change, without a reload.
func TestPersonalUseHours(t *testing.T) {
	t.Parallel()
	p := compile(t, hoursConfig)
	chicago, _ := time.LoadLocation("America/Chicago")
	client := netip.MustParseAddr("10.30.1.1")
	d := p.Department(client)
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04:05", s, chicago)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, tc := range []struct {
		when, name, action string
	}{
		{"2026-11-23 11:59:59", "social.example", Blocked}, // Monday before lunch
		{"2026-11-23 12:00:00", "social.example", Allowed}, // lunch opens social
		{"2026-11-23 12:59:59", "social.example", Allowed},
		{"2026-11-23 13:00:00", "social.example", Blocked},
		{"2026-11-23 12:30:00", "casino.example", Blocked}, // the citywide minimum stays
		{"2026-11-28 12:30:00", "social.example", Blocked}, // Saturday lunch: no window
		{"2026-11-28 23:30:00", "social.example", Allowed}, // Saturday night window
		{"2026-11-29 01:59:00", "social.example", Allowed}, // past midnight, into Sunday
		{"2026-11-29 02:00:00", "social.example", Blocked}, // over
		{"2026-11-23 01:00:00", "social.example", Blocked}, // Monday 01:00: no window runs past Sunday's midnight
		{"2026-11-22 01:00:00", "social.example", Allowed}, // Sunday 01:00: Saturday's window runs past midnight
		{"2026-11-23 08:30:00", "chat.example", Blocked},   // a window blocks more
		{"2026-11-23 09:00:00", "chat.example", Allowed},
		{"2026-03-07 23:00:00", "social.example", Allowed}, // the night DST begins (2026-03-08 02:00 CST → 03:00 CDT)
		{"2026-03-08 01:59:59", "social.example", Allowed},
		{"2026-03-08 03:00:00", "social.example", Blocked}, // an hour later in wall time, the window is over
		{"2026-03-09 12:00:00", "social.example", Allowed}, // Monday lunch in CDT
		{"2026-03-09 11:59:00", "social.example", Blocked},
	} {
		got := p.Decide(nil, d, client, tc.name, at(tc.when))
		if got.Action != tc.action {
			t.Errorf("%s %s: %s, want %s", tc.when, tc.name, got.Action, tc.action)
		}
	}
	// When social opens next, for the block page.
	next, ok := p.NextOpen(d, "social", at("2026-11-23 13:30:00"))
	if !ok || !next.Equal(at("2026-11-24 12:00:00")) {
		t.Errorf("next opening %v %v", next, ok)
	}
	if _, ok := p.NextOpen(d, "gambling", at("2026-11-23 13:30:00")); ok {
		t.Error("the citywide minimum opens")
	}
	// explain sees the windows of that moment.
	ex, err := p.Explain(nil, client, "social.example", at("2026-11-23 12:10:00"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Windows) != 3 || !ex.Windows[0].Active || ex.Windows[1].Active || slices.Contains(ex.Blocked, "social") {
		t.Errorf("explanation: %+v blocked %v", ex.Windows, ex.Blocked)
	}
}

func TestWindowsNeverOpenTheCitywideMinimum(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ change, want string }{
		{`open = ["social"]` + "\n", ""},
		{`open = ["gambling"]` + "\n", `civicdns.toml:14: department "Parks" hours: "gambling" is in the citywide minimum`},
		{`open = ["chat"]` + "\n", `civicdns.toml:14: department "Parks" hours: "chat" is not one of the department's own categories`},
	} {
		text := strings.Replace(hoursConfig, `open = ["social"]`+"\n", tc.change, 1)
		_, err := config.Parse("civicdns.toml", []byte(text))
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.change, err)
		}
	}
	bad := strings.Replace(hoursConfig, `hours = "12:00-13:00"`, `hours = "12:00-25:00"`, 1)
	if _, err := config.Parse("civicdns.toml", []byte(bad)); err == nil || !strings.Contains(err.Error(), "civicdns.toml:13:") {
		t.Errorf("bad hours: %v", err)
	}
	if _, err := config.Parse("civicdns.toml", []byte(strings.Replace(hoursConfig, "America/Chicago", "Mars/Olympus", 1))); err == nil || !strings.Contains(err.Error(), "policy.timezone") {
		t.Errorf("bad zone: %v", err)
	}
}

// BenchmarkDecideWithHours is BenchmarkDecide for a department with
// personal-use hours (within 10% of it is the target).
func BenchmarkDecideWithHours(b *testing.B) {
	p := compile(b, hoursConfig)
	client := netip.MustParseAddr("10.30.1.1")
	d := p.Department(client)
	now := time.Now()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if p.Decide(nil, d, client, "www.sub.casino.example", now).Action != Blocked {
			b.Fatal("not blocked")
		}
	}
}

// Names the shipped lists put in two categories are reported under the
// clause that fits: a casino as gambling, a video-chat site as chat, a
// torrent site as file sharing, a messaging app as chat, a video site as
// streaming (for a department that blocks streaming).
func TestOverlappingCategoriesReportTheClauseThatFits(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse("civicdns.toml", []byte("[[department]]\nname = \"Library\"\nnetworks = [\"10.40.0.0/16\"]\nblock = [\"social\", \"streaming\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Load(cfg, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	overlaps := 0
	for _, n := range p.Lists().Matcher.Overlaps() {
		overlaps += n
	}
	t.Logf("names in two categories of the shipped lists: %d", overlaps)
	if overlaps == 0 {
		t.Fatal("no overlap to test with")
	}
	lib := netip.MustParseAddr("10.40.1.1")
	city := netip.MustParseAddr("192.0.2.1")
	for _, tc := range []struct {
		client     netip.Addr
		name, want string
	}{
		{city, "casino.com", "gambling"},          // also adult
		{city, "888casino.com", "gambling"},       // also adult
		{city, "chatroulette.com", "chat"},        // also adult
		{city, "torrentz.eu", "filesharing"},      // also adult
		{city, "imagevenue.com", "filesharing"},   // also adult
		{lib, "discord.com", "chat"},              // also social
		{lib, "whatsapp.com", "chat"},             // also social
		{lib, "rutube.ru", "streaming"},           // also adult
		{city, "rutube.ru", "adult"},              // streaming is not blocked citywide
		{lib, "warezparadize.com", "filesharing"}, // also streaming
	} {
		d := p.Decide(nil, p.Department(tc.client), tc.client, tc.name, time.Now())
		if d.Action != Blocked || d.Category != tc.want {
			t.Errorf("%s for %s: %s %s, want blocked as %s", tc.name, tc.client, d.Action, d.Category, tc.want)
		}
	}
}

// Names nothing in the policy touches are remembered (quietNames); a name a
// department blocks or rewrites on its own, or that any list or allow entry
// holds, never is: asked first by a client the name means nothing to, it
// must still be blocked or rewritten for the department that asks next.
func TestQuietNamesDecideAsTheFullPolicy(t *testing.T) {
	t.Parallel()
	p, fresh := compile(t, testConfig), compile(t, testConfig)
	nov := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	clients := []string{"192.0.2.1", "10.20.1.1", "10.20.30.5", "10.40.1.1", "10.20.3.4"}
	names := []string{"news.example", "www.news.example", "live.stream.example", "stream.example",
		"www.google.com", "www.youtube.com", "social.example", "casino.city.example", "casino.example",
		"x.lottery.casino.example", "adult.example", "use-application-dns.net", "example", "a.b.c.d.e.example"}
	for pass := 0; pass < 2; pass++ { // the second pass answers the quiet names from memory
		for _, c := range clients {
			client := netip.MustParseAddr(c)
			for _, name := range names {
				got := p.Decide(p.ConfigExemptions(), p.Department(client), client, name, nov)
				want := fresh.Decide(fresh.ConfigExemptions(), fresh.Department(client), client, name, nov)
				if got.Action != want.Action || got.Category != want.Category || got.SafeSearch != want.SafeSearch ||
					got.Matched != want.Matched || got.Department != nil != (want.Department != nil) {
					t.Errorf("pass %d, %s asks %s: %+v, want %+v", pass, c, name, got, want)
				}
			}
		}
	}
	for name, quiet := range map[string]bool{"news.example": true, "www.news.example": true, "a.b.c.d.e.example": true,
		"live.stream.example": false, "www.google.com": false, "social.example": false, "casino.city.example": false,
		"casino.example": false, "use-application-dns.net": false} {
		if got := p.quietNames.has(p.quietNames.hash(name)); got != quiet {
			t.Errorf("%s remembered as quiet: %v, want %v", name, got, quiet)
		}
	}
}

// BenchmarkDecideQuiet: a name nothing in the policy touches, the common
// case of a cache hit (remembered after the first ask).
func BenchmarkDecideQuiet(b *testing.B) { benchDecide(b, "www.news.example", Allowed) }
