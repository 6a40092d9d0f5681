package console

import (
	"sync"
	"time"

	"github.com/civicdns/civicdns/config"
	"golang.org/x/crypto/bcrypt"
)

// attempts slows down the addresses that fail to sign in: the first few
// failures cost nothing, then each one doubles the wait before the next
// try (1 s, 2 s, 4 s, … up to 15 minutes); a success forgets them. A name
// is never locked: anyone could lock the chief out by typing the chief's
// name ten times.
type attempts struct {
	mu  sync.Mutex
	m   map[string]*tries
	now func() time.Time
}

type tries struct {
	failures int
	until    time.Time // no try before then
	last     time.Time
	refused  int       // tries refused since the last audit event
	said     time.Time // when the last refusal was audited
}

const (
	freeFailures   = 3
	maxBackoff     = 15 * time.Minute
	maxAddresses   = 100000
	forgetAfter    = time.Hour
	auditRefusedAt = time.Minute // refused tries: one audit event per address a minute
)

// wait returns how long from must still wait, and, when the refusal is to
// be audited now, how many tries were refused since the last time (else 0).
func (a *attempts) wait(from string) (time.Duration, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.m[from]
	now := a.now()
	if t == nil || !now.Before(t.until) {
		return 0, 0
	}
	t.refused++
	if now.Sub(t.said) < auditRefusedAt {
		return t.until.Sub(now), 0
	}
	n := t.refused
	t.refused, t.said = 0, now
	return t.until.Sub(now), n
}

func (a *attempts) failed(from string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if len(a.m) >= maxAddresses {
		for k, t := range a.m {
			if now.Sub(t.last) > forgetAfter {
				delete(a.m, k)
			}
		}
	}
	t := a.m[from]
	if t == nil {
		if len(a.m) >= maxAddresses {
			return // a flood of addresses: each still pays bcrypt
		}
		t = &tries{}
		a.m[from] = t
	}
	t.failures++
	t.last = now
	if t.failures > freeFailures {
		t.until = now.Add(min(maxBackoff, time.Second<<min(t.failures-freeFailures-1, 20)))
	}
}

func (a *attempts) succeeded(from string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.m, from)
}

// dummies are bcrypt hashes of random passwords, one per cost the
// directors' hashes have: an unknown name is compared with one of the
// highest cost, so it takes as long as a known one.
type dummies struct {
	mu sync.Mutex
	m  map[int][]byte
}

// prepare makes the hash of the configuration's highest cost at start,
// so that the first unknown name is not slower than the rest.
func (d *dummies) prepare(directors []config.Director) { d.get(topCost(directors)) }

// topCost is the highest cost of the directors' hashes (at least 10).
func topCost(directors []config.Director) int {
	top := config.MinBcryptCost
	for _, dir := range directors {
		top = max(top, bcryptCost(dir.PasswordHash))
	}
	return top
}

// get returns the dummy hash of cost.
func (d *dummies) get(cost int) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	if h := d.m[cost]; h != nil {
		return h
	}
	h, _ := bcrypt.GenerateFromPassword([]byte(randomToken()), cost)
	d.m[cost] = h
	return h
}
