// Package realdata reads the real public lists in ../shared/realdata for
// tests and benchmarks, and scales them to the sizes a benchmark needs.
package realdata

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Dir finds shared/realdata from a folder inside the repository.
func Dir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "..", "shared", "realdata")
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("shared/realdata not found above %s", wd)
		}
	}
}

// BlockNames returns every distinct name of the real category lists.
func BlockNames(dir string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	files, _ := filepath.Glob(filepath.Join(dir, "ut1", "*.domains"))
	more, _ := filepath.Glob(filepath.Join(dir, "blocklistproject", "*.txt"))
	files = append(files, more...)
	files = append(files, filepath.Join(dir, "chadmayfield", "pi_blocklist_porn_top1m.list"))
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(fh)
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

// TopDomains returns the popular names of the OpenDNS top list.
func TopDomains(dir string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "opendns", "opendns-top-domains.txt"))
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(data)), nil
}
