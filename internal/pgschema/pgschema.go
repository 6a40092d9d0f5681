// Package pgschema migrates the PostgreSQL schema of one civicdns component
// (the query log, the shared state): numbered migrations, each run once, in
// one transaction under an advisory lock, so that several instances
// starting at once apply each exactly once. Each component's version is a
// row of civicdns_schema; a database a newer release has migrated further
// is refused (upgrade the instance).
package pgschema

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// lockKey is the advisory lock every migration holds.
const lockKey = 7305000

// Migrate brings component's schema up to date: migrations[n] is version n
// (migrations[0] is unused).
func Migrate(ctx context.Context, pool *pgxpool.Pool, component string, migrations []string) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS civicdns_schema (component text PRIMARY KEY, version int NOT NULL)`); err != nil {
		return err
	}
	var v int
	tx.QueryRow(ctx, `SELECT version FROM civicdns_schema WHERE component = $1`, component).Scan(&v)
	if latest := len(migrations) - 1; v > latest {
		return fmt.Errorf("the database's %s schema is at version %d, newer than this release's %d: upgrade this instance", component, v, latest)
	}
	for n := v + 1; n < len(migrations); n++ {
		if _, err := tx.Exec(ctx, migrations[n]); err != nil {
			return fmt.Errorf("%s schema migration %d: %w", component, n, err)
		}
		v = n
	}
	if _, err := tx.Exec(ctx, `INSERT INTO civicdns_schema (component, version) VALUES ($1, $2)
		ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version`, component, v); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// Open opens a pool to dsn and brings component's schema up to date; on a
// failure nothing stays open.
func Open(ctx context.Context, dsn, component string, migrations []string) (*pgxpool.Pool, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := Migrate(ctx, pool, component, migrations); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}
