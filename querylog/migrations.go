package querylog

// migrations are the query log's schema, in order (pgschema runs each
// once, when Connect opens a pool).
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
	3: `ALTER TABLE civicdns_querylog ADD COLUMN service text NOT NULL DEFAULT '';`,
	4: `ALTER TABLE civicdns_querylog ADD COLUMN transport text NOT NULL DEFAULT '';`,
	5: `ALTER TABLE civicdns_querylog ADD COLUMN device text NOT NULL DEFAULT '';`,
	6: `ALTER TABLE civicdns_querylog ADD COLUMN mac text NOT NULL DEFAULT '';
	CREATE INDEX ON civicdns_querylog (lower(device), time) WHERE device <> '';
	CREATE INDEX ON civicdns_querylog (mac, time) WHERE mac <> '';`,
}
