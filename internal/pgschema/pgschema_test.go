package pgschema

import (
	"context"
	"strings"
	"testing"

	"github.com/civicdns/civicdns/internal/pgtest"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Each migration runs once; an older release meeting a newer schema is refused.
func TestMigrate(t *testing.T) {
	c := pgtest.Start(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, c.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	v2 := []string{1: `CREATE TABLE t1 (a int)`, 2: `CREATE TABLE t2 (a int)`}
	for i := 0; i < 2; i++ { // the second run finds nothing to do (a CREATE TABLE twice would fail)
		if err := Migrate(ctx, pool, "x", v2); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	if err := Migrate(ctx, pool, "y", []string{1: `CREATE TABLE y1 (a int)`}); err != nil {
		t.Fatalf("another component keeps its own version: %v", err)
	}
	if err := Migrate(ctx, pool, "x", v2[:2]); err == nil || !strings.Contains(err.Error(), "newer than this release's 1") {
		t.Fatalf("an older release: %v", err)
	}
}
