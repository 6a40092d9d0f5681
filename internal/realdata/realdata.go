// Package realdata reads the real public lists the project ships — the
// bundled imports of the category lists (blocklists/data) and a sample of
// popular names (testdata/top-domains.txt) — for tests and benchmarks, and
// scales them to the sizes a benchmark needs. It needs only a clone of the
// repository.
package realdata

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Root finds the repository's root (the folder holding go.mod) from the
// working directory.
func Root() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s", wd)
		}
	}
}

// BlockNames returns every distinct name of the shipped lists' bundled
// imports (blocklists/data under root): domains, hosts and plain lists.
func BlockNames(root string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	var files []string
	for _, pat := range []string{"*.domains", "*.txt", "*.list", "*.gz"} {
		more, _ := filepath.Glob(filepath.Join(root, "blocklists", "data", pat))
		files = append(files, more...)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no list in %s", filepath.Join(root, "blocklists", "data"))
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		var r io.Reader = fh
		// The big bundled lists are kept compressed. (blocklists.OpenList does
		// this too, but blocklists' own tests import this package.)
		if strings.HasSuffix(f, ".gz") {
			if r, err = gzip.NewReader(fh); err != nil {
				fh.Close()
				return nil, fmt.Errorf("%s: %v", f, err)
			}
		}
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
				continue
			}
			n := strings.ToLower(fields[len(fields)-1])
			if !seen[n] && strings.Contains(n, ".") {
				seen[n] = true
				out = append(out, n)
			}
		}
		fh.Close()
	}
	return out, nil
}

// WriteScaled writes n names in "domains" format: the real names first,
// then the real names under numbered labels ("s1.casino.example") until n
// are written, so that the scaled list keeps the real names' shapes.
func WriteScaled(w io.Writer, names []string, n int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	written := 0
	for round := 0; written < n; round++ {
		for _, name := range names {
			if written == n {
				break
			}
			if round == 0 {
				fmt.Fprintln(bw, name)
			} else {
				fmt.Fprintf(bw, "s%d.%s\n", round, name)
			}
			written++
		}
	}
	return bw.Flush()
}

// TopDomains returns the shipped sample of popular names (testdata/top-domains.txt under root).
func TopDomains(root string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(root, "testdata", "top-domains.txt"))
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(data)), nil
}
