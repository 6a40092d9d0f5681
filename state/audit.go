package state

import (
	"encoding/json"
	"errors"
	"slices"
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

// Audit appends an event to the audit trail, durably. An error means the
// event is not stored: the caller must not go on with the action (the
// workflow's own actions carry their event in their record instead).
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
	s.wrote(err)
	if err == nil {
		s.audited(ev)
	}
	return err
}

// OnAudit has fn hear of every audit event this process writes (sign-ins,
// log searches, decisions, suspensions, devices): for the SIEM. fn must
// only queue. Set it before the store is used.
func (s *Store) OnAudit(fn func(AuditEvent)) { s.onAudit.Store(&fn) }

func (s *Store) audited(ev AuditEvent) {
	if fn := s.onAudit.Load(); fn != nil {
		(*fn)(ev)
	}
}

// AuditSince returns the events at or after since, oldest first: those of
// the audit trail's own journal (sign-ins, log searches, repairs) and those
// the workflow's records carry (requests, decisions, suspensions). It reads
// both whole: for the CLI's `civicdns audit`.
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
	flow, err := s.workflow.all()
	if err != nil {
		return nil, err
	}
	for _, e := range flow {
		var r struct {
			Audit *AuditEvent `json:"audit"`
		}
		if json.Unmarshal(e.data, &r) == nil && r.Audit != nil && !r.Audit.Time.Before(since) {
			out = append(out, *r.Audit)
		}
	}
	slices.SortStableFunc(out, func(a, b AuditEvent) int { return a.Time.Compare(b.Time) })
	return out, nil
}

// wrote records whether a write of the workflow or the audit trail
// succeeded. A decision refused for what it is (already decided, no such
// request) is no failed write, nor a database away (the outbox keeps the
// record); a file that cannot be written, or a damaged one, is.
func (s *Store) wrote(err error) {
	var we *WriteError
	switch {
	case err == nil:
		s.health.OK()
	case errors.As(err, &we) || IsDamage(err):
		s.health.Fail(err, 1)
	}
}

// WriteError is a journal that could not be written (a full disk, a
// read-only file system, a lock that failed).
type WriteError struct {
	Path string
	Err  error
}

func (e *WriteError) Error() string { return "cannot write " + e.Path + ": " + e.Err.Error() }
func (e *WriteError) Unwrap() error { return e.Err }

// Health is why the state store cannot write now (a full disk, a damaged
// journal), or nil: /healthz and `civicdns status` report it.
func (s *Store) Health() error { return s.health.Err() }
