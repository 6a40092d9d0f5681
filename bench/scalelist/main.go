// Command scalelist writes a category list folder with the real lists of
// the shipped lists (blocklists/data) scaled to -n names, for the memory and reload benchmarks.
package main

import (
	"flag"
	"log"
	"os"
	"path/filepath"

	"github.com/civicdns/civicdns/internal/realdata"
)

func main() {
	n := flag.Int("n", 2000000, "names")
	out := flag.String("out", "bench/out/lists2m", "folder to write")
	flag.Parse()
	dir, err := realdata.Root()
	if err != nil {
		log.Fatal(err)
	}
	names, err := realdata.BlockNames(dir)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	f, err := os.Create(filepath.Join(*out, "scaled.domains"))
	if err != nil {
		log.Fatal(err)
	}
	if err := realdata.WriteScaled(f, names, *n); err != nil {
		log.Fatal(err)
	}
	f.Close()
	toml := "category = \"scaled\"\n[[import]]\npath = \"scaled.domains\"\nformat = \"domains\"\n"
	for _, c := range []string{"adult", "gambling", "filesharing", "chat"} {
		toml2 := "category = \"" + c + "\"\nblock = [\"" + c + ".bench.example\"]\n"
		if err := os.WriteFile(filepath.Join(*out, c+".toml"), []byte(toml2), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(*out, "scaled.toml"), []byte(toml), 0o644); err != nil {
		log.Fatal(err)
	}
}
