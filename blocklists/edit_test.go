package blocklists

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/civicdns/civicdns/config"
)

func writeLists(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Names go first in the category's block list, each with its note; the
// rest of the file (comments, other keys, tables) stays as it was, in every
// shape the block list can have.
func TestAdditionKeepsTheFile(t *testing.T) {
	t.Parallel()
	for shape, text := range map[string]string{
		"multi-line": "# Gambling\ncategory = \"gambling\"\nblock = [\n  \"casino.example\", # a casino\n]\nallow = [\"state.example\"]\n",
		"one line":   "category = \"gambling\"\nblock = [\"casino.example\"] # ours\n",
		"empty":      "category = \"gambling\"\nblock = []\n",
		"none":       "category = \"gambling\"\n\n[[import]]\npath = \"l.domains\"\nformat = \"domains\"\n",
	} {
		dir := writeLists(t, map[string]string{"gambling.toml": text, "l.domains": "lotto.example\n"})
		e, err := PrepareAddition(Addition{Dir: dir, Category: "gambling", Names: []string{"bingo.example", "slots.example"},
			Note: "added by Pat Doe (pdoe), 2026-12-07: white-label\ncasino"})
		if err != nil {
			t.Fatalf("%s: %v", shape, err)
		}
		if got, _ := os.ReadFile(e.File); string(got) != text {
			t.Fatalf("%s: prepared, but the file changed already", shape)
		}
		if err := e.Write(); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(e.File)
		if !strings.Contains(string(got), `  "bingo.example", # added by Pat Doe (pdoe), 2026-12-07: white-label casino`+"\n") {
			t.Errorf("%s:\n%s", shape, got)
		}
		set, err := Load(Options{FS: os.DirFS(dir), DisplayDir: dir})
		if err != nil {
			t.Fatalf("%s: %v\n%s", shape, err, got)
		}
		want := []string{"bingo.example", "www.slots.example", "casino.example"}
		switch shape {
		case "none":
			want[2] = "lotto.example" // the import, after the new block list
		case "empty":
			want = want[:2]
		}
		for _, n := range want {
			if len(set.Matcher.Lookup(n, nil)) == 0 {
				t.Errorf("%s: %s not blocked after the addition\n%s", shape, n, got)
			}
		}
	}
}

func TestAdditionRefusals(t *testing.T) {
	t.Parallel()
	dir := writeLists(t, map[string]string{"gambling.toml": "category = \"gambling\"\nblock = [\"casino.example\"]\n"})
	for _, c := range []struct {
		a    Addition
		want string
	}{
		{Addition{Dir: dir, Category: "gambling", Names: []string{"casino.example"}}, "casino.example is already in gambling (" + dir + "/gambling.toml:2)"},
		{Addition{Dir: dir, Category: "chat", Names: []string{"x.example"}}, `no list file defines category "chat"`},
	} {
		if _, err := PrepareAddition(c.a); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %s", c.a, err, c.want)
		}
	}
}

// Whatever shape a category file that loads has, adding names keeps it
// loading, with the new names in its block list and the old ones kept.
func FuzzInsertBlock(f *testing.F) {
	for _, seed := range []string{
		"category = \"gambling\"\nblock = [\n  \"casino.example\", # a casino\n]\n",
		"category = \"gambling\"\nblock = [\"casino.example\"] # ours\n",
		"category = \"gambling\"\nblock = []\n",
		"category = \"gambling\"\nblock = [ # the list\n\"a.example\"]\n[[import]]\npath = \"l\"\nformat = \"domains\"\n",
		"category = \"gambling\"\n\n[[import]]\npath = \"l.domains\"\nformat = \"domains\"\n",
		"block=['casino.example']\ncategory='gambling'",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var before ListFile
		pos, errs := config.DecodeStrict("gambling.toml", []byte(text), &before)
		if pos == nil || len(errs) > 0 {
			return
		}
		out := insertBlock(text, pos.Line("block"), entryLines([]string{"new.example"}, "added by fuzz"))
		var after ListFile
		if p, errs := config.DecodeStrict("gambling.toml", []byte(out), &after); p == nil || len(errs) > 0 {
			t.Fatalf("%q\nbecame\n%q: %v", text, out, errs)
		}
		if len(after.Block) != len(before.Block)+1 || after.Block[0] != "new.example" {
			t.Fatalf("%q\nbecame\n%q: block %q", text, out, after.Block)
		}
		for i, b := range before.Block {
			if after.Block[i+1] != b {
				t.Fatalf("%q\nbecame\n%q: block %q", text, out, after.Block)
			}
		}
	})
}
