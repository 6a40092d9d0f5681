package listreview

import (
	"context"
	"sort"
	"strings"
	"sync"

	"golang.org/x/net/publicsuffix"
)

// Resolver looks up a domain's infrastructure.
type Resolver interface {
	NameServers(ctx context.Context, domain string) ([]string, error)
	CNAME(ctx context.Context, name string) (string, error) // "" when the name has none
}

// infra is what a domain runs on: its name servers' and CNAME target's
// providers (registrable domains), the widely shared ones left out.
type infra struct {
	ns    map[string]string // provider → a name server of it
	cname string            // the provider of the CNAME target of the domain or www.domain
	host  string            // that target
}

// genericProviders are DNS hosts, registrars, parking services, clouds and
// CDNs shared by millions of unrelated domains: sharing one says nothing.
var genericProviders = []string{
	"cloudflare.com", "cloudflare.net", "azure-dns.com", "azure-dns.net", "azure-dns.org", "azure-dns.info",
	"googledomains.com", "google.com", "domaincontrol.com", "secureserver.net", "registrar-servers.com",
	"dnsmadeeasy.com", "nsone.net", "dynect.net", "akam.net", "akamai.net", "akamaiedge.net", "edgekey.net",
	"ultradns.com", "ultradns.net", "ultradns.org", "ultradns.biz", "ultradns.info", "name.com", "hostgator.com",
	"bluehost.com", "wixdns.net", "wix.com", "squarespacedns.com", "squarespace.com", "cloudfront.net", "fastly.net",
	"azureedge.net", "amazonaws.com", "herokudns.com", "vercel-dns.com", "netlify.com", "github.io", "digitalocean.com",
	"linode.com", "ovh.net", "hetzner.com", "gandi.net", "namecheaphosting.com", "dns-parking.com", "parkingcrew.net",
	"sedoparking.com", "bodis.com", "above.com", "incapdns.net", "impervadns.net", "edgecastcdn.net", "cdn77.org",
	"b-cdn.net", "stackpathdns.com", "sucuri.net", "worldnic.com", "register.com", "one.com", "hostinger.com",
	"he.net", "siteground.net", "wpengine.com", "myshopify.com", "shopify.com", "wordpress.com", "reg.ru", "nic.ru",
	"yandex.net", "dnspod.net", "alidns.com", "hichina.com", "awsglobalaccelerator.com", "elb.amazonaws.com",
}

// generic reports whether a provider is one of genericProviders (or an
// AWS Route 53 or IONOS name server domain, which come numbered).
func generic(provider string) bool {
	if strings.HasPrefix(provider, "awsdns-") || strings.HasPrefix(provider, "ui-dns.") {
		return true
	}
	for _, g := range genericProviders {
		if provider == g {
			return true
		}
	}
	return false
}

func provider(host string) string {
	p, err := publicsuffix.EffectiveTLDPlusOne(strings.TrimSuffix(strings.ToLower(host), "."))
	if err != nil {
		return ""
	}
	return p
}

// lookup finds a domain's infrastructure; lookup errors leave it empty.
func lookup(ctx context.Context, res Resolver, domain string) infra {
	in := infra{ns: map[string]string{}}
	if hosts, err := res.NameServers(ctx, domain); err == nil {
		for _, h := range hosts {
			if p := provider(h); p != "" && p != domain && !generic(p) {
				in.ns[p] = strings.TrimSuffix(strings.ToLower(h), ".")
			}
		}
	}
	for _, name := range []string{"www." + domain, domain} {
		if t, err := res.CNAME(ctx, name); err == nil && t != "" {
			if p := provider(t); p != "" && p != domain && !generic(p) {
				in.cname, in.host = p, strings.TrimSuffix(strings.ToLower(t), ".")
			}
			break
		}
	}
	return in
}

// Evidence looks up the candidates' and the blocked domains' name servers
// and CNAME targets (parallel, within ctx) and records in each candidate
// what it shares with a blocked domain.
func Evidence(ctx context.Context, res Resolver, cands []Candidate, blocked map[string][]string) {
	var names []string
	for _, c := range cands {
		names = append(names, c.Domain)
	}
	for _, list := range blocked {
		names = append(names, list...)
	}
	domains := make(map[string]infra, len(names))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, d := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			in := lookup(ctx, res, d)
			<-sem
			mu.Lock()
			domains[d] = in
			mu.Unlock()
		}()
	}
	wg.Wait()
	cats := make([]string, 0, len(blocked))
	for c := range blocked {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	for i := range cands {
		cands[i].Shared = shared(domains, cands[i].Domain, cats, blocked)
	}
}

// shared lists what domain shares with each blocked domain, CNAME first.
func shared(domains map[string]infra, domain string, cats []string, blocked map[string][]string) []Shared {
	mine := domains[domain]
	var out []Shared
	for _, cat := range cats {
		for _, b := range blocked[cat] {
			theirs := domains[b]
			if mine.cname != "" && mine.cname == theirs.cname {
				out = append(out, Shared{Category: cat, With: b, Via: "CNAME target " + mine.host + " (" + theirs.host + ")"})
			}
			var same []string
			for p, host := range mine.ns {
				if _, ok := theirs.ns[p]; ok {
					same = append(same, host)
				}
			}
			if len(same) > 0 {
				sort.Strings(same)
				out = append(out, Shared{Category: cat, With: b, Via: "name servers " + strings.Join(same, ", ")})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		return strings.HasPrefix(out[i].Via, "CNAME") && !strings.HasPrefix(out[j].Via, "CNAME")
	})
	return out
}
