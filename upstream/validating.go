package upstream

import (
	"context"
	"errors"

	"github.com/civicdns/civicdns/dnssec"
	"github.com/miekg/dns"
)

// Validating validates what the forwarding upstreams answer (dnssec = true
// in forward mode), so that a city that forwards still gets validation it
// controls. It asks with DO and CD: the upstream hands over the signatures
// and the data as it is, bogus or not, and the verdict is civicdns's own;
// DS and DNSKEY records are fetched through the same upstream.
type Validating struct {
	inner   Upstream
	val     *dnssec.Validator
	observe func(result string)
}

var (
	_ Upstream = (*Validating)(nil)
	_ Answerer = (*Validating)(nil)
)

// NewValidating validates inner's answers against anchors; observe (may be
// nil) is told each outcome: secure, insecure, bogus, unchecked.
func NewValidating(inner Upstream, anchors *dnssec.Anchors, observe func(string), opts Options) *Validating {
	v := &Validating{inner: inner, observe: observe}
	if v.observe == nil {
		v.observe = func(string) {}
	}
	v.val = dnssec.NewValidator(anchors, v, opts.Now)
	return v
}

// Address names the upstream it validates.
func (v *Validating) Address() string { return v.inner.Address() }

// Close closes the upstream.
func (v *Validating) Close() error { return v.inner.Close() }

// Exchange is ExchangeFrom without the server's name.
func (v *Validating) Exchange(ctx context.Context, q *dns.Msg) (*dns.Msg, error) {
	r, _, err := v.ExchangeFrom(ctx, q)
	return r, err
}

// ExchangeFrom forwards q with DO and CD and validates the answer: AD when
// secure, a DNSSEC-kind *Error when bogus, the data unvalidated when the
// client set CD; DNSSEC records only when the client set DO.
func (v *Validating) ExchangeFrom(ctx context.Context, q *dns.Msg) (*dns.Msg, string, error) {
	if len(q.Question) != 1 {
		return nil, "", errors.New("validating: one question expected")
	}
	m := q.Copy()
	m.CheckingDisabled = true
	clientDO := false
	if opt := m.IsEdns0(); opt != nil {
		clientDO = opt.Do()
		opt.SetDo()
	} else {
		m.SetEdns0(dns.DefaultMsgSize, true)
	}
	r, from, err := exchangeFrom(ctx, v.inner, m)
	if err != nil {
		return nil, from, err
	}
	r.AuthenticatedData = false
	if q.CheckingDisabled {
		v.observe("unchecked")
	} else {
		secure, err := v.val.Validate(ctx, r, q.Question[0].Name, q.Question[0].Qtype, "")
		if err != nil {
			v.observe("bogus")
			return nil, from, ValidationError(from, err)
		}
		r.AuthenticatedData = secure
		if secure {
			v.observe("secure")
		} else {
			v.observe("insecure")
		}
	}
	if !clientDO {
		r.Answer, r.Ns = dnssec.Strip(r.Answer, q.Question[0].Qtype), dnssec.Strip(r.Ns, q.Question[0].Qtype)
	}
	return r, from, nil
}

// LookupDNSSEC fetches DS or DNSKEY records through the upstream for the
// validator (dnssec.Source).
func (v *Validating) LookupDNSSEC(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.CheckingDisabled = true
	m.SetEdns0(dns.DefaultMsgSize, true)
	return v.inner.Exchange(ctx, m)
}

func exchangeFrom(ctx context.Context, up Upstream, q *dns.Msg) (*dns.Msg, string, error) {
	if a, ok := up.(Answerer); ok {
		return a.ExchangeFrom(ctx, q)
	}
	r, err := up.Exchange(ctx, q)
	return r, up.Address(), err
}

// ValidationError is a validation failure as the *Error the resolver maps
// to SERVFAIL with Extended DNS Error 6, 7 or 8. Other errors (the keys
// could not be fetched) keep their own kind.
func ValidationError(server string, err error) error {
	var f *dnssec.Failure
	if !errors.As(err, &f) {
		return wrap(server, err)
	}
	kind := KindBogus
	switch f.Kind {
	case dnssec.SignatureExpired:
		kind = KindSigExpired
	case dnssec.SignatureNotYetValid:
		kind = KindSigNotYetValid
	}
	return &Error{Kind: kind, Upstream: server, Err: err}
}
