package main

import (
	"fmt"
	"io"
	"time"

	"github.com/civicdns/civicdns/config"
)

const accessUsage = `usage: civicdns access [-config FILE] suspend -client IP|CIDR -by NAME -reason R [-until DATE]
       civicdns access [-config FILE] restore ID [-by NAME]
       civicdns access [-config FILE] list [-all]
`

// cmdAccess suspends and restores devices' Internet access from a shell.
func cmdAccess(args []string, stdout, stderr io.Writer) int {
	store, verb, rest, sub, code := storeVerb("access", accessUsage, args, stderr)
	if store == nil {
		return code
	}
	by := sub.String("by", osUser(), "who does it")
	switch verb {
	case "suspend":
		client := sub.String("client", "", "the device (IP) or network (CIDR)")
		reason := sub.String("reason", "", "why (it is audited)")
		until := sub.String("until", "", "last day of the suspension (YYYY-MM-DD); default until restored")
		if sub.Parse(rest) != nil || *client == "" {
			fmt.Fprint(stderr, accessUsage)
			return 2
		}
		pfx, err := config.ParsePrefix(*client)
		if err != nil {
			fmt.Fprintf(stderr, "civicdns access suspend: -client: %v\n", err)
			return 2
		}
		var d config.Date
		if *until != "" {
			if d, err = config.ParseDate(*until); err != nil {
				fmt.Fprintf(stderr, "civicdns access suspend: -until: %v\n", err)
				return 2
			}
		}
		s, err := store.Suspend(pfx, *by, "", *reason, "", d)
		if err != nil {
			fmt.Fprintf(stderr, "civicdns access suspend: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "suspended %s: %s (live on a running server within a second; `civicdns access restore %s` ends it)\n", s.Client, s.ID, s.ID)
		return 0
	case "restore":
		id, ok := idArg(sub, rest, stderr)
		if !ok {
			return 2
		}
		if err := store.Restore(id, *by, ""); err != nil {
			fmt.Fprintf(stderr, "civicdns access restore %s: %v\n", id, err)
			return 1
		}
		fmt.Fprintf(stdout, "restored %s\n", id)
		return 0
	case "list":
		all := sub.Bool("all", false, "also ended suspensions")
		if sub.Parse(rest) != nil {
			return 2
		}
		st, err := store.Load()
		if err != nil {
			fmt.Fprintf(stderr, "civicdns access list: %v\n", err)
			return 1
		}
		n := 0
		for _, s := range st.Suspensions {
			ended := s.Restored || !s.Until.IsZero() && !time.Now().Before(s.Until.Start(time.Local).AddDate(0, 0, 1))
			if ended && !*all {
				continue
			}
			n++
			status := "in force"
			switch {
			case s.Restored:
				status = "restored by " + s.RestoredBy
			case ended:
				status = "ended"
			}
			until := "until restored"
			if !s.Until.IsZero() {
				until = "through " + s.Until.String()
			}
			owner := ""
			if s.Owner != "" {
				owner = " (department " + s.Owner + ")"
			}
			fmt.Fprintf(stdout, "%s  %-18s by %s%s %s, %s: %s (%s)\n", s.ID, s.Client, esc(s.By), esc(owner), s.Time.Format("2006-01-02"), until, esc(s.Reason), esc(status))
		}
		if n == 0 {
			fmt.Fprintln(stdout, "no device is suspended")
		}
		return 0
	}
	fmt.Fprint(stderr, accessUsage)
	return 2
}
