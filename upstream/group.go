package upstream

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// RetransmitObserver is an Observer that also counts the UDP queries sent
// again for want of an answer, per upstream.
type RetransmitObserver interface {
	ObserveRetransmit(upstream string)
}

// Observer is told about every exchange with an upstream (metrics).
type Observer interface {
	ObserveExchange(upstream string, took time.Duration, err error)
}

// Group asks its upstreams in order, the healthy ones first, moving on to
// the next when one fails or times out. An upstream that fails is set aside
// for a while that grows with each consecutive failure (up to 30s), and comes
// back on its first success.
type Group struct {
	members []*member
	timeout time.Duration
	now     func() time.Time
	obs     Observer
}

type member struct {
	up        Upstream
	fails     atomic.Int32
	downUntil atomic.Int64 // unix nanoseconds
}

// NewGroup makes a failover group with a timeout for each try.
func NewGroup(ups []Upstream, timeout time.Duration, obs Observer, now func() time.Time) *Group {
	g := &Group{timeout: timeout, obs: obs, now: now}
	for _, u := range ups {
		g.members = append(g.members, &member{up: u})
	}
	return g
}

// Address lists the members.
func (g *Group) Address() string {
	names := make([]string, len(g.members))
	for i, m := range g.members {
		names[i] = m.up.Address()
	}
	return strings.Join(names, ",")
}

// Close closes every member.
func (g *Group) Close() error {
	var errs []error
	for _, m := range g.members {
		errs = append(errs, m.up.Close())
	}
	return errors.Join(errs...)
}

// Exchange tries each member once, the healthy ones first in configured
// order, then the ones set aside, until one gives a usable answer (anything
// but SERVFAIL or REFUSED). Each try gets its own timeout; ctx bounds the
// whole. A failure another server cannot mend (DNSSEC) ends it at once.
func (g *Group) Exchange(ctx context.Context, q *dns.Msg) (*dns.Msg, error) {
	r, _, err := g.ExchangeFrom(ctx, q)
	return r, err
}

// ExchangeFrom is Exchange, also naming the member that answered.
func (g *Group) ExchangeFrom(ctx context.Context, q *dns.Msg) (*dns.Msg, string, error) {
	var r *dns.Msg
	from, err := g.each(ctx, func(ctx context.Context, deadline time.Time, up Upstream) (int, error) {
		ctx, cancel := context.WithDeadline(ctx, deadline)
		defer cancel()
		var err error
		if r, err = up.Exchange(ctx, q.Copy()); err != nil {
			return 0, err
		}
		return r.Rcode, nil
	})
	if err != nil {
		return nil, "", err
	}
	return r, from, nil
}

// ExchangeWire is ExchangeFrom for a query in wire form (its ID is set in
// place): the answer comes back in wire form, unparsed. Members that only
// speak messages (DNS over TLS) are asked with the query unpacked.
func (g *Group) ExchangeWire(ctx context.Context, _ string, query []byte) ([]byte, string, error) {
	var ans []byte
	from, err := g.each(ctx, func(ctx context.Context, deadline time.Time, up Upstream) (int, error) {
		var err error
		if ans, err = askWire(ctx, deadline, up, query); err != nil {
			return 0, err
		}
		return int(ans[3] & 0xF), nil
	})
	if err != nil {
		return nil, "", err
	}
	return ans, from, nil
}

// askWire asks up with a query in wire form until deadline (zero:
// none), unpacking it and packing the answer for an upstream that only
// speaks messages.
func askWire(ctx context.Context, deadline time.Time, up Upstream, query []byte) ([]byte, error) {
	if p, ok := up.(*Plain); ok {
		return p.exchangeWire(ctx, deadline, query)
	}
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	q := new(dns.Msg)
	if err := q.Unpack(query); err != nil {
		return nil, err
	}
	r, err := up.Exchange(ctx, q)
	if err != nil {
		return nil, err
	}
	return r.Pack()
}

// each asks the members in turn, the healthy ones first in configured
// order, then the ones set aside, until one gives a usable answer
// (anything but SERVFAIL or REFUSED), and names it. ask makes one try,
// ending at its deadline; it returns the answer's rcode.
func (g *Group) each(ctx context.Context, ask func(context.Context, time.Time, Upstream) (rcode int, err error)) (string, error) {
	// The order is fixed before the first try: a member that fails now is
	// set aside, and must not come round again in this exchange.
	now := g.now().UnixNano()
	var buf [8]*member
	order := buf[:0]
	for _, healthy := range []bool{true, false} {
		for _, m := range g.members {
			if (m.downUntil.Load() <= now) == healthy {
				order = append(order, m)
			}
		}
	}
	var lastErr error
	for _, m := range order {
		if ctx.Err() != nil {
			return "", g.failed(wrap(m.up.Address(), ctx.Err()))
		}
		err := g.try(ctx, m, ask)
		if err == nil {
			return m.up.Address(), nil
		}
		lastErr = err
		if !KindOf(err).Failover() {
			break
		}
	}
	if lastErr == nil {
		lastErr = &Error{Kind: KindOther, Upstream: g.Address(), Err: errors.New("no upstream configured")}
	}
	return "", g.failed(lastErr)
}

// failed is the error of an exchange no member could answer: ErrAllFailed,
// with the last member's *Error (and so its Kind) in the chain.
func (g *Group) failed(last error) error { return fmt.Errorf("%w: %w", ErrAllFailed, last) }

func (g *Group) try(ctx context.Context, m *member, ask func(context.Context, time.Time, Upstream) (int, error)) error {
	start := g.now()
	rcode, err := ask(ctx, time.Now().Add(g.timeout), m.up)
	switch {
	case err != nil:
		err = wrap(m.up.Address(), err)
	case rcode == dns.RcodeServerFailure:
		err = &Error{Kind: KindServFail, Upstream: m.up.Address(), Err: errors.New("answered SERVFAIL")}
	case rcode == dns.RcodeRefused:
		err = &Error{Kind: KindRefused, Upstream: m.up.Address(), Err: errors.New("answered REFUSED")}
	}
	if g.obs != nil {
		g.obs.ObserveExchange(m.up.Address(), g.now().Sub(start), err)
	}
	if err != nil {
		n := m.fails.Add(1)
		backoff := time.Second << min(n-1, 5)
		m.downUntil.Store(g.now().Add(min(backoff, 30*time.Second)).UnixNano())
		return err
	}
	m.fails.Store(0)
	m.downUntil.Store(0)
	return nil
}
