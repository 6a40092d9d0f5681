package ratelimit

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := &Limiter{Rate: 1.0 / 60, Burst: 3, Now: func() time.Time { return now }}
	for i := 0; i < 3; i++ {
		if !l.Allow("10.0.0.1") {
			t.Fatalf("event %d refused", i)
		}
	}
	if l.Allow("10.0.0.1") {
		t.Error("a fourth event within the burst allowed")
	}
	if !l.Allow("10.0.0.2") {
		t.Error("another key refused")
	}
	now = now.Add(time.Minute)
	if !l.Allow("10.0.0.1") || l.Allow("10.0.0.1") {
		t.Error("one token a minute")
	}
}
