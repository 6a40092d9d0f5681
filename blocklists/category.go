package blocklists

import (
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/civicdns/civicdns/config"
)

// ListFile is one category list file (*.toml) as written.
type ListFile struct {
	Category string `toml:"category"`
	Title    string `toml:"title"`
	Policy   string `toml:"policy"`
	// Priority decides which category a name listed in several is reported
	// as (the block page, the EDE, the log) when the same name matches:
	// higher first; equal ones go alphabetically.
	Priority int      `toml:"priority"`
	Block    []string `toml:"block"`
	Allow    []string `toml:"allow"`
	Import   []Import `toml:"import"`
	// Service is the category's catalogue of named services (chat).
	Service []serviceEntry `toml:"service"`
}

// Import is one [[import]] of a third-party list.
type Import struct {
	Path    string          `toml:"path"`
	URL     string          `toml:"url"`
	Format  string          `toml:"format"`
	Refresh config.Duration `toml:"refresh"`
}

// Category is what the lists say about one category.
type Category struct {
	Name     string
	Title    string
	Priority int
	Policy   string   // the clause of the city policy it enforces
	Files    []string // the list files that define it
	Blocked  int      // block entries (names with their subdomains)
	Allowed  int      // allow entries
	Imports  []ImportInfo
}

// ImportInfo describes one import as it was loaded.
type ImportInfo struct {
	File    string // the file read (the downloaded copy, if newer)
	URL     string
	Refresh config.Duration
	Format  string
	Names   int
	Ignored int
	Bad     int
	// Download is where a refreshed copy of URL is kept ("" when not refreshed).
	Download string
}

var categoryNameRe = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`)

// parsedFile is a decoded list file with what is needed to report on it.
type parsedFile struct {
	ListFile
	display string // path shown in messages
	text    string
	pos     *config.Positions
}

// readListFiles decodes and checks every *.toml in fsys.
func readListFiles(fsys fs.FS, displayDir string) ([]*parsedFile, config.Errors) {
	names, err := fs.Glob(fsys, "*.toml")
	if err != nil {
		return nil, config.Errors{{File: displayDir, Msg: err.Error()}}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, config.Errors{{File: displayDir, Msg: "no category lists (*.toml) in this folder"}}
	}
	var files []*parsedFile
	var errs config.Errors
	for _, n := range names {
		display := path.Join(displayDir, n)
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			errs = append(errs, config.Error{File: display, Msg: err.Error()})
			continue
		}
		pf := &parsedFile{display: display, text: string(data)}
		pos, derrs := config.DecodeStrict(display, data, &pf.ListFile)
		errs = append(errs, derrs...)
		if pos == nil {
			continue
		}
		pf.pos = pos
		errs = append(errs, pf.check()...)
		errs = append(errs, pf.checkServices()...)
		files = append(files, pf)
	}
	return files, errs
}

// check validates a list file's own values.
func (pf *parsedFile) check() config.Errors {
	var errs config.Errors
	bad := func(key, format string, args ...any) {
		errs = append(errs, config.Error{File: pf.display, Line: pf.pos.Line(key), Msg: fmt.Sprintf(format, args...)})
	}
	if !categoryNameRe.MatchString(pf.Category) {
		bad("category", "category %q: a category is named in lower case letters, digits, - and _", pf.Category)
	}
	for _, key := range []string{"block", "allow"} {
		values := pf.Block
		if key == "allow" {
			values = pf.Allow
		}
		lines := elementLines(pf.text, pf.pos.Line(key), values)
		for i, v := range values {
			if n, err := config.NormalizeName(v); err != nil || n == "" {
				errs = append(errs, config.Error{File: pf.display, Line: lines[i], Msg: fmt.Sprintf("%s: %q is not a domain name", key, v)})
			}
		}
	}
	for i, im := range pf.Import {
		key := fmt.Sprintf("import[%d]", i)
		switch im.Format {
		case FormatHosts, FormatDomains, FormatAdblock:
		default:
			bad(key+".format", "import format %q: use \"hosts\", \"domains\" or \"adblock\"", im.Format)
		}
		if im.Path == "" && im.URL == "" {
			bad(key, "an [[import]] needs a path (the bundled or local copy), a url, or both")
		}
		if im.Path != "" && !fs.ValidPath(im.Path) {
			bad(key+".path", "import path %q must be relative to the lists folder, without ..", im.Path)
		}
		if im.URL != "" {
			u, err := url.Parse(im.URL)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				bad(key+".url", "import url %q is not an http(s) URL", im.URL)
			}
		}
		if im.Refresh < 0 || im.Refresh > 0 && im.URL == "" {
			bad(key+".refresh", "refresh needs a url to refresh from")
		} else if im.Refresh > 0 && im.Refresh.D().Minutes() < 5 {
			bad(key+".refresh", "refresh %s is too often (5m at least)", im.Refresh)
		}
	}
	return errs
}

// elementLines finds the line of each value of an array that starts at
// keyLine (arrays may span lines), falling back to keyLine.
func elementLines(text string, keyLine int, values []string) []int {
	out := make([]int, len(values))
	lines := strings.Split(text, "\n")
	at := keyLine - 1
	for i, v := range values {
		out[i] = keyLine
		if at < 0 {
			continue
		}
		quoted := fmt.Sprintf("%q", v)
		for j := at; j < len(lines) && j < at+10000; j++ {
			if strings.Contains(lines[j], quoted) || strings.Contains(lines[j], "'"+v+"'") {
				out[i] = j + 1
				at = j
				break
			}
		}
	}
	return out
}
