package policy

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/blocklists"
	"github.com/civicdns/civicdns/config"
)

// shippedLists loads the lists built into the binary.
func shippedLists(t *testing.T) *blocklists.Set {
	t.Helper()
	set, err := blocklists.Load(blocklists.Options{FS: blocklists.Shipped(), DisplayDir: blocklists.ShippedDir})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// compileWith compiles text with the lists set.
func compileWith(t *testing.T, set *blocklists.Set, text string) (*Policy, error) {
	t.Helper()
	cfg, err := config.Parse("civicdns.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return Compile(cfg, set, time.UTC)
}

const approvalConfig = `
[policy]
block = ["adult", "gambling", "filesharing", "chat", "security"]
%s
[[department]]
name = "Communications"
networks = ["10.50.0.0/16"]
approved_chat = ["slack"]
`

// Approved chat services are open, to the clients that approved them, with
// all their domains; every other messenger is blocked and named.
func TestApprovedChatOpensOnlyItsServices(t *testing.T) {
	t.Parallel()
	city, comms := netip.MustParseAddr("10.9.9.9"), netip.MustParseAddr("10.50.1.1")
	now := time.Now()
	cases := []struct {
		approved     string // the [policy] approved_chat line ("": the default)
		client       netip.Addr
		name         string
		blocked      bool
		service, ede string
	}{
		{"", city, "teams.microsoft.com", false, "", ""},
		{"", city, "api.flightproxy.skype.com", false, "", ""}, // Teams calling, a domain of the same service
		{"", city, "app.slack.com", true, "Slack", "Blocked (chat: Slack)"},
		{"", comms, "app.slack.com", false, "", ""}, // the department approved Slack
		{"", comms, "web.telegram.org", true, "Telegram", "Blocked (chat: Telegram)"},
		{"", city, "t.me", true, "Telegram", "Blocked (chat: Telegram)"},
		{"", city, "signal.me", true, "Signal", "Blocked (chat: Signal)"},
		{"", city, "web.libera.chat", true, "IRC networks and web clients", "Blocked (chat: IRC networks and web clients)"},
		{`approved_chat = []`, city, "teams.microsoft.com", true, "Microsoft Teams", "Blocked (chat: Microsoft Teams)"},
		{`approved_chat = []`, comms, "teams.microsoft.com", true, "Microsoft Teams", "Blocked (chat: Microsoft Teams)"},
		{`approved_chat = ["telegram"]`, city, "t.me", false, "", ""},
		// An approval lifts chat only: telegra.ph (Telegram's publishing
		// site) is in HaGeZi's NSFW list too, and stays blocked as adult.
		{`approved_chat = ["telegram"]`, city, "telegra.ph", true, "", "Blocked (adult)"},
		{``, city, "telegra.ph", true, "Telegram", "Blocked (chat: Telegram)"},
	}
	set := shippedLists(t)
	for _, c := range cases {
		p, err := compileWith(t, set, strings.Replace(approvalConfig, "%s", c.approved, 1))
		if err != nil {
			t.Fatal(err)
		}
		d := p.Decide(nil, p.Department(c.client), c.client, c.name, now)
		if (d.Action == Blocked) != c.blocked || d.Service != c.service || c.blocked && d.EDEText != c.ede {
			t.Errorf("%q %s %s: %s %s service %q EDE %q; want blocked %v, service %q, EDE %q",
				c.approved, c.client, c.name, d.Action, d.Category, d.Service, d.EDEText, c.blocked, c.service, c.ede)
		}
	}
}

func TestApprovedChatErrorsNameTheLine(t *testing.T) {
	t.Parallel()
	set := shippedLists(t)
	for text, want := range map[string]string{
		"[policy]\nblock = [\"chat\"]\napproved_chat = [\"microsoft_teams\", \"whatsap\"]\n":            `civicdns.toml:3: unknown chat service "whatsap"`,
		"[[department]]\nname = \"Parks\"\nnetworks = [\"10.1.0.0/16\"]\napproved_chat = [\"sIack\"]\n": `civicdns.toml:4: unknown chat service "sIack"`,
	} {
		_, err := compileWith(t, set, text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %s", text, err, want)
		}
	}
}
