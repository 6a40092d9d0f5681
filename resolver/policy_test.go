package resolver

import (
	"context"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/civicdns/civicdns/live"
	"github.com/civicdns/civicdns/policy"
	"github.com/miekg/dns"
)

// policyConfig makes loopback clients members of departments: 127.0.0.1 is
// Police, 127.0.0.2 the Library (safe search); any other is citywide only.
const policyConfig = forwardTo + `
[lists]
dir = "testdata/lists"
[block]
answer = "blockpage"
blockpage_ipv4 = "10.0.0.53"
blockpage_ipv6 = "fd00::53"
ttl = "45s"
[policy]
block = ["adult", "gambling", "filesharing", "chat"]
max_exemption = "36500d" # the exemption below runs to 2099
[[department]]
name = "Police"
networks = ["127.0.0.1/32"]
block = ["social"]
[[department]]
name = "Library"
networks = ["127.0.0.2/32"]
safesearch = true
[[exemption]]
department = "Police"
category = "chat"
approved_by = "Chief of Police"
reason = "Undercover work"
expires = 2099-12-31
`

// exchangeFrom sends m from a chosen loopback address.
func exchangeFrom(t *testing.T, from, addr string, m *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: "udp", Timeout: 5 * time.Second}
	c.Dialer = &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(from)}}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("exchange from %s: %v", from, err)
	}
	return r
}

// upstreamWithCNAMEs answers "alias.example" with a CNAME chain into a
// gambling name, and everything else with an A.
func upstreamWithCNAMEs(t *testing.T) *dnstest.Upstream {
	return dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		q := r.Question[0]
		m := new(dns.Msg)
		m.SetReply(r)
		switch strings.ToLower(q.Name) {
		case "alias.example.":
			for _, s := range []string{"alias.example. 300 IN CNAME hop.example.", "hop.example. 300 IN CNAME cdn.casino.example.", "cdn.casino.example. 300 IN A 192.0.2.66"} {
				rr, _ := dns.NewRR(s)
				m.Answer = append(m.Answer, rr)
			}
		case "forcesafesearch.google.com.":
			rr, _ := dns.NewRR("forcesafesearch.google.com. 300 IN A 216.239.38.120")
			m.Answer = []dns.RR{rr}
		default:
			if q.Qtype == dns.TypeA {
				rr, _ := dns.NewRR(q.Name + " 300 IN A 192.0.2.1")
				m.Answer = []dns.RR{rr}
			}
		}
		w.WriteMsg(m)
	})
}

func TestBlockedAnswersOnTheWire(t *testing.T) {
	t.Parallel()
	up := upstreamWithCNAMEs(t)
	ts := startServer(t, policyConfig, up.Addr)
	for _, tc := range []struct {
		name    string
		from    string
		qname   string
		qtype   uint16
		rcode   int
		answer  string // the A/AAAA/CNAME in the answer, "" for none
		ede     string // EDE 15 text, "" for none
		comment string
	}{
		{"A → the block page", "127.0.0.9", "www.casino.example", dns.TypeA, dns.RcodeSuccess, "10.0.0.53", "Blocked (gambling)", ""},
		{"AAAA → the block page", "127.0.0.9", "casino.example", dns.TypeAAAA, dns.RcodeSuccess, "fd00::53", "Blocked (gambling)", ""},
		{"other types: empty NOERROR", "127.0.0.9", "casino.example", dns.TypeMX, dns.RcodeSuccess, "", "Blocked (gambling)", ""},
		{"allowed names pass", "127.0.0.9", "news.example", dns.TypeA, dns.RcodeSuccess, "192.0.2.1", "", ""},
		{"social is blocked for Police only", "127.0.0.1", "social.example", dns.TypeA, dns.RcodeSuccess, "10.0.0.53", "Blocked (social)", ""},
		{"not for others", "127.0.0.9", "social.example", dns.TypeA, dns.RcodeSuccess, "192.0.2.1", "", ""},
		{"an exempted lookup gets the real answer", "127.0.0.1", "chat.example", dns.TypeA, dns.RcodeSuccess, "192.0.2.1", "", ""},
		{"CNAME chain into a blocked name", "127.0.0.9", "alias.example", dns.TypeA, dns.RcodeSuccess, "10.0.0.53", "Blocked (gambling)", ""},
		{"the canary is NXDOMAIN", "127.0.0.9", "use-application-dns.net", dns.TypeA, dns.RcodeNameError, "", "Blocked (bypass)", ""},
		{"safe search for the Library", "127.0.0.2", "www.google.com", dns.TypeA, dns.RcodeSuccess, "forcesafesearch.google.com.", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := exchangeFrom(t, tc.from, ts.Addr, dnstest.Query(tc.qname, tc.qtype))
			if r.Rcode != tc.rcode {
				t.Fatalf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tc.rcode])
			}
			got := ""
			if len(r.Answer) > 0 {
				switch rr := r.Answer[0].(type) {
				case *dns.A:
					got = rr.A.String()
					if tc.ede != "" && rr.Hdr.Ttl != 45 {
						t.Errorf("block TTL %d, want 45", rr.Hdr.Ttl)
					}
				case *dns.AAAA:
					got = rr.AAAA.String()
				case *dns.CNAME:
					got = rr.Target
				}
			}
			if got != tc.answer {
				t.Errorf("answer %q, want %q (%v)", got, tc.answer, r.Answer)
			}
			code, text, ok := ede(r)
			if tc.ede == "" {
				if ok {
					t.Errorf("unexpected EDE %d %q", code, text)
				}
				return
			}
			if !ok || code != dns.ExtendedErrorCodeBlocked || text != tc.ede {
				t.Errorf("EDE %d %q, want 15 %q", code, text, tc.ede)
			}
		})
	}
	// A blocked name never reaches the upstream.
	asked := map[string]bool{}
	for len(up.Seen) > 0 {
		asked[(<-up.Seen).Name] = true
	}
	for _, name := range []string{"casino.example.", "www.casino.example.", "use-application-dns.net."} {
		if asked[name] {
			t.Errorf("%s reached the upstream", name)
		}
	}
	if !asked["alias.example."] || !asked["news.example."] {
		t.Errorf("allowed names did not reach the upstream: %v", asked)
	}
	for _, tc := range []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"action": "blocked", "category": "gambling", "department": ""}, 4},
		{map[string]string{"action": "blocked", "category": "social", "department": "Police"}, 1},
		{map[string]string{"action": "exempted", "category": "chat", "department": "Police"}, 1},
	} {
		if got := ts.counter(t, "civicdns_queries_total", tc.labels); got != tc.want {
			t.Errorf("queries_total%v = %v, want %v", tc.labels, got, tc.want)
		}
	}
}

func TestBlockAnswerModes(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.1", 60))
	for _, tc := range []struct {
		mode  string
		qtype uint16
		rcode int
		want  string
	}{
		{"nxdomain", dns.TypeA, dns.RcodeNameError, ""},
		{"null", dns.TypeA, dns.RcodeSuccess, "0.0.0.0"},
		{"null", dns.TypeAAAA, dns.RcodeSuccess, "::"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			cfg := strings.Replace(policyConfig, `answer = "blockpage"`, `answer = "`+tc.mode+`"`, 1)
			ts := startServer(t, cfg, up.Addr)
			r := dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("casino.example", tc.qtype))
			got := ""
			if len(r.Answer) == 1 {
				switch rr := r.Answer[0].(type) {
				case *dns.A:
					got = rr.A.String()
				case *dns.AAAA:
					got = rr.AAAA.String()
				}
			}
			if r.Rcode != tc.rcode || got != tc.want {
				t.Errorf("%s %s: rcode %s answer %q", tc.mode, dns.TypeToString[tc.qtype], dns.RcodeToString[r.Rcode], got)
			}
			if code, _, ok := ede(r); !ok || code != dns.ExtendedErrorCodeBlocked {
				t.Errorf("no EDE 15")
			}
			// Without EDNS the answer carries no OPT (RFC 6891) but is still blocked.
			plain := new(dns.Msg)
			plain.SetQuestion("casino.example.", tc.qtype)
			r = dnstest.Exchange(t, "udp", ts.Addr, plain)
			if r.Rcode != tc.rcode || r.IsEdns0() != nil {
				t.Errorf("without EDNS: rcode %s, OPT %v", dns.RcodeToString[r.Rcode], r.IsEdns0())
			}
		})
	}
}

func TestReloadUnderConcurrentQueries(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.1", 300))
	ts := startServer(t, policyConfig, up.Addr)
	text := "[server]\nlisten = [\"127.0.0.1:0\"]\n" + strings.ReplaceAll(policyConfig, "%s", `"`+up.Addr+`"`)
	cfgA, err := config.Parse("a.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	// B also blocks social citywide.
	cfgB, err := config.Parse("b.toml", []byte(strings.Replace(text, `block = ["adult", "gambling", "filesharing", "chat"]`, `block = ["adult", "gambling", "filesharing", "chat", "social"]`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	polA, err := policy.Load(cfgA, nil)
	if err != nil {
		t.Fatal(err)
	}
	polB, err := policy.Load(cfgB, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var failures, answered atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := []string{"casino.example.", "news.example.", "social.example."}[i%3]
				r, _, err := c.Exchange(dnstest.Query(name, dns.TypeA), ts.Addr)
				if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
					failures.Add(1)
					continue
				}
				a := r.Answer[0].(*dns.A).A.String()
				if name == "casino.example." && a != "10.0.0.53" || name == "news.example." && a != "192.0.2.1" {
					failures.Add(1)
				}
				answered.Add(1)
			}
		}()
	}
	// Swap policies back and forth for as long as it takes to see 300 answers.
	reloads := 0
	for ; answered.Load() < 300 || reloads < 20; reloads++ {
		pol := polA
		if reloads%2 == 1 {
			pol = polB
		}
		if err := ts.Reload(cfgA, pol); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Errorf("%d queries failed or were answered wrongly during reloads", n)
	}
	if got := ts.counter(t, "civicdns_config_reloads_total", map[string]string{"result": "success"}); got != float64(reloads) {
		t.Errorf("reloads counted %v, want %d", got, reloads)
	}
}

// After a reload nothing keeps the old policy alive: a 2M-name matcher must
// not be kept twice.
func TestReloadReleasesTheOldPolicy(t *testing.T) {
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.1", 300))
	text := "[server]\nlisten = [\"127.0.0.1:0\"]\n" + strings.ReplaceAll(policyConfig, "%s", `"`+up.Addr+`"`)
	cfg0, err := config.Parse("a.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	first, err := policy.Load(cfg0, nil)
	if err != nil {
		t.Fatal(err)
	}
	state, err := live.New(cfg0, first, live.Options{}) // as the daemon makes it
	if err != nil {
		t.Fatal(err)
	}
	defer state.Close()
	srv, err := New(Options{State: state})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	ts := &testServer{Server: srv, State: state, Addr: srv.Addrs()[0].String()}
	collected := make(chan struct{})
	runtime.AddCleanup(first, func(struct{}) { close(collected) }, struct{}{})
	first = nil
	dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("casino.example", dns.TypeA))
	cfg := ts.State.Snapshot().Config
	pol, err := policy.Load(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg0 = nil
	if err := ts.Reload(cfg, pol); err != nil {
		t.Fatal(err)
	}
	dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("casino.example", dns.TypeA))
	deadline := time.After(10 * time.Second)
	for {
		runtime.GC()
		select {
		case <-collected:
			return
		case <-deadline:
			t.Fatal("the policy replaced by the reload is still referenced")
		case <-time.After(10 * time.Millisecond): // let the cleanup goroutine run
		}
	}
}

// An exemption approved through the state store lifts the block for the
// very next query of that department, without a reload; revoking it
// restores the block at once.
func TestStoreExemptionTakesEffectWithoutAReload(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.1", 300))
	ts := startServer(t, policyConfig, up.Addr)
	ask := func() string {
		r := exchangeFrom(t, "127.0.0.1", ts.Addr, dnstest.Query("casino.example", dns.TypeA))
		return dnstest.FirstA(r)
	}
	if ip := ask(); ip != "10.0.0.53" {
		t.Fatalf("before: %s, want the block page", ip)
	}
	reloads := ts.counter(t, "civicdns_config_reloads_total", map[string]string{"result": "success"})
	approved := &policy.Exemption{ID: "r-1", Department: "Police", Category: "gambling", ApprovedBy: "Chief of Police",
		Reason: "Fraud unit", Expires: ts.Clock.Now().Add(24 * time.Hour), Source: policy.SourceStore}
	ts.State.SetStoreExemptions([]*policy.Exemption{approved})
	if ip := ask(); ip != "192.0.2.1" {
		t.Errorf("after the approval: %s, want the real address", ip)
	}
	if ip := dnstest.FirstA(exchangeFrom(t, "127.0.0.2", ts.Addr, dnstest.Query("casino.example", dns.TypeA))); ip != "10.0.0.53" {
		t.Errorf("another department: %s, want the block page", ip)
	}
	ts.State.SetStoreExemptions(nil) // revoked
	if ip := ask(); ip != "10.0.0.53" {
		t.Errorf("after the revocation: %s, want the block page", ip)
	}
	if got := ts.counter(t, "civicdns_config_reloads_total", map[string]string{"result": "success"}); got != reloads {
		t.Errorf("a reload happened (%v → %v)", reloads, got)
	}
}

// A label that contains a dot ("www.pokerstars" as one label) is not the
// name www.pokerstars.com: names are compared label by label.
func TestALabelWithADotIsOneLabel(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.1", 300))
	ts := startServer(t, policyConfig, up.Addr)
	// casino.example is listed; "www.casino" + "example" is another name.
	m := dnstest.Query(`www\.casino.example`, dns.TypeA)
	r := exchangeFrom(t, "127.0.0.3", ts.Addr, m)
	if ip := dnstest.FirstA(r); ip != "192.0.2.1" {
		t.Errorf(`www\.casino.example: %s, want the upstream's answer`, ip)
	}
	if code, _, ok := ede(r); ok && code == dns.ExtendedErrorCodeBlocked {
		t.Error("blocked")
	}
	// The upstream was asked for the same one label, not for casino.example.
	if q := <-up.Seen; q.Name != `www\.casino.example.` {
		t.Errorf("upstream asked %q", q.Name)
	}
	r = exchangeFrom(t, "127.0.0.3", ts.Addr, dnstest.Query("www.casino.example", dns.TypeA))
	if ip := dnstest.FirstA(r); ip != "10.0.0.53" {
		t.Errorf("www.casino.example: %s, want the block page", ip)
	}
}

// A suspended device gets every name blocked as "suspended" but the
// [policy] allow names, live at once, until restored or its end.
func TestSuspendedDeviceGetsEveryNameBlocked(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.1", 300))
	ts := startServer(t, strings.Replace(policyConfig, `block = ["adult", "gambling", "filesharing", "chat"]`,
		`block = ["adult", "gambling", "filesharing", "chat"]`+"\nallow = [\"city.example\"]", 1), up.Addr)
	ask := func(from, name string) (string, string) {
		r := exchangeFrom(t, from, ts.Addr, dnstest.Query(name, dns.TypeA))
		_, text, _ := ede(r)
		return dnstest.FirstA(r), text
	}
	ts.State.SetSuspensions([]*policy.Suspension{{ID: "S-1", Client: netip.MustParsePrefix("127.0.0.1/32"), By: "Chief", Reason: "misuse",
		Until: ts.Clock.Now().Add(time.Hour)}})
	if ip, text := ask("127.0.0.1", "news.example"); ip != "10.0.0.53" || text != "Blocked (suspended)" {
		t.Errorf("suspended device: %s %q", ip, text)
	}
	if ip, _ := ask("127.0.0.1", "www.city.example"); ip != "192.0.2.1" {
		t.Errorf("a [policy] allow name for a suspended device: %s", ip)
	}
	if ip, _ := ask("127.0.0.2", "news.example"); ip != "192.0.2.1" {
		t.Errorf("another device: %s", ip)
	}
	ts.Clock.Advance(2 * time.Hour) // past its end
	if ip, _ := ask("127.0.0.1", "news.example"); ip != "192.0.2.1" {
		t.Errorf("after the suspension ended: %s", ip)
	}
	ts.State.SetSuspensions(nil)
}
