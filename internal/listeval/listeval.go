// Package listeval measures how the shipped category lists generalise,
// without the hand-written sets the lists were reviewed against: for each
// category, each source (an imported list, or the curated entries and
// services) is held out in turn and the category's other sources are
// scored on its names — all of them, and the popular ones (those of a
// top-domains list). A name counts as covered when it or a parent domain is
// in another source. `make eval` prints the table; docs/policy.md reports it.
package listeval

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/civicdns/civicdns/blocklists"
	"github.com/civicdns/civicdns/config"
)

// Curated names the source of a category's own block entries and services.
const Curated = "curated entries and services"

// Row is one held-out source of one category.
type Row struct {
	Category, Source string
	Names, Covered   int // the source's names, and those the other sources cover
	Popular          int // its names in the top-domains list
	PopularCovered   int
}

// sources reads the category files of fsys: per category, per source, the names.
func sources(fsys fs.FS) (map[string]map[string][]string, error) {
	files, err := fs.Glob(fsys, "*.toml")
	if err != nil {
		return nil, err
	}
	out := map[string]map[string][]string{}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		var lf blocklists.ListFile
		if _, err := toml.Decode(string(data), &lf); err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
		bySource := map[string][]string{}
		curated := append([]string(nil), lf.Block...)
		for _, s := range lf.Service {
			curated = append(curated, s.Domains...)
		}
		for _, n := range curated {
			if n, err := config.NormalizeName(n); err == nil {
				bySource[Curated] = append(bySource[Curated], n)
			}
		}
		for _, im := range lf.Import {
			names, err := importNames(fsys, im)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", f, err)
			}
			bySource[path.Base(im.Path)] = names
		}
		out[lf.Category] = bySource
	}
	return out, nil
}

// importNames reads the block names of one bundled import.
func importNames(fsys fs.FS, im blocklists.Import) ([]string, error) {
	r, err := blocklists.OpenList(fsys, im.Path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var names []string
	_, err = blocklists.Parse(im.Format, r, func(name []byte, _ int, allow bool) {
		if !allow {
			names = append(names, string(name))
		}
	})
	return names, err
}

// covered reports whether name or a parent domain is in set.
func covered(set map[string]bool, name string) bool {
	for {
		if set[name] {
			return true
		}
		i := strings.IndexByte(name, '.')
		if i < 0 {
			return false
		}
		name = name[i+1:]
	}
}

// Evaluate holds out each source of each category (of cats; none: all) in
// turn and scores the others on it; popular is the top-domains list.
func Evaluate(fsys fs.FS, popular []string, cats ...string) ([]Row, error) {
	all, err := sources(fsys)
	if err != nil {
		return nil, err
	}
	top := map[string]bool{}
	for _, n := range popular {
		top[strings.ToLower(n)] = true
	}
	if len(cats) == 0 {
		for c := range all {
			cats = append(cats, c)
		}
		sort.Strings(cats)
	}
	var rows []Row
	for _, c := range cats {
		bySource := all[c]
		for src, names := range bySource {
			rest := map[string]bool{}
			for other, on := range bySource {
				if other != src {
					for _, n := range on {
						rest[n] = true
					}
				}
			}
			row := Row{Category: c, Source: src, Names: len(names)}
			for _, n := range names {
				in := covered(rest, n)
				if in {
					row.Covered++
				}
				if top[n] {
					row.Popular++
					if in {
						row.PopularCovered++
					}
				}
			}
			rows = append(rows, row)
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Category != rows[j].Category {
			return rows[i].Category < rows[j].Category
		}
		return rows[i].Source < rows[j].Source
	})
	return rows, nil
}
