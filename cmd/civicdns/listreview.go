package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/listreview"
	"github.com/civicdns/civicdns/live"
	"github.com/civicdns/civicdns/querylog"
	"github.com/civicdns/civicdns/upstream"
)

// cmdListsReview is `civicdns lists review`: the names clients looked up
// that no category holds, ranked, with the evidence to decide on each. It
// reads the query log (so it is audited) and blocks nothing.
func cmdListsReview(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("lists review", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgPath := configFlag(fl)
	since := durationVar(fl, "since", 7*24*time.Hour, "the records of this long ago to now (7d, 24h)")
	top := fl.Int("top", 30, "how many domains to show")
	resolve := fl.Bool("resolve", true, "look up the name servers and CNAME targets of the domains shown (through the upstream)")
	if err := parseWithConfig(fl, cfgPath, args); err != nil {
		return usageError(fl, err)
	}
	cfg, dir, err := logDir(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "civicdns lists review:", err)
		return 1
	}
	_, pol, err := live.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := auditLogUse(cfg, dir, "lists-review", "the query log of the last "+days(*since)); err != nil {
		fmt.Fprintln(stderr, "civicdns lists review:", err)
		return 1
	}
	r := listreview.New(pol.Lists().Matcher)
	f := querylog.Filter{From: time.Now().Add(-*since)}
	if err := search(cfg, dir, f, 0, func(e *querylog.Entry) bool { r.Add(e); return true }); err != nil {
		fmt.Fprintln(stderr, "civicdns lists review:", err)
		return 1
	}
	cands := r.Ranked(*top)
	if *resolve && len(cands) > 0 {
		if server := lookupServer(cfg); server != "" {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			listreview.Evidence(ctx, listreview.DNS{Server: server}, cands, r.BlockedSample(20))
			cancel()
		}
	}
	printReview(stdout, cands, *since)
	return 0
}

// lookupServer is a plain DNS server to look the evidence up through: the
// first plain upstream, else the system's first resolver.
func lookupServer(cfg *config.Config) string {
	servers := cfg.Upstream.Servers
	if len(servers) == 0 {
		servers, _ = upstream.SystemServers("/etc/resolv.conf")
	}
	for _, s := range servers {
		if !strings.Contains(s, "://") {
			return s
		}
	}
	return ""
}

// days writes a whole number of days as "7d", anything else as Go does.
func days(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

func printReview(w io.Writer, cands []listreview.Candidate, since time.Duration) {
	if len(cands) == 0 {
		fmt.Fprintf(w, "every name looked up in the last %s is in a list or never leaves the city\n", days(since))
		return
	}
	fmt.Fprintf(w, "names no category holds, looked up in the last %s, by queries:\n\n", days(since))
	for i, c := range cands {
		fmt.Fprintf(w, "%3d. %s  %d queries from %d clients  (%s)\n", i+1, esc(c.Domain), c.Queries, c.Clients, esc(strings.Join(c.Examples, ", ")))
		for _, s := range c.Shared {
			fmt.Fprintf(w, "     shares %s with %s (%s)\n", esc(s.Via), esc(s.With), s.Category)
		}
		for _, s := range c.Siblings {
			fmt.Fprintf(w, "     the same name is listed under another suffix: %s (%s)\n", esc(s.Domain), s.Category)
		}
		for _, word := range c.Words {
			fmt.Fprintf(w, "     the name holds %q (%s)\n", word.Word, word.Category)
		}
		if cat := c.Suggest(); cat != "" {
			fmt.Fprintf(w, "     to add it: civicdns lists add -category %s -by NAME -reason WHY %s\n", cat, esc(c.Domain))
		}
	}
	fmt.Fprintln(w, "\nNothing is blocked by this review: the evidence is for a person to weigh (shared hosting and words mislead at times).")
}
