package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/internal/citytime"
	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/querylog"
	"github.com/civicdns/civicdns/state"
)

// logDir reads the configuration and its [log] dir.
func logDir(cfgPath string) (*config.Config, string, error) {
	cfg, errs := config.LoadPath(cfgPath)
	if err := errs.Err(); err != nil {
		return nil, "", err
	}
	if cfg.Log.Dir == "" {
		return nil, "", fmt.Errorf("%s: [log] dir is not set: there is no query log", cfg.File)
	}
	return cfg, cfg.Path(cfg.Log.Dir), nil
}

// checkLogFilters refuses filter values that name nothing, listing the
// valid ones: a department, an action, a category (the lists', a
// department's own block_domains, "suspended").
func checkLogFilters(cfg *config.Config, dept, action, category string) error {
	if err := checkFilter("department", dept, cfg.DepartmentNames()); err != nil {
		return err
	}
	actions := []string{policy.Allowed, policy.Blocked, policy.Exempted, policy.Local, policy.Refused, policy.Malformed}
	if err := checkFilter("action", action, actions); err != nil {
		return err
	}
	if category == "" {
		return nil
	}
	pol, err := policy.Load(cfg, nil)
	if err != nil {
		return err
	}
	cats := append(pol.Lists().Matcher.Categories(), policy.SuspendedCategory)
	for _, d := range cfg.Department {
		if len(d.BlockDomains) > 0 {
			cats = append(cats, d.Name)
		}
	}
	return checkFilter("category", category, cats)
}

// auditLogUse writes a use of the query log to the audit trail: the state
// store's when there is one, else the log folder's own. A use that cannot
// be audited does not happen: the caller stops on the error.
func auditLogUse(cfg *config.Config, dir, action, what string) error {
	open := func() (*state.Store, error) { return state.Open(dir, nil) }
	if cfg.State.Dir != "" {
		open = func() (*state.Store, error) { return state.OpenConfig(cfg, nil) }
	}
	st, err := open()
	if err == nil {
		err = st.Audit(state.AuditEvent{Who: osUser(), Action: action, What: what})
	}
	if err != nil {
		return fmt.Errorf("the audit trail cannot be written: %w", err)
	}
	return nil
}

const logsUsage = `usage: civicdns logs [-config FILE] [-client IP|CIDR] [-name N] [-department D] [-action A] [-category C] [-device D] [-mac MAC]
                     [-since DUR | -from TIME -to TIME] [-json] [-limit N]
       civicdns logs [-config FILE] hold -client IP|CIDR [-name N] -reason R
       civicdns logs [-config FILE] release ID
       civicdns logs [-config FILE] holds
`

// logsArgs are cmdLogs's flags, parsed.
type logsArgs struct {
	cfgPath, client, name, dept, action, category, from, to, reason *string
	device, mac                                                     *string
	since                                                           *time.Duration
	asJSON                                                          *bool
	limit                                                           *int
	verb                                                            string
	fl                                                              *flag.FlagSet
}

// parseLogs reads "logs [flags]" and "logs hold|release|holds [flags]"
// (the verb may stand before its flags).
func parseLogs(args []string, stderr io.Writer) (*logsArgs, error) {
	fl := flag.NewFlagSet("logs", flag.ContinueOnError)
	fl.SetOutput(stderr)
	a := &logsArgs{fl: fl, cfgPath: configFlag(fl),
		client:   fl.String("client", "", "a client address or network"),
		name:     fl.String("name", "", "a name, with its subdomains"),
		dept:     fl.String("department", "", "a department"),
		action:   fl.String("action", "", "allowed, blocked, exempted, local, refused or malformed"),
		category: fl.String("category", "", "a category"),
		device:   fl.String("device", "", "a device's name (its DHCP host name, or a roaming device's)"),
		mac:      fl.String("mac", "", "a device's hardware address"),
		since:    durationVar(fl, "since", 0, "the last DUR (7d, 24h)"),
		from:     fl.String("from", "", "from this time (RFC 3339 or YYYY-MM-DD)"),
		to:       fl.String("to", "", "until this time (RFC 3339 or YYYY-MM-DD)"),
		asJSON:   fl.Bool("json", false, "the records as JSON lines"),
		limit:    fl.Int("limit", 0, "at most N records (0: all)"),
		reason:   fl.String("reason", "", "why (hold)"),
	}
	for i, arg := range args {
		if arg == "hold" || arg == "release" || arg == "holds" {
			a.verb = arg
			args = append(append([]string(nil), args[:i]...), args[i+1:]...)
			break
		}
	}
	if a.verb == "" { // a search: the configuration may be its one positional argument
		return a, parseWithConfig(fl, a.cfgPath, args)
	}
	return a, fl.Parse(args)
}

// filter is the search the flags describe (client and name; the rest is
// set by the search itself).
func (a *logsArgs) filter() (querylog.Filter, error) {
	var f querylog.Filter
	var err error
	if *a.client != "" {
		if f.Client, err = config.ParsePrefix(*a.client); err != nil {
			return f, fmt.Errorf("-client: %v", err)
		}
	}
	if *a.name != "" {
		if f.Name, err = config.NormalizeName(*a.name); err != nil {
			return f, fmt.Errorf("-name: %v", err)
		}
	}
	return f, nil
}

func cmdLogs(args []string, stdout, stderr io.Writer) int {
	a, err := parseLogs(args, stderr)
	if err != nil {
		fmt.Fprint(stderr, logsUsage)
		return 2
	}
	cfg, dir, err := logDir(*a.cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "civicdns logs: %v\n", err)
		return 1
	}
	if err := checkLogFilters(cfg, *a.dept, *a.action, *a.category); err != nil {
		fmt.Fprintf(stderr, "civicdns logs: %v\n", err)
		return 2
	}
	f, err := a.filter()
	if err != nil {
		fmt.Fprintf(stderr, "civicdns logs: %v\n", err)
		return 2
	}
	if a.verb != "" {
		return logsHolds(cfg, dir, a, f, stdout, stderr)
	}
	if a.fl.NArg() > 0 {
		fmt.Fprint(stderr, logsUsage)
		return 2
	}
	f.Department, f.Action, f.Category, f.Device = *a.dept, *a.action, *a.category, *a.device
	if *a.mac != "" {
		hw, err := net.ParseMAC(*a.mac)
		if err != nil {
			fmt.Fprintf(stderr, "civicdns logs: -mac %q is not a hardware address\n", *a.mac)
			return 2
		}
		f.MAC = hw.String()
	}
	if f.From, f.To, err = timeRange(*a.since, *a.from, *a.to); err != nil {
		fmt.Fprintf(stderr, "civicdns logs: %v\n", err)
		return 2
	}
	if err := auditLogUse(cfg, dir, "log-search", strings.Join(args, " ")); err != nil {
		fmt.Fprintf(stderr, "civicdns logs: nothing searched: %v\n", err)
		return 1
	}
	if err := printSearch(cfg, dir, f, *a.limit, *a.asJSON, stdout); err != nil {
		fmt.Fprintf(stderr, "civicdns logs: %v\n", err)
		return 1
	}
	return 0
}

// printSearch prints the records f selects, as text or JSON lines.
func printSearch(cfg *config.Config, dir string, f querylog.Filter, limit int, asJSON bool, w io.Writer) error {
	n := 0
	return search(cfg, dir, f, limit, func(e *querylog.Entry) bool {
		if asJSON {
			b, _ := json.Marshal(e)
			w.Write(append(b, '\n'))
		} else {
			dept := e.Department
			if dept == "" {
				dept = "-"
			}
			who := e.Client
			if e.Device != "" { // the device that held the address (or a roaming device): it says more than the address
				who += " [" + esc(e.Device) + "]"
			}
			fmt.Fprintf(w, "%s  %-15s %-12s %-9s %-5s %s%s  %s %.1fms\n", citytime.Format(e.Time, cfg.Policy.Location), who, esc(dept), e.Action,
				e.Type, esc(e.Name), catOf(e.Category, e.Service), e.Rcode, e.ElapsedMS)
		}
		n++
		return limit == 0 || n < limit
	})
}

// logsHolds runs logs hold, release and holds: the legal holds.
func logsHolds(cfg *config.Config, dir string, a *logsArgs, f querylog.Filter, stdout, stderr io.Writer) int {
	holds := querylog.OpenHolds(dir, cfg.State.Postgres)
	defer holds.Close()
	switch a.verb {
	case "hold":
		if !f.Client.IsValid() {
			fmt.Fprint(stderr, logsUsage)
			return 2
		}
		h, err := holds.Place(f.Client, f.Name, *a.reason, osUser(), time.Now())
		if err != nil {
			fmt.Fprintf(stderr, "civicdns logs hold: %v\n", err)
			return 1
		}
		if err := auditLogUse(cfg, dir, "log-hold", fmt.Sprintf("hold %s on client %s name %q: %s", h.ID, h.Client, h.Name, h.Reason)); err != nil {
			fmt.Fprintf(stderr, "civicdns logs hold: hold %s is placed, but %v\n", h.ID, err)
			return 1
		}
		fmt.Fprintf(stdout, "placed hold %s: the records of %s%s are kept past retention until `civicdns logs release %s`\n", h.ID, h.Client, nameOf(h.Name), h.ID)
		return 0
	case "release":
		if a.fl.NArg() != 1 {
			fmt.Fprint(stderr, logsUsage)
			return 2
		}
		id := a.fl.Arg(0)
		if err := holds.Release(id, osUser(), time.Now()); err != nil {
			fmt.Fprintf(stderr, "civicdns logs release: %v\n", err)
			return 1
		}
		if err := auditLogUse(cfg, dir, "log-release", "hold "+id); err != nil {
			fmt.Fprintf(stderr, "civicdns logs release: %s is released, but %v\n", id, err)
			return 1
		}
		fmt.Fprintf(stdout, "released %s\n", id)
		return 0
	}
	return listHolds(holds, stdout, stderr)
}

// listHolds prints every legal hold, released ones too.
func listHolds(holds *querylog.Holds, stdout, stderr io.Writer) int {
	list, err := holds.List()
	if err != nil {
		fmt.Fprintf(stderr, "civicdns logs holds: %v\n", err)
		return 1
	}
	for _, h := range list {
		status := "in force"
		if h.Released {
			status = "released by " + h.ReleasedBy + " " + h.ReleasedAt.Format("2006-01-02")
		}
		fmt.Fprintf(stdout, "%s  %s%s  placed by %s %s: %s (%s)\n", h.ID, h.Client, esc(nameOf(h.Name)), esc(h.By), h.Time.Format("2006-01-02"), esc(h.Reason), esc(status))
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "no legal holds")
	}
	return 0
}

// search reads the central log in PostgreSQL when [log] postgres is set
// (every instance's records), else this server's day files.
func search(cfg *config.Config, dir string, f querylog.Filter, limit int, fn func(*querylog.Entry) bool) error {
	if cfg.Log.Postgres == "" {
		return querylog.Search(dir, f, fn)
	}
	ctx := context.Background()
	pool, err := querylog.Connect(ctx, cfg.Log.Postgres)
	if err != nil {
		return fmt.Errorf("the central query log: %w", err)
	}
	defer pool.Close()
	return querylog.SearchDatabase(ctx, pool, f, limit, fn)
}

func nameOf(n string) string {
	if n == "" {
		return ""
	}
	return " for " + n
}

// catOf is how a record's category (and service) follow its name.
func catOf(c, service string) string {
	if c == "" {
		return ""
	}
	return " (" + catName(c, service) + ")"
}

// catName is a category with the service that blocked ("chat: Telegram").
func catName(c, service string) string {
	if service != "" {
		return c + ": " + esc(service)
	}
	return c
}

func timeRange(since time.Duration, from, to string) (time.Time, time.Time, error) {
	var f, t time.Time
	var err error
	if since > 0 {
		f = time.Now().Add(-since)
	}
	if from != "" {
		if f, err = parseAt(from); err != nil {
			return f, t, fmt.Errorf("-from: %v", err)
		}
	}
	if to != "" {
		if t, err = parseAt(to); err != nil {
			return f, t, fmt.Errorf("-to: %v", err)
		}
	}
	return f, t, nil
}
