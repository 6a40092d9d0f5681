package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/civicdns/civicdns/blocklists"
	"github.com/civicdns/civicdns/live"
)

const listsUsage = `usage: civicdns lists [-config FILE] diff [-all]
       civicdns lists [-config FILE] services [-category C] [-department D]
       civicdns lists [-config FILE] review [-since 7d] [-top N] [-resolve=false]
       civicdns lists [-config FILE] add -category C -by WHO [-reason TEXT] NAME...`

// cmdLists dispatches the lists commands: diff (what a refresh changed),
// services (the catalogue), review (what the lists miss) and add.
func cmdLists(args []string, stdout, stderr io.Writer) int {
	verbs := map[string]func([]string, io.Writer, io.Writer) int{
		"diff": cmdListsDiff, "services": cmdListsServices, "review": cmdListsReview, "add": cmdListsAdd,
	}
	for i, a := range args {
		if run, ok := verbs[a]; ok {
			return run(append(append([]string(nil), args[:i]...), args[i+1:]...), stdout, stderr)
		}
	}
	fmt.Fprintln(stderr, listsUsage)
	return 2
}

// cmdListsDiff is `civicdns lists diff`: what the last refresh of each
// downloaded list added and removed, per category, to review an update
// before trusting it.
func cmdListsDiff(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("lists diff", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgPath := configFlag(fl)
	all := fl.Bool("all", false, "every name (default: the first 20 of each side)")
	if err := parseWithConfig(fl, cfgPath, args); err != nil {
		return usageError(fl, err)
	}
	cfg, pol, err := live.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if !cfg.Lists.Update {
		fmt.Fprintf(stderr, "civicdns lists diff: %s: [lists] update is off: nothing is downloaded\n", cfg.File)
		return 1
	}
	shown := 0
	for _, d := range pol.Lists().Downloads {
		diff, ok, err := blocklists.DiffDownload(d)
		if err != nil {
			fmt.Fprintf(stderr, "civicdns lists diff: %s: %v\n", d.URL, err)
			return 1
		}
		if !ok {
			fmt.Fprintf(stdout, "%s: %s: not downloaded yet (the bundled copy is in use)\n", d.Category, d.URL)
			continue
		}
		shown++
		fmt.Fprintf(stdout, "%s: %s: %d added, %d removed by the last refresh\n", d.Category, d.URL, len(diff.Added), len(diff.Removed))
		printDiff(stdout, diff, *all)
	}
	for _, d := range pol.Lists().Downloads {
		if diff, ok, err := blocklists.DiffRefused(d); err == nil && ok {
			fmt.Fprintf(stdout, "%s: %s: a refresh was REFUSED (it would shrink the list); it would have added %d and removed %d:\n",
				d.Category, d.URL, len(diff.Added), len(diff.Removed))
			printDiff(stdout, diff, *all)
		}
	}
	if shown == 0 && len(pol.Lists().Downloads) == 0 {
		fmt.Fprintln(stdout, "no list has a url and a refresh period")
	}
	return 0
}

// printDiff lists a diff's names, 20 of each side unless all.
func printDiff(w io.Writer, diff blocklists.Diff, all bool) {
	for _, side := range []struct {
		sign  string
		names []string
	}{{"+", diff.Added}, {"-", diff.Removed}} {
		names := side.names
		if !all && len(names) > 20 {
			names = names[:20]
		}
		for _, n := range names {
			fmt.Fprintf(w, "  %s %s\n", side.sign, n)
		}
		if len(names) < len(side.names) {
			fmt.Fprintf(w, "  %s … %d more (-all)\n", side.sign, len(side.names)-len(names))
		}
	}
}
