package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/civicdns/civicdns/config"
)

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("check", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgPath := configFlag(fl)
	if err := fl.Parse(args); err != nil {
		return 2
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	printSummary(stdout, cfg)
	return 0
}

func printSummary(w io.Writer, cfg *config.Config) {
	fmt.Fprintf(w, "%s: OK\n", cfg.File)
	fmt.Fprintf(w, "listen:    %s (UDP and TCP)\n", strings.Join(cfg.Server.Listen, ", "))
	servers := strings.Join(cfg.Upstream.Servers, ", ")
	if servers == "" {
		servers = "the system's resolvers (/etc/resolv.conf)"
	}
	fmt.Fprintf(w, "upstream:  %s, timeout %s\n", servers, cfg.Upstream.Timeout)
	for _, z := range cfg.Upstream.Zone {
		fmt.Fprintf(w, "  zone %s → %s\n", z.Name, strings.Join(z.Servers, ", "))
	}
	fmt.Fprintf(w, "cache:     %d entries, max TTL %s, serve stale %s, prefetch %v\n",
		cfg.Cache.Size, cfg.Cache.MaxTTL, cfg.Cache.ServeStale, cfg.Cache.Prefetch)
	if cfg.Metrics.Listen != "" {
		fmt.Fprintf(w, "metrics:   http://%s/metrics\n", cfg.Metrics.Listen)
	}
}
