package resolver

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/civicdns/civicdns/cache"
	"github.com/civicdns/civicdns/live"
	"github.com/civicdns/civicdns/query"
	"github.com/civicdns/civicdns/upstream"
)

// cacheStage answers from the cache, and on a miss asks the next link (the
// upstream) once for all the clients asking the same question at that
// moment. It keeps popular entries fresh by refreshing them shortly before
// they expire, and answers from expired entries when every upstream fails
// (RFC 8767).
type cacheStage struct {
	store      *cache.Store
	flights    cache.Flights
	next       fetcher
	metrics    *metrics
	log        *slog.Logger
	background *sync.WaitGroup // prefetches and refreshes, waited for at shutdown
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

// question is what the cache keys an answer by.
type question struct {
	name          string // lower case, no trailing dot
	qtype, qclass uint16
	bits          uint8 // DO and CD
}

func (st *cacheStage) Resolve(ctx context.Context, q *query.Query) error {
	m := &q.Msg
	qn := question{q.Lookup, m.QType, m.QClass, cache.Bits(m)}
	e, how, err := st.entryFor(q, qn)
	switch {
	case err == query.ErrWouldBlock:
		return err
	case err != nil:
		q.FailAnswer(err)
		return nil
	}
	q.WritePacked(&e.Packed, q.Received, how == fromStale)
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
// else from the upstream (ErrWouldBlock when q may not wait), else from the
// expired entry when every upstream fails and serve_stale allows it.
func (st *cacheStage) entryFor(q *query.Query, qn question) (*cache.Entry, int, error) {
	h := st.store.Key(qn.name, qn.qtype, qn.qclass, qn.bits)
	now := q.Received
	e := st.store.Get(h, qn.name, qn.qtype, qn.qclass, qn.bits, now)
	if e != nil && e.Fresh(now) { // counted as a hit with the query's record (Cached, not Stale)
		st.maybePrefetch(q, e, h)
		return e, fromCache, nil
	}
	if !q.MayBlock {
		return nil, 0, query.ErrWouldBlock
	}
	st.metrics.cacheMisses.Inc()
	cfg := &q.Snap.Config.Cache
	staleOK := e != nil && now.Sub(e.Stored) < e.TTL+cfg.ServeStale.D()
	// How long this client waits: for the stale answer, RFC 8767's client
	// response timer; for none, answer_timeout, when the upstreams could
	// take longer than it. Past it the exchange goes on for the cache.
	wait := time.Duration(0)
	switch answerTimeout := q.Snap.Config.Upstream.AnswerTimeout.D(); {
	case staleOK && cfg.StaleAfter > 0:
		wait = cfg.StaleAfter.D()
	case !staleOK && q.Snap.UpstreamWorstCase > answerTimeout:
		wait = answerTimeout
	}
	var fresh *cache.Entry
	var err error
	if wait > 0 {
		fresh, err = st.fetchWithin(q.Snap, h, qn, wait)
	} else {
		fresh, err = st.fetch(q.Snap, h, qn)
	}
	if err == nil {
		return fresh, fromUpstream, nil
	}
	if staleOK {
		q.Err = err
		st.metrics.staleAnswers.Inc()
		return e, fromStale, nil
	}
	return nil, 0, err
}

// errStillWaiting is why a client got the expired answer or SERVFAIL: the
// upstreams had not answered within its wait. It is a timeout.
var errStillWaiting = &upstream.Error{Kind: upstream.KindTimeout,
	Err: errors.New("still resolving when the client's wait ran out; the answer goes to the cache")}

// fetchWithin is fetch with a deadline for the client: if the upstream has
// not answered within wait, the caller answers (stale, or SERVFAIL) and the
// exchange goes on in the background to fill the cache.
func (st *cacheStage) fetchWithin(snap *live.Snapshot, h uint64, qn question, wait time.Duration) (*cache.Entry, error) {
	type result struct {
		e   *cache.Entry
		err error
	}
	done := make(chan result, 1)
	qn.name = strings.Clone(qn.name) // name may view the query's buffer, which outlives no wait
	st.background.Add(1)
	go func() {
		defer st.background.Done()
		e, err := st.fetch(snap, h, qn)
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
func (st *cacheStage) maybePrefetch(q *query.Query, e *cache.Entry, h uint64) {
	if e.TTL < prefetchMinTTL || !q.Snap.Config.Cache.Prefetch {
		return
	}
	if e.Hits.Add(1) < prefetchMinHits || q.Received.Sub(e.Stored) < e.TTL-e.TTL/prefetchWindow {
		return
	}
	if !e.Prefetching.CompareAndSwap(false, true) {
		return
	}
	snap := q.Snap
	st.background.Add(1)
	go func() {
		defer st.background.Done()
		st.metrics.prefetches.Inc()
		if _, err := st.fetch(snap, h, question{e.Name, e.Qtype, e.Qclass, e.Bits}); err != nil {
			st.log.Debug("prefetch failed", "name", e.Name, "err", err)
			e.Prefetching.Store(false)
		}
	}()
}

// fetch asks the next link, shares the answer with concurrent identical
// misses, and stores it when it may be cached.
func (st *cacheStage) fetch(snap *live.Snapshot, h uint64, qn question) (*cache.Entry, error) {
	key := flightKey(qn)
	qn.name = key[:len(qn.name)] // name may view a query's buffer: the entry keeps a copy
	return st.flights.Do(key, func() (*cache.Entry, error) {
		e, err := st.next.Fetch(snap, qn)
		if err != nil {
			return nil, err
		}
		if e.Cacheable() {
			st.store.Put(h, e)
		}
		return e, nil
	})
}

func flightKey(qn question) string {
	b := make([]byte, 0, len(qn.name)+5)
	b = append(b, qn.name...)
	b = append(b, byte(qn.qtype>>8), byte(qn.qtype), byte(qn.qclass>>8), byte(qn.qclass), qn.bits)
	return string(b)
}

// fetcher is the link behind the cache: it asks an upstream one question
// and makes the answer an entry.
type fetcher interface {
	Fetch(snap *live.Snapshot, qn question) (*cache.Entry, error)
}
