package querylog

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations are the query log's schema, in order; each runs once, in a
// transaction, under an advisory lock, so several instances starting at
// once apply each exactly once.
var migrations = []string{
	1: `CREATE TABLE civicdns_querylog (
		time timestamptz NOT NULL,
		instance text NOT NULL,
		client inet NOT NULL,
		department text NOT NULL,
		name text NOT NULL,
		rname text COLLATE "C" NOT NULL,
		type text NOT NULL,
		action text NOT NULL,
		category text NOT NULL,
		rule text NOT NULL,
		rcode text NOT NULL,
		cached boolean NOT NULL,
		stale boolean NOT NULL,
		tcp boolean NOT NULL,
		elapsed_ms real NOT NULL,
		error text NOT NULL
	) PARTITION BY RANGE (time);
	CREATE INDEX ON civicdns_querylog (time);
	CREATE INDEX ON civicdns_querylog (client, time);
	CREATE INDEX ON civicdns_querylog (rname, time);
	CREATE INDEX ON civicdns_querylog (department, time);
	CREATE TABLE civicdns_log_cursor (instance text PRIMARY KEY, day text NOT NULL, off bigint NOT NULL);`,
	2: `ALTER TABLE civicdns_querylog ADD COLUMN answer text NOT NULL DEFAULT '', ADD COLUMN upstream text NOT NULL DEFAULT '';`,
}

// Migrate brings the schema up to date.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7305000)`); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS civicdns_schema (component text PRIMARY KEY, version int NOT NULL)`); err != nil {
		return err
	}
	var v int
	tx.QueryRow(ctx, `SELECT version FROM civicdns_schema WHERE component = 'querylog'`).Scan(&v)
	for n := v + 1; n < len(migrations); n++ {
		if _, err := tx.Exec(ctx, migrations[n]); err != nil {
			return fmt.Errorf("query log schema migration %d: %w", n, err)
		}
		v = n
	}
	if _, err := tx.Exec(ctx, `INSERT INTO civicdns_schema (component, version) VALUES ('querylog', $1)
		ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version`, v); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
