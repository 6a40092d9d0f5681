package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"io"
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
	if err := checkFilter("department", *dept, cfg.DepartmentNames()); err != nil {
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
// Over the day files, whole compacted days are read from their summaries.
func collectReports(cfg *config.Config, dir string, f querylog.Filter) (querylog.Reports, error) {
	if cfg.Log.Postgres == "" {
		return querylog.Summarize(dir, f)
	}
	reports := querylog.Reports{}
	err := search(cfg, dir, f, 0, func(e *querylog.Entry) bool {
		reports.Add(e)
		return true
	})
	return reports, err
}

func writeReportCSV(out io.Writer, reports querylog.Reports, top int) {
	w := csv.NewWriter(out)
	w.Write([]string{"department", "kind", "key", "count"})
	for _, d := range reports.Departments() {
		r := reports[d]
		w.Write([]string{d, "lookups", "", fmt.Sprint(r.Lookups)})
		w.Write([]string{d, "blocked", "", fmt.Sprint(r.Blocked)})
		w.Write([]string{d, "exempted", "", fmt.Sprint(r.Exempted)})
		w.Write([]string{d, "local", "", fmt.Sprint(r.Local)})
		for _, kv := range querylog.Top(r.ByCategory, 1<<30) {
			w.Write([]string{d, "blocked_category", kv.Key, fmt.Sprint(kv.Count)})
		}
		for _, kv := range querylog.Top(r.Names, top) {
			w.Write([]string{d, "top_blocked_name", kv.Key, fmt.Sprint(kv.Count)})
		}
		for _, kv := range querylog.Top(r.Clients, top) {
			w.Write([]string{d, "top_blocked_client", kv.Key, fmt.Sprint(kv.Count)})
		}
		for _, kv := range querylog.Top(r.Devices, top) {
			w.Write([]string{d, "top_blocked_device", kv.Key, fmt.Sprint(kv.Count)})
		}
	}
	w.Flush()
}

func writeReportText(w io.Writer, reports querylog.Reports, top int) {
	for _, d := range reports.Departments() {
		r := reports[d]
		fmt.Fprintf(w, "\n%s: %d lookups, %d blocked, %d exempted, %d answered locally (names that never leave the city)\n",
			esc(d), r.Lookups, r.Blocked, r.Exempted, r.Local)
		for _, kv := range querylog.Top(r.ByCategory, 1<<30) {
			fmt.Fprintf(w, "  blocked as %-14s %d\n", kv.Key, kv.Count)
		}
		if len(r.Names) > 0 {
			fmt.Fprintln(w, "  top blocked names:")
			for _, kv := range querylog.Top(r.Names, top) {
				fmt.Fprintf(w, "    %6d  %s\n", kv.Count, esc(kv.Key))
			}
			fmt.Fprintln(w, "  clients with most blocked lookups:")
			for _, kv := range querylog.Top(r.Clients, top) {
				fmt.Fprintf(w, "    %6d  %s\n", kv.Count, kv.Key)
			}
			if len(r.Devices) > 0 {
				fmt.Fprintln(w, "  devices with most blocked lookups (DHCP leases, roaming devices):")
				for _, kv := range querylog.Top(r.Devices, top) {
					fmt.Fprintf(w, "    %6d  %s\n", kv.Count, esc(kv.Key))
				}
			}
		}
	}
}
