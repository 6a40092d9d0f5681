package blocklists

import (
	"strings"
	"testing"
	"testing/fstest"
)

const catalogue = `category = "chat"

[[service]]
id = "telegram"
name = "Telegram"
kind = "messenger"
domains = ["telegram.org", "t.me"]

[[service]]
id = "signal"
name = "Signal"
domains = [
  "signal.org",
  "signal.me",
]
`

func TestServicesNameTheirDomains(t *testing.T) {
	t.Parallel()
	set, err := Load(Options{FS: fstest.MapFS{"chat.toml": {Data: []byte(catalogue)}}, DisplayDir: "lists"})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"web.telegram.org": "telegram", "t.me": "telegram", "signal.me": "signal", "example.org": ""} {
		got := ""
		for _, h := range set.Matcher.Lookup(name, nil) {
			if s := set.Matcher.Service(h); s >= 0 {
				got = set.Services[s].ID
			}
		}
		if got != want {
			t.Errorf("%s: service %q, want %q", name, got, want)
		}
	}
	if s := set.ServiceByID["signal"]; s == nil || s.Where != "lists/chat.toml:9" || len(s.Domains) != 2 || s.Category != "chat" {
		t.Errorf("signal: %+v", s)
	}
	if c := set.Categories["chat"]; c.Blocked != 4 {
		t.Errorf("chat blocks %d names, want 4", c.Blocked)
	}
}

func TestServiceErrorsNameTheLine(t *testing.T) {
	t.Parallel()
	for edit, want := range map[string]string{
		`id = "signal"`:   `lists/chat.toml:10: service id "telegram" is given twice`,
		`"signal.me",`:    `lists/chat.toml:14: t.me is in service "signal" and in "telegram"`,
		`name = "Signal"`: `lists/chat.toml:9: service "signal" needs a name`,
		`"signal.org",`:   `lists/chat.toml:13: service "signal": "bad name!" is not a domain name`,
		`id = "telegram"`: `lists/chat.toml:4: service id "Tele gram"`,
	} {
		replacement := map[string]string{
			`id = "signal"`: `id = "telegram"`, `"signal.me",`: `"t.me",`, `name = "Signal"`: `name = ""`,
			`"signal.org",`: `"bad name!",`, `id = "telegram"`: `id = "Tele gram"`,
		}[edit]
		text := strings.Replace(catalogue, edit, replacement, 1)
		_, err := Load(Options{FS: fstest.MapFS{"chat.toml": {Data: []byte(text)}}, DisplayDir: "lists"})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s → %s: %v, want %s", edit, replacement, err, want)
		}
	}
}
