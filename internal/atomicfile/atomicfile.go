// Package atomicfile replaces a file's contents in one step: the data is
// written beside it and renamed over it, so a reader (a server re-reading
// its certificate, a watcher reloading a list) sees the old file or the
// new one, never half of it.
package atomicfile

import "os"

// Write replaces path with data, created with mode.
func Write(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
