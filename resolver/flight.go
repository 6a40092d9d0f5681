package resolver

import "sync"

// flightGroup makes concurrent identical misses share one upstream exchange:
// the first caller for a key runs fn, the others wait for its result.
type flightGroup struct {
	mu    sync.Mutex
	calls map[string]*flightCall
}

type flightCall struct {
	done    chan struct{}
	e       *entry
	err     error
	waiters int // callers sharing the result, the first included
}

func (g *flightGroup) do(key string, fn func() (*entry, error)) (*entry, error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[string]*flightCall{}
	}
	if c, ok := g.calls[key]; ok {
		c.waiters++
		g.mu.Unlock()
		<-c.done
		return c.e, c.err
	}
	c := &flightCall{done: make(chan struct{}), waiters: 1}
	g.calls[key] = c
	g.mu.Unlock()

	c.e, c.err = fn()
	g.mu.Lock()
	delete(g.calls, key)
	g.mu.Unlock()
	close(c.done)
	return c.e, c.err
}

// waiting counts the callers sharing the exchange for key (tests).
func (g *flightGroup) waiting(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.calls[key]; ok {
		return c.waiters
	}
	return 0
}
