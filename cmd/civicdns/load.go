package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/civicdns/civicdns/policy"
)

// configFlag adds -config to a subcommand's flags.
func configFlag(fl *flag.FlagSet) *string {
	return fl.String("config", "", "configuration file (default civicdns.toml if present, else the embedded default)")
}

// exemptionLine describes an exemption for check and explain: what it
// lifts, for whom, who approved it, and whether it is in force at now.
func exemptionLine(e *policy.Exemption, now time.Time) string {
	state := fmt.Sprintf("active, %d days left", daysLeft(e.Expires, now))
	switch {
	case !now.Before(e.Expires):
		state = "expired"
	case now.Before(e.Starts):
		state = "not started (starts " + e.Starts.Format("2006-01-02") + ")"
	}
	return fmt.Sprintf("exemption %s: %s for %s, approved by %s (%s; ref %s), expires %s, %s (%s)",
		e.ID, e.Lifts(), e.For(), e.ApprovedBy, e.Reason, orDash(e.Reference), e.ExpiresOn, state, e.Source)
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

func daysLeft(until, now time.Time) int {
	return int(until.Sub(now).Hours()/24 + 0.999)
}
