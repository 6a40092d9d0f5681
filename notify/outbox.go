package notify

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/civicdns/civicdns/state"
)

// entry is one line of the outbox: a message queued, claimed by an
// instance for a while, sent, or failed (tried again after Next).
type entry struct {
	Kind    string    `json:"kind"` // queued, claimed, sent, failed
	ID      string    `json:"id"`
	Message *Message  `json:"message,omitempty"`
	By      string    `json:"by,omitempty"`     // the instance that claimed it
	Until   time.Time `json:"until,omitzero"`   // the claim's end
	Attempt int       `json:"attempt,omitzero"` // failed: the attempts so far
	Next    time.Time `json:"next,omitzero"`    // failed: not before
	Err     string    `json:"error,omitempty"`
	Time    time.Time `json:"time"`
}

// item is a message and what became of it.
type item struct {
	msg        *Message
	sent       bool
	claimBy    string
	claimUntil time.Time
	attempt    int
	next       time.Time
	lastErr    string
}

// claimFor is how long a claim holds: an instance that dies while sending
// leaves the message to another after it (sent twice at worst, never lost).
const claimFor = 2 * time.Minute

// outbox is the outbox's state, folded from the journal's records (each
// read once: the journal hands over every record, this keeps its place).
type outbox struct {
	j *state.Journal

	mu    sync.Mutex
	seen  int
	items map[string]*item
	order []*item // queued, oldest first; sent ones dropped lazily
}

func newOutbox(j *state.Journal) *outbox { return &outbox{j: j, items: map[string]*item{}} }

// apply folds the records not yet seen. o.mu is held.
func (o *outbox) apply(recs []json.RawMessage) {
	if len(recs) < o.seen { // the journal was read again from the start
		o.seen, o.items, o.order = 0, map[string]*item{}, nil
	}
	for _, raw := range recs[o.seen:] {
		var e entry
		if json.Unmarshal(raw, &e) != nil {
			continue
		}
		it := o.items[e.ID]
		switch {
		case e.Kind == "queued" && it == nil && e.Message != nil:
			it = &item{msg: e.Message}
			o.items[e.ID] = it
			o.order = append(o.order, it)
		case it == nil:
		case e.Kind == "claimed":
			it.claimBy, it.claimUntil = e.By, e.Until
		case e.Kind == "sent":
			it.sent = true
		case e.Kind == "failed":
			it.claimBy, it.attempt, it.next, it.lastErr = "", e.Attempt, e.Next, e.Err
		}
	}
	o.seen = len(recs)
}

// enqueue queues the messages not queued before (by ID), durably.
func (o *outbox) enqueue(now time.Time, msgs []*Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.j.Append(func(existing []json.RawMessage) ([]any, error) {
		o.apply(existing)
		var add []any
		for _, m := range msgs {
			if o.items[m.ID] == nil {
				m.Created = now
				add = append(add, entry{Kind: "queued", ID: m.ID, Message: m, Time: now})
			}
		}
		return add, nil
	})
}

// due returns the messages to send now: not sent, past their backoff, not
// claimed by another instance whose claim still holds; and how many wait.
func (o *outbox) due(now time.Time, instance string) (due []*Message, waiting int, err error) {
	recs, err := o.j.Records()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.apply(recs)
	kept := o.order[:0]
	for _, it := range o.order {
		if it.sent {
			continue
		}
		kept = append(kept, it)
		if now.Before(it.next) || it.claimBy != "" && it.claimBy != instance && now.Before(it.claimUntil) {
			continue
		}
		due = append(due, it.msg)
	}
	o.order = kept
	return due, len(kept), err
}

// claim takes a message for instance until now+claimFor; false when it
// was sent or claimed meanwhile (by another instance).
func (o *outbox) claim(id, instance string, now time.Time) (bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ok := false
	err := o.j.Append(func(existing []json.RawMessage) ([]any, error) {
		o.apply(existing)
		it := o.items[id]
		if it == nil || it.sent || now.Before(it.next) || it.claimBy != "" && it.claimBy != instance && now.Before(it.claimUntil) {
			return nil, nil
		}
		ok = true
		return []any{entry{Kind: "claimed", ID: id, By: instance, Until: now.Add(claimFor), Time: now}}, nil
	})
	return ok && err == nil, err
}

// finish records a sending: sent, or failed and tried again after a
// backoff that doubles from 30 s to an hour.
func (o *outbox) finish(id string, now time.Time, sendErr error) (attempt int, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	err = o.j.Append(func(existing []json.RawMessage) ([]any, error) {
		o.apply(existing)
		if sendErr == nil {
			return []any{entry{Kind: "sent", ID: id, Time: now}}, nil
		}
		attempt = 1
		if it := o.items[id]; it != nil {
			attempt = it.attempt + 1
		}
		wait := min(30*time.Second<<min(attempt-1, 7), time.Hour)
		return []any{entry{Kind: "failed", ID: id, Attempt: attempt, Next: now.Add(wait), Err: sendErr.Error(), Time: now}}, nil
	})
	return attempt, err
}

// has reports whether a message of that ID was queued (as last read).
func (o *outbox) has(id string) bool {
	recs, _ := o.j.Records()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.apply(recs)
	return o.items[id] != nil
}
