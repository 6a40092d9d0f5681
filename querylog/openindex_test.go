package querylog

import (
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// openDay writes n records of day0 to a day file left open (not
// compacted), the client 10.9.9.9 in the records rare lists, and returns
// the folder, the logger still open.
func openDay(t *testing.T, n int, rare []int) (string, *Logger) {
	t.Helper()
	dir := t.TempDir()
	lg := openLogger(t, dir)
	for i := 0; i < n; i++ {
		r := record(i, day0.Add(time.Duration(i)*time.Second))
		if slices.Contains(rare, i) {
			r.Client = netip.MustParseAddr("10.9.9.9")
		}
		lg.Record(r)
		if i%5000 == 0 {
			lg.Flush()
		}
	}
	if err := lg.Flush(); err != nil {
		t.Fatal(err)
	}
	return dir, lg
}

// The day in progress is searched through its chunk index: the chunks
// whose filter may hold the client are its three (a false positive or two
// at most), and every record is found, the unindexed tail included.
func TestOpenDaySearchReadsTheChunksThatMayHoldAKey(t *testing.T) {
	t.Parallel()
	rare := []int{1500, 20000, 40500} // the last in the chunk being written
	dir, _ := openDay(t, 40*chunkLines+700, rare)
	plain := DayFile(dir, "2026-11-20")
	fi, _ := os.Stat(plain)
	chunks := readChunks(chunkPath(plain), fi.Size())
	if len(chunks) != 40 {
		t.Fatalf("%d chunks indexed, want 40 (the 41st is being written)", len(chunks))
	}
	f := Filter{Client: netip.MustParsePrefix("10.9.9.9/32")}
	may := 0
	for _, c := range chunks {
		if mayHoldAll(c.keys, f.indexKeys()) {
			may++
		}
	}
	if may < 2 || may > 4 {
		t.Errorf("%d chunks may hold the client, want 2 (and a false positive at most)", may)
	}
	if got := all(t, dir, f); len(got) != 3 {
		t.Errorf("%d records of the client, want 3", len(got))
	}
}

// The chunk index only narrows: torn, missing, or with a gap after a
// restart, every search still finds what a scan of the lines finds.
func TestOpenDayIndexDamageOnlyCostsTime(t *testing.T) {
	t.Parallel()
	dir, lg := openDay(t, 12*chunkLines, []int{100, 9000})
	plain := DayFile(dir, "2026-11-20")
	side := chunkPath(plain)
	whole, err := os.ReadFile(side)
	if err != nil || len(whole) == 0 {
		t.Fatalf("no chunk index: %v", err)
	}
	// A restart after a crash that lost the last entries: more records
	// are written after a gap the index does not cover.
	lg.sink.Close()
	os.WriteFile(side, whole[:len(whole)/2], 0o600)
	lg2 := openLogger(t, dir)
	for i := 0; i < 3*chunkLines; i++ {
		r := record(i, day0.Add(time.Duration(20000+i)*time.Second))
		if i == 2000 {
			r.Client = netip.MustParseAddr("10.9.9.9")
		}
		lg2.Record(r)
	}
	if err := lg2.Flush(); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for _, f := range []Filter{{Client: netip.MustParsePrefix("10.9.9.9/32")}, {Name: "site3.example"}, {Department: "parks", Action: "blocked"}, {}} {
		want[f.Client.String()+f.Name+f.Department] = len(all(t, dir, f))
	}
	if want["10.9.9.9/32"] != 3 {
		t.Fatalf("%d records of the client, want 3", want["10.9.9.9/32"])
	}
	idx, _ := os.ReadFile(side)
	for name, bad := range map[string][]byte{"torn": idx[:len(idx)-7], "missing": nil, "garbage": []byte("\x02\x04garbage")} {
		if bad == nil {
			os.Remove(side)
		} else {
			os.WriteFile(side, bad, 0o600)
		}
		for _, f := range []Filter{{Client: netip.MustParsePrefix("10.9.9.9/32")}, {Name: "site3.example"}, {Department: "parks", Action: "blocked"}, {}} {
			if got := len(all(t, dir, f)); got != want[f.Client.String()+f.Name+f.Department] {
				t.Errorf("index %s: %+v: %d records, want %d", name, f, got, want[f.Client.String()+f.Name+f.Department])
			}
		}
	}
	// Compaction removes the index with the day file.
	lg2.sink.Close()
	if err := Compact(plain); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(side); !os.IsNotExist(err) {
		t.Errorf("the chunk index outlived its day file: %v", err)
	}
}

// Indexing a record in the day's chunk index allocates nothing (the writer
// does it for every record), and its department key is the one a search
// hashes, whatever the case, beyond ASCII too.
func TestChunkIndexingDoesNotAllocate(t *testing.T) {
	c := newChunkIndexer(t.TempDir()+"/dns-2026-11-20.jsonl", 0)
	s := &slot{t: 1, client: netip.MustParseAddr("10.20.1.7"), dept: "Public Works", action: "blocked", category: "gambling"}
	name := []byte("www.pokerstars.example.com")
	if n := testing.AllocsPerRun(500, func() { c.add(200, s, name) }); n != 0 {
		t.Errorf("%.1f allocations a record", n)
	}
	for _, d := range []string{"Public Works", "ÉCOLES", "police"} {
		a1, a2 := keyHashLower("d:", d)
		b1, b2 := keyHash("d:" + strings.ToLower(d))
		if a1 != b1 || a2 != b2 {
			t.Errorf("%q: the indexed key is not the searched one", d)
		}
	}
}
