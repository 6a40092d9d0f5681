package querylog

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// SearchDatabase is Search against the central query log in PostgreSQL:
// the records of every instance, newest first, streamed.
func SearchDatabase(ctx context.Context, pool *pgxpool.Pool, f Filter, limit int, fn func(*Entry) bool) error {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.Client.IsValid() {
		where = append(where, "client <<= "+arg(f.Client.String())+"::inet")
	}
	if f.Name != "" {
		r := reverseName(f.Name)
		// The name and its subdomains: one range of the (rname, time) index.
		where = append(where, fmt.Sprintf("(rname = %s OR (rname >= %s AND rname < %s))", arg(r), arg(r+"."), arg(r+"/")))
	}
	if f.Department != "" {
		where = append(where, "lower(department) = lower("+arg(f.Department)+")")
	}
	if f.Action != "" {
		where = append(where, "action = "+arg(f.Action))
	}
	if f.Device != "" {
		where = append(where, "lower(device) = lower("+arg(f.Device)+")")
	}
	if f.MAC != "" {
		where = append(where, "mac = "+arg(f.MAC))
	}
	if f.Category != "" {
		where = append(where, "category = "+arg(f.Category))
	}
	if !f.From.IsZero() {
		where = append(where, "time >= "+arg(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "time < "+arg(f.To))
	}
	q := `SELECT time, instance, host(client), department, name, type, action, category, rule, rcode, cached, stale, tcp, elapsed_ms, error, answer, upstream, service, transport, device, mac
		FROM civicdns_querylog`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY time DESC"
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := pool.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var e Entry
		var elapsed float32
		if err := rows.Scan(&e.Time, &e.Instance, &e.Client, &e.Department, &e.Name, &e.Type, &e.Action, &e.Category, &e.Rule,
			&e.Rcode, &e.Cached, &e.Stale, &e.TCP, &elapsed, &e.Error, &e.Answer, &e.Upstream, &e.Service, &e.Transport, &e.Device, &e.MAC); err != nil {
			return err
		}
		e.ElapsedMS = float64(elapsed)
		if !fn(&e) {
			return nil
		}
	}
	return rows.Err()
}

// PruneDatabase applies the records schedule to the central log: in the
// daily partitions older than days, only blocked, exempted and held
// records stay; older than blockedDays, only held ones; a partition left
// empty is dropped. The days are UTC days, the partitions'.
func PruneDatabase(ctx context.Context, pool *pgxpool.Pool, days, blockedDays int, holds []*Hold, now time.Time) error {
	if days <= 0 {
		return nil
	}
	blockedDays = max(days, blockedDays)
	rows, err := pool.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'civicdns_querylog'`)
	if err != nil {
		return err
	}
	var parts []string
	for rows.Next() {
		var n string
		if rows.Scan(&n) == nil {
			parts = append(parts, n)
		}
	}
	rows.Close()
	today, _ := time.Parse("2006-01-02", now.UTC().Format("2006-01-02"))
	var heldArgs []any
	var held []string
	for _, h := range holds {
		cond := fmt.Sprintf("client <<= $%d::inet", len(heldArgs)+1)
		heldArgs = append(heldArgs, h.Client.String())
		if h.Name != "" {
			r := reverseName(h.Name)
			cond += fmt.Sprintf(" AND (rname = $%d OR (rname >= $%d AND rname < $%d))", len(heldArgs)+1, len(heldArgs)+2, len(heldArgs)+3)
			heldArgs = append(heldArgs, r, r+".", r+"/")
		}
		held = append(held, "("+cond+")")
	}
	notHeld := "TRUE"
	if len(held) > 0 {
		notHeld = "NOT (" + strings.Join(held, " OR ") + ")"
	}
	for _, p := range parts {
		d, err := time.Parse("20060102", strings.TrimPrefix(p, "civicdns_querylog_"))
		if err != nil {
			continue
		}
		age := int(today.Sub(d).Hours() / 24)
		var q string
		switch {
		case age > blockedDays:
			q = "DELETE FROM " + p + " WHERE " + notHeld
		case age > days:
			q = "DELETE FROM " + p + " WHERE action NOT IN ('blocked', 'exempted') AND " + notHeld
		default:
			continue
		}
		if _, err := pool.Exec(ctx, q, heldArgs...); err != nil {
			return err
		}
		var left bool
		if err := pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+p+")").Scan(&left); err == nil && !left {
			if _, err := pool.Exec(ctx, "DROP TABLE IF EXISTS "+p); err != nil {
				return err
			}
		}
	}
	return nil
}
