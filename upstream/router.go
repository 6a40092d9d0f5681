package upstream

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Router sends each question to the group of the longest configured zone
// that contains its name (conditional forwarding), or to the default group.
type Router struct {
	zones []zoneRoute // longest first
	def   Upstream
}

type zoneRoute struct {
	name string // normalised, no trailing dot
	up   Upstream
}

var _ Upstream = (*Router)(nil)

// NewRouter makes a router; zones maps a normalised zone name to its upstream.
func NewRouter(def Upstream, zones map[string]Upstream) *Router {
	r := &Router{def: def}
	for name, up := range zones {
		r.zones = append(r.zones, zoneRoute{name: name, up: up})
	}
	sort.Slice(r.zones, func(i, j int) bool { return len(r.zones[i].name) > len(r.zones[j].name) })
	return r
}

// Pick returns the upstream for a lower-case name without trailing dot.
func (r *Router) Pick(name string) Upstream {
	for _, z := range r.zones {
		if name == z.name || strings.HasSuffix(name, z.name) && name[len(name)-len(z.name)-1] == '.' {
			return z.up
		}
	}
	return r.def
}

// Exchange forwards q to the upstream Pick chooses for its name.
func (r *Router) Exchange(ctx context.Context, q *dns.Msg) (*dns.Msg, error) {
	if len(q.Question) != 1 {
		return nil, errors.New("router: one question expected")
	}
	name := strings.ToLower(strings.TrimSuffix(q.Question[0].Name, "."))
	return r.Pick(name).Exchange(ctx, q)
}

// ExchangeFrom is Exchange, also naming the server that answered.
func (r *Router) ExchangeFrom(ctx context.Context, q *dns.Msg) (*dns.Msg, string, error) {
	if len(q.Question) != 1 {
		return nil, "", errors.New("router: one question expected")
	}
	up := r.Pick(strings.ToLower(strings.TrimSuffix(q.Question[0].Name, ".")))
	if a, ok := up.(Answerer); ok {
		return a.ExchangeFrom(ctx, q)
	}
	m, err := up.Exchange(ctx, q)
	return m, up.Address(), err
}

// ExchangeWire forwards a query in wire form for name (lower case, no
// trailing dot) to the upstream Pick chooses, and returns the answer in
// wire form (WireAnswerer).
func (r *Router) ExchangeWire(ctx context.Context, name string, query []byte) ([]byte, string, error) {
	up := r.Pick(name)
	if w, ok := up.(WireAnswerer); ok {
		return w.ExchangeWire(ctx, name, query)
	}
	ans, err := askWire(ctx, time.Time{}, up, query)
	return ans, up.Address(), err
}

// Address names the default upstream.
func (r *Router) Address() string { return r.def.Address() }

// Close closes every group.
func (r *Router) Close() error {
	errs := []error{r.def.Close()}
	for _, z := range r.zones {
		errs = append(errs, z.up.Close())
	}
	return errors.Join(errs...)
}
