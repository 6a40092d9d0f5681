package blocklists

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A load that finds every file as the running set was built from returns
// that set itself (no second matcher); a changed byte anywhere (a list
// file, an import, a downloaded copy appearing) builds a new one.
func TestUnchangedListsAreNotBuiltTwice(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("gambling.toml", "category = \"gambling\"\nblock = [\"casino.example\"]\n[[import]]\npath = \"third.list\"\nformat = \"domains\"\nurl = \"https://lists.example/g.txt\"\n")
	write("third.list", "poker.example\nbets.example\n")
	downloads := t.TempDir()
	opts := Options{FS: os.DirFS(dir), DisplayDir: dir, OSDir: dir, DownloadDir: downloads}
	first, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Reuse = first
	again, err := Load(opts)
	if err != nil || again != first {
		t.Fatalf("unchanged lists built again (%v)", err)
	}
	// The same bytes with a new modification time: still the same lists.
	later := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(dir, "third.list"), later, later)
	if again, _ := Load(opts); again != first {
		t.Error("a touched, unchanged import was built again")
	}
	var buf [4]Hit
	for _, step := range []struct {
		name   string
		change func()
		listed string
	}{
		{"import", func() { write("third.list", "poker.example\nbets.example\nslots.example\n") }, "slots.example"},
		{"list file", func() {
			write("gambling.toml", "category = \"gambling\"\nblock = [\"casino.example\", \"dice.example\"]\n[[import]]\npath = \"third.list\"\nformat = \"domains\"\nurl = \"https://lists.example/g.txt\"\n")
		}, "dice.example"},
		{"a download appears", func() {
			os.WriteFile(DownloadPath(downloads, "gambling", "https://lists.example/g.txt"), []byte("roulette.example\n"), 0o644)
		}, "roulette.example"},
	} {
		step.change()
		next, err := Load(opts)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if next == opts.Reuse || len(next.Matcher.Lookup(step.listed, buf[:0])) != 1 {
			t.Fatalf("%s changed: the running lists were kept", step.name)
		}
		opts.Reuse = next
		if again, _ := Load(opts); again != next {
			t.Fatalf("after the %s changed, the unchanged reload built again", step.name)
		}
	}
}

// The built-in lists (kept compressed in the binary) are reused too.
func TestShippedListsAreReused(t *testing.T) {
	t.Parallel()
	opts := Options{FS: Shipped(), DisplayDir: ShippedDir}
	first, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Reuse = first
	if again, err := Load(opts); err != nil || again != first {
		t.Fatalf("the built-in lists were built again (%v)", err)
	}
}
