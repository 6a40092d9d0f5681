package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/civicdns/civicdns/blocklists"
	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/internal/citytime"
)

// cmdListsAdd is `civicdns lists add`: names into a category's list file
// in the city's own lists folder, each with who added it, when and why;
// audited first (an addition that cannot be audited does not happen). The
// running server picks the change up as it does any list edit.
func cmdListsAdd(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("lists add", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgPath := configFlag(fl)
	category := fl.String("category", "", "the category to add to (required)")
	by := fl.String("by", "", "who adds them (required; the OS user is recorded beside)")
	reason := fl.String("reason", "", "why (written beside each name)")
	var names []string
	for len(args) > 0 {
		if err := fl.Parse(args); err != nil {
			return usageError(fl, err)
		}
		if fl.NArg() == 0 {
			break
		}
		names, args = append(names, fl.Arg(0)), fl.Args()[1:]
	}
	// The configuration may come first as a positional argument, like every
	// command's: a .toml file, never a domain name.
	if *cfgPath == "" && len(names) > 0 && strings.HasSuffix(names[0], ".toml") {
		*cfgPath, names = names[0], names[1:]
	}
	if err := addNames(*cfgPath, *category, *by, *reason, names, stdout); err != nil {
		fmt.Fprintln(stderr, "civicdns lists add:", err)
		return 1
	}
	return 0
}

func addNames(cfgPath, category, by, reason string, names []string, stdout io.Writer) error {
	switch {
	case category == "" || strings.TrimSpace(by) == "" || len(names) == 0:
		return fmt.Errorf("-category, -by and at least one NAME are needed")
	case len(by) > 100 || len(reason) > 500:
		return fmt.Errorf("-by is at most 100 characters, -reason 500")
	}
	cfg, errs := config.LoadPath(cfgPath)
	if err := errs.Err(); err != nil {
		return err
	}
	if cfg.Lists.Dir == "" {
		return blocklists.ErrBuiltIn
	}
	var norm []string
	for _, n := range names {
		nn, err := config.NormalizeName(n)
		if err != nil || !strings.Contains(nn, ".") {
			return fmt.Errorf("%q is not a domain name", n)
		}
		norm = append(norm, nn)
	}
	who := strings.TrimSpace(by) + " (" + osUser() + ")"
	note := "added by " + who + ", " + citytime.Format(time.Now(), cfg.Policy.Location)
	if reason != "" {
		note += ": " + reason
	}
	edit, err := blocklists.PrepareAddition(blocklists.Addition{Dir: cfg.Path(cfg.Lists.Dir), Category: category, Names: norm, Note: note})
	if err != nil {
		return err
	}
	what := fmt.Sprintf("by %s: %s += %s (%s)", who, category, strings.Join(norm, ", "), edit.File)
	if reason != "" {
		what += ": " + reason
	}
	if err := auditLogUse(cfg, cfg.Path(cfg.Log.Dir), "lists-add", what); err != nil {
		return err
	}
	if err := edit.Write(); err != nil {
		auditLogUse(cfg, cfg.Path(cfg.Log.Dir), "lists-add-failed", what+": "+err.Error())
		return err
	}
	fmt.Fprintf(stdout, "added to %s in %s: %s\nthe running server reloads the lists when it sees the change ([lists] watch) or on SIGHUP\n",
		category, edit.File, strings.Join(norm, ", "))
	return nil
}
