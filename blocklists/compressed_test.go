package blocklists

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
	"testing/fstest"
)

func gzipped(t *testing.T, text string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(text))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const gzList = `category = "gambling"
[[import]]
path = "data/list.txt.gz"
format = "domains"
`

func TestCompressedImportIsReadDecompressed(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"gambling.toml":    {Data: []byte(gzList)},
		"data/list.txt.gz": {Data: gzipped(t, "# a list\ncasino.example\nbet.example\n")},
	}
	set, err := Load(Options{FS: fsys, DisplayDir: "lists"})
	if err != nil {
		t.Fatal(err)
	}
	hits := set.Matcher.Lookup("www.bet.example", nil)
	if len(hits) != 1 || set.Categories["gambling"].Imports[0].Names != 2 {
		t.Fatalf("hits %v, import %+v", hits, set.Categories["gambling"].Imports)
	}
}

func TestDamagedCompressedImportIsAnError(t *testing.T) {
	t.Parallel()
	good := gzipped(t, "casino.example\n")
	for name, data := range map[string][]byte{"not gzip": []byte("casino.example\n"), "cut short": good[:len(good)-6]} {
		fsys := fstest.MapFS{"gambling.toml": {Data: []byte(gzList)}, "data/list.txt.gz": {Data: data}}
		_, err := Load(Options{FS: fsys, DisplayDir: "lists"})
		if err == nil || !strings.Contains(err.Error(), "list.txt.gz") {
			t.Errorf("%s: %v, want an error naming the file", name, err)
		}
	}
}
