package daemon

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/directory"
	"github.com/civicdns/civicdns/notify"
	"github.com/civicdns/civicdns/querylog"
)

// addNotifier makes the notifier of the state store: it hears every
// request and decision from the store's first read on (so it is made
// before it), and does nothing until [notify] names a mail relay or a
// webhook (a reload may add them).
func (d *Daemon) addNotifier(cfg *config.Config, opts Options) {
	instance := cfg.Log.Instance
	if instance == "" {
		instance, _ = os.Hostname()
	}
	d.Notifier = notify.New(notify.Options{Store: d.Store, Config: func() *config.Config { return d.State.Snapshot().Config },
		Instance: instance, Directors: d.directorMail, Reports: d.reports, Logger: d.log, Registry: opts.Registry, Now: opts.Now})
}

// reports reads the query log's per-department figures between from and
// to (the day files, or the central copy in PostgreSQL).
func (d *Daemon) reports(from, to time.Time) (querylog.Reports, error) {
	if cfg := d.State.Snapshot().Config; cfg.Log.Dir != "" && cfg.Log.Postgres == "" {
		return querylog.Summarize(cfg.Path(cfg.Log.Dir), querylog.Filter{From: from, To: to})
	}
	rs := querylog.Reports{}
	err := d.searchLog(querylog.Filter{From: from, To: to}, 0, func(e *querylog.Entry) bool { rs.Add(e); return true })
	return rs, err
}

// searchLog reads the query log, newest first: the day files, or the
// central copy in PostgreSQL (limit: at most that many; 0 all).
func (d *Daemon) searchLog(f querylog.Filter, limit int, fn func(*querylog.Entry) bool) error {
	cfg := d.State.Snapshot().Config
	if cfg.Log.Dir == "" && cfg.Log.Postgres == "" {
		return errors.New("there is no query log ([log] dir)")
	}
	if cfg.Log.Postgres == "" {
		return querylog.Search(cfg.Path(cfg.Log.Dir), f, fn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	pool, err := querylog.Connect(ctx, cfg.Log.Postgres)
	if err != nil {
		return err
	}
	defer pool.Close()
	return querylog.SearchDatabase(ctx, pool, f, limit, fn)
}

// directorMail is where a department's directors read mail: the email of
// its local [[director]] entries, and for its group entries the mail of
// the group's members in the directory.
func (d *Daemon) directorMail(department string) ([]string, error) {
	cfg := d.State.Snapshot().Config
	var out []string
	var dir *directory.LDAP
	for _, e := range cfg.Director {
		if config.DepartmentKey(e.Department) != config.DepartmentKey(department) {
			continue
		}
		out = append(out, e.Email)
		if e.Group == "" || !cfg.Directory.Enabled() {
			continue
		}
		if dir == nil {
			var err error
			if dir, err = directory.New(cfg.Directory, cfg.Path); err != nil {
				return nil, err
			}
		}
		mails, err := dir.MembersMail(e.Group)
		if err != nil {
			return nil, err
		}
		out = append(out, mails...)
	}
	return notify.Addresses(out), nil
}
