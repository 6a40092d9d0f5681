package main

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/internal/citytime"
	"github.com/civicdns/civicdns/leases"
	"github.com/civicdns/civicdns/live"
	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/state"
)

func cmdExplain(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("explain", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgPath := configFlag(fl)
	clientFlag := fl.String("client", "", "the client's IP address")
	at := fl.String("at", "", "decide as of this time (RFC 3339, \"YYYY-MM-DD HH:MM\" or YYYY-MM-DD in [policy] timezone; default now)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() != 1 || *clientFlag == "" {
		fmt.Fprintln(stderr, "usage: civicdns explain [-config FILE] -client IP NAME")
		return 2
	}
	client, err := netip.ParseAddr(*clientFlag)
	if err != nil {
		fmt.Fprintf(stderr, "civicdns explain: -client %q is not an IP address\n", *clientFlag)
		return 2
	}
	cfg, pol, err := live.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	now := time.Now()
	if *at != "" {
		if now, err = parseAtIn(*at, pol.Location()); err != nil {
			fmt.Fprintf(stderr, "civicdns explain: -at: %v\n", err)
			return 2
		}
	}
	// The exemptions in force: the configuration's and the state store's.
	exemptions := pol.ConfigExemptions()
	if cfg.State.Dir != "" {
		store, err := state.OpenConfig(cfg, nil)
		if err == nil {
			var st *state.State
			if st, err = store.Load(); err == nil {
				exemptions, err = pol.WithExemptions(st.Exemptions(pol.Location()))
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "civicdns explain: the state store's exemptions: %v\n", err)
		}
	}
	ex, err := pol.Explain(exemptions, client, fl.Arg(0), now)
	if err != nil {
		fmt.Fprintf(stderr, "civicdns explain: %v\n", err)
		return 2
	}
	printExplanation(stdout, ex, now)
	printHolder(stdout, cfg, client, now)
	return 0
}

// printHolder says which device holds the client address at now, from
// [log] leases (when configured).
func printHolder(w io.Writer, cfg *config.Config, client netip.Addr, now time.Time) {
	if len(cfg.Log.Leases) == 0 {
		return
	}
	var paths []string
	for _, l := range cfg.Log.Leases {
		paths = append(paths, cfg.Path(l))
	}
	lw := leases.NewWatcher(paths, cfg.Policy.Location, nil, nil)
	if l := lw.Table().At(client, now); l != nil {
		end := "until released"
		if !l.End.IsZero() {
			end = "until " + citytime.Format(l.End, cfg.Policy.Location)
		}
		fmt.Fprintf(w, "device:   %s (%s) holds %s, since %s %s (DHCP lease)\n", esc(orDash(l.Hostname)), orDash(l.MAC), client, citytime.Format(l.Start, cfg.Policy.Location), end)
		return
	}
	fmt.Fprintf(w, "device:   no DHCP lease holds %s now\n", client)
}

// parseAtIn reads a time: RFC 3339, or a local "YYYY-MM-DD HH:MM" or day in loc.
func parseAtIn(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02 15:04", s, loc); err == nil {
		return t, nil
	}
	return time.ParseInLocation("2006-01-02", s, loc)
}

func parseAt(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.ParseInLocation("2006-01-02", s, time.Local)
}

func printExplanation(w io.Writer, ex policy.Explanation, now time.Time) {
	d := ex.Decision
	verdict := strings.ToUpper(d.Action)
	if d.Category != "" {
		verdict += catOf(d.Category, d.Service)
	}
	fmt.Fprintf(w, "%s for %s: %s\n\n", ex.Name, ex.Client, verdict)
	if ex.Department != nil {
		fmt.Fprintf(w, "department:   %s (network %s, %s)\n", ex.Department.Name, ex.Network, ex.Department.Where)
	} else {
		fmt.Fprintln(w, "department:   none (the citywide policy alone)")
	}
	fmt.Fprintf(w, "blocked set:  %s\n", strings.Join(ex.Blocked, ", "))
	for _, win := range ex.Windows {
		state := "not in force now"
		if win.Active {
			state = "IN FORCE now"
		}
		what := ""
		if len(win.Open) > 0 {
			what += " opens " + strings.Join(win.Open, ", ")
		}
		if len(win.Block) > 0 {
			what += " blocks " + strings.Join(win.Block, ", ")
		}
		fmt.Fprintf(w, "hours:        %s %s%s (%s): %s\n", strings.Join(win.Days, ","), win.Hours, what, win.Where, state)
	}
	if s := ex.Service; s != nil {
		state := "not approved: unapproved IM, blocked with " + s.Category
		if s.Approved {
			state = "approved by " + s.By + ": open"
		}
		fmt.Fprintf(w, "service:      %s (%s, %s; %s): %s\n", s.Name, s.ID, s.Kind, s.Where, state)
	}
	printLocal(w, ex.Local)
	if ex.PolicyAllow != nil {
		fmt.Fprintf(w, "policy allow: %s (%s): never blocked\n", ex.PolicyAllow.Name, ex.PolicyAllow.Where)
	}
	printListings(w, ex)
	for _, c := range ex.Exemptions {
		applies := ""
		if c.Applies {
			applies = "  ← lifts this block"
		}
		fmt.Fprintf(w, "%s%s\n", exemptionLine(c.Exemption, now), applies)
	}
	fmt.Fprintln(w)
	switch d.Action {
	case policy.Blocked:
		if ex.Name == policy.Canary {
			fmt.Fprintf(w, "decision: answered NXDOMAIN for every client (category bypass, %s).\n", d.Where())
			fmt.Fprintln(w, "          Browsers ask this name before turning on their own DNS over HTTPS; NXDOMAIN keeps")
			fmt.Fprintln(w, "          it off, so their lookups stay with civicdns and the policy. It does not depend on")
			fmt.Fprintln(w, "          whether bypass is blocked for the client.")
			break
		}
		fmt.Fprintf(w, "decision: blocked as %s, by %s (%s)\n", catName(d.Category, d.Service), d.Matched, d.Where())
	case policy.Local:
		fmt.Fprintf(w, "decision: answered by civicdns itself (%s); never sent upstream\n", d.Where())
	case policy.Exempted:
		fmt.Fprintf(w, "decision: exempted from %s (%s, %s) by exemption %s\n", d.Category, d.Matched, d.Where(), d.Exemption.ID)
	default:
		fmt.Fprintln(w, "decision: allowed")
		if d.SafeSearch != "" {
			fmt.Fprintf(w, "          answered with the safe-search host %s\n", d.SafeSearch)
		}
	}
}

// printListings writes every list entry for the name or a parent, and what
// it does for this client.
func printListings(w io.Writer, ex policy.Explanation) {
	if len(ex.Listings) == 0 {
		fmt.Fprintln(w, "lists:        the name and its parents are in no list")
	} else {
		fmt.Fprintln(w, "lists:")
		for _, l := range ex.Listings {
			kind := "block"
			note := ""
			switch {
			case l.Allow:
				kind, note = "allow", " (lifts this category)"
			case !l.InBlockSet:
				note = " (category not blocked for this client)"
			case ex.Service != nil && ex.Service.Approved && l.Category == ex.Service.Category:
				note = " (an approved service's: open)"
			}
			fmt.Fprintf(w, "  %-12s %-5s %s  %s%s\n", l.Category, kind, l.Entry.Name, l.Entry.Where, note)
		}
	}
}

// printLocal says how the locally served zones bear on the name.
func printLocal(w io.Writer, l *policy.LocalCheck) {
	switch {
	case l == nil:
	case l.WPAD:
		fmt.Fprintln(w, "local:        a wpad or isatap name outside the city's zones: NXDOMAIN, as Windows DNS's global query block list ([policy] block_wpad)")
	case l.Answered:
		fmt.Fprintf(w, "local:        in %s, served by civicdns itself (%s)\n", l.Zone, l.Why)
	case l.City != "":
		fmt.Fprintf(w, "local:        in %s (%s), but the city's [[upstream.zone]] %s takes it: forwarded there\n", l.Zone, l.Why, l.City)
	case l.Off:
		fmt.Fprintf(w, "local:        in %s (%s), turned off by [server] local_zones_off: resolved as any name\n", l.Zone, l.Why)
	}
}
