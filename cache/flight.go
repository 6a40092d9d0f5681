package cache

import "sync"

// Flights makes concurrent identical misses share one upstream exchange:
// the first caller for a key runs fn, the others wait for its result.
type Flights struct {
	mu    sync.Mutex
	calls map[string]*flightCall
}

type flightCall struct {
	done    sync.WaitGroup // one: the first caller's fn (no channel made per miss)
	e       *Entry
	err     error
	waiters int // callers sharing the result, the first included
}

// Do runs fn for key once for all concurrent callers.
func (g *Flights) Do(key string, fn func() (*Entry, error)) (*Entry, error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[string]*flightCall{}
	}
	if c, ok := g.calls[key]; ok {
		c.waiters++
		g.mu.Unlock()
		c.done.Wait()
		return c.e, c.err
	}
	c := &flightCall{waiters: 1}
	c.done.Add(1)
	g.calls[key] = c
	g.mu.Unlock()

	c.e, c.err = fn()
	g.mu.Lock()
	delete(g.calls, key)
	g.mu.Unlock()
	c.done.Done()
	return c.e, c.err
}

// Waiting counts the callers sharing the exchange for key (tests).
func (g *Flights) Waiting(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.calls[key]; ok {
		return c.waiters
	}
	return 0
}
