package blocklists

import (
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// A reload that finds the lists as they were keeps the compiled matcher:
// Load with Options.Reuse set to the running Set compares a digest of every
// byte the running Set was built from with one of the files as they are
// now, and returns the running Set when they are equal. Two million names
// then cost a reload ~40 ms of hashing and no memory, where a rebuild holds
// the old matcher and the new one at once (the old serves until the new is
// in force).

// writeFileDigest puts a list file's text in the digest, in load order.
func writeFileDigest(digest hash.Hash, pf *parsedFile) {
	fmt.Fprintf(digest, "file %s %d\n%s", pf.display, len(pf.text), pf.text)
}

// newDigest starts the digest of a load: the options that choose the files.
func newDigest(opts Options) hash.Hash {
	d := sha256.New()
	fmt.Fprintf(d, "civicdns lists 1\n%s\n%s\n%s\n", opts.DisplayDir, opts.OSDir, opts.DownloadDir)
	return d
}

// unchanged reports whether the files read now give the digest of prev.
func unchanged(opts Options, files []*parsedFile, prev *Set) bool {
	if prev == nil || prev.digest == ([sha256.Size]byte{}) {
		return false
	}
	d := newDigest(opts)
	for _, pf := range files {
		writeFileDigest(d, pf)
		for _, im := range pf.Import {
			src, err := openImport(opts, pf.Category, im)
			if err != nil {
				return false
			}
			sum := sha256.New()
			r, err := src.raw()
			if err != nil {
				return false
			}
			_, err = io.Copy(sum, r)
			r.Close()
			if err != nil {
				return false
			}
			fmt.Fprintf(d, "import %s %x\n", src.display, sum.Sum(nil))
		}
	}
	return [sha256.Size]byte(d.Sum(nil)) == prev.digest
}

// importSource is the file an import is read from.
type importSource struct {
	fsys    fs.FS  // nil: osPath is a downloaded copy
	name    string // in fsys
	display string // as messages name it
	osPath  string // on disk, for the change watcher ("" for built-in lists)
}

// openImport chooses the copy of an import a load reads: the downloaded
// copy when there is one, else the bundled path.
func openImport(opts Options, category string, im Import) (importSource, error) {
	if im.URL != "" && opts.DownloadDir != "" {
		p := DownloadPath(opts.DownloadDir, category, im.URL)
		if _, err := os.Stat(p); err == nil {
			return importSource{name: p, display: p, osPath: p}, nil
		}
	}
	if im.Path == "" {
		return importSource{}, fmt.Errorf("import of %s: no copy downloaded yet and no bundled path", im.URL)
	}
	src := importSource{fsys: opts.FS, name: im.Path, display: filepath.ToSlash(filepath.Join(opts.DisplayDir, im.Path))}
	if opts.OSDir != "" {
		src.osPath = filepath.Join(opts.OSDir, im.Path)
	}
	return src, nil
}

// raw opens the file's bytes as stored (a .gz one compressed).
func (s importSource) raw() (io.ReadCloser, error) {
	if s.fsys == nil {
		return os.Open(s.name)
	}
	return s.fsys.Open(s.name)
}

// reader opens the list for parsing, decompressed, writing the raw bytes
// it reads to sum.
func (s importSource) reader(sum io.Writer) (io.ReadCloser, error) {
	f, err := s.raw()
	if err != nil {
		return nil, err
	}
	if s.fsys == nil {
		return readCloser{io.TeeReader(f, sum), f}, nil // a download is always kept plain
	}
	return decompressed(io.TeeReader(f, sum), f, s.name)
}
