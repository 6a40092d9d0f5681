package blocklists

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

// The shipped lists (~580,000 real names) in under 36 bytes a name: the
// name itself (~20 bytes), 6 bytes of record, ~8 of table. The layout
// before (a 16-byte slot and a 13-byte record a name) took ~50.
func TestMatcherBytesPerName(t *testing.T) {
	t.Parallel()
	set, err := Load(Options{FS: Shipped(), DisplayDir: ShippedDir})
	if err != nil {
		t.Fatal(err)
	}
	m := set.Matcher
	perName := float64(m.Bytes()) / float64(m.Len())
	t.Logf("%d names, %.1f bytes a name", m.Len(), perName)
	if m.Len() < 100000 || perName > 36 {
		t.Errorf("%d names take %.1f bytes a name; want under 36", m.Len(), perName)
	}
}

// Ten categories give 1,023 pairs of masks: past the 255 a record's class
// byte names, the rest are kept aside; every name keeps its masks and its
// source line either way, and names no list holds are not found.
func TestEveryMaskCombinationIsKept(t *testing.T) {
	t.Parallel()
	cats := make([]string, 10)
	files := fstest.MapFS{}
	var lines [10][]string
	for c := range cats {
		cats[c] = fmt.Sprintf("c%d", c)
	}
	for combo := 1; combo < 1<<len(cats); combo++ {
		for c := range cats {
			if combo&(1<<c) != 0 {
				lines[c] = append(lines[c], fmt.Sprintf("n%d.example", combo))
			}
		}
	}
	for c, name := range cats {
		files[name+".toml"] = &fstest.MapFile{Data: []byte(fmt.Sprintf("category = %q\n[[import]]\npath = %q\nformat = \"domains\"\n", name, name+".list"))}
		files[name+".list"] = &fstest.MapFile{Data: []byte(strings.Join(lines[c], "\n") + "\n")}
	}
	set, err := Load(Options{FS: files, DisplayDir: "lists"})
	if err != nil {
		t.Fatal(err)
	}
	m := set.Matcher
	if len(m.wide) == 0 {
		t.Fatal("no record needed the wide masks: the test does not test them")
	}
	var buf [4]Hit
	for combo := 1; combo < 1<<len(cats); combo++ {
		hits := m.Lookup(fmt.Sprintf("www.n%d.example", combo), buf[:0])
		if len(hits) != 1 || hits[0].Block != uint32(combo) || hits[0].Allow != 0 {
			t.Fatalf("n%d: hits %+v, want block mask %b", combo, hits, combo)
		}
		for c := range cats {
			src, ok := m.Source(hits[0], m.Category(cats[c]), false)
			if ok != (combo&(1<<c) != 0) {
				t.Fatalf("n%d in %s: %v", combo, cats[c], ok)
			}
			if ok && (m.File(src) != "lists/"+cats[c]+".list" || src.Line() < 1) {
				t.Fatalf("n%d in %s: listed at %s", combo, cats[c], m.Where(src))
			}
		}
	}
	for _, absent := range []string{"n0.example", "n1024.example", "example", "x.n1.examplf"} {
		if hits := m.Lookup(absent, buf[:0]); len(hits) != 0 {
			t.Errorf("%s: %+v", absent, hits)
		}
	}
}

// Names whose home is the table's last slot are placed past its end, in
// the first slots, and found from their home through the tags repeated
// after the end. The hashes are chosen, so the wrap is certain.
func TestProbesWrapAroundTheTable(t *testing.T) {
	t.Parallel()
	b, err := NewBuilder([]string{"a"}, 40)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := b.AddFile("a.list")
	n := len(b.m.table.refs)
	hashOf := func(i int) uint64 { return ^uint64(0) - uint64(i) } // home n-1, tags 255, 254, …
	const names = 20
	for i := range names {
		b.place([]byte(fmt.Sprintf("host%d.example", i)), hashOf(i), 0, false, makeSource(f, i+1))
	}
	m := b.Matcher()
	if h := m.table.home(hashOf(names - 1)); h != n-1 {
		t.Fatalf("home %d, want the last slot %d", h, n-1)
	}
	for j := range groupSize {
		if m.table.tags[j] == 0 || m.table.tags[n+j] != m.table.tags[j] {
			t.Fatalf("slot %d: tag %d, repeated after the end as %d", j, m.table.tags[j], m.table.tags[n+j])
		}
	}
	for i := range names {
		name := fmt.Sprintf("host%d.example", i)
		ref, ok := m.findHashed([]byte(name), hashOf(i))
		if !ok {
			t.Fatalf("%s not found", name)
		}
		if src, _ := m.Source(Hit{Block: 1, ref: ref}, 0, false); src.Line() != i+1 {
			t.Fatalf("%s: line %d", name, src.Line())
		}
	}
	if _, ok := m.findHashed([]byte("absent.example"), hashOf(names)); ok {
		t.Error("an absent name with the same home was found")
	}
}
