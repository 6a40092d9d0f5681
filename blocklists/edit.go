package blocklists

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing/fstest"

	"github.com/civicdns/civicdns/internal/atomicfile"
)

// Addition is names to add to one category's block list in a lists folder
// of the city's own, with who added them, when and why (written beside
// each name as a comment, so the file itself says it).
type Addition struct {
	Dir      string // the [lists] dir
	Category string
	Names    []string // normalised
	Note     string   // "added by Pat Doe (pdoe), 2026-12-07: reason"
}

// Edit is an addition prepared: the file it changes and its new text,
// checked by loading the whole folder with it. Write makes it so.
type Edit struct {
	File string // OS path
	text []byte
	mode fs.FileMode
}

// PrepareAddition finds the category's file in the folder, writes the names
// into its block list and loads the folder with the new text: an error
// (a name already blocked in the category, a file that would not load)
// leaves everything as it was.
func PrepareAddition(a Addition) (*Edit, error) {
	fsys := os.DirFS(a.Dir)
	files, errs := readListFiles(fsys, a.Dir)
	if len(errs) > 0 {
		return nil, errs
	}
	var pf *parsedFile
	for _, f := range files {
		if f.Category == a.Category {
			pf = f
		}
	}
	if pf == nil {
		return nil, fmt.Errorf("%s: no list file defines category %q", a.Dir, a.Category)
	}
	set, err := Load(Options{FS: fsys, DisplayDir: a.Dir})
	if err != nil {
		return nil, err
	}
	for _, n := range a.Names {
		if where := set.listedIn(n, a.Category); where != "" {
			return nil, fmt.Errorf("%s is already in %s (%s)", n, a.Category, where)
		}
	}
	text := insertBlock(pf.text, pf.pos.Line("block"), entryLines(a.Names, a.Note))
	name := relPath(pf.display, a.Dir)
	overlay := overlayFS{FS: fsys, name: name, file: fstest.MapFS{name: {Data: []byte(text)}}}
	if _, err := Load(Options{FS: overlay, DisplayDir: a.Dir}); err != nil {
		return nil, fmt.Errorf("the edited %s would not load: %v", pf.display, err)
	}
	path := filepath.Join(a.Dir, filepath.FromSlash(name))
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	return &Edit{File: path, text: []byte(text), mode: fi.Mode().Perm()}, nil
}

// Write replaces the file with the edited text, atomically.
func (e *Edit) Write() error { return atomicfile.Write(e.File, e.text, e.mode) }

// listedIn is where name itself is in category's block list ("" if not).
func (set *Set) listedIn(name, category string) string {
	bit := set.Matcher.Category(category)
	if bit < 0 {
		return ""
	}
	for _, h := range set.Matcher.Lookup(name, nil) {
		if h.Start == 0 {
			if src, ok := set.Matcher.Source(h, bit, false); ok {
				return set.Matcher.Where(src)
			}
		}
	}
	return ""
}

var commentUnsafe = regexp.MustCompile(`[\x00-\x1f\x7f]+`)

// entryLines writes one array element a line, each with the note.
func entryLines(names []string, note string) string {
	note = commentUnsafe.ReplaceAllString(note, " ")
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "  %q, # %s\n", n, note)
	}
	return b.String()
}

// insertBlock puts entries first in the block array that starts at line
// (1-based; 0: there is none, and one is written before the first table).
func insertBlock(text string, line int, entries string) string {
	lines := strings.SplitAfter(text, "\n")
	if line == 0 {
		at := len(lines)
		for i, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), "[") {
				at = i
				break
			}
		}
		head := strings.Join(lines[:at], "")
		if head != "" && !strings.HasSuffix(head, "\n") {
			head += "\n"
		}
		return head + "block = [\n" + entries + "]\n" + strings.Join(lines[at:], "")
	}
	l := lines[line-1]
	open := strings.Index(l, "[")
	rest := strings.TrimLeft(l[open+1:], " \t")
	if strings.TrimSpace(rest) == "" {
		lines[line-1] = l[:open+1] + "\n" + entries
	} else {
		// A one-line array: its old elements follow the new ones.
		lines[line-1] = l[:open+1] + "\n" + entries + "  " + rest
	}
	return strings.Join(lines, "")
}

// overlayFS is a folder with one file's text replaced.
type overlayFS struct {
	fs.FS
	name string
	file fstest.MapFS
}

func (o overlayFS) Open(name string) (fs.File, error) {
	if name == o.name {
		return o.file.Open(name)
	}
	return o.FS.Open(name)
}

func (o overlayFS) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(o.FS, name) }

// ErrBuiltIn says the built-in lists cannot be edited.
var ErrBuiltIn = errors.New("the lists in use are the ones built into the binary, which cannot be edited: " +
	"copy them (the .deb puts them in /usr/share/civicdns/blocklists) to a folder of the city's own, set [lists] dir to it, and add there")
