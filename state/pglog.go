package state

import (
	"context"
	"sync"

	"github.com/jackc/pgx/v5"
)

// pgLog is one shared table, with its local copy.
type pgLog struct {
	sh     *shared
	table  string
	mirror *journal

	mu  sync.Mutex
	seq int64 // the last record handed to a sink
	// loaded: the sink holds the table's records up to seq; false at
	// first, and while it holds the local copy's (the database was away).
	loaded, fromMirror bool
	// alwaysFetch: a table no watcher follows (the legal holds), asked on
	// every read.
	alwaysFetch bool
}

// since hands s the table's records after seq: only when the table has
// news (the store's watcher reads the last seq on every NOTIFY and every
// resyncEvery), so reads do not ask the database. Until the database is
// first reached, the local copy answers.
func (l *pgLog) since(s sink) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.loaded && !l.alwaysFetch && l.sh.seq.Load() <= l.seq {
		return nil
	}
	if !l.loaded && l.fromMirror && !l.alwaysFetch && !l.sh.online.Load() {
		return nil // the watcher says when the database is back
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	pool, err := l.sh.conn(ctx)
	if err == nil {
		err = l.fetchInto(ctx, pool, s)
	}
	if l.sh.result(err) != nil && !l.loaded && !l.fromMirror {
		l.fromMirror = true
		return l.mirrorInto(s)
	}
	return nil
}

// mirrorInto hands s the local copy's records (the database is away).
func (l *pgLog) mirrorInto(s sink) error {
	entries, err := l.mirror.all()
	s.reset()
	for _, e := range entries {
		if err := s.add(e); err != nil {
			return err
		}
	}
	return err
}

type querier interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}

// fetchInto hands s the records after seq (all of them, after a reset,
// when s does not hold the table's yet) and adds them to the local copy.
func (l *pgLog) fetchInto(ctx context.Context, q querier, s sink) error {
	full := !l.loaded
	from := l.seq
	if full {
		from = 0
	}
	entries, last, err := fetch(ctx, q, l.table, from)
	if err != nil {
		return err
	}
	if full {
		s.reset()
	}
	for _, e := range entries {
		if err := s.add(e); err != nil {
			return err
		}
	}
	if len(entries) > 0 || full {
		l.seq = max(last, from)
	}
	l.loaded, l.fromMirror = true, false
	if full {
		if f, err := verifyFile(l.mirror.path); err == nil && !f.OK() {
			l.mirror.log.Warn("state: the local copy of the shared state was damaged; rebuilt from PostgreSQL",
				"file", l.mirror.path, "at_byte", f.Damage[0].Offset, "damage", f.Damage[0].Reason)
		}
		return l.mirror.rewrite(entries)
	}
	return l.mirror.appendEntries(entries)
}

// fetch reads a table's records after seq from, in order.
func fetch(ctx context.Context, q querier, table string, from int64) ([]entry, int64, error) {
	rows, err := q.Query(ctx, `SELECT seq, data::text FROM `+table+` WHERE seq > $1 ORDER BY seq`, from)
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
		out = append(out, entry{data: []byte(data), start: last, end: last})
	}
	return out, last, rows.Err()
}

// all reads every record of the table (the local copy's while the
// database is away).
func (l *pgLog) all() ([]entry, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	pool, err := l.sh.conn(ctx)
	var entries []entry
	if err == nil {
		entries, _, err = fetch(ctx, pool, l.table, 0)
	}
	if l.sh.result(err) != nil {
		return l.mirror.all()
	}
	return entries, nil
}

// update appends what fn makes once s has the latest records, in one
// transaction under the append lock, and announces it.
func (l *pgLog) update(s sink, fn func() ([]any, error)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	var fnErr error
	var added []entry
	last := int64(0)
	err := l.transact(ctx, func(tx pgx.Tx) error {
		if err := l.fetchInto(ctx, tx, s); err != nil {
			return err
		}
		add, err := fn()
		if err != nil {
			fnErr = err
			return err
		}
		for _, rec := range add {
			data, seq, err := insert(ctx, tx, l.table, rec)
			if err != nil {
				return err
			}
			if seq > 0 {
				last = seq
				added = append(added, entry{data: data, start: seq, end: seq})
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
	if err == nil && last > 0 {
		l.seq = last
		l.mirror.appendEntries(added)
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
