package listreview

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/civicdns/civicdns/blocklists"
	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/civicdns/civicdns/querylog"
	"github.com/miekg/dns"
)

// zone is what the test's DNS server knows: NS and CNAME records by name.
var zone = map[string]string{
	"knowncasino.com. NS":      "ns1.whitelabel-op.net.",
	"newcasino-brand.com. NS":  "ns2.whitelabel-op.net.",
	"www.knowntube.com. CNAME": "edge1.tubeplatform.net.",
	"www.freshtube.com. CNAME": "edge7.tubeplatform.net.",
	"ordinary-news.com. NS":    "ada.ns.cloudflare.com.",
	"knownporn.com. NS":        "bob.ns.cloudflare.com.",
	"bet-arena.com. NS":        "ns1.bet-arena.com.",
}

func serveZone(t *testing.T) string {
	up := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		if v, ok := zone[strings.ToLower(q.Name)+" "+dns.TypeToString[q.Qtype]]; ok {
			rr, _ := dns.NewRR(q.Name + " 300 IN " + dns.TypeToString[q.Qtype] + " " + v)
			m.Answer = append(m.Answer, rr)
		}
		w.WriteMsg(m)
	})
	return up.Addr
}

func TestReviewRanksMissesWithTheirEvidence(t *testing.T) {
	t.Parallel()
	set, err := blocklists.Load(blocklists.Options{DisplayDir: "lists", FS: fstest.MapFS{
		"gambling.toml": {Data: []byte("category = \"gambling\"\nblock = [\"knowncasino.com\"]\nallow = [\"state-lottery.gov\"]\n")},
		"adult.toml":    {Data: []byte("category = \"adult\"\nblock = [\"knowntube.com\", \"knownporn.com\"]\n")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := New(set.Matcher)
	add := func(n int, client, name, action, cat string) {
		for range n {
			r.Add(&querylog.Entry{Client: client, Name: name, Action: action, Category: cat})
		}
	}
	add(5, "10.0.0.1", "www.knowncasino.com", "blocked", "gambling")
	add(3, "10.0.0.2", "www.knowntube.com", "blocked", "adult")
	add(2, "10.0.0.2", "knownporn.com", "blocked", "adult")
	add(9, "10.0.0.3", "play.newcasino-brand.com", "allowed", "")
	add(4, "10.0.0.4", "www.freshtube.com", "allowed", "")
	add(4, "10.0.0.5", "www.freshtube.com", "allowed", "")
	add(20, "10.0.0.6", "www.ordinary-news.com", "allowed", "")
	add(1, "10.0.0.7", "bet-arena.com", "allowed", "")
	add(1, "10.0.0.9", "www.knowncasino.de", "allowed", "")     // the casino's national site
	add(50, "10.0.0.8", "www.state-lottery.gov", "allowed", "") // an allow entry: decided already
	add(50, "10.0.0.8", "8.3.0.10.in-addr.arpa", "allowed", "") // never leaves the city
	cands := r.Ranked(10)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	Evidence(ctx, DNS{Server: serveZone(t)}, cands, r.BlockedSample(20))
	var got []string
	for _, c := range cands {
		line := c.Domain + " " + itoa(c.Queries) + "/" + itoa(c.Clients) + " suggest=" + c.Suggest()
		for _, s := range c.Shared {
			line += " [" + s.Category + " " + s.With + " " + s.Via + "]"
		}
		for _, s := range c.Siblings {
			line += " {" + s.Category + " " + s.Domain + "}"
		}
		for _, w := range c.Words {
			line += " <" + w.Category + ":" + w.Word + ">"
		}
		got = append(got, line)
	}
	want := []string{
		"ordinary-news.com 20/1 suggest=", // on Cloudflare like knownporn.com: sharing a generic host says nothing
		"newcasino-brand.com 9/1 suggest=gambling [gambling knowncasino.com name servers ns2.whitelabel-op.net] <gambling:casino>",
		"freshtube.com 8/2 suggest=adult [adult knowntube.com CNAME target edge7.tubeplatform.net (edge1.tubeplatform.net)]",
		"bet-arena.com 1/1 suggest=gambling <gambling:bet>",
		"knowncasino.de 1/1 suggest=gambling {gambling knowncasino.com} <gambling:casino>",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// Short words count only at a label's edge: "essex" is not adult. A word
// is a lead, not a verdict: "alphabet" ends in "bet".
func TestWordsInTheName(t *testing.T) {
	t.Parallel()
	for domain, want := range map[string]string{
		"essexcounty.com": "", "alphabet.com": "gambling:bet", "betway.com": "gambling:bet", "sexshop.com": "adult:sex",
		"mytorrents.org": "filesharing:torrent", "chatroom.net": "chat:chat", "megacasino.com": "gambling:casino",
	} {
		var got []string
		for _, w := range wordsIn(domain) {
			got = append(got, w.Category+":"+w.Word)
		}
		if strings.Join(got, ",") != want {
			t.Errorf("%s: %v, want %s", domain, got, want)
		}
	}
}
