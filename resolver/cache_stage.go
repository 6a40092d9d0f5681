package resolver

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/civicdns/civicdns/dnswire"
	"github.com/miekg/dns"
)

// cacheStage answers from the cache, and on a miss asks the upstream once
// for all the clients asking the same question at that moment. It keeps
// popular entries fresh by refreshing them shortly before they expire, and
// answers from expired entries when every upstream fails (RFC 8767).
type cacheStage struct {
	s      *Server
	flight flightGroup
}

func (st *cacheStage) Name() string { return "cache" }

// prefetchMinHits is how often an entry must be asked for in its lifetime to
// be refreshed before it expires; prefetchWindow the last part of its TTL
// in which the refresh starts.
const (
	prefetchMinHits = 3
	prefetchWindow  = 10 // the last 1/10th
	prefetchMinTTL  = 10 * time.Second
)

func (st *cacheStage) Resolve(ctx context.Context, q *Query) error {
	m := &q.Msg
	e, how, err := st.entryFor(q, nameString(m.Name), m.QType, m.QClass, questionBits(m))
	switch {
	case err == errWouldBlock:
		return err
	case err != nil:
		q.Err = err
		q.errorAnswer(dnswire.RcodeServFail, int(dns.ExtendedErrorCodeNoReachableAuthority), "no upstream answered")
		return nil
	}
	e.writeAnswer(q, q.Received, how == fromStale)
	q.Cached = how != fromUpstream
	return nil
}

// How an entry was found.
const (
	fromCache = iota
	fromUpstream
	fromStale
)

// entryFor returns the answer for a question: from the cache when fresh,
// else from the upstream (errWouldBlock when q may not wait), else from the
// expired entry when every upstream fails and serve_stale allows it.
func (st *cacheStage) entryFor(q *Query, name string, qtype, qclass uint16, bits uint8) (*entry, int, error) {
	s := st.s
	h := s.cache.key(name, qtype, qclass, bits)
	now := q.Received
	e := s.cache.get(h, name, qtype, qclass, bits)
	if e != nil && e.fresh(now) {
		s.metrics.cacheHits.Inc()
		st.maybePrefetch(q, e, h)
		return e, fromCache, nil
	}
	if !q.MayBlock {
		return nil, 0, errWouldBlock
	}
	s.metrics.cacheMisses.Inc()
	cfg := &q.snap.cfg.Cache
	staleOK := e != nil && now.Sub(e.stored) < e.ttl+cfg.ServeStale.D()
	var fresh *entry
	var err error
	if staleOK && cfg.StaleAfter > 0 {
		fresh, err = st.fetchOrStale(h, name, qtype, qclass, bits, cfg.StaleAfter.D())
	} else {
		fresh, err = st.fetch(h, name, qtype, qclass, bits)
	}
	if err == nil {
		return fresh, fromUpstream, nil
	}
	if staleOK {
		q.Err = err
		s.metrics.staleAnswers.Inc()
		return e, fromStale, nil
	}
	return nil, 0, err
}

// errStillWaiting is why a client got the expired answer: the upstream had
// not answered within stale_answer_after.
var errStillWaiting = errors.New("upstream still resolving: answered from the expired entry")

// fetchOrStale is fetch with RFC 8767's client response timer: if the
// upstream has not answered within wait, the caller serves its expired entry
// and the refresh goes on in the background to update the cache.
func (st *cacheStage) fetchOrStale(h uint64, name string, qtype, qclass uint16, bits uint8, wait time.Duration) (*entry, error) {
	type result struct {
		e   *entry
		err error
	}
	done := make(chan result, 1)
	name = strings.Clone(name) // name may view the query's buffer, which outlives no wait
	st.s.background.Add(1)
	go func() {
		defer st.s.background.Done()
		e, err := st.fetch(h, name, qtype, qclass, bits)
		done <- result{e, err}
	}()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case r := <-done:
		return r.e, r.err
	case <-t.C:
		return nil, errStillWaiting
	}
}

// maybePrefetch refreshes a popular entry in the background in the last
// tenth of its lifetime, so that its clients never wait for the upstream.
func (st *cacheStage) maybePrefetch(q *Query, e *entry, h uint64) {
	s := st.s
	if e.ttl < prefetchMinTTL || !q.snap.cfg.Cache.Prefetch {
		return
	}
	if e.hits.Add(1) < prefetchMinHits || q.Received.Sub(e.stored) < e.ttl-e.ttl/prefetchWindow {
		return
	}
	if !e.prefetching.CompareAndSwap(false, true) {
		return
	}
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		s.metrics.prefetches.Inc()
		if _, err := st.fetch(h, e.name, e.qtype, e.qclass, e.bits); err != nil {
			s.log.Debug("prefetch failed", "name", e.name, "err", err)
			e.prefetching.Store(false)
		}
	}()
}

// fetch asks the upstream, shares the answer with concurrent identical
// misses, and stores it when it may be cached. The exchange is bound to the
// server's life, not to one client, since several may be waiting for it.
func (st *cacheStage) fetch(h uint64, name string, qtype, qclass uint16, bits uint8) (*entry, error) {
	s := st.s
	key := flightKey(name, qtype, qclass, bits)
	name = key[:len(name)] // name may view a query's buffer: the entry keeps a copy
	return st.flight.do(key, func() (*entry, error) {
		snap := s.snapshot()
		m := new(dns.Msg)
		fqdn := name + "."
		if name == "" {
			fqdn = "."
		}
		m.Question = []dns.Question{{Name: fqdn, Qtype: qtype, Qclass: qclass}}
		m.RecursionDesired = true
		m.CheckingDisabled = bits&bitCD != 0
		m.SetEdns0(advertisedUDPSize, bits&bitDO != 0)
		r, err := snap.upstream.Exchange(s.ctx, m)
		if err != nil {
			return nil, err
		}
		r.Question = m.Question // the asked name, in lower case
		e, err := newEntry(name, qtype, qclass, bits, r, snap.ttl, s.now())
		if err != nil {
			return nil, err
		}
		if e.cacheable() {
			s.cache.put(h, e)
		}
		return e, nil
	})
}

func flightKey(name string, qtype, qclass uint16, bits uint8) string {
	b := make([]byte, 0, len(name)+5)
	b = append(b, name...)
	b = append(b, byte(qtype>>8), byte(qtype), byte(qclass>>8), byte(qclass), bits)
	return string(b)
}
