package recursive

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/civicdns/civicdns/dnssec"
	"github.com/civicdns/civicdns/upstream"
	"github.com/miekg/dns"
)

// Options configure a Resolver.
type Options struct {
	RootHints   string // named.root file; "" means the built-in IANA hints
	DNSSEC      bool   // validate
	TrustAnchor string // DS/DNSKEY file; "" means the built-in root KSKs
	// The files' text when already read (the upstream plan reads them, so
	// that a reload notices a change); the paths then only name them.
	RootHintsText, TrustAnchorText string
	Timeout                        time.Duration // longest wait for one server (default 2 s)
	NoQMIN                         bool          // ask every server the whole name (QNAME minimisation off)
	Port                           int           // servers' port, 53; tests serve a hierarchy on another
	Metrics                        *Metrics      // may be nil
	Now                            func() time.Time
}

// Resolver resolves from the root. It is safe for concurrent use.
type Resolver struct {
	infra   *infra
	val     *dnssec.Validator // nil when not validating
	port    int
	timeout time.Duration
	qmin    bool
	ipv6    bool
	now     func() time.Time
	metrics *Metrics
	bufs    sync.Pool // answer buffers (64 KiB)

	udpDialer upstream.UDPDialer // a fresh port per query
}

var _ upstream.Upstream = (*Resolver)(nil)

// New makes a resolver from its options, reading the hints and anchors.
func New(o Options) (*Resolver, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.Port == 0 {
		o.Port = 53
	}
	var root *delegation
	var err error
	if o.RootHintsText != "" {
		root, err = parseHints(o.RootHints, o.RootHintsText)
	} else {
		root, err = LoadHints(o.RootHints)
	}
	if err != nil {
		return nil, fmt.Errorf("root hints: %w", err)
	}
	r := &Resolver{infra: newInfra(root, o.Now), port: o.Port, timeout: o.Timeout, qmin: !o.NoQMIN, now: o.Now, metrics: o.Metrics, ipv6: hasIPv6()}
	r.bufs.New = func() any { b := make([]byte, 65535); return &b }
	if r.metrics == nil {
		r.metrics = NewMetrics(nil)
	}
	if o.DNSSEC {
		anchors := dnssec.RootAnchors()
		switch {
		case o.TrustAnchorText != "":
			anchors, err = dnssec.ParseAnchors(o.TrustAnchor, o.TrustAnchorText)
		case o.TrustAnchor != "":
			anchors, err = dnssec.LoadAnchors(o.TrustAnchor)
		}
		{
			if err != nil {
				return nil, fmt.Errorf("trust anchor: %w", err)
			}
		}
		r.val = dnssec.NewValidator(anchors, r, o.Now)
	}
	r.metrics.current.Store(r)
	return r, nil
}

// hasIPv6 reports whether the machine has a global IPv6 address to reach
// IPv6 servers from.
func hasIPv6() bool {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() == nil && n.IP.IsGlobalUnicast() {
			return true
		}
	}
	return false
}

// Address names the resolver in logs and the query log.
func (r *Resolver) Address() string { return "recursive" }

// Close closes the waiters kept for UDP exchanges: every exchange has a
// socket of its own.
func (r *Resolver) Close() error { return r.udpDialer.Close() }

// maxResolution is the longest one question is worked on (upstream.Plan's
// worst case for recursion is the same).
const maxResolution = 10 * time.Second

// Exchange resolves q's question from the root. The answer has AD when it
// validated; DNSSEC records only when q has DO; a bogus answer is an
// upstream.Error of a DNSSEC kind; with CD the answer is not validated.
func (r *Resolver) Exchange(ctx context.Context, q *dns.Msg) (*dns.Msg, error) {
	if len(q.Question) != 1 {
		return nil, errors.New("recursive: one question expected")
	}
	// One client question gets maxResolution at most, however the zones
	// it meets behave (the query budget bounds the packets, this the time).
	ctx, cancel := context.WithTimeout(ctx, maxResolution)
	defer cancel()
	w, ctx := workFrom(ctx)
	qs := q.Question[0]
	validate := r.val != nil && !q.CheckingDisabled
	res, err := r.resolve(ctx, dns.CanonicalName(qs.Name), qs.Qtype, validate)
	r.metrics.queriesPerLookup.Observe(float64(w.queries))
	if err != nil {
		return nil, err
	}
	m := new(dns.Msg)
	m.SetReply(q)
	m.RecursionAvailable = true
	m.Rcode = res.rcode
	m.AuthenticatedData = validate && res.secure
	m.Answer, m.Ns = res.answer, res.ns
	do := q.IsEdns0() != nil && q.IsEdns0().Do()
	if !do {
		m.Answer, m.Ns = dnssec.Strip(m.Answer, qs.Qtype), dnssec.Strip(m.Ns, qs.Qtype)
	}
	switch {
	case r.val == nil:
	case q.CheckingDisabled:
		r.metrics.validations.WithLabelValues("unchecked").Inc()
	case res.secure:
		r.metrics.validations.WithLabelValues("secure").Inc()
	default:
		r.metrics.validations.WithLabelValues("insecure").Inc()
	}
	return m, nil
}

// result is a resolved question: the whole CNAME chain, the negative
// answer's SOA (and proofs), and whether every part validated.
type result struct {
	answer []dns.RR
	ns     []dns.RR
	rcode  int
	secure bool
}

// resolve answers name/qtype, following CNAME and DNAME links across zones
// and validating each zone's part when validate.
func (r *Resolver) resolve(ctx context.Context, name string, qtype uint16, validate bool) (*result, error) {
	res := &result{secure: true}
	seen := map[string]bool{}
	sname := name
	for link := 0; ; link++ {
		if link > maxCNAME || seen[sname] {
			return nil, &upstream.Error{Kind: upstream.KindServFail, Upstream: "recursive", Err: fmt.Errorf("CNAME chain from %s too long or looping", name)}
		}
		seen[sname] = true
		st, err := r.iterate(ctx, sname, qtype)
		if err != nil {
			return nil, err
		}
		kept, next := chain(st.msg, sname, qtype)
		part := &dns.Msg{MsgHdr: st.msg.MsgHdr, Answer: kept, Ns: st.msg.Ns}
		if next != "" {
			part.Ns = nil // the chain goes on in another zone: nothing to prove here
		}
		if validate {
			secure, err := r.val.Validate(ctx, part, sname, qtype, st.zone)
			if err != nil {
				r.metrics.validations.WithLabelValues("bogus").Inc()
				return nil, upstream.ValidationError(st.zone, err)
			}
			res.secure = res.secure && secure
		}
		res.answer = append(res.answer, kept...)
		if next == "" {
			res.ns, res.rcode = part.Ns, st.msg.Rcode // RFC 6604: the rcode of the chain's last name
			return res, nil
		}
		sname = next
	}
}

// chain picks from one zone's answer the records that answer sname: the
// records of qtype at sname, or a CNAME (or a DNAME above it, with the CNAME
// it makes) and then the target's records when they are in the answer, with
// their signatures. next is the target still to be resolved ("" when none).
func chain(m *dns.Msg, sname string, qtype uint16) (kept []dns.RR, next string) {
	name := sname
	for hop := 0; hop <= maxCNAME; hop++ {
		if set := rrsAt(m.Answer, name, qtype); len(set) > 0 {
			return append(kept, set...), ""
		}
		// A DNAME first: the server's CNAME beside it is unsigned, ours is made from the DNAME.
		if d, owner := dnameAbove(m.Answer, name); d != nil {
			kept = append(kept, rrsAt(m.Answer, owner, dns.TypeDNAME)...)
			target := strings.TrimSuffix(name, owner) + dns.CanonicalName(d.Target)
			if len(target) > 255 {
				return kept, "" // YXDOMAIN: the substitution is too long
			}
			kept = append(kept, &dns.CNAME{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: d.Hdr.Ttl}, Target: target})
			return kept, target // synthesised by us; the server's unsigned CNAME is not used
		}
		if c := rrsAt(m.Answer, name, dns.TypeCNAME); len(c) > 0 && qtype != dns.TypeCNAME {
			kept = append(kept, c...)
			name = dns.CanonicalName(firstCNAME(c).Target)
			if len(rrsAt(m.Answer, name, dns.TypeCNAME)) == 0 && len(rrsAt(m.Answer, name, qtype)) == 0 {
				return kept, name
			}
			continue
		}
		return kept, ""
	}
	return kept, ""
}

// rrsAt is the RRset of rtype at name, with its RRSIGs.
func rrsAt(rrs []dns.RR, name string, rtype uint16) []dns.RR {
	var out, sigs []dns.RR
	for _, rr := range rrs {
		h := rr.Header()
		if !strings.EqualFold(h.Name, name) {
			continue
		}
		if h.Rrtype == rtype {
			out = append(out, rr)
		} else if s, ok := rr.(*dns.RRSIG); ok && s.TypeCovered == rtype {
			sigs = append(sigs, rr)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return append(out, sigs...)
}

func firstCNAME(rrs []dns.RR) *dns.CNAME {
	for _, rr := range rrs {
		if c, ok := rr.(*dns.CNAME); ok {
			return c
		}
	}
	return nil
}

// dnameAbove finds a DNAME at a proper ancestor of name in the answer.
func dnameAbove(rrs []dns.RR, name string) (*dns.DNAME, string) {
	for _, rr := range rrs {
		if d, ok := rr.(*dns.DNAME); ok {
			owner := dns.CanonicalName(d.Hdr.Name)
			if owner != name && dns.IsSubDomain(owner, name) {
				return d, owner
			}
		}
	}
	return nil, ""
}

// LookupDNSSEC fetches DS or DNSKEY records for the validator, unvalidated,
// within the budget of the client question that needs them.
func (r *Resolver) LookupDNSSEC(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	st, err := r.iterate(ctx, dns.CanonicalName(name), qtype)
	if err != nil {
		return nil, err
	}
	return st.msg, nil
}
