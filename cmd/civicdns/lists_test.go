package main

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/civicdns/civicdns/state"
	"github.com/miekg/dns"
)

// The review loop, end to end: clients look up names over real DNS, the
// review ranks the one the lists miss with the name servers it shares with
// a blocked casino (looked up through the upstream), and one audited
// command adds it to the city's own list, after which it is blocked.
func TestListsReviewThenAdd(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		switch {
		case q.Qtype == dns.TypeNS && q.Name == "knowncasino.com.":
			m.Answer = append(m.Answer, &dns.NS{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: 300}, Ns: "ns1.whitelabel-op.net."})
		case q.Qtype == dns.TypeNS && q.Name == "newluck-brand.com.":
			m.Answer = append(m.Answer, &dns.NS{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: 300}, Ns: "ns2.whitelabel-op.net."})
		case q.Qtype == dns.TypeA:
			rr, _ := dns.NewRR(q.Name + " 300 IN A 192.0.2.20")
			m.Answer = append(m.Answer, rr)
		}
		w.WriteMsg(m)
	})
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "lists"), 0o755)
	writeFile(t, dir, "lists/gambling.toml", "# the city's gambling list\ncategory = \"gambling\"\nblock = [\n  \"knowncasino.com\", # a casino\n]\n")
	cfg := writeFile(t, dir, "civicdns.toml", "[server]\nlisten = [\"127.0.0.1:0\"]\n[metrics]\nlisten = \"\"\n[upstream]\nservers = [\""+up.Addr+"\"]\n"+
		"[lists]\ndir = \"lists\"\n[log]\ndir = \"log\"\n[state]\ndir = \"state\"\n[policy]\nblock = [\"gambling\"]\n")
	d := startDaemon(t, cfg)
	for _, name := range []string{"www.knowncasino.com", "play.newluck-brand.com", "newluck-brand.com", "www.ordinary.org"} {
		dnstest.Dig(t, d.addr, "+short", name, "A")
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.waitLog(t, "stopped")
	d.cmd.Wait()

	var out, errb bytes.Buffer
	if code := run([]string{"lists", "review", "-config", cfg, "-since", "1d"}, &out, &errb); code != 0 {
		t.Fatalf("review: %d %s", code, errb.String())
	}
	for _, want := range []string{
		"1. newluck-brand.com  2 queries from 1 clients  (newluck-brand.com, play.newluck-brand.com)",
		"shares name servers ns2.whitelabel-op.net with knowncasino.com (gambling)",
		"to add it: civicdns lists add -category gambling -by NAME -reason WHY newluck-brand.com",
		"2. ordinary.org  1 queries", "Nothing is blocked by this review",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("review lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	// The configuration as the first argument, as every command takes it.
	if code := run([]string{"lists", "add", cfg, "-category", "gambling", "-by", "Pat Doe", "-reason", "white-label casino", "newluck-brand.com"}, &out, &errb); code != 0 {
		t.Fatalf("add: %d %s", code, errb.String())
	}
	list, _ := os.ReadFile(filepath.Join(dir, "lists", "gambling.toml"))
	if !strings.Contains(string(list), `"newluck-brand.com", # added by Pat Doe (`) || !strings.Contains(string(list), ": white-label casino\n  \"knowncasino.com\", # a casino") {
		t.Errorf("the list file:\n%s", list)
	}
	out.Reset()
	run([]string{"explain", "-config", cfg, "-client", "127.0.0.1", "play.newluck-brand.com"}, &out, &errb)
	if !strings.Contains(out.String(), "BLOCKED (gambling)") {
		t.Errorf("after the addition:\n%s", out.String())
	}
	out.Reset()
	run([]string{"audit", "-config", cfg}, &out, &errb)
	if !strings.Contains(out.String(), "lists-add") || !strings.Contains(out.String(), "by Pat Doe (") || !strings.Contains(out.String(), "lists-review") {
		t.Errorf("audit trail:\n%s", out.String())
	}
	// A name already there, and the built-in lists, are refused.
	errb.Reset()
	if code := run([]string{"lists", "add", "-config", cfg, "-category", "gambling", "-by", "Pat Doe", "knowncasino.com"}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "knowncasino.com is already in gambling") {
		t.Errorf("a second add: %d %s", code, errb.String())
	}
	builtin := writeFile(t, dir, "builtin.toml", "[state]\ndir = \"state\"\n")
	errb.Reset()
	if code := run([]string{"lists", "add", "-config", builtin, "-category", "gambling", "-by", "Pat Doe", "x.com"}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "built into the binary") {
		t.Errorf("add to the built-in lists: %d %s", code, errb.String())
	}
}

// An unapproved messenger is named on the wire (EDE text), in the query
// log and by `lists services`; the approved one resolves.
func TestChatServiceNamedEverywhere(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.20", 300))
	dir := t.TempDir()
	cfg := writeFile(t, dir, "civicdns.toml", "[server]\nlisten = [\"127.0.0.1:0\"]\n[metrics]\nlisten = \"\"\n[upstream]\nservers = [\""+up.Addr+"\"]\n"+
		"[log]\ndir = \"log\"\n[policy]\nblock = [\"chat\"]\napproved_chat = [\"microsoft_teams\", \"slack\"]\n")
	d := startDaemon(t, cfg)
	r := dnstest.Exchange(t, "udp", d.addr, dnstest.Query("web.telegram.org", dns.TypeA))
	ede := ""
	if opt := r.IsEdns0(); opt != nil {
		for _, o := range opt.Option {
			if e, ok := o.(*dns.EDNS0_EDE); ok {
				ede = e.ExtraText
			}
		}
	}
	if ede != "Blocked (chat: Telegram)" {
		t.Errorf("EDE %q", ede)
	}
	for _, name := range []string{"teams.microsoft.com", "app.slack.com"} {
		if got := strings.TrimSpace(dnstest.Dig(t, d.addr, "+short", name, "A")); got != "192.0.2.20" {
			t.Errorf("%s (approved): %q", name, got)
		}
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.waitLog(t, "stopped")
	d.cmd.Wait()
	var out, errb bytes.Buffer
	if code := run([]string{"logs", "-config", cfg, "-action", "blocked"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "web.telegram.org (chat: Telegram)") {
		t.Errorf("logs: %d %s %s", code, out.String(), errb.String())
	}
	out.Reset()
	run([]string{"lists", "services", "-config", cfg}, &out, &errb)
	for _, want := range []string{"telegram             Telegram", "blocked (chat)", "slack                Slack                          workplace chat     APPROVED", "approved citywide: microsoft_teams, slack"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("lists services lacks %q:\n%s", want, out.String())
		}
	}
}

// From a shell, a request a chat service blocked is granted for the whole
// service with -service.
func TestApproveAWholeServiceFromAShell(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := writeFile(t, dir, "civicdns.toml", "[state]\ndir = \"state\"\n[policy]\nmax_exemption = \"36500d\"\n[[department]]\nname = \"Police\"\nnetworks = [\"10.20.0.0/16\"]\n"+
		testDirector("Chief of Police", "Police"))
	store, err := state.Open(filepath.Join(dir, "state"), nil)
	if err != nil {
		t.Fatal(err)
	}
	q, err := store.Submit(state.Request{Client: netip.MustParseAddr("10.20.1.1"), Department: "Police", Name: "web.telegram.org", Category: "chat",
		Matched: "telegram.org", Service: "Telegram", ServiceID: "telegram", Requester: "Pat", Email: "pat@city.example", Reason: "tip line"})
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"exemptions", "-config", cfg, "approve", q.ID, "-by", "Chief of Police", "-expires", "2099-12-31", "-service"}, &out, &errb); code != 0 {
		t.Fatalf("approve -service: %d %s", code, errb.String())
	}
	st, err := store.Load()
	if err != nil {
		t.Fatal(err)
	}
	g := st.Request(q.ID)
	if g == nil || g.Status != state.Approved {
		t.Fatalf("request %+v", g)
	}
	var grant *state.GrantState
	for _, x := range st.Grants {
		grant = x
	}
	if grant == nil || !slices.Contains(grant.Domains, "t.me") || !slices.Contains(grant.Domains, "telegram.org") || grant.Category != "" {
		t.Errorf("grant %+v", grant)
	}
}
