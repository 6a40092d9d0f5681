package listeval

import (
	"testing"
	"testing/fstest"

	"github.com/civicdns/civicdns/blocklists"
)

// Each source is held out in turn and scored against the others, a
// parent domain covering its subdomains.
func TestEvaluateHoldsOutEachSource(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"gambling.toml": {Data: []byte(`category = "gambling"
block = ["casino.example", "bingo.example"]
[[import]]
path = "a.domains"
format = "domains"
[[import]]
path = "b.domains"
format = "domains"
`)},
		"a.domains": {Data: []byte("casino.example\npoker.example\nslots.example\n")},
		"b.domains": {Data: []byte("www.poker.example\nlotto.example\n")},
	}
	rows, err := Evaluate(fsys, []string{"poker.example", "lotto.example", "casino.example"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Row{
		Curated:     {Names: 2, Covered: 1, Popular: 1, PopularCovered: 1}, // casino.example is in a
		"a.domains": {Names: 3, Covered: 1, Popular: 2, PopularCovered: 1}, // casino.example (curated); poker.example: b has only www.
		"b.domains": {Names: 2, Covered: 1, Popular: 1, PopularCovered: 0}, // www.poker.example under a's poker.example
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %+v", rows)
	}
	for _, r := range rows {
		w := want[r.Source]
		w.Category, w.Source = "gambling", r.Source
		if r != w {
			t.Errorf("%s: %+v, want %+v", r.Source, r, w)
		}
	}
}

// The shipped lists evaluate: every import of each prohibited category is
// a row with names.
func TestEvaluateTheShippedLists(t *testing.T) {
	t.Parallel()
	rows, err := Evaluate(blocklists.Shipped(), nil, "gambling", "adult", "filesharing", "chat")
	if err != nil {
		t.Fatal(err)
	}
	perCat := map[string]int{}
	for _, r := range rows {
		if r.Names == 0 {
			t.Errorf("%s %s: no names", r.Category, r.Source)
		}
		perCat[r.Category]++
	}
	for _, c := range []string{"gambling", "adult", "filesharing", "chat"} {
		if perCat[c] < 3 {
			t.Errorf("%s: %d sources, want the curated entries and at least two lists", c, perCat[c])
		}
	}
}
