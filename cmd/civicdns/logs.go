package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/civicdns/civicdns/config"
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
	if err := checkFilter("department", dept, departmentNames(cfg)); err != nil {
		return err
	}
	actions := []string{policy.Allowed, policy.Blocked, policy.Exempted, policy.Refused, policy.Malformed}
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

const logsUsage = `usage: civicdns logs [-config FILE] [-client IP|CIDR] [-name N] [-department D] [-action A] [-category C]
                     [-since DUR | -from TIME -to TIME] [-json] [-limit N]
       civicdns logs [-config FILE] hold -client IP|CIDR [-name N] -reason R
       civicdns logs [-config FILE] release ID
       civicdns logs [-config FILE] holds
`

func cmdLogs(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("logs", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgPath := configFlag(fl)
	client := fl.String("client", "", "a client address or network")
	name := fl.String("name", "", "a name, with its subdomains")
	dept := fl.String("department", "", "a department")
	action := fl.String("action", "", "allowed, blocked, exempted, refused or malformed")
	category := fl.String("category", "", "a category")
	since := durationVar(fl, "since", 0, "the last DUR (7d, 24h)")
	from := fl.String("from", "", "from this time (RFC 3339 or YYYY-MM-DD)")
	to := fl.String("to", "", "until this time (RFC 3339 or YYYY-MM-DD)")
	asJSON := fl.Bool("json", false, "the records as JSON lines")
	limit := fl.Int("limit", 0, "at most N records (0: all)")
	reason := fl.String("reason", "", "why (hold)")
	// "logs hold -client …": the verb may stand before its flags.
	verb := ""
	for i, a := range args {
		if a == "hold" || a == "release" || a == "holds" {
			verb = a
			args = append(append([]string(nil), args[:i]...), args[i+1:]...)
			break
		}
	}
	if err := fl.Parse(args); err != nil {
		fmt.Fprint(stderr, logsUsage)
		return 2
	}
	cfg, dir, err := logDir(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "civicdns logs: %v\n", err)
		return 1
	}
	if err := checkLogFilters(cfg, *dept, *action, *category); err != nil {
		fmt.Fprintf(stderr, "civicdns logs: %v\n", err)
		return 2
	}
	var f querylog.Filter
	if *client != "" {
		if f.Client, err = config.ParsePrefix(*client); err != nil {
			fmt.Fprintf(stderr, "civicdns logs: -client: %v\n", err)
			return 2
		}
	}
	if *name != "" {
		if f.Name, err = config.NormalizeName(*name); err != nil {
			fmt.Fprintf(stderr, "civicdns logs: -name: %v\n", err)
			return 2
		}
	}
	holds := querylog.OpenHolds(dir, cfg.State.Postgres)
	defer holds.Close()
	switch verb {
	case "hold":
		if !f.Client.IsValid() {
			fmt.Fprint(stderr, logsUsage)
			return 2
		}
		h, err := holds.Place(f.Client, f.Name, *reason, osUser(), time.Now())
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
		if fl.NArg() != 1 {
			fmt.Fprint(stderr, logsUsage)
			return 2
		}
		if err := holds.Release(fl.Arg(0), osUser(), time.Now()); err != nil {
			fmt.Fprintf(stderr, "civicdns logs release: %v\n", err)
			return 1
		}
		if err := auditLogUse(cfg, dir, "log-release", "hold "+fl.Arg(0)); err != nil {
			fmt.Fprintf(stderr, "civicdns logs release: %s is released, but %v\n", fl.Arg(0), err)
			return 1
		}
		fmt.Fprintf(stdout, "released %s\n", fl.Arg(0))
		return 0
	case "holds":
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
	if fl.NArg() > 0 {
		fmt.Fprint(stderr, logsUsage)
		return 2
	}
	f.Department, f.Action, f.Category = *dept, *action, *category
	if f.From, f.To, err = timeRange(*since, *from, *to); err != nil {
		fmt.Fprintf(stderr, "civicdns logs: %v\n", err)
		return 2
	}
	if err := auditLogUse(cfg, dir, "log-search", strings.Join(args, " ")); err != nil {
		fmt.Fprintf(stderr, "civicdns logs: nothing searched: %v\n", err)
		return 1
	}
	n := 0
	err = search(cfg, dir, f, *limit, func(e *querylog.Entry) bool {
		if *asJSON {
			b, _ := json.Marshal(e)
			stdout.Write(append(b, '\n'))
		} else {
			dept := e.Department
			if dept == "" {
				dept = "-"
			}
			fmt.Fprintf(stdout, "%s  %-15s %-12s %-9s %-5s %s%s  %s %.1fms\n", e.Time.Format("2006-01-02 15:04:05"), e.Client, dept, e.Action,
				e.Type, e.Name, catOf(e.Category), e.Rcode, e.ElapsedMS)
		}
		n++
		return *limit == 0 || n < *limit
	})
	if err != nil {
		fmt.Fprintf(stderr, "civicdns logs: %v\n", err)
		return 1
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

func catOf(c string) string {
	if c == "" {
		return ""
	}
	return " (" + c + ")"
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

// deptReport is one department's figures.
type deptReport struct {
	lookups, blocked, exempted int
	byCategory                 map[string]int
	names, clients             map[string]int
}

func cmdReport(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("report", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgPath := configFlag(fl)
	dept := fl.String("department", "", "one department (default every one)")
	since := durationVar(fl, "since", 7*24*time.Hour, "the last DUR (7d, 36h)")
	asCSV := fl.Bool("csv", false, "CSV instead of text")
	top := fl.Int("top", 10, "how many names and clients to list")
	if err := parseWithConfig(fl, cfgPath, args); err != nil {
		return usageError(fl, err)
	}
	cfg, dir, err := logDir(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "civicdns report: %v\n", err)
		return 1
	}
	if err := checkFilter("department", *dept, departmentNames(cfg)); err != nil {
		fmt.Fprintf(stderr, "civicdns report: %v\n", err)
		return 2
	}
	if err := auditLogUse(cfg, dir, "log-report", strings.Join(args, " ")); err != nil {
		fmt.Fprintf(stderr, "civicdns report: nothing read: %v\n", err)
		return 1
	}
	reports := map[string]*deptReport{}
	f := querylog.Filter{Department: *dept, From: time.Now().Add(-*since)}
	err = search(cfg, dir, f, 0, func(e *querylog.Entry) bool {
		d := e.Department
		if d == "" {
			d = "(citywide)"
		}
		r := reports[d]
		if r == nil {
			r = &deptReport{byCategory: map[string]int{}, names: map[string]int{}, clients: map[string]int{}}
			reports[d] = r
		}
		r.lookups++
		switch e.Action {
		case "blocked":
			r.blocked++
			r.byCategory[e.Category]++
			r.names[e.Name]++
			r.clients[e.Client]++
		case "exempted":
			r.exempted++
		}
		return true
	})
	if err != nil {
		fmt.Fprintf(stderr, "civicdns report: %v\n", err)
		return 1
	}
	depts := make([]string, 0, len(reports))
	for d := range reports {
		depts = append(depts, d)
	}
	sort.Strings(depts)
	if *asCSV {
		w := csv.NewWriter(stdout)
		w.Write([]string{"department", "kind", "key", "count"})
		for _, d := range depts {
			r := reports[d]
			w.Write([]string{d, "lookups", "", fmt.Sprint(r.lookups)})
			w.Write([]string{d, "blocked", "", fmt.Sprint(r.blocked)})
			w.Write([]string{d, "exempted", "", fmt.Sprint(r.exempted)})
			for _, kv := range topN(r.byCategory, 1<<30) {
				w.Write([]string{d, "blocked_category", kv.k, fmt.Sprint(kv.n)})
			}
			for _, kv := range topN(r.names, *top) {
				w.Write([]string{d, "top_blocked_name", kv.k, fmt.Sprint(kv.n)})
			}
			for _, kv := range topN(r.clients, *top) {
				w.Write([]string{d, "top_blocked_client", kv.k, fmt.Sprint(kv.n)})
			}
		}
		w.Flush()
		return 0
	}
	fmt.Fprintf(stdout, "query log report, the last %s\n", *since)
	for _, d := range depts {
		r := reports[d]
		fmt.Fprintf(stdout, "\n%s: %d lookups, %d blocked, %d exempted\n", d, r.lookups, r.blocked, r.exempted)
		for _, kv := range topN(r.byCategory, 1<<30) {
			fmt.Fprintf(stdout, "  blocked as %-14s %d\n", kv.k, kv.n)
		}
		if len(r.names) > 0 {
			fmt.Fprintln(stdout, "  top blocked names:")
			for _, kv := range topN(r.names, *top) {
				fmt.Fprintf(stdout, "    %6d  %s\n", kv.n, kv.k)
			}
			fmt.Fprintln(stdout, "  clients with most blocked lookups:")
			for _, kv := range topN(r.clients, *top) {
				fmt.Fprintf(stdout, "    %6d  %s\n", kv.n, kv.k)
			}
		}
	}
	return 0
}

type keyCount struct {
	k string
	n int
}

func topN(m map[string]int, n int) []keyCount {
	out := make([]keyCount, 0, len(m))
	for k, c := range m {
		out = append(out, keyCount{k, c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].n > out[j].n || out[i].n == out[j].n && out[i].k < out[j].k })
	if len(out) > n {
		out = out[:n]
	}
	return out
}
