// Package ratelimit is a token bucket per key (a client address, a
// director's name), for the block page's request form, certificate
// minting and the console's sign-in.
package ratelimit

import (
	"sync"
	"time"
)

// Limiter allows Burst events at once per key and Rate more per second.
type Limiter struct {
	Rate  float64 // tokens per second
	Burst float64
	Now   func() time.Time // default time.Now

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
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
		l.buckets = map[string]*bucket{}
	}
	if len(l.buckets) >= maxKeys {
		for k, b := range l.buckets {
			if b.tokens+now.Sub(b.last).Seconds()*l.Rate >= l.Burst {
				delete(l.buckets, k)
			}
		}
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: l.Burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.Burst, b.tokens+now.Sub(b.last).Seconds()*l.Rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
