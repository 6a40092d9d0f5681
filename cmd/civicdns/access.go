package main

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/state"
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
	c := &shellCmd{cfg: cfg, store: store, sub: sub, rest: rest, stdout: stdout, stderr: stderr,
		by: sub.String("by", "", "the [[director]] who decides (the OS user is recorded beside)")}
	switch verb {
	case "suspend":
		return c.suspend()
	case "restore":
		return c.restore()
	case "list":
		return c.listSuspensions()
	}
	fmt.Fprint(stderr, accessUsage)
	return 2
}

// shellCmd is a state store command's parts: what it acts on, its flags
// and arguments, where it writes.
type shellCmd struct {
	cfg            *config.Config
	store          *state.Store
	sub            *flag.FlagSet
	rest           []string
	by             *string
	stdout, stderr io.Writer
}

// fail prints a command's error and returns its exit code.
func (c *shellCmd) fail(code int, format string, args ...any) int {
	fmt.Fprintf(c.stderr, "civicdns "+c.sub.Name()+": "+format+"\n", args...)
	return code
}

// actor checks -by (shellActor) and puts who decides in its place.
func (c *shellCmd) actor() bool {
	a, err := shellActor(c.cfg, *c.by)
	if err != nil {
		c.fail(2, "%v", err)
		return false
	}
	*c.by = a
	return true
}

func (c *shellCmd) suspend() int {
	client := c.sub.String("client", "", "the device (IP) or network (CIDR)")
	reason := c.sub.String("reason", "", "why (it is audited)")
	until := c.sub.String("until", "", "last day of the suspension (YYYY-MM-DD); default until restored")
	force := c.sub.Bool("force", false, "suspend a network wider than /24 (IPv6 /56)")
	if c.sub.Parse(c.rest) != nil || *client == "" || c.sub.NArg() > 0 {
		fmt.Fprint(c.stderr, accessUsage)
		return 2
	}
	pfx, err := config.ParsePrefix(*client)
	if err != nil {
		return c.fail(2, "-client: %v", err)
	}
	if msg := wideSuspension(c.cfg, pfx); msg != "" && !*force {
		return c.fail(2, "%s; add -force to suspend it all the same", msg)
	}
	if !c.actor() {
		return 2
	}
	var d config.Date
	if *until != "" {
		if d, err = config.ParseDate(*until); err != nil {
			return c.fail(2, "-until: %v", err)
		}
	}
	s, err := c.store.Suspend(pfx, *c.by, "", *reason, "", d)
	if err != nil {
		return c.fail(1, "%v", err)
	}
	fmt.Fprintf(c.stdout, "suspended %s: %s (live on a running server within a second; `civicdns access restore %s` ends it)\n", s.Client, s.ID, s.ID)
	return 0
}

func (c *shellCmd) restore() int {
	id, ok := idArg(c.sub, c.rest, c.stderr)
	if !ok || !c.actor() {
		return 2
	}
	if err := c.store.Restore(id, *c.by, ""); err != nil {
		return c.fail(1, "%s: %v", id, err)
	}
	fmt.Fprintf(c.stdout, "restored %s\n", id)
	return 0
}

func (c *shellCmd) listSuspensions() int {
	all := c.sub.Bool("all", false, "also ended suspensions")
	if c.sub.Parse(c.rest) != nil || c.sub.NArg() > 0 {
		fmt.Fprint(c.stderr, accessUsage)
		return 2
	}
	st, err := c.store.Load()
	if err != nil {
		return c.fail(1, "%v", err)
	}
	n := 0
	for _, s := range st.Suspensions {
		ended := s.Restored || !s.Until.IsZero() && !time.Now().Before(s.Until.Start(time.Local).AddDate(0, 0, 1))
		if ended && !*all {
			continue
		}
		n++
		fmt.Fprintln(c.stdout, suspensionLine(s, ended))
	}
	if n == 0 {
		fmt.Fprintln(c.stdout, "no device is suspended")
	}
	return 0
}

// suspensionLine is one suspension as access list prints it, typed fields escaped.
func suspensionLine(s *state.Suspension, ended bool) string {
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
	return fmt.Sprintf("%s  %-18s by %s%s %s, %s: %s (%s)", s.ID, s.Client, esc(s.By), esc(owner), s.Time.Format("2006-01-02"), until, esc(s.Reason), esc(status))
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
