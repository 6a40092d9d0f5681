package ratelimit

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestClientsPerAddressAndPrefix(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	l := NewClients(Config{Queries: 10, Slip: 2, IPv6Prefix: 64, Exempt: []netip.Prefix{netip.MustParsePrefix("10.0.99.0/24")}}, 0)
	take := func(addr string, n int) (allow, slip, drop int) {
		for range n {
			switch l.Take(netip.MustParseAddr(addr), c.now()).Verdict {
			case Allow:
				allow++
			case Slip:
				slip++
			case Drop:
				drop++
			}
		}
		return
	}
	if a, s, d := take("10.0.0.1", 40); a != 20 || s != 10 || d != 10 { // burst 2x, then every 2nd slips
		t.Errorf("a flood: %d answered, %d slipped, %d dropped", a, s, d)
	}
	if a, _, _ := take("10.0.0.2", 20); a != 20 {
		t.Errorf("another client is limited by the first: %d", a)
	}
	// An IPv6 /64 is one client.
	take("2001:db8:1:2::1", 20)
	if a, _, _ := take("2001:db8:1:2::ffff", 5); a != 0 {
		t.Errorf("the same /64: %d answered", a)
	}
	if a, _, _ := take("2001:db8:1:3::1", 5); a != 5 {
		t.Errorf("another /64: %d answered", a)
	}
	if a, _, _ := take("10.0.99.7", 100); a != 100 {
		t.Errorf("an exempt network: %d answered", a)
	}
	c.t = c.t.Add(time.Second) // ten more tokens
	if a, _, _ := take("10.0.0.1", 15); a != 10 {
		t.Errorf("a second later: %d answered", a)
	}
}

func TestReportsOnceAMinuteAndLogOnly(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	l := NewClients(Config{Queries: 1, Burst: 1, LogOnly: true}, 0)
	addr := netip.MustParseAddr("192.0.2.1")
	reports, over := 0, 0
	var counted uint64
	for i := range 200 {
		if i == 100 {
			c.t = c.t.Add(time.Minute)
		}
		r := l.Take(addr, c.now())
		if r.Verdict != Allow {
			t.Fatal("log_only limited a query")
		}
		if r.Over {
			over++
		}
		if r.Report {
			reports++
			counted += r.Count
		}
	}
	if reports != 2 || over != 198 || counted != 100 { // the 1st report at the 1st excess; the 2nd a minute later, with the 98 since and itself
		t.Errorf("%d reports counting %d, %d over", reports, counted, over)
	}
}

// A client spraying source addresses evicts entries: the table stays
// within its bound.
func TestMemoryIsBounded(t *testing.T) {
	t.Parallel()
	l := NewClients(Config{Queries: 5}, 1024)
	now := time.Now()
	for i := range 200000 {
		l.Take(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), now)
	}
	if n := l.Len(); n > 1024 {
		t.Errorf("%d clients tracked, bound 1024", n)
	}
}

func BenchmarkTake(b *testing.B) {
	l := NewClients(Config{Queries: 1 << 20}, 0)
	addr := netip.MustParseAddr("10.20.3.4")
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Microsecond)
		l.Take(addr, now)
	}
}

// Queries of one client on many goroutines at once share its bucket: with
// the clock standing still exactly the burst is answered, never more (the
// credit taken ahead is never counted twice).
func TestOneClientOnManyGoroutines(t *testing.T) {
	t.Parallel()
	l := NewClients(Config{Queries: 100, Burst: 200}, 0)
	addr := netip.MustParseAddr("10.0.0.1")
	now := time.Now()
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if l.Take(addr, now).Verdict == Allow {
					allowed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if got := allowed.Load(); got != 200 {
		t.Errorf("%d of 800 answered, want the burst of 200", got)
	}
}
