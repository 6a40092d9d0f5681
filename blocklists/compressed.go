package blocklists

import (
	"compress/gzip"
	"io"
	"io/fs"
	"strings"
)

// GzipSuffix marks a list file kept compressed: the big bundled lists are
// stored so in the binary (a quarter of their size) and decompressed as they
// are read. A download is always kept plain.
const GzipSuffix = ".gz"

// OpenList opens a list file of fsys, decompressing a .gz one as it is read.
func OpenList(fsys fs.FS, name string) (io.ReadCloser, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	return decompressed(f, f, name)
}

// decompressed reads r, decompressed when name is a .gz list; closing it
// closes f (the file under r).
func decompressed(r io.Reader, f io.Closer, name string) (io.ReadCloser, error) {
	if !strings.HasSuffix(name, GzipSuffix) {
		return readCloser{r, f}, nil
	}
	zr, err := gzip.NewReader(r)
	if err != nil {
		f.Close()
		return nil, &fs.PathError{Op: "gunzip", Path: name, Err: err}
	}
	return gzipFile{zr, f}, nil
}

// readCloser reads from one reader and closes another.
type readCloser struct {
	io.Reader
	io.Closer
}

// gzipFile closes both the decompressor and the file under it.
type gzipFile struct {
	*gzip.Reader
	f io.Closer
}

func (g gzipFile) Close() error {
	err := g.Reader.Close()
	if cerr := g.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readList reads a whole list file of fsys, decompressed.
func readList(fsys fs.FS, name string) ([]byte, error) {
	r, err := OpenList(fsys, name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
