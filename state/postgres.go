package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/internal/pgschema"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// With [state] postgres, the workflow and the audit trail are shared by
// every instance through PostgreSQL: each is a table of records in the
// same form as a journal's lines, appended under a transaction-scoped
// advisory lock (so a decision is checked against the latest state, from
// any instance), announced with NOTIFY. Each instance keeps a local copy
// of both in its [state] dir, refreshed on every read, and answers from it
// while the database is away; requests and audit events made meanwhile wait
// in a local outbox (a journal) until it returns.

// Offline is the error of a decision made while the database is away.
type Offline struct{ Err error }

func (e *Offline) Error() string {
	return "the shared state database is unreachable: decisions wait until it returns (" + e.Err.Error() + ")"
}

func (e *Offline) Unwrap() error { return e.Err }

// IsOffline reports whether err is a decision refused while the database is away.
func IsOffline(err error) bool {
	var o *Offline
	return errors.As(err, &o)
}

// eventLog is where a store's records live: a journal file, or a table.
type eventLog interface {
	// since hands s what was appended since the last call.
	since(s sink) error
	// update hands s what was appended since, then appends what fn makes,
	// durably, under a lock every writer takes.
	update(s sink, fn func() ([]any, error)) error
	// all reads every record from the start.
	all() ([]entry, error)
}

// The shared tables, and the channel every append is announced on.
const (
	workflowTable = "civicdns_state_workflow"
	auditTable    = "civicdns_state_audit"
	holdsTable    = "civicdns_state_holds"    // the query log's legal holds
	sessionsTable = "civicdns_state_sessions" // the console's sessions
	mailTable     = "civicdns_state_mail"     // the notifications' outbox
	notifyChannel = "civicdns_state"
	appendLock    = 7411_0003 // pg_advisory_xact_lock key of every append
	// opTimeout bounds one database operation: past it the database counts
	// as away, and the local copy answers.
	opTimeout = 3 * time.Second
)

// migrations are the shared state's schema, in order (pgschema runs each
// once, and refuses a database a newer release has migrated further).
var migrations = []string{
	1: `CREATE TABLE civicdns_state_workflow (
		seq bigserial PRIMARY KEY,
		time timestamptz NOT NULL DEFAULT now(),
		kind text NOT NULL,
		key text,
		data jsonb NOT NULL);
	CREATE UNIQUE INDEX civicdns_state_workflow_key ON civicdns_state_workflow (key) WHERE key IS NOT NULL;
	CREATE TABLE civicdns_state_audit (
		seq bigserial PRIMARY KEY,
		time timestamptz NOT NULL DEFAULT now(),
		key text UNIQUE,
		data jsonb NOT NULL);
	CREATE TABLE civicdns_state_holds (
		seq bigserial PRIMARY KEY,
		time timestamptz NOT NULL DEFAULT now(),
		data jsonb NOT NULL);`,
	2: `CREATE TABLE civicdns_state_sessions (
		seq bigserial PRIMARY KEY,
		time timestamptz NOT NULL DEFAULT now(),
		data jsonb NOT NULL);`,
	3: `CREATE TABLE civicdns_state_mail (
		seq bigserial PRIMARY KEY,
		time timestamptz NOT NULL DEFAULT now(),
		data jsonb NOT NULL);`,
}

// shared is the database side of a store: the pool, whether it is
// reachable, and what has changed (for the watcher).
type shared struct {
	dsn     string
	mu      sync.Mutex
	pool    *pgxpool.Pool
	online  atomic.Bool
	lastErr atomic.Pointer[string]
	seq     atomic.Int64 // the last workflow record known
	changes chan struct{}
}

// conn returns the pool, connecting and migrating first when needed.
func (sh *shared) conn(ctx context.Context) (*pgxpool.Pool, error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.pool == nil {
		pool, err := pgschema.Open(ctx, sh.dsn, "state", migrations)
		if err != nil {
			return nil, err
		}
		sh.pool = pool
	}
	return sh.pool, nil
}

// result records whether the database answered.
func (sh *shared) result(err error) error {
	if err == nil {
		sh.online.Store(true)
		return nil
	}
	msg := err.Error()
	sh.lastErr.Store(&msg)
	sh.online.Store(false)
	return &Offline{Err: err}
}

func (sh *shared) changed() {
	select {
	case sh.changes <- struct{}{}:
	default:
	}
}

// insert appends one record to a table and returns its JSON and its seq
// (0 when it was there already). A request (by its ID) and an audit event
// (by its own ID) are stored once, however often the outbox delivers them.
func insert(ctx context.Context, tx pgx.Tx, table string, rec any) ([]byte, int64, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, 0, err
	}
	var k struct {
		Kind    string `json:"kind"`
		ID      string `json:"id"`
		Request *struct {
			ID string `json:"id"`
		} `json:"request"`
	}
	json.Unmarshal(data, &k)
	var key *string
	var row pgx.Row
	switch {
	case table == auditTable:
		if k.ID != "" {
			key = &k.ID
		}
		row = tx.QueryRow(ctx, `INSERT INTO civicdns_state_audit (key, data) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING seq`, key, data)
	case table == holdsTable:
		row = tx.QueryRow(ctx, `INSERT INTO civicdns_state_holds (data) VALUES ($1) RETURNING seq`, data)
	case table == sessionsTable:
		row = tx.QueryRow(ctx, `INSERT INTO civicdns_state_sessions (data) VALUES ($1) RETURNING seq`, data)
	case table == mailTable:
		row = tx.QueryRow(ctx, `INSERT INTO civicdns_state_mail (data) VALUES ($1) RETURNING seq`, data)
	default:
		if k.Kind == "request" && k.Request != nil {
			key = &k.Request.ID
		}
		row = tx.QueryRow(ctx, `INSERT INTO civicdns_state_workflow (kind, key, data) VALUES ($1, $2, $3) ON CONFLICT (key) WHERE key IS NOT NULL DO NOTHING RETURNING seq`, k.Kind, key, data)
	}
	var seq int64
	if err := row.Scan(&seq); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, err
	}
	return data, seq, nil
}

// outboxRecord is a record waiting in the outbox for its table.
type outboxRecord struct {
	Table  string          `json:"table"`
	Record json.RawMessage `json:"record"`
}

// queue keeps a record in the outbox, durably, until the database returns.
func (s *Store) queue(table string, rec any) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	err = s.outbox.update(discard{}, func() ([]any, error) {
		return []any{outboxRecord{Table: table, Record: data}}, nil
	})
	s.wrote(err)
	return err
}

// deliver sends the outbox to the database and empties it. A record
// already there (delivered before a crash) is stored once.
func (s *Store) deliver(ctx context.Context) error {
	return s.outbox.drain(func(entries []entry) error {
		if len(entries) == 0 {
			return nil
		}
		err := s.workflowLog().transact(ctx, func(tx pgx.Tx) error {
			for _, e := range entries {
				var o outboxRecord
				if json.Unmarshal(e.data, &o) != nil {
					continue
				}
				if _, _, err := insert(ctx, tx, o.Table, o.Record); err != nil {
					return err
				}
			}
			_, err := tx.Exec(ctx, `SELECT pg_notify($1, 'outbox')`, notifyChannel)
			return err
		})
		return s.sh.result(err)
	})
}

// Queued is how many records wait in the outbox for the database.
func (s *Store) Queued() int {
	if s.outbox == nil {
		return 0
	}
	entries, _ := s.outbox.all()
	return len(entries)
}

// queueWorkflow keeps a workflow record in the outbox and shows it here
// at once (a request made while the database is away is pending here).
func (s *Store) queueWorkflow(rec record) error {
	if err := s.queue(workflowTable, rec); err != nil {
		return err
	}
	s.mu.Lock()
	s.idx.apply(&rec)
	s.mu.Unlock()
	return nil
}

// applyQueued applies the workflow records waiting in the outbox (after
// the workflow was read again from the start). s.mu is held.
func (s *Store) applyQueued() {
	entries, _ := s.outbox.all()
	for _, e := range entries {
		var o outboxRecord
		if json.Unmarshal(e.data, &o) == nil && o.Table == workflowTable {
			s.idx.add(entry{data: o.Record, start: e.start, end: e.end})
		}
	}
}

func (s *Store) workflowLog() *pgLog { return s.workflow.(*pgLog) }

// OpenShared opens a store whose workflow and audit trail live in the
// PostgreSQL database of dsn, with its local copy and outbox in dir. The
// database need not be reachable: the store then answers from the copy.
func OpenShared(dir, dsn string, now func() time.Time) (*Store, error) {
	s, err := Open(dir, now)
	if err != nil {
		return nil, err
	}
	sh := &shared{dsn: dsn, changes: make(chan struct{}, 1)}
	if _, err := pgxpool.ParseConfig(dsn); err != nil {
		return nil, fmt.Errorf("state.postgres: %w", err)
	}
	s.sh = sh
	s.workflow = &pgLog{sh: sh, table: workflowTable, mirror: newJournal(filepath.Join(dir, WorkflowFile), s.log)}
	s.audit = &pgLog{sh: sh, table: auditTable, mirror: newJournal(filepath.Join(dir, AuditFile), s.log)}
	s.outbox = newJournal(filepath.Join(dir, OutboxFile), s.log)
	return s, nil
}

// OutboxFile keeps, with [state] postgres, what waits for the database.
const OutboxFile = "outbox.journal"

// Online reports whether the shared database answered last time it was
// asked (always true for a store of files alone).
func (s *Store) Online() bool { return s.sh == nil || s.sh.online.Load() }

// Shared reports whether the store is shared through PostgreSQL.
func (s *Store) Shared() bool { return s.sh != nil }

// Changes signals (coalesced) that another instance may have changed the
// shared state; nil for a store of files alone.
func (s *Store) Changes() <-chan struct{} {
	if s.sh == nil {
		return nil
	}
	return s.sh.changes
}

// resyncEvery is how often the shared state is checked even without a
// notification (the safety net for a lost one).
const resyncEvery = 10 * time.Second

// Run keeps a shared store in step with the database until ctx ends: it
// LISTENs for other instances' appends (Changes fires), checks every
// resyncEvery anyway, and delivers the outbox whenever the database is
// there. It returns at once for a store of files alone.
func (s *Store) Run(ctx context.Context) {
	if s.sh == nil {
		return
	}
	wait := 500 * time.Millisecond
	for ctx.Err() == nil {
		if err := s.listen(ctx); err != nil && ctx.Err() == nil {
			s.sh.result(err)
			s.sh.changed() // the watcher reads the local copy's state again
		} else {
			wait = 500 * time.Millisecond
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
			wait = min(2*wait, 5*time.Second)
		}
	}
	s.sh.close()
}

// listen holds one connection LISTENing until it fails or ctx ends.
func (s *Store) listen(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, opTimeout)
	conn, err := pgx.Connect(cctx, s.sh.dsn)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `LISTEN `+notifyChannel); err != nil {
		return err
	}
	for {
		if err := s.deliver(ctx); err != nil {
			return err
		}
		if err := s.resync(ctx); err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, resyncEvery)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && conn.IsClosed():
			return err
		}
	}
}

// resync reads the last workflow record's number; a new one means the
// state changed.
func (s *Store) resync(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	pool, err := s.sh.conn(ctx)
	if err == nil {
		var seq int64
		if err = pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM civicdns_state_workflow`).Scan(&seq); err == nil {
			wasOnline := s.sh.online.Swap(true)
			if s.sh.seq.Swap(seq) != seq || !wasOnline {
				s.sh.changed()
			}
			return nil
		}
	}
	return s.sh.result(err)
}

// OpenConfig opens the store a configuration names: its [state] dir, shared
// through [state] postgres when that is set.
func OpenConfig(cfg *config.Config, now func() time.Time) (*Store, error) {
	open := func() (*Store, error) { return Open(cfg.Path(cfg.State.Dir), now) }
	if cfg.State.Postgres != "" {
		open = func() (*Store, error) { return OpenShared(cfg.Path(cfg.State.Dir), cfg.State.Postgres, now) }
	}
	s, err := open()
	if err == nil {
		s.maxDays = cfg.Policy.MaxExemptionDays()
	}
	return s, err
}

func (sh *shared) close() {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.pool != nil {
		sh.pool.Close()
		sh.pool = nil
	}
}
