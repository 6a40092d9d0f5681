package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/state"
)

const stateUsage = `usage: civicdns state [-config FILE] verify    read every journal of [state] dir whole; exit 1 on damage
       civicdns state [-config FILE] repair    keep a copy of each damaged journal, then rewrite it with its intact records
                                               (stop the server first; audited)
`

// cmdState checks and repairs the state store's journals.
func cmdState(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("state", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgPath := configFlag(fl)
	if err := fl.Parse(args); err != nil || fl.NArg() != 1 || (fl.Arg(0) != "verify" && fl.Arg(0) != "repair") {
		fmt.Fprint(stderr, stateUsage)
		return 2
	}
	cfg, errs := config.LoadPath(*cfgPath)
	if err := errs.Err(); err != nil {
		fmt.Fprintf(stderr, "civicdns state: %v\n", err)
		return 1
	}
	if cfg.State.Dir == "" {
		fmt.Fprintf(stderr, "civicdns state: %s: [state] dir is not set: there is no state store\n", cfg.File)
		return 1
	}
	dir := cfg.Path(cfg.State.Dir)
	if fl.Arg(0) == "verify" {
		found, err := state.Verify(dir)
		if err != nil {
			fmt.Fprintf(stderr, "civicdns state verify: %v\n", err)
			return 1
		}
		if printFindings(stdout, found) {
			return 0
		}
		fmt.Fprintf(stdout, "\n`civicdns state repair` keeps a copy of each damaged file and rewrites it with its intact records.\n")
		if cfg.State.Postgres != "" {
			fmt.Fprintf(stdout, "With [state] postgres, a server that reaches the database rebuilds its local copy from it at start.\n")
		}
		return 1
	}
	return repairState(dir, stdout, stderr)
}

// printFindings prints what Verify found, a line a file, and reports
// whether every file is undamaged.
func printFindings(w io.Writer, found []state.Finding) bool {
	ok := true
	if len(found) == 0 {
		fmt.Fprintln(w, "no journal yet: nothing to check")
	}
	for _, f := range found {
		line := fmt.Sprintf("%s: %d records intact", f.File, f.Records)
		if f.Torn > 0 {
			line += fmt.Sprintf("; a torn last record of %d bytes (a write cut short: cut off at the next write)", f.Torn)
		}
		fmt.Fprintln(w, line)
		for _, d := range f.Damage {
			ok = false
			fmt.Fprintf(w, "  DAMAGED: the record at byte %d: %s\n", d.Offset, d.Reason)
		}
	}
	return ok
}

func repairState(dir string, stdout, stderr io.Writer) int {
	found, kept, err := state.Repair(dir, time.Now())
	printFindings(stdout, found)
	if err != nil {
		fmt.Fprintf(stderr, "civicdns state repair: %v\n", err)
		return 1
	}
	if len(kept) == 0 {
		fmt.Fprintln(stdout, "nothing to repair")
		return 0
	}
	store, err := state.Open(dir, nil)
	if err == nil {
		for _, k := range kept {
			err = store.Audit(state.AuditEvent{Who: osUser(), Action: "state-repair",
				What: "a damaged journal rewritten with its intact records; the damaged file kept as " + k})
			if err != nil {
				break
			}
		}
	}
	for _, k := range kept {
		fmt.Fprintf(stdout, "kept the damaged file as %s\n", k)
	}
	if err != nil {
		fmt.Fprintf(stderr, "civicdns state repair: the repair is done but could not be written to the audit trail: %v\n", err)
		return 1
	}
	return 0
}
