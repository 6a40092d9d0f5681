package main

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/civicdns/civicdns/config"
)

const accessUsage = `usage: civicdns access [-config FILE] suspend -client IP|CIDR -by NAME -reason R [-until DATE] [-force]
       civicdns access [-config FILE] restore ID -by NAME
       civicdns access [-config FILE] list [-all]
`

// cmdAccess suspends and restores devices' Internet access from a shell.
func cmdAccess(args []string, stdout, stderr io.Writer) int {
	cfg, store, verb, rest, sub, code := storeVerbConfig("access", accessUsage, args, stderr)
	if store == nil {
		return code
	}
	by := sub.String("by", "", "the [[director]] who decides (the OS user is recorded beside)")
	switch verb {
	case "suspend":
		client := sub.String("client", "", "the device (IP) or network (CIDR)")
		reason := sub.String("reason", "", "why (it is audited)")
		until := sub.String("until", "", "last day of the suspension (YYYY-MM-DD); default until restored")
		force := sub.Bool("force", false, "suspend a network wider than /24 (IPv6 /56)")
		if sub.Parse(rest) != nil || *client == "" {
			fmt.Fprint(stderr, accessUsage)
			return 2
		}
		pfx, err := config.ParsePrefix(*client)
		if err != nil {
			fmt.Fprintf(stderr, "civicdns access suspend: -client: %v\n", err)
			return 2
		}
		if msg := wideSuspension(cfg, pfx); msg != "" && !*force {
			fmt.Fprintf(stderr, "civicdns access suspend: %s; add -force to suspend it all the same\n", msg)
			return 2
		}
		actor, err := shellActor(cfg, *by)
		if err != nil {
			fmt.Fprintf(stderr, "civicdns access suspend: %v\n", err)
			return 2
		}
		*by = actor
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
		actor, err := shellActor(cfg, *by)
		if err != nil {
			fmt.Fprintf(stderr, "civicdns access restore: %v\n", err)
			return 2
		}
		*by = actor
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

// shellActor is who a decision made from a shell is recorded as: the
// configured [[director]] -by names (case folded), and the OS user who ran
// the command beside it.
func shellActor(cfg *config.Config, by string) (string, error) {
	if strings.TrimSpace(by) == "" {
		return "", fmt.Errorf("-by NAME is needed: the [[director]] who decides (the OS user who runs the command is recorded beside it)")
	}
	var names []string
	for _, d := range cfg.Director {
		if strings.EqualFold(strings.TrimSpace(d.Name), strings.TrimSpace(by)) {
			return d.Name + " (" + osUser() + ")", nil
		}
		names = append(names, d.Name)
	}
	if len(names) == 0 {
		return "", fmt.Errorf("-by %q: %s has no [[director]]: a decision needs someone who may make it", by, cfg.File)
	}
	return "", fmt.Errorf("-by %q is not a [[director]] of %s (%s)", by, cfg.File, strings.Join(names, ", "))
}

// wideSuspension says why suspending pfx needs -force: a network wider
// than /24 (IPv6 /56), and how many departments it touches; "" otherwise.
func wideSuspension(cfg *config.Config, pfx netip.Prefix) string {
	if pfx.Addr().Is4() && pfx.Bits() >= 24 || pfx.Addr().Is6() && pfx.Bits() >= 56 {
		return ""
	}
	var touched []string
	for _, d := range cfg.Department {
		for _, n := range d.Prefixes {
			if n.Overlaps(pfx) {
				touched = append(touched, d.Name)
				break
			}
		}
	}
	return fmt.Sprintf("%s is wider than /24 (IPv6 /56): it touches %d department(s)%s and every device in it", pfx, len(touched), listIn(touched))
}

func listIn(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return " (" + strings.Join(names, ", ") + ")"
}
