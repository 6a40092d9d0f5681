package state

import (
	"encoding/json"
	"path/filepath"
	"sync"
	"time"
)

// SessionsFile keeps the console's sessions ([state] dir; with [state]
// postgres, the local copy of the shared table).
const SessionsFile = "sessions.journal"

// SessionRecord is a console session opened or closed. The token itself
// is never stored: only its SHA-256, so a copy of the store signs nobody in.
type SessionRecord struct {
	Kind       string    `json:"kind"` // open, close
	Hash       string    `json:"hash"`
	Director   string    `json:"director,omitempty"`
	Department string    `json:"department,omitempty"`
	Entry      string    `json:"entry,omitempty"` // the director's entry at sign-in
	DN         string    `json:"dn,omitempty"`    // a directory user's DN ("" for a local account)
	Role       string    `json:"role,omitempty"`  // the role the directory's groups gave
	Email      string    `json:"email,omitempty"` // where the director is reminded of their exemptions
	Expires    time.Time `json:"expires,omitzero"`
}

// Sessions are the console's sessions in the store: they outlive a
// restart, and with [state] postgres one opened on any instance works on
// every one.
type Sessions struct {
	j  *Journal
	st *Store
}

// sessionsOnce makes the store's Sessions once.
type sessionsOnce struct {
	once sync.Once
	s    *Sessions
}

// Sessions returns the store's console sessions.
func (s *Store) Sessions() *Sessions {
	s.sessions.once.Do(func() {
		path := filepath.Join(s.dir, SessionsFile)
		j := &Journal{j: newJournal(path, s.log)}
		if s.sh != nil {
			j = &Journal{j: &pgLog{sh: s.sh, table: sessionsTable, mirror: newJournal(path, s.log), alwaysFetch: true}}
		}
		s.sessions.s = &Sessions{j: j, st: s}
	})
	return s.sessions.s
}

// Append stores a session record durably; while the shared database is
// away it waits in the outbox (the session works on this instance at once,
// on the others once delivered).
func (ss *Sessions) Append(r SessionRecord) error {
	err := ss.j.Append(func([]json.RawMessage) ([]any, error) { return []any{r}, nil })
	if IsOffline(err) {
		err = ss.st.queue(sessionsTable, r)
	}
	return err
}

// Open returns the sessions open at now (not closed, not expired), by hash.
func (ss *Sessions) Open(now time.Time) (map[string]SessionRecord, error) {
	recs, err := ss.j.Records()
	out := map[string]SessionRecord{}
	for _, raw := range recs {
		var r SessionRecord
		if json.Unmarshal(raw, &r) != nil {
			continue
		}
		switch r.Kind {
		case "open":
			if now.Before(r.Expires) {
				out[r.Hash] = r
			}
		case "close":
			delete(out, r.Hash)
		}
	}
	return out, err
}

// MailFile is the notifications' outbox in [state] dir.
const MailFile = "mail.journal"

// Mail returns the notifications' outbox: messages waiting for the mail
// server or the webhook, and what became of each. With [state] postgres
// it is shared, so that each message is sent by one instance.
func (s *Store) Mail() *Journal {
	s.mail.once.Do(func() {
		path := filepath.Join(s.dir, MailFile)
		s.mail.j = &Journal{j: newJournal(path, s.log)}
		if s.sh != nil {
			s.mail.j = &Journal{j: &pgLog{sh: s.sh, table: mailTable, mirror: newJournal(path, s.log), alwaysFetch: true}}
		}
	})
	return s.mail.j
}

// journalOnce makes a journal once.
type journalOnce struct {
	once sync.Once
	j    *Journal
}
