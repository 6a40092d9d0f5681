package state

import (
	"encoding/json"
	"time"
)

// AuditEvent is one line of the audit trail: who did what, when, from where.
type AuditEvent struct {
	ID     string    `json:"id,omitempty"` // [state] postgres: stored once however often delivered
	Time   time.Time `json:"time"`
	Who    string    `json:"who"`    // a director, or the OS user of a CLI
	From   string    `json:"from"`   // the client address, "" for the CLI
	Action string    `json:"action"` // sign-in, sign-in-failed, approve, deny, revoke, request, …
	What   string    `json:"what"`
}

// Audit appends an event to the audit trail, durably.
func (s *Store) Audit(ev AuditEvent) error {
	if ev.Time.IsZero() {
		ev.Time = s.now()
	}
	if s.sh != nil && ev.ID == "" {
		ev.ID = newID("a-")
	}
	err := s.audit.update(discard{}, func() ([]any, error) { return []any{ev}, nil })
	if IsOffline(err) {
		err = s.queue(auditTable, ev)
	}
	return err
}

// AuditSince returns the events at or after since, oldest first.
func (s *Store) AuditSince(since time.Time) ([]AuditEvent, error) {
	entries, err := s.audit.all()
	if err != nil {
		return nil, err
	}
	var out []AuditEvent
	for _, e := range entries {
		var ev AuditEvent
		if json.Unmarshal(e.data, &ev) == nil && !ev.Time.Before(since) {
			out = append(out, ev)
		}
	}
	return out, nil
}
