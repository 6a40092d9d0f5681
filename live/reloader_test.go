package live

import (
	"os"
	"path/filepath"
	"testing"
)

// A reload (SIGHUP, a changed configuration) that finds the category lists
// as they were keeps their compiled matcher: no second copy of a city's
// millions of names while the new policy is built. A changed list is built
// again and applied.
func TestReloadKeepsUnchangedLists(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Mkdir(filepath.Join(dir, "lists"), 0o755)
	write("lists/gambling.toml", "category = \"gambling\"\nblock = [\"casino.example\"]\n")
	write("civicdns.toml", base+"[lists]\ndir = \"lists\"\nwatch = \"0s\"\n[policy]\nblock = []\n")
	cfg, pol, err := Load(filepath.Join(dir, "civicdns.toml"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, pol, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := NewReloader(s, filepath.Join(dir, "civicdns.toml"), nil)
	write("civicdns.toml", base+"[lists]\ndir = \"lists\"\nwatch = \"0s\"\n[policy]\nblock = [\"gambling\"]\n")
	if err := r.Reload("test"); err != nil {
		t.Fatal(err)
	}
	now := s.Snapshot().Policy
	if now == pol || now.Lists() != pol.Lists() {
		t.Fatal("the new policy was not applied, or its unchanged lists were built again")
	}
	write("lists/gambling.toml", "category = \"gambling\"\nblock = [\"casino.example\", \"dice.example\"]\n")
	if err := r.Reload("test"); err != nil {
		t.Fatal(err)
	}
	if s.Snapshot().Policy.Lists() == pol.Lists() || s.Snapshot().Policy.Lists().Matcher.Len() != 2 {
		t.Fatal("a changed list was not built again")
	}
}
