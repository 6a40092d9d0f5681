package blocklists

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/civicdns/civicdns/config"
)

// Set is every category list, loaded and compiled.
type Set struct {
	Matcher    *Matcher
	Categories map[string]*Category
	// Warnings are lines of imported third-party lists that could not be
	// used (file:line); they were skipped. Lines of our own TOML files that
	// do not parse are errors instead.
	Warnings []config.Error
	// Files lists every file read, for the change watcher (OS paths only).
	Files []string
	// Downloads are the imports that a refresher keeps up to date.
	Downloads []Download
	// Services are the named services of every catalogue, in file order;
	// Matcher.Service gives a hit's index here.
	Services    []*Service
	ServiceByID map[string]*Service

	digest [sha256.Size]byte // of every byte the set was built from (reuse.go)
}

// Download is an import with a url and refresh period.
type Download struct {
	Category string
	URL      string
	Format   string
	Refresh  config.Duration
	Path     string // where the last good copy is kept
	// The bundled copy (in the lists folder or the binary), the one a
	// first download replaces: what `lists diff` compares it with.
	BundledFS   fs.FS
	BundledPath string
}

// Names lists the category names, sorted.
func (s *Set) Names() []string {
	out := make([]string, 0, len(s.Categories))
	for n := range s.Categories {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Options say where the lists are.
type Options struct {
	FS         fs.FS  // the lists folder (os.DirFS) or the built-in lists
	DisplayDir string // how the folder is named in messages
	OSDir      string // the folder on disk, for the change watcher ("" for built-in)
	// DownloadDir keeps downloaded copies of imports with a url; "" turns
	// downloading off (the bundled copies are used).
	DownloadDir string
	// Reuse is the running Set: when every file reads as it did when Reuse
	// was built, Load returns Reuse itself (reuse.go).
	Reuse *Set
}

// DownloadPath is where the copy of url for category is kept in dir.
func DownloadPath(dir, category, url string) string {
	sum := sha256.Sum256([]byte(url))
	return filepath.Join(dir, category+"-"+hex.EncodeToString(sum[:6])+".list")
}

// Load reads every *.toml in the folder with the lists they import, and
// compiles the matcher. It returns every error with file:line.
func Load(opts Options) (*Set, error) {
	files, errs := readListFiles(opts.FS, opts.DisplayDir)
	if len(errs) > 0 {
		return nil, errs
	}
	if unchanged(opts, files, opts.Reuse) {
		return opts.Reuse, nil
	}
	set := &Set{Categories: map[string]*Category{}, ServiceByID: map[string]*Service{}}
	hint, errs := set.addCategories(files, opts)
	if len(errs) > 0 {
		return nil, errs
	}
	if len(set.Categories) > MaxCategories {
		return nil, config.Errors{{File: opts.DisplayDir, Msg: fmt.Sprintf("%d categories: at most %d", len(set.Categories), MaxCategories)}}
	}
	b, err := NewBuilder(set.Names(), hint)
	if err != nil {
		return nil, err
	}
	digest := newDigest(opts)
	for _, pf := range files {
		writeFileDigest(digest, pf)
		fileIdx, err := b.AddFile(pf.display)
		if err != nil {
			return nil, err
		}
		c := set.Categories[pf.Category]
		for _, allow := range []bool{false, true} {
			key, values := "block", pf.Block
			if allow {
				key, values = "allow", pf.Allow
			}
			lines := elementLines(pf.text, pf.pos.Line(key), values)
			for i, v := range values {
				n, _ := config.NormalizeName(v) // checked when read
				b.Add([]byte(n), pf.Category, allow, fileIdx, lines[i])
				if allow {
					c.Allowed++
				} else {
					c.Blocked++
				}
			}
		}
		errs = append(errs, set.addServices(b, pf, fileIdx, c)...)
		for i, im := range pf.Import {
			info, err := set.loadImport(b, opts, pf, im, c, digest)
			if err != nil {
				errs = append(errs, config.Error{File: pf.display, Line: pf.pos.Line(fmt.Sprintf("import[%d]", i)), Msg: err.Error()})
				continue
			}
			c.Imports = append(c.Imports, info)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	set.Matcher = b.Matcher()
	set.digest = [sha256.Size]byte(digest.Sum(nil))
	return set, nil
}

// addCategories registers the category of each list file, and returns how
// many names the files will give, for sizing the matcher.
func (set *Set) addCategories(files []*parsedFile, opts Options) (hint int, errs config.Errors) {
	for _, pf := range files {
		if c := set.Categories[pf.Category]; c != nil {
			// Which file's title and policy clause would the block page show?
			errs = append(errs, config.Error{File: pf.display, Line: pf.pos.Line("category"), Msg: fmt.Sprintf(
				"category %q is also defined by %s: one file per category (merge them, or give this one another name)", pf.Category, c.Files[0])})
			continue
		}
		c := &Category{Name: pf.Category, Title: pf.Category, Priority: pf.Priority}
		set.Categories[pf.Category] = c
		if pf.Title != "" {
			c.Title = pf.Title
		}
		if pf.Policy != "" {
			c.Policy = pf.Policy
		}
		c.Files = append(c.Files, pf.display)
		if opts.OSDir != "" {
			set.Files = append(set.Files, filepath.Join(opts.OSDir, filepath.FromSlash(relPath(pf.display, opts.DisplayDir))))
		}
		for _, im := range pf.Import {
			if fi, err := fs.Stat(opts.FS, im.Path); err == nil {
				hint += int(fi.Size() / 16)
				if strings.HasSuffix(im.Path, GzipSuffix) {
					hint += int(fi.Size() / 4) // about four times as big decompressed
				}
			}
		}
		hint += len(pf.Block) + len(pf.Allow)
		for _, s := range pf.Service {
			hint += len(s.Domains)
		}
	}
	return hint, errs
}

// relPath gives display relative to dir.
func relPath(display, dir string) string {
	rel, err := filepath.Rel(dir, display)
	if err != nil {
		return display
	}
	return rel
}

// loadImport reads one imported list: the downloaded copy when there is
// one, else the bundled path.
func (set *Set) loadImport(b *Builder, opts Options, pf *parsedFile, im Import, c *Category, digest hash.Hash) (ImportInfo, error) {
	info := ImportInfo{URL: im.URL, Refresh: im.Refresh, Format: im.Format}
	if im.URL != "" && opts.DownloadDir != "" {
		info.Download = DownloadPath(opts.DownloadDir, pf.Category, im.URL)
		if im.Refresh > 0 {
			set.Downloads = append(set.Downloads, Download{Category: pf.Category, URL: im.URL, Format: im.Format, Refresh: im.Refresh,
				Path: info.Download, BundledFS: opts.FS, BundledPath: im.Path})
		}
	}
	src, err := openImport(opts, pf.Category, im)
	if err != nil {
		return info, err
	}
	info.File = src.display
	if src.osPath != "" {
		set.Files = append(set.Files, src.osPath)
	}
	// What was read is what the digest says: a reload that finds the same
	// bytes may keep this matcher (reuse.go).
	sum := sha256.New()
	r, err := src.reader(sum)
	if err != nil {
		return info, fmt.Errorf("import %q: %v", im.Path, err)
	}
	defer r.Close()
	fileIdx, err := b.AddFile(info.File)
	if err != nil {
		return info, err
	}
	st, err := Parse(im.Format, r, func(name []byte, line int, allow bool) {
		b.Add(name, pf.Category, allow, fileIdx, line)
		if allow {
			c.Allowed++
		} else {
			c.Blocked++
		}
	})
	if err != nil {
		return info, fmt.Errorf("import %q: %v", info.File, err)
	}
	io.Copy(io.Discard, r) // what Parse left unread (a trailing comment) is in the digest too
	fmt.Fprintf(digest, "import %s %x\n", src.display, sum.Sum(nil))
	info.Names, info.Ignored, info.Bad = st.Names, st.Ignored, len(st.Bad)
	for _, le := range st.Bad {
		set.Warnings = append(set.Warnings, config.Error{File: info.File, Line: le.Line, Msg: le.Msg})
	}
	return info, nil
}
