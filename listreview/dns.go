package listreview

import (
	"context"
	"time"

	"github.com/miekg/dns"
)

// DNS is a Resolver that asks one DNS server (the city's upstream).
type DNS struct {
	Server  string // host:port
	Timeout time.Duration
}

func (r DNS) exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	c := &dns.Client{Timeout: r.Timeout}
	if r.Timeout == 0 {
		c.Timeout = 2 * time.Second
	}
	in, _, err := c.ExchangeContext(ctx, m, r.Server)
	if err == nil && in.Truncated {
		c.Net = "tcp"
		in, _, err = c.ExchangeContext(ctx, m, r.Server)
	}
	return in, err
}

// NameServers returns the NS records of domain.
func (r DNS) NameServers(ctx context.Context, domain string) ([]string, error) {
	in, err := r.exchange(ctx, domain, dns.TypeNS)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range in.Answer {
		if ns, ok := rr.(*dns.NS); ok {
			out = append(out, ns.Ns)
		}
	}
	return out, nil
}

// CNAME returns the first CNAME target of name ("" when it has none).
func (r DNS) CNAME(ctx context.Context, name string) (string, error) {
	in, err := r.exchange(ctx, name, dns.TypeCNAME)
	if err != nil {
		return "", err
	}
	for _, rr := range in.Answer {
		if c, ok := rr.(*dns.CNAME); ok {
			return c.Target, nil
		}
	}
	return "", nil
}
