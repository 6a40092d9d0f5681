package main

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/internal/certfile"
	"github.com/civicdns/civicdns/live"
	"github.com/civicdns/civicdns/localzones"
	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/recursive"
	"github.com/civicdns/civicdns/upstream"
	"github.com/jackc/pgx/v5/pgconn"
)

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("check", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgPath := configFlag(fl)
	if err := parseWithConfig(fl, cfgPath, args); err != nil {
		return usageError(fl, err)
	}
	// Every file is checked in one run: the lists too when the main file
	// has wrong values (but can be read).
	cfg, errs := config.LoadPath(*cfgPath)
	var pol *policy.Policy
	if cfg != nil {
		var err error
		if pol, err = policy.Load(cfg, nil); err != nil {
			var more config.Errors
			if errors.As(err, &more) {
				errs = append(errs, more...)
			} else {
				errs = append(errs, config.Error{File: cfg.File, Msg: err.Error()})
			}
		}
	}
	if cfg != nil && cfg.Upstream.Mode == "recursive" {
		if err := checkRecursion(cfg); err != nil {
			errs = append(errs, config.Error{File: cfg.File, Msg: err.Error()})
		}
	}
	var warns []string
	if cfg != nil {
		more, w := serveChecks(cfg)
		errs, warns = append(errs, more...), w
	}
	for _, w := range warns {
		fmt.Fprintln(stderr, "warning: "+w)
	}
	if len(errs) > 0 {
		// The main file's errors first, then each list file's, each in line order.
		main := ""
		if cfg != nil {
			main = cfg.File
		}
		sorted := errs.Sorted()
		sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].File == main && sorted[j].File != main })
		fmt.Fprintln(stderr, sorted.Error())
		fmt.Fprintln(stderr, errs.Summary())
		return 1
	}
	printSummary(stdout, cfg, pol, time.Now())
	return 0
}

func printSummary(w io.Writer, cfg *config.Config, pol *policy.Policy, now time.Time) {
	fmt.Fprintf(w, "%s: OK\n", cfg.File)
	printServing(w, cfg)
	printLocalZones(w, pol.LocalZones(), cfg.Policy.BlockWPAD)
	printParts(w, cfg)
	printCategories(w, pol)
	printDepartments(w, cfg, pol, now)
}

// printServing: the listeners, who is served, the upstreams, the cache.
func printServing(w io.Writer, cfg *config.Config) {
	fmt.Fprintf(w, "listen:    %s (UDP and TCP)\n", strings.Join(cfg.Server.Listen, ", "))
	for _, a := range cfg.Server.TLSListen {
		fmt.Fprintf(w, "  DNS over TLS   %s (certificate %s)\n", a, cfg.Path(cfg.Server.TLSCert))
	}
	for _, a := range cfg.Server.HTTPSListen {
		fmt.Fprintf(w, "  DNS over HTTPS https://%s/dns-query (HTTP/2 and HTTP/1.1)\n", a)
	}
	for _, a := range cfg.Server.QUICListen {
		fmt.Fprintf(w, "  DNS over QUIC  %s (UDP)\n", a)
	}
	if r := cfg.Server.RateLimit; r.Queries > 0 {
		mode := "enforced"
		if r.LogOnly {
			mode = "log_only: counted and logged, everyone answered"
		}
		fmt.Fprintf(w, "  rate limit %d queries/s per client (IPv6 /%d), burst %d, slip %d, exempt %v: %s\n",
			r.Queries, r.IPv6Prefix, cmp.Or(r.Burst, 2*r.Queries), r.Slip, r.Exempt, mode)
	}
	for _, missing := range uncoveredAddrs(cfg) {
		fmt.Fprintf(w, "  WARNING: tls_cert does not name %s: clients that verify the address (DDR) will not use it; `civicdns ca issue -ip %s`\n", missing, missing)
	}
	fmt.Fprintf(w, "serves:    %s\n", servedSummary(cfg))
	servers := strings.Join(cfg.Upstream.Servers, ", ")
	if cfg.Upstream.Mode == "recursive" {
		servers = recursionSummary(cfg)
	} else if servers == "" {
		servers = "the system's resolvers (/etc/resolv.conf): "
		if plan, err := upstream.PlanFor(cfg.Upstream, upstream.Options{}); err != nil {
			servers += "none: " + err.Error()
		} else {
			servers += strings.Join(plan.Servers, ", ")
			if err := plan.Loops(cfg.Server.ListenAddrs); err != nil {
				servers += "\n  WARNING: " + err.Error()
			}
		}
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

// printParts: the block answer, the block page, the state store, the
// console and the query log.
func printParts(w io.Writer, cfg *config.Config) {
	blockAnswer := cfg.Block.Answer
	if blockAnswer == "blockpage" {
		var addrs []string
		for _, a := range []string{cfg.Block.BlockpageIPv4, cfg.Block.BlockpageIPv6} {
			if a != "" {
				addrs = append(addrs, a)
			}
		}
		blockAnswer += " (A/AAAA → " + strings.Join(addrs, ", ") + ")"
	}
	fmt.Fprintf(w, "block:     answered %s, TTL %s\n", blockAnswer, cfg.Block.TTL)
	if bp := cfg.Blockpage; bp.Listen != "" || bp.TLSListen != "" {
		fmt.Fprintf(w, "blockpage: http %s, https %s (CA %s)\n", orDash(bp.Listen), orDash(bp.TLSListen), orDash(bp.CACert))
	}
	if cfg.State.Dir != "" {
		fmt.Fprintf(w, "state:     %s (requests, decisions, suspensions, roaming devices, audit trail)\n", cfg.Path(cfg.State.Dir))
		if cfg.State.Postgres != "" {
			fmt.Fprintf(w, "           shared with every instance through PostgreSQL at %s (this folder keeps the local copy and the outbox)\n", dsnHost(cfg.State.Postgres))
		}
	}
	if cfg.Admin.Listen != "" {
		fmt.Fprintf(w, "console:   http://%s (%d directors)\n", cfg.Admin.Listen, len(cfg.Director))
	}
	if d := cfg.Directory; d.Enabled() {
		how := "TLS"
		if strings.HasPrefix(d.LDAPURL, "ldap://") {
			how = "StartTLS, required: a directory that does not offer it is refused"
		}
		groups := 0
		for _, e := range cfg.Director {
			if e.Group != "" {
				groups++
			}
		}
		fmt.Fprintf(w, "directory: %s (%s), users under %s, %d director groups; local accounts stay the break-glass path\n", d.LDAPURL, how, d.UserBase, groups)
	}
	if d := cfg.Directory; d.OIDC() {
		fmt.Fprintf(w, "sign-in:   OpenID Connect at %s (client %s, groups from %q); redirect URI https://<console>/oidc/callback\n", d.OIDCIssuer, d.OIDCClientID, d.OIDCGroupsClaim)
	}
	if n := cfg.Notify; n.Mail() || n.Webhook != "" {
		weekly := "no weekly report"
		if !n.Weekly.Off {
			weekly = "weekly report " + n.WeeklyReport
		}
		fmt.Fprintf(w, "notify:    mail through %s from %s, webhook %s, %s; kept in the outbox until delivered\n", orDash(n.SMTP), orDash(n.From), orDash(n.Webhook), weekly)
	}
	if l := cfg.Log; l.Dir != "" {
		central := ""
		if l.Postgres != "" {
			central = ", copied to PostgreSQL"
		}
		fmt.Fprintf(w, "query log: %s as %s, days kept %d (blocked %d; 0: all)%s\n", cfg.Path(l.Dir), l.Instance, l.RetentionDays, l.BlockedRetentionDays, central)
	}
}

// printCategories: each category's size, overlaps, skipped lines.
func printCategories(w io.Writer, pol *policy.Policy) {
	lists := pol.Lists()
	fmt.Fprintf(w, "\ncategories (%d names in all):\n", lists.Matcher.Len())
	for _, name := range lists.Names() {
		c := lists.Categories[name]
		fmt.Fprintf(w, "  %-12s %9d names  %4d allowed  priority %2d  %s — %s\n", name, c.Blocked, c.Allowed, c.Priority, c.Title, orDash(c.Policy))
	}
	if ov := lists.Matcher.Overlaps(); len(ov) > 0 {
		n := 0
		for _, c := range ov {
			n += c
		}
		fmt.Fprintf(w, "  %d names are in two categories' lists; each is reported as the category of highest priority\n", n)
	}
	if n := len(lists.Warnings); n > 0 {
		fmt.Fprintf(w, "  %d lines of imported lists were skipped, for example:\n", n)
		for i, e := range lists.Warnings {
			if i == 5 {
				break
			}
			fmt.Fprintf(w, "    %s\n", e.Error())
		}
	}
}

// printDepartments: the citywide minimum, each department, the exemptions.
func printDepartments(w io.Writer, cfg *config.Config, pol *policy.Policy, now time.Time) {
	fmt.Fprintf(w, "\ncitywide:  blocks %s", strings.Join(pol.Citywide(), ", "))
	if len(cfg.Policy.Allow) > 0 {
		fmt.Fprintf(w, "; never blocks %s", strings.Join(cfg.Policy.Allow, ", "))
	}
	fmt.Fprintln(w)
	if len(pol.Lists().Services) > 0 {
		fmt.Fprintf(w, "approved chat services: %s (every other service of the catalogue is unapproved IM: `civicdns lists services`)\n", approvedText(pol, nil))
	}
	fmt.Fprintf(w, "\ndepartments (%d):\n", len(pol.Departments()))
	for _, d := range pol.Departments() {
		nets := make([]string, len(d.Networks))
		for i, n := range d.Networks {
			nets[i] = n.String()
		}
		extra := ""
		if len(d.Block) > 0 {
			extra = "; also blocks " + strings.Join(d.Block, ", ")
		}
		if len(d.BlockDomains) > 0 {
			extra += "; its own names (" + d.Name + "): " + strings.Join(d.BlockDomains, ", ")
		}
		if d.SafeSearch {
			extra += "; safe search"
		}
		if len(d.ApprovedChat) > len(pol.ApprovedChat) {
			extra += "; chat services approved: " + approvedText(pol, d)
		}
		fmt.Fprintf(w, "  %-16s %s%s\n", d.Name, strings.Join(nets, ", "), extra)
	}
	ex := pol.ConfigExemptions()
	fmt.Fprintf(w, "\nexemptions (%d, %d active now):\n", len(ex.All()), ex.Active(now))
	for _, e := range ex.All() {
		fmt.Fprintf(w, "  %s\n", exemptionLine(e, now))
	}
}

// recursionSummary says where recursion starts and what it trusts, reading
// the root hints and trust anchor files as the server would.
func recursionSummary(cfg *config.Config) string {
	u := cfg.Upstream
	out := "recursive from the root servers of " + orDefault(u.RootHints, "the built-in IANA hints")
	if u.DNSSEC {
		out += ", DNSSEC validated from " + orDefault(u.TrustAnchor, "the built-in root KSKs (20326, 38696)")
	} else {
		out += ", DNSSEC not validated"
	}
	return out
}

// checkRecursion reads the root hints and trust anchor files as the server
// would at start.
func checkRecursion(cfg *config.Config) error {
	plan, err := upstream.PlanFor(cfg.Upstream, upstream.Options{Paths: cfg.Path})
	if err != nil {
		return err
	}
	_, err = recursive.New(live.RecursiveOptions(plan, nil, nil))
	return err
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// dsnHost names a PostgreSQL DSN's server and database without its password.
func dsnHost(dsn string) string {
	c, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return "(a DSN that does not parse: " + err.Error() + ")"
	}
	return fmt.Sprintf("%s:%d/%s", c.Host, c.Port, c.Database)
}

// servedSummary says who the resolver answers ([server] allow).
func servedSummary(cfg *config.Config) string {
	if len(cfg.Server.Allow) > 0 {
		return strings.Join(cfg.Server.Allow, ", ") + " ([server] allow); anyone else is REFUSED"
	}
	n := 0
	for _, d := range cfg.Department {
		n += len(d.Prefixes)
	}
	return fmt.Sprintf("loopback and the departments' %d networks (the default of [server] allow); anyone else is REFUSED", n)
}

// printLocalZones: what civicdns answers itself, what the city's own zones
// take, what is turned off.
func printLocalZones(w io.Writer, set *localzones.Set, wpad bool) {
	var names []string
	reverse := 0
	for _, z := range set.Zones() {
		if strings.HasSuffix(z.Name, ".in-addr.arpa") || strings.HasSuffix(z.Name, ".ip6.arpa") {
			reverse++
			continue
		}
		names = append(names, z.Name)
	}
	fmt.Fprintf(w, "local:     answered by civicdns itself, never sent upstream: %s and %d reverse zones of private, loopback, link-local, shared and documentation space (`civicdns explain` says which)\n",
		strings.Join(names, ", "), reverse)
	if f := set.ForwardedZones(); len(f) > 0 {
		fmt.Fprintf(w, "  forwarded instead, the city's own zones: %s\n", strings.Join(f, ", "))
	}
	if off := set.Off(); len(off) > 0 {
		fmt.Fprintf(w, "  turned off (local_zones_off): %s\n", strings.Join(off, ", "))
	}
	if wpad {
		fmt.Fprintln(w, "  wpad and isatap names outside the city's own zones: NXDOMAIN ([policy] block_wpad)")
	}
}

// uncoveredAddrs are the encrypted listen addresses (other than the
// wildcards) that the resolver's certificate does not name as IP SANs.
func uncoveredAddrs(cfg *config.Config) []string {
	leaf := serverLeaf(cfg)
	if leaf == nil {
		return nil
	}
	var out []string
	seen := map[netip.Addr]bool{}
	for _, ap := range append(append(append([]netip.AddrPort(nil), cfg.Server.TLSAddrs...), cfg.Server.HTTPSAddrs...), cfg.Server.QUICAddrs...) {
		ip := ap.Addr().Unmap()
		if ip.IsUnspecified() || seen[ip] {
			continue
		}
		seen[ip] = true
		if !certfile.Covers(leaf, ip) {
			out = append(out, ip.String())
		}
	}
	return out
}

// serverLeaf is the resolver's certificate ([server] tls_cert), or nil
// (none, or one that does not load: CheckFiles reports it).
func serverLeaf(cfg *config.Config) *x509.Certificate {
	if cfg.Server.TLSCert == "" {
		return nil
	}
	pair, err := tls.LoadX509KeyPair(cfg.Path(cfg.Server.TLSCert), cfg.Path(cfg.Server.TLSKey))
	if err != nil || len(pair.Certificate) == 0 {
		return nil
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil
	}
	return leaf
}
