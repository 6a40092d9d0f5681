// Package ratelimit is token buckets (golang.org/x/time/rate) per key: a
// Limiter for the block page's request form, status lookups and
// certificate minting (keyed by client address or name), and Clients for
// DNS queries ([server.rate_limit]), sharded and bounded for the query path.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter allows Burst events at once per key and Rate more per second.
type Limiter struct {
	Rate  float64 // tokens per second
	Burst float64
	Now   func() time.Time // default time.Now

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// maxKeys bounds the memory a flood of distinct keys can take: past it,
// buckets that have refilled are dropped.
const maxKeys = 100000

// Allow takes a token for key, reporting whether there was one.
func (l *Limiter) Allow(key string) bool {
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*rate.Limiter{}
	}
	if len(l.buckets) >= maxKeys {
		for k, b := range l.buckets {
			if b.TokensAt(now) >= l.Burst {
				delete(l.buckets, k)
			}
		}
	}
	b := l.buckets[key]
	if b == nil {
		b = rate.NewLimiter(rate.Limit(l.Rate), int(l.Burst))
		l.buckets[key] = b
	}
	return b.AllowN(now, 1)
}
