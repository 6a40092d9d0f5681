package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/civicdns/civicdns/blockpage"
	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/internal/citytime"
	"github.com/civicdns/civicdns/internal/safetext"
	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/state"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"
)

// openStore opens the state store of the configuration a command names.
func openStore(cfgPath string) (*config.Config, *state.Store, error) {
	cfg, errs := config.LoadPath(cfgPath)
	if err := errs.Err(); err != nil {
		return nil, nil, err
	}
	if cfg.State.Dir == "" {
		return nil, nil, fmt.Errorf("%s: [state] dir is not set: there is no exemption workflow", cfg.File)
	}
	st, err := state.OpenConfig(cfg, nil)
	return cfg, st, err
}

// esc shows a field a person typed with its control characters escaped,
// so that it cannot forge a line or rewrite the terminal.
func esc(s string) string { return safetext.Escape(s) }

// osUser names who runs a command, for the audit trail.
func osUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username + " (shell)"
	}
	return "uid " + fmt.Sprint(os.Getuid()) + " (shell)"
}

// storeVerbConfig reads "civicdns NAME [-config FILE] VERB ARGS..." for
// the commands that act on the state store: the configuration, the store,
// the verb, its arguments and a flag set for them. A nil store comes with
// the exit code to return (2: usage, printed; 1: the store would not open).
func storeVerbConfig(name, usage string, args []string, stderr io.Writer) (*config.Config, *state.Store, string, []string, *flag.FlagSet, int) {
	fl := flag.NewFlagSet(name, flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgPath := configFlag(fl)
	if err := fl.Parse(args); err != nil || fl.NArg() == 0 {
		fmt.Fprint(stderr, usage)
		return nil, nil, "", nil, nil, 2
	}
	rest := fl.Args()
	for _, a := range rest {
		if a == "-h" || a == "-help" || a == "--help" { // a verb's help needs no configuration
			fmt.Fprint(stderr, usage)
			return nil, nil, "", nil, nil, 0
		}
	}
	if *cfgPath == "" && len(rest) > 1 && strings.HasSuffix(rest[0], ".toml") {
		*cfgPath, rest = rest[0], rest[1:] // the configuration as the first argument, as every command takes it
	}
	cfg, store, err := openStore(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "civicdns %s: %v\n", name, err)
		return nil, nil, "", nil, nil, 1
	}
	verb := rest[0]
	sub := flag.NewFlagSet(name+" "+verb, flag.ContinueOnError)
	sub.SetOutput(stderr)
	return cfg, store, verb, rest[1:], sub, 0
}

const exemptionsUsage = `usage: civicdns exemptions [-config FILE] list [-all]
       civicdns exemptions [-config FILE] approve ID -by NAME -expires DATE [-reason R] [-reference REF] [-client] [-category | -service]
       civicdns exemptions [-config FILE] deny ID -by NAME [-note N]
       civicdns exemptions [-config FILE] revoke ID -by NAME
`

func cmdExemptions(args []string, stdout, stderr io.Writer) int {
	cfg, store, verb, rest, sub, code := storeVerbConfig("exemptions", exemptionsUsage, args, stderr)
	if store == nil {
		return code
	}
	by := sub.String("by", "", "the [[director]] who decides (the OS user is recorded beside)")
	actor := func() bool {
		a, err := shellActor(cfg, *by)
		if err != nil {
			fmt.Fprintf(stderr, "civicdns exemptions %s: %v\n", verb, err)
			return false
		}
		*by = a
		return true
	}
	switch verb {
	case "list":
		all := sub.Bool("all", false, "also decided requests and ended exemptions")
		if sub.Parse(rest) != nil {
			return 2
		}
		return listWorkflow(store, *all, cfg.Policy.Location, stdout, stderr)
	case "approve":
		return approveFromShell(cfg, store, rest, sub, by, actor, stdout, stderr)
	case "deny":
		note := sub.String("note", "", "why, shown to the requester")
		id, ok := idArg(sub, rest, stderr)
		if !ok || !actor() {
			return 2
		}
		if err := store.Deny(id, *by, "", *note); err != nil {
			fmt.Fprintf(stderr, "civicdns exemptions deny %s: %v\n", id, err)
			return 1
		}
		fmt.Fprintf(stdout, "denied %s\n", id)
		return 0
	case "revoke":
		id, ok := idArg(sub, rest, stderr)
		if !ok || !actor() {
			return 2
		}
		if err := store.Revoke(id, *by, ""); err != nil {
			fmt.Fprintf(stderr, "civicdns exemptions revoke %s: %v\n", id, err)
			return 1
		}
		fmt.Fprintf(stdout, "revoked %s (ends on a running server within a second)\n", id)
		return 0
	}
	fmt.Fprint(stderr, exemptionsUsage)
	return 2
}

// idArg reads "ID [flags]" or "[flags] ID".
func idArg(fl *flag.FlagSet, args []string, stderr io.Writer) (string, bool) {
	id := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	if fl.Parse(args) != nil {
		return "", false
	}
	if id == "" && fl.NArg() == 1 {
		id = fl.Arg(0)
	}
	if id == "" {
		fmt.Fprint(stderr, exemptionsUsage)
		return "", false
	}
	return id, true
}

func listWorkflow(store *state.Store, all bool, loc *time.Location, stdout, stderr io.Writer) int {
	st, err := store.Load()
	if err != nil {
		fmt.Fprintf(stderr, "civicdns exemptions: %v\n", err)
		return 1
	}
	now := time.Now()
	fmt.Fprintln(stdout, "requests:")
	n := 0
	for _, q := range st.Requests {
		if q.Status != state.Pending && !all {
			continue
		}
		n++
		dept := q.Department
		if dept == "" {
			dept = "citywide"
		}
		fmt.Fprintf(stdout, "  %s  %-8s %s  %s (%s) for %s, department %s, by %s <%s>: %s\n",
			q.ID, q.Status, citytime.Format(q.Time, loc), esc(q.Name), q.Category, q.Client, esc(dept), esc(q.Requester), esc(q.Email), esc(q.Reason))
	}
	if n == 0 {
		fmt.Fprintln(stdout, "  none pending")
	}
	fmt.Fprintln(stdout, "exemptions granted through the workflow:")
	n = 0
	for _, g := range st.Grants {
		ended := g.Revoked || !now.Before(g.Expires.Start(time.Local).AddDate(0, 0, 1))
		if ended && !all {
			continue
		}
		n++
		status := "active"
		switch {
		case g.Revoked:
			status = "revoked by " + g.RevokedBy
		case ended:
			status = "expired"
		}
		who := "department " + g.Department
		if g.Department == "" {
			who = "clients " + strings.Join(g.Clients, ", ")
		}
		lifts := g.Category
		if lifts == "" {
			lifts = strings.Join(g.Domains, ", ")
		}
		fmt.Fprintf(stdout, "  %s  %s for %s until %s, approved by %s (%s; ref %s), %s\n", g.ID, esc(lifts), esc(who), g.Expires, esc(g.ApprovedBy), esc(g.Reason), esc(orDash(g.Reference)), esc(status))
	}
	if n == 0 {
		fmt.Fprintln(stdout, "  none active")
	}
	return 0
}

const caUsage = "usage: civicdns ca init -dir DIR [-name NAME] [-permit DOMAIN]...\n" +
	"       civicdns ca issue -dir DIR -name NAME [-ip IP]... [-days N] [-cert FILE] [-key FILE]\n"

// multiFlag is a flag given several times.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func cmdCA(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "issue" {
		return cmdCAIssue(args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "init" {
		fmt.Fprint(stderr, caUsage)
		return 2
	}
	fl := flag.NewFlagSet("ca init", flag.ContinueOnError)
	fl.SetOutput(stderr)
	dir := fl.String("dir", "", "folder for ca.pem and ca.key")
	name := fl.String("name", "City block page CA", "the CA's name, as devices show it")
	var permit multiFlag
	fl.Var(&permit, "permit", "constrain the CA to this domain and its subdomains (repeat for more)")
	if err := fl.Parse(args[1:]); err != nil || *dir == "" || fl.NArg() > 0 {
		fmt.Fprint(stderr, caUsage)
		return 2
	}
	for i, p := range permit {
		n, err := config.NormalizeName(p)
		if err != nil || n == "" {
			fmt.Fprintf(stderr, "civicdns ca init: -permit %q is not a domain name\n", p)
			return 2
		}
		permit[i] = n
	}
	cert, key, err := blockpage.CreateCAWith(*dir, blockpage.CAOptions{Name: *name, Permit: permit, Now: time.Now()})
	if err != nil {
		fmt.Fprintf(stderr, "civicdns ca init: %v\n", err)
		return 1
	}
	owner := giveToServiceUser(*dir, key)
	fmt.Fprintf(stdout, caMadeText, cert, key, owner, cert, key)
	if len(permit) > 0 {
		fmt.Fprintf(stdout, "\nThe CA can sign only for %s and their subdomains: the HTTPS block page shows\n"+
			"without a certificate error only for blocked names inside them.\n", strings.Join(permit, ", "))
	} else {
		fmt.Fprintf(stdout, "\nThe CA is not constrained to any domain, so that the HTTPS block page can show\n"+
			"itself for any blocked name. With -permit DOMAIN it could sign only inside DOMAIN.\n")
	}
	return 0
}

const caMadeText = `Made a CA for server certificates (5 years; serverAuth only):
  %s  the certificate: deploy it to city devices as a trusted root
  %s  its private key (mode 0600%s): keep it on the civicdns servers only

Next:
  1. In civicdns.toml:
       [blockpage]
       tls_listen = "BLOCKPAGE_IP:443"
       ca_cert = "%s"
       ca_key = "%s"
  2. Trust ca.pem on city devices: Windows by Group Policy (Computer Configuration >
     Windows Settings > Security Settings > Public Key Policies > Trusted Root
     Certification Authorities), macOS and iOS by a configuration profile from the
     MDM, Debian/Ubuntu by copying it to /usr/local/share/ca-certificates/ as a .crt
     and running update-ca-certificates, Chrome OS from the admin console.
  3. Anyone with ca.key can make certificates city devices trust: keep it
     readable by the civicdns user alone, and back it up offline.
`

const passwdUsage = `usage: civicdns passwd
  reads a password (twice on a terminal, once from a pipe) and prints its
  bcrypt hash (cost 12) for a [[director]]'s password_hash
`

func cmdPasswd(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
			fmt.Fprint(stdout, passwdUsage)
			return 0
		}
		fmt.Fprintf(stderr, "civicdns passwd: it takes no argument (%s)\n%s", strings.Join(args, " "), passwdUsage)
		return 2
	}
	var pw []byte
	var err error
	if term.IsTerminal(int(stdin.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		pw, err = term.ReadPassword(int(stdin.Fd()))
		fmt.Fprintln(stderr)
		if err == nil {
			fmt.Fprint(stderr, "Again: ")
			again, err2 := term.ReadPassword(int(stdin.Fd()))
			fmt.Fprintln(stderr)
			if err2 != nil || string(again) != string(pw) {
				fmt.Fprintln(stderr, "civicdns passwd: the passwords differ")
				return 1
			}
		}
	} else {
		pw, err = bufio.NewReader(stdin).ReadBytes('\n')
		if errors.Is(err, io.EOF) && len(pw) > 0 {
			err = nil
		}
		pw = []byte(strings.TrimRight(string(pw), "\r\n"))
	}
	if err != nil {
		fmt.Fprintf(stderr, "civicdns passwd: %v\n", err)
		return 1
	}
	if len(pw) < 12 {
		fmt.Fprintln(stderr, "civicdns passwd: use at least 12 characters")
		return 1
	}
	hash, err := bcrypt.GenerateFromPassword(pw, 12)
	if err != nil {
		fmt.Fprintf(stderr, "civicdns passwd: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", hash)
	return 0
}

func cmdAudit(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("audit", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgPath := configFlag(fl)
	since := durationVar(fl, "since", 0, "only the last DUR (7d, 36h); default everything")
	if err := parseWithConfig(fl, cfgPath, args); err != nil {
		return usageError(fl, err)
	}
	cfg, store, err := openStore(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "civicdns audit: %v\n", err)
		return 1
	}
	from := time.Time{}
	if *since > 0 {
		from = time.Now().Add(-*since)
	}
	evs, err := store.AuditSince(from)
	if err != nil {
		fmt.Fprintf(stderr, "civicdns audit: %v\n", err)
		return 1
	}
	for _, ev := range evs {
		where := ev.From
		if where == "" {
			where = "shell"
		}
		fmt.Fprintf(stdout, "%s  %-16s %-30s from %-15s %s\n", citytime.Format(ev.Time, cfg.Policy.Location), esc(ev.Action), esc(ev.Who), esc(where), esc(ev.What))
	}
	return 0
}

// serviceDomains are the domains of the chat service that blocked request
// id, in the lists the configuration names.
func serviceDomains(cfg *config.Config, store *state.Store, id string) ([]string, error) {
	st, err := store.Load()
	if err != nil {
		return nil, err
	}
	q := st.Request(id)
	if q == nil {
		return nil, fmt.Errorf("no request %s", id)
	}
	pol, err := policy.Load(cfg, cfg.Policy.Location)
	if err != nil {
		return nil, err
	}
	svc := pol.Lists().ServiceByID[q.ServiceID]
	if svc == nil {
		return nil, fmt.Errorf("the request names no service of the lists: lift the name or -category")
	}
	return svc.Domains, nil
}

// approveFromShell is `exemptions approve`.
func approveFromShell(cfg *config.Config, store *state.Store, rest []string, sub *flag.FlagSet, by *string, actor func() bool, stdout, stderr io.Writer) int {
	expires := sub.String("expires", "", "last day the exemption applies (YYYY-MM-DD)")
	reason := sub.String("reason", "", "why (the written authorization); default the request's reason")
	ref := sub.String("reference", "", "a memo or ticket")
	client := sub.Bool("client", false, "for the requesting device only, not its department")
	category := sub.Bool("category", false, "lift the whole category, not only the blocked name")
	service := sub.Bool("service", false, "lift every domain of the chat service that blocked it (Telegram: all of Telegram)")
	id, ok := idArg(sub, rest, stderr)
	if !ok {
		return 2
	}
	if !actor() {
		return 2
	}
	d, err := config.ParseDate(*expires)
	if *expires == "" || err != nil {
		fmt.Fprintln(stderr, "civicdns exemptions approve: -expires YYYY-MM-DD is needed")
		return 2
	}
	if *reason == "" {
		if st, err := store.Load(); err == nil && st.Request(id) != nil {
			*reason = st.Request(id).Reason
		}
	}
	var domains []string
	if *service {
		if domains, err = serviceDomains(cfg, store, id); err != nil {
			fmt.Fprintf(stderr, "civicdns exemptions approve %s: %v\n", id, err)
			return 1
		}
	}
	g, err := store.Approve(id, state.Approval{By: *by, ByEmail: directorEmail(cfg, *by), ForClient: *client, Category: *category, Domains: domains, Expires: d, Reason: *reason, Reference: *ref})
	if err != nil {
		fmt.Fprintf(stderr, "civicdns exemptions approve %s: %v\n", id, err)
		return 1
	}
	fmt.Fprintf(stdout, "approved %s: exemption %s until %s (live on a running server within a second)\n", id, g.ID, g.Expires)
	return 0
}

// directorEmail is the email of the local [[director]] an actor from
// shellActor ("Name (os user)") is, for the reminder before an exemption ends.
func directorEmail(cfg *config.Config, actor string) string {
	for _, d := range cfg.Director {
		if d.Name != "" && strings.HasPrefix(actor, d.Name+" (") {
			return d.Email
		}
	}
	return ""
}
