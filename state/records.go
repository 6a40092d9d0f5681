package state

import (
	"encoding/json"
	"sync"
)

// Journal is an append-only log of JSON records with the same guarantees
// as the store's own (a length and checksum per record, fsync before
// acknowledging, flock across processes; or a shared table), for other
// parts that keep a small durable history: the query log's legal holds.
// It keeps the records in memory and reads only what is new.
type Journal struct {
	j eventLog

	mu   sync.Mutex
	recs recordList
}

// recordList is the sink of a Journal: every record's JSON, in order.
type recordList struct{ recs []json.RawMessage }

func (l *recordList) reset()            { l.recs = nil }
func (l *recordList) add(e entry) error { l.recs = append(l.recs, e.data); return nil }

// OpenJournal names the journal at path (created, 0600, on the first append).
func OpenJournal(path string) *Journal { return &Journal{j: newJournal(path, nil)} }

// OpenSharedHolds is OpenJournal for the query log's legal holds with
// [state] postgres: kept in the shared database, so a hold placed on any
// instance holds on every one; path keeps the local copy, read while the
// database is away (a hold is then refused, as a decision is).
func OpenSharedHolds(path, dsn string) *Journal {
	sh := &shared{dsn: dsn, changes: make(chan struct{}, 1)}
	return &Journal{j: &pgLog{sh: sh, table: holdsTable, mirror: newJournal(path, nil), alwaysFetch: true}}
}

// Records returns the intact records, oldest first.
func (j *Journal) Records() ([]json.RawMessage, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	err := j.j.since(&j.recs)
	return append([]json.RawMessage(nil), j.recs.recs...), err
}

// Append runs fn on the records under an exclusive lock and appends what
// it returns, durably.
func (j *Journal) Append(fn func(existing []json.RawMessage) ([]any, error)) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	var add []any
	err := j.j.update(&j.recs, func() ([]any, error) {
		var err error
		add, err = fn(j.recs.recs)
		return add, err
	})
	if err != nil {
		return err
	}
	for _, rec := range add {
		data, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		j.recs.recs = append(j.recs.recs, data)
	}
	return nil
}

// Close releases a shared journal's connections.
func (j *Journal) Close() {
	if l, ok := j.j.(*pgLog); ok {
		l.sh.close()
	}
}
