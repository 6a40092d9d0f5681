package cache

import (
	"testing"
	"time"
)

func entry(name string) *Entry {
	e := &Entry{Qtype: 1, Qclass: 1}
	e.Name = name
	return e
}

func (c *Store) get(name string, now time.Time) *Entry {
	return c.Get(c.Key(name, 1, 1, 0), name, 1, 1, 0, now)
}

func (c *Store) put(e *Entry) { c.Put(c.Key(e.Name, 1, 1, 0), e) }

// full is a cache of two entries holding a.example and b.example, each
// found once at now.
func full(t *testing.T, now time.Time) (c *Store, a, b *Entry) {
	t.Helper()
	c = New(2)
	a, b = entry("a.example"), entry("b.example")
	c.put(a)
	c.put(b)
	if c.get("a.example", now) != a || c.get("b.example", now) != b {
		t.Fatal("entries not found")
	}
	return c, a, b
}

// An entry that leaves its shard, evicted or replaced, is never answered
// from the lock-free table in front of the shards.
func TestRecentNeverAnswersWhatLeftTheShard(t *testing.T) {
	now := time.Unix(1000, 0)
	c, _, b := full(t, now)
	c.put(entry("c.example")) // evicts a, the least recently used
	if e := c.get("a.example", now); e != nil {
		t.Fatalf("evicted entry answered: %p", e)
	}

	// Replaced: the newer answer, even when a reader put the older one back
	// into the table after the replacement.
	b2 := entry("b.example")
	c.put(b2)
	if e := c.get("b.example", now); e != b2 {
		t.Fatalf("got %p, want the newer entry %p", e, b2)
	}
	c.slot(c.Key("b.example", 1, 1, 0)).Store(b)
	if e := c.get("b.example", now); e != b2 {
		t.Fatalf("got %p after the race, want the newer entry %p", e, b2)
	}
	if e := c.Get(c.Key("b.example", 1, 1, 0), "b.example", 28, 1, 0, now); e != nil {
		t.Fatal("answered another type")
	}
}

// Hits answered from the table still count in the LRU order: an entry
// asked for again after touchEvery outlives one that was not.
func TestRecentHitsKeepTheLRUOrder(t *testing.T) {
	now := time.Unix(1000, 0)
	c, a, _ := full(t, now)
	// a is asked for again a while later, b is not: a must stay.
	if c.get("a.example", now.Add(touchEvery)) != a {
		t.Fatal("a not found")
	}
	c.put(entry("c.example"))
	if c.get("a.example", now.Add(touchEvery)) != a {
		t.Fatal("the entry asked for last was evicted")
	}
	if c.get("b.example", now.Add(touchEvery)) != nil {
		t.Fatal("the least recently asked entry stayed")
	}
}
