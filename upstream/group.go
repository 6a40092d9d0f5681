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
	// The order is fixed before the first try: a member that fails now is
	// set aside, and must not come round again in this exchange.
	now := g.now().UnixNano()
	order := make([]*member, 0, len(g.members))
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
			return nil, "", g.failed(wrap(m.up.Address(), ctx.Err()))
		}
		r, err := g.try(ctx, m, q.Copy())
		if err == nil {
			return r, m.up.Address(), nil
		}
		lastErr = err
		if !KindOf(err).Failover() {
			break
		}
	}
	if lastErr == nil {
		lastErr = &Error{Kind: KindOther, Upstream: g.Address(), Err: errors.New("no upstream configured")}
	}
	return nil, "", g.failed(lastErr)
}

// failed is the error of an exchange no member could answer: ErrAllFailed,
// with the last member's *Error (and so its Kind) in the chain.
func (g *Group) failed(last error) error { return fmt.Errorf("%w: %w", ErrAllFailed, last) }

func (g *Group) try(ctx context.Context, m *member, q *dns.Msg) (*dns.Msg, error) {
	tctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	start := g.now()
	r, err := m.up.Exchange(tctx, q)
	switch {
	case err != nil:
		err = wrap(m.up.Address(), err)
	case r.Rcode == dns.RcodeServerFailure:
		err = &Error{Kind: KindServFail, Upstream: m.up.Address(), Err: errors.New("answered SERVFAIL")}
	case r.Rcode == dns.RcodeRefused:
		err = &Error{Kind: KindRefused, Upstream: m.up.Address(), Err: errors.New("answered REFUSED")}
	}
	if g.obs != nil {
		g.obs.ObserveExchange(m.up.Address(), g.now().Sub(start), err)
	}
	if err != nil {
		n := m.fails.Add(1)
		backoff := time.Second << min(n-1, 5)
		m.downUntil.Store(g.now().Add(min(backoff, 30*time.Second)).UnixNano())
		return nil, err
	}
	m.fails.Store(0)
	m.downUntil.Store(0)
	return r, nil
}
