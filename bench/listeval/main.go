// Command listeval prints how the shipped category lists generalise: each
// source of each prohibited category held out in turn and scored against the
// category's other sources, on all its names and on the popular ones (see
// internal/listeval). `make eval` runs it.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/civicdns/civicdns/blocklists"
	"github.com/civicdns/civicdns/internal/listeval"
	"github.com/civicdns/civicdns/internal/realdata"
)

func main() {
	root, err := realdata.Root()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	data, err := os.ReadFile(filepath.Join(root, "testdata", "opendns-top-domains.txt"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rows, err := listeval.Evaluate(blocklists.Shipped(), strings.Fields(string(data)), "gambling", "adult", "filesharing", "chat")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("| category | held-out source | names | covered by the others | popular names | popular covered |")
	fmt.Println("| --- | --- | ---: | ---: | ---: | ---: |")
	for _, r := range rows {
		fmt.Printf("| %s | %s | %d | %s | %d | %s |\n", r.Category, r.Source, r.Names, pct(r.Covered, r.Names), r.Popular, pct(r.PopularCovered, r.Popular))
	}
}

func pct(n, of int) string {
	if of == 0 {
		return "–"
	}
	return fmt.Sprintf("%d (%.1f%%)", n, 100*float64(n)/float64(of))
}
