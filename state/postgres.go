package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
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
	read() ([]entry, error)
	update(fn func(entries []entry) ([]any, error)) error
}

// The shared tables, and the channel every append is announced on.
const (
	workflowTable = "civicdns_state_workflow"
	auditTable    = "civicdns_state_audit"
	holdsTable    = "civicdns_state_holds" // the query log's legal holds
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

// pgLog is one shared table, with its local copy.
type pgLog struct {
	sh     *shared
	table  string
	mirror *journal
	copied atomic.Int64 // the last seq written to the local copy
}

// read returns the table's records, refreshing the local copy; with the
// database away, the local copy's.
func (l *pgLog) read() ([]entry, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	entries, last, err := l.fetch(ctx)
	if l.sh.result(err) != nil {
		return l.mirror.read()
	}
	if last != l.copied.Load() {
		if err := l.copy(entries); err == nil {
			l.copied.Store(last)
		}
	}
	return entries, nil
}

func (l *pgLog) fetch(ctx context.Context) ([]entry, int64, error) {
	pool, err := l.sh.conn(ctx)
	if err != nil {
		return nil, 0, err
	}
	return fetch(ctx, pool, l.table)
}

// fetch reads a table's records in order (q is a pool or a transaction).
func fetch(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, table string) ([]entry, int64, error) {
	rows, err := q.Query(ctx, `SELECT seq, data::text FROM `+table+` ORDER BY seq`)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []entry
	var last int64
	for rows.Next() {
		var data string
		if err := rows.Scan(&last, &data); err != nil {
			return nil, 0, err
		}
		out = append(out, entry{data: []byte(data), end: last})
	}
	return out, last, rows.Err()
}

// copy rewrites the local copy with entries: a new journal file renamed
// over the old one, so a reader sees the old or the new whole.
func (l *pgLog) copy(entries []entry) error {
	tmp := l.mirror.path + ".new"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if _, err := f.Write(lineOf(e.data)); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	f.Close()
	return os.Rename(tmp, l.mirror.path)
}

// update appends what fn makes of the latest records, in one transaction
// under the append lock, and announces it.
func (l *pgLog) update(fn func(entries []entry) ([]any, error)) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	var fnErr error
	err := l.transact(ctx, func(tx pgx.Tx) error {
		entries, _, err := fetch(ctx, tx, l.table)
		if err != nil {
			return err
		}
		add, err := fn(entries)
		if err != nil {
			fnErr = err
			return err
		}
		for _, rec := range add {
			if err := insert(ctx, tx, l.table, rec); err != nil {
				return err
			}
		}
		if len(add) > 0 {
			_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, l.table)
		}
		return err
	})
	if fnErr != nil {
		return fnErr
	}
	return l.sh.result(err)
}

func (l *pgLog) transact(ctx context.Context, fn func(pgx.Tx) error) error {
	pool, err := l.sh.conn(ctx)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, appendLock); err != nil {
			return err
		}
		return fn(tx)
	})
}

// insert appends one record to a table. A request (by its ID) and an audit
// event (by its own ID) are stored once, however often the outbox delivers
// them.
func insert(ctx context.Context, tx pgx.Tx, table string, rec any) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
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
	if table == auditTable {
		if k.ID != "" {
			key = &k.ID
		}
		_, err = tx.Exec(ctx, `INSERT INTO civicdns_state_audit (key, data) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, key, data)
		return err
	}
	if table == holdsTable {
		_, err = tx.Exec(ctx, `INSERT INTO civicdns_state_holds (data) VALUES ($1)`, data)
		return err
	}
	if k.Kind == "request" && k.Request != nil {
		key = &k.Request.ID
	}
	_, err = tx.Exec(ctx, `INSERT INTO civicdns_state_workflow (kind, key, data) VALUES ($1, $2, $3) ON CONFLICT (key) WHERE key IS NOT NULL DO NOTHING`, k.Kind, key, data)
	return err
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
	return s.outbox.update(func([]entry) ([]any, error) {
		return []any{outboxRecord{Table: table, Record: data}}, nil
	})
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
				if err := insert(ctx, tx, o.Table, o.Record); err != nil {
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
	entries, _ := s.outbox.read()
	return len(entries)
}

// queued returns the workflow records waiting in the outbox, so that this
// instance shows its own queued requests (as pending) before they arrive.
func (s *Store) queued() []entry {
	entries, _ := s.outbox.read()
	var out []entry
	for _, e := range entries {
		var o outboxRecord
		if json.Unmarshal(e.data, &o) == nil && o.Table == workflowTable {
			out = append(out, entry{data: o.Record, end: e.end})
		}
	}
	return out
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
	s.workflow = &pgLog{sh: sh, table: workflowTable, mirror: &journal{path: filepath.Join(dir, WorkflowFile)}}
	s.audit = &pgLog{sh: sh, table: auditTable, mirror: &journal{path: filepath.Join(dir, AuditFile)}}
	s.outbox = &journal{path: filepath.Join(dir, OutboxFile)}
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
	if cfg.State.Postgres != "" {
		return OpenShared(cfg.Path(cfg.State.Dir), cfg.State.Postgres, now)
	}
	return Open(cfg.Path(cfg.State.Dir), now)
}

// OpenSharedHolds is OpenJournal for the query log's legal holds with
// [state] postgres: kept in the shared database, so a hold placed on any
// instance holds on every one; path keeps the local copy, read while the
// database is away (a hold is then refused, as a decision is).
func OpenSharedHolds(path, dsn string) *Journal {
	return &Journal{&pgLog{sh: &shared{dsn: dsn, changes: make(chan struct{}, 1)}, table: holdsTable, mirror: &journal{path: path}}}
}

// Close releases a shared journal's connections.
func (j *Journal) Close() {
	if l, ok := j.j.(*pgLog); ok {
		l.sh.close()
	}
}

func (sh *shared) close() {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.pool != nil {
		sh.pool.Close()
		sh.pool = nil
	}
}
