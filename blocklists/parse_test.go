package blocklists

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// render writes what Parse made of a list, one line per name or bad line.
func render(t *testing.T, format, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	st, err := Parse(format, f, func(name []byte, line int, allow bool) {
		kind := "block"
		if allow {
			kind = "allow"
		}
		fmt.Fprintf(&b, "%d %s %s\n", line, kind, name)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range st.Bad {
		fmt.Fprintf(&b, "%d BAD %s\n", e.Line, e.Msg)
	}
	fmt.Fprintf(&b, "names=%d ignored=%d bad=%d\n", st.Names, st.Ignored, len(st.Bad))
	return b.String()
}

func TestFormatsGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ format, file string }{
		{FormatHosts, "sample.hosts"},
		{FormatDomains, "sample.domains"},
		{FormatAdblock, "sample.adblock"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			path := filepath.Join("testdata", "formats", tc.file)
			got := render(t, tc.format, path)
			golden := path + ".golden"
			if *update {
				os.WriteFile(golden, []byte(got), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s:\n%s", tc.file, golden, got)
			}
		})
	}
}

func TestUnknownFormat(t *testing.T) {
	t.Parallel()
	if _, err := Parse("csv", strings.NewReader("x"), func([]byte, int, bool) {}); err == nil {
		t.Error("no error for an unknown format")
	}
}

func fuzzParser(f *testing.F, format string, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Parse(format, strings.NewReader(string(data)), func(name []byte, line int, allow bool) {
			if len(name) == 0 || len(name) > 253 || line < 1 || strings.ToLower(string(name)) != string(name) || strings.HasSuffix(string(name), ".") {
				t.Fatalf("bad name %q at line %d", name, line)
			}
		})
		if err != nil && !strings.Contains(err.Error(), "token too long") {
			t.Fatal(err)
		}
	})
}

func FuzzParseHosts(f *testing.F) {
	fuzzParser(f, FormatHosts, "0.0.0.0 a.example\n127.0.0.1 localhost\n", "::1 x.example y.example # c\n", "0.0.0.0 bücher.example")
}

func FuzzParseDomains(f *testing.F) {
	fuzzParser(f, FormatDomains, "a.example\n# c\n192.0.2.1\n", "*.wild.example\nA.B.\n")
}

func FuzzParseAdblock(f *testing.F) {
	fuzzParser(f, FormatAdblock, "||a.example^\n@@||b.example^$important\n! c\n", "##.ad\n||x/y\n")
}
