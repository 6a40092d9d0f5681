package recursive

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/civicdns/civicdns/dnssec"
	"github.com/civicdns/civicdns/upstream"
	"github.com/miekg/dns"
)

// The limits that keep one client question from turning into a flood: a
// malicious zone (delegations in circles, hundreds of name servers, endless
// CNAMEs) makes civicdns give up, never amplify.
const (
	maxReferrals    = 30 // zone cuts followed for one name
	maxCNAME        = 12 // CNAME and DNAME links in one answer
	maxQueries      = 64 // queries to servers for one client question, DNSSEC fetches included
	maxGlueless     = 3  // name servers of one zone resolved without glue
	maxGluelessNest = 4  // glueless lookups inside glueless lookups
	maxServerTries  = 6  // servers of one zone tried for one question
	maxMinimise     = 10 // QNAME minimisation steps before the full name is asked
	failedNSTTL     = 30 * time.Second
)

// work is the budget of one client question, shared by every lookup it
// causes (it travels in the context so that DNSSEC fetches count too).
type work struct {
	queries int
	nest    int
	busy    map[string]bool // name server names being resolved (cycles)
}

type workKey struct{}

func workFrom(ctx context.Context) (*work, context.Context) {
	if w, ok := ctx.Value(workKey{}).(*work); ok {
		return w, ctx
	}
	w := &work{busy: map[string]bool{}}
	return w, context.WithValue(ctx, workKey{}, w)
}

var errBudget = errors.New("too many queries for one question (a zone delegating in circles, or too many name servers)")

// step is what one zone's servers said of a name: the answer, kept to the
// zone's bailiwick, and the zone.
type step struct {
	msg  *dns.Msg
	zone string
}

// iterate follows referrals from the closest known delegation down to the
// zone that answers for name (for DS, the parent side of the cut), asking
// minimised names on the way.
func (r *Resolver) iterate(ctx context.Context, name string, qtype uint16) (*step, error) {
	w, ctx := workFrom(ctx)
	start := name
	if qtype == dns.TypeDS && name != "." {
		start = dnssec.Parent(name) // the DS records are the parent's
	}
	d := r.infra.closest(start)
	if d == r.infra.root {
		d = r.prime(ctx)
	}
	known := dns.CountLabel(d.zone) // labels of name known to have no cut above
	minimise, steps := r.qmin, 0
	for referrals := 0; referrals <= maxReferrals; {
		askName, askType := name, qtype
		if minimise && steps < maxMinimise {
			if n := max(known, dns.CountLabel(d.zone)) + 1; n < dns.CountLabel(name) {
				askName, askType = dnssec.LastLabels(name, n), dns.TypeA
				steps++
			}
		}
		resp, err := r.askZone(ctx, w, d, askName, askType)
		if err != nil {
			return nil, err
		}
		if child := r.referral(resp, d.zone, askName); child != nil {
			if qtype == dns.TypeDS && child.zone == name && askName == name {
				return nil, &upstream.Error{Kind: upstream.KindServFail, Upstream: d.zone, Err: fmt.Errorf("the servers of %s referred the DS question for %s to the child", d.zone, name)}
			}
			r.infra.addDelegation(child)
			d, known = child, dns.CountLabel(child.zone)
			referrals++
			continue
		}
		if askName != name {
			if resp.Rcode == dns.RcodeNameError || hasCNAME(resp, askName) {
				minimise = false // relaxed (RFC 9156 §2.3): ask the whole name
			} else {
				known = dns.CountLabel(askName) // no zone cut there
			}
			continue
		}
		return &step{msg: inBailiwick(resp, d.zone), zone: d.zone}, nil
	}
	return nil, &upstream.Error{Kind: upstream.KindServFail, Upstream: d.zone, Err: fmt.Errorf("more than %d referrals for %s", maxReferrals, name)}
}

// askZone asks the zone's servers, fastest first, until one answers usefully.
func (r *Resolver) askZone(ctx context.Context, w *work, d *delegation, name string, qtype uint16) (*dns.Msg, error) {
	addrs := r.addrsOf(ctx, w, d)
	if len(addrs) == 0 {
		return nil, &upstream.Error{Kind: upstream.KindServFail, Upstream: d.zone, Err: fmt.Errorf("no address for any name server of %s", d.zone)}
	}
	var last error
	for i, a := range r.infra.order(addrs) {
		if i == maxServerTries {
			break
		}
		if w.queries >= maxQueries {
			return nil, &upstream.Error{Kind: upstream.KindServFail, Upstream: d.zone, Err: errBudget}
		}
		w.queries++
		resp, err := r.exchange(ctx, a, name, qtype)
		if err != nil {
			last = err
			if ctx.Err() != nil {
				return nil, err
			}
			continue
		}
		if why := lame(resp, d.zone, name); why != "" {
			r.infra.stat(a).failed(r.now())
			r.metrics.serverFailure("lame")
			kind := upstream.KindServFail
			if resp.Rcode == dns.RcodeRefused {
				kind = upstream.KindRefused
			}
			last = &upstream.Error{Kind: kind, Upstream: a.String(), Err: fmt.Errorf("lame for %s: %s", d.zone, why)}
			continue
		}
		return resp, nil
	}
	return nil, last
}

// lame says why an answer is of no use ("" when it is): a server that does
// not serve the zone it was delegated, or that failed.
func lame(resp *dns.Msg, zone, name string) string {
	switch resp.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
	default:
		return dns.RcodeToString[resp.Rcode]
	}
	if resp.Authoritative || len(resp.Answer) > 0 {
		return ""
	}
	for _, rr := range resp.Ns {
		h := rr.Header()
		switch h.Rrtype {
		case dns.TypeNS:
			owner := dns.CanonicalName(h.Name)
			if owner != zone && dns.IsSubDomain(zone, owner) && dns.IsSubDomain(owner, name) {
				return "" // a referral down
			}
		case dns.TypeSOA:
			if dns.IsSubDomain(zone, h.Name) {
				return "" // a negative answer without AA, as some servers send
			}
		}
	}
	return "neither an answer nor a referral down (upward or sideways referral)"
}

// referral returns the delegation a referral answer hands on to, or nil.
// Only a zone below the one asked and above the name is believed, and only
// glue inside the asked zone's bailiwick.
func (r *Resolver) referral(resp *dns.Msg, zone, name string) *delegation {
	if resp.Rcode != dns.RcodeSuccess || len(resp.Answer) > 0 || resp.Authoritative {
		return nil
	}
	var d *delegation
	ttl := maxNSTTL
	for _, rr := range resp.Ns {
		ns, ok := rr.(*dns.NS)
		if !ok {
			continue
		}
		owner := dns.CanonicalName(ns.Hdr.Name)
		if owner == zone || !dns.IsSubDomain(zone, owner) || !dns.IsSubDomain(owner, name) {
			continue
		}
		if d == nil {
			d = &delegation{zone: owner, addrs: map[string][]netip.Addr{}}
		} else if owner != d.zone {
			continue
		}
		d.ns = append(d.ns, dns.CanonicalName(ns.Ns))
		ttl = min(ttl, time.Duration(ns.Hdr.Ttl)*time.Second)
	}
	if d == nil {
		return nil
	}
	d.addGlue(resp.Extra, zone)
	d.expires = r.now().Add(max(ttl, 5*time.Second))
	return d
}

// addrsOf lists the addresses of a zone's servers: glue, addresses learnt
// before, else up to maxGlueless name server names resolved now.
func (r *Resolver) addrsOf(ctx context.Context, w *work, d *delegation) []netip.Addr {
	var out []netip.Addr
	for _, ns := range d.ns {
		out = append(out, d.addrs[ns]...)
		if len(d.addrs[ns]) == 0 {
			if a, ok := r.infra.knownAddrs(ns); ok {
				out = append(out, a...)
			}
		}
	}
	if d.zone == "." {
		for _, a := range d.addrs {
			out = append(out, a...)
		}
		out = uniq(out)
	}
	if len(out) > 0 {
		return r.usable(out)
	}
	tried := 0
	for _, ns := range d.ns {
		if tried == maxGlueless || w.queries >= maxQueries {
			break
		}
		if dns.IsSubDomain(d.zone, ns) || w.busy[ns] || w.nest >= maxGluelessNest {
			continue // in-zone without glue, or already being resolved: a cycle
		}
		if _, known := r.infra.knownAddrs(ns); known {
			continue // known to have no address (failed a moment ago)
		}
		tried++
		out = append(out, r.resolveAddrs(ctx, w, ns)...)
		if len(out) > 0 {
			break
		}
	}
	return r.usable(out)
}

// usable drops the addresses civicdns cannot reach (IPv6 without IPv6).
func (r *Resolver) usable(addrs []netip.Addr) []netip.Addr {
	out := addrs[:0:0]
	for _, a := range addrs {
		if a.Is4() || r.ipv6 {
			out = append(out, a)
		}
	}
	return out
}

// resolveAddrs resolves a name server's addresses (a glueless delegation).
func (r *Resolver) resolveAddrs(ctx context.Context, w *work, ns string) []netip.Addr {
	w.busy[ns] = true
	w.nest++
	defer func() { delete(w.busy, ns); w.nest-- }()
	var out []netip.Addr
	ttl := maxNSTTL
	types := []uint16{dns.TypeA}
	if r.ipv6 {
		types = append(types, dns.TypeAAAA)
	}
	for _, t := range types {
		res, err := r.resolve(ctx, ns, t, false)
		if err != nil {
			continue
		}
		for _, rr := range res.answer {
			if a, ok := addrOf(rr); ok {
				out = append(out, a)
				ttl = min(ttl, time.Duration(rr.Header().Ttl)*time.Second)
			}
		}
	}
	if len(out) > 0 {
		r.infra.addAddrs(ns, out, max(ttl, 5*time.Second))
	} else if ctx.Err() == nil {
		// Remembered for a while, so that a zone whose name servers cannot
		// be resolved does not cost every question about it the same queries.
		r.infra.addAddrs(ns, nil, failedNSTTL)
	}
	return out
}

// inBailiwick keeps only the records a zone's server may speak for: those
// at or below the zone (RFC 5452 §6). The rest are neither used nor cached.
func inBailiwick(resp *dns.Msg, zone string) *dns.Msg {
	keep := func(rrs []dns.RR) []dns.RR {
		out := rrs[:0:0]
		for _, rr := range rrs {
			if rr.Header().Rrtype != dns.TypeOPT && dns.IsSubDomain(zone, dns.CanonicalName(rr.Header().Name)) {
				out = append(out, rr)
			}
		}
		return out
	}
	m := resp.Copy()
	m.Answer, m.Ns, m.Extra = keep(m.Answer), keep(m.Ns), nil
	return m
}

func hasCNAME(resp *dns.Msg, name string) bool {
	for _, rr := range resp.Answer {
		if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, name) {
			return true
		}
	}
	return false
}

func uniq(addrs []netip.Addr) []netip.Addr {
	seen := map[netip.Addr]bool{}
	out := addrs[:0]
	for _, a := range addrs {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

// prime asks the root servers of the hints for the root's current name
// servers (RFC 8109) and keeps them for their TTL; until that works, the
// hints themselves serve.
func (r *Resolver) prime(ctx context.Context) *delegation {
	now := r.now()
	if d, ok := r.infra.zones.Get("."); ok && now.Before(d.expires) {
		return d
	}
	w, ctx := workFrom(ctx)
	resp, err := r.askZone(ctx, w, r.infra.root, ".", dns.TypeNS)
	if err != nil {
		return r.infra.root
	}
	d := &delegation{zone: ".", addrs: map[string][]netip.Addr{}}
	ttl := maxNSTTL
	for _, rr := range resp.Answer {
		if ns, ok := rr.(*dns.NS); ok && ns.Hdr.Name == "." {
			d.ns = append(d.ns, dns.CanonicalName(ns.Ns))
			ttl = min(ttl, time.Duration(ns.Hdr.Ttl)*time.Second)
		}
	}
	d.addGlue(resp.Extra, ".")
	if len(r.usable(flatten(d.addrs))) == 0 {
		return r.infra.root // no usable address in the answer: keep the hints
	}
	d.expires = now.Add(max(ttl, time.Minute))
	r.infra.addDelegation(d)
	return d
}

func flatten(m map[string][]netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, a := range m {
		out = append(out, a...)
	}
	return out
}
