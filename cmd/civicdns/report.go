package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/querylog"
)

// cmdReport prints per-department figures from the query log.
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
	reports, err := collectReports(cfg, dir, querylog.Filter{Department: *dept, From: time.Now().Add(-*since)})
	if err != nil {
		fmt.Fprintf(stderr, "civicdns report: %v\n", err)
		return 1
	}
	if *asCSV {
		writeReportCSV(stdout, reports, *top)
		return 0
	}
	fmt.Fprintf(stdout, "query log report, the last %s\n", *since)
	writeReportText(stdout, reports, *top)
	return 0
}

// collectReports counts the records f selects, per department.
func collectReports(cfg *config.Config, dir string, f querylog.Filter) (map[string]*deptReport, error) {
	reports := map[string]*deptReport{}
	err := search(cfg, dir, f, 0, func(e *querylog.Entry) bool {
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
		case "local":
			r.local++
		}
		return true
	})
	return reports, err
}

// sortedDepts are the reports' departments in order.
func sortedDepts(reports map[string]*deptReport) []string {
	depts := make([]string, 0, len(reports))
	for d := range reports {
		depts = append(depts, d)
	}
	sort.Strings(depts)
	return depts
}

func writeReportCSV(out io.Writer, reports map[string]*deptReport, top int) {
	w := csv.NewWriter(out)
	w.Write([]string{"department", "kind", "key", "count"})
	for _, d := range sortedDepts(reports) {
		r := reports[d]
		w.Write([]string{d, "lookups", "", fmt.Sprint(r.lookups)})
		w.Write([]string{d, "blocked", "", fmt.Sprint(r.blocked)})
		w.Write([]string{d, "exempted", "", fmt.Sprint(r.exempted)})
		w.Write([]string{d, "local", "", fmt.Sprint(r.local)})
		for _, kv := range topN(r.byCategory, 1<<30) {
			w.Write([]string{d, "blocked_category", kv.k, fmt.Sprint(kv.n)})
		}
		for _, kv := range topN(r.names, top) {
			w.Write([]string{d, "top_blocked_name", kv.k, fmt.Sprint(kv.n)})
		}
		for _, kv := range topN(r.clients, top) {
			w.Write([]string{d, "top_blocked_client", kv.k, fmt.Sprint(kv.n)})
		}
	}
	w.Flush()
}

func writeReportText(w io.Writer, reports map[string]*deptReport, top int) {
	for _, d := range sortedDepts(reports) {
		r := reports[d]
		fmt.Fprintf(w, "\n%s: %d lookups, %d blocked, %d exempted, %d answered locally (names that never leave the city)\n",
			esc(d), r.lookups, r.blocked, r.exempted, r.local)
		for _, kv := range topN(r.byCategory, 1<<30) {
			fmt.Fprintf(w, "  blocked as %-14s %d\n", kv.k, kv.n)
		}
		if len(r.names) > 0 {
			fmt.Fprintln(w, "  top blocked names:")
			for _, kv := range topN(r.names, top) {
				fmt.Fprintf(w, "    %6d  %s\n", kv.n, esc(kv.k))
			}
			fmt.Fprintln(w, "  clients with most blocked lookups:")
			for _, kv := range topN(r.clients, top) {
				fmt.Fprintf(w, "    %6d  %s\n", kv.n, kv.k)
			}
		}
	}
}
