package querylog

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// compactedDay writes n records of day0 (record(i), with rare ones where
// rare says) and compacts the day; it returns the folder.
func compactedDay(t *testing.T, n int, rare func(i int, e *Entry)) string {
	t.Helper()
	dir := t.TempDir()
	lg := openLogger(t, dir)
	for i := 0; i < n; i++ {
		r := record(i, day0.Add(time.Duration(i)*time.Second))
		e := Entry{Client: r.Client.String(), Name: string(r.Name)}
		rare(i, &e)
		r.Client, r.Name = netip.MustParseAddr(e.Client), []byte(e.Name)
		lg.Record(r)
	}
	if err := lg.Flush(); err != nil {
		t.Fatal(err)
	}
	lg.sink.Close()
	if err := Compact(DayFile(dir, "2026-11-20")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A search for a client or a name reads the blocks its postings list and
// no other: a client seen three times in a day of 50 blocks is found in
// exactly its three; a deep (CDN, telemetry) name is found under its
// three-label parent, a one-label name by reading every block.
func TestPostingsListOnlyTheBlocksThatHoldAKey(t *testing.T) {
	t.Parallel()
	seen := []int{1000, 5000, 6100} // blocks 7, 39 and 47 of 128 lines
	dir := compactedDay(t, 50*blockLines, func(i int, e *Entry) {
		if slices.Contains(seen, i) {
			e.Client = "10.9.9.9"
		}
		if i == 4242 {
			e.Name = "a1b2c3d4.t.cdn.example.net"
		}
	})
	x, err := openDayIndex(filepath.Join(dir, "dns-2026-11-20.idx"))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	blocks, err := x.blocksFor([]string{"c:10.9.9.9"})
	if err != nil || !slices.Equal(blocks, []uint32{7, 39, 47}) {
		t.Fatalf("postings of the client: %v (%v), want [7 39 47]", blocks, err)
	}
	if got := all(t, dir, Filter{Client: netip.MustParsePrefix("10.9.9.9/32")}); len(got) != 3 {
		t.Fatalf("%d records of the client, want 3", len(got))
	}
	if got := all(t, dir, Filter{Client: netip.MustParsePrefix("10.9.9.9/32"), Department: "PARKS"}); len(got) != 2 {
		t.Errorf("%d records of the client in Parks (any case), want 2", len(got))
	}
	deep := Filter{Name: "a1b2c3d4.t.cdn.example.net"}
	blocks, _ = x.blocksFor(deep.indexKeys())
	if !slices.Contains(blocks, 4242/blockLines) {
		t.Errorf("the deep name's parent key lists blocks %v, not its block %d", blocks, 4242/blockLines)
	}
	for _, tc := range []struct {
		name string
		want int
	}{{"a1b2c3d4.t.cdn.example.net", 1}, {"cdn.example.net", 1}, {"net", 1}, {"site3.example", 50 * blockLines / 11}, {"none.example", 0}} {
		got := all(t, dir, Filter{Name: tc.name})
		if len(got) < tc.want || len(got) > tc.want+1 {
			t.Errorf("name %s: %d records, want %d", tc.name, len(got), tc.want)
		}
	}
	if p, err := x.postings("c:10.9.9.10"); err != nil || p != nil {
		t.Errorf("a key no block holds: %v %v", p, err)
	}
}

// Days compacted before index format 2 are searched as they were.
func TestFormat1IndexesAreStillRead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, f := range []string{"dns-2026-11-20.idx", "dns-2026-11-20.jsonl.zst", "dns-2026-11-20.blocked.idx", "dns-2026-11-20.blocked.jsonl.zst"} {
		data, err := os.ReadFile(filepath.Join("testdata", "format1", f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), data, 0o600)
	}
	if got := all(t, dir, Filter{Client: netip.MustParsePrefix("10.20.0.3/32")}); len(got) != 100 {
		t.Errorf("%d records of 10.20.0.3, want 100", len(got))
	}
	if got := all(t, dir, Filter{Name: "site7.example"}); len(got) != 91 {
		t.Errorf("%d records of site7.example, want 91", len(got))
	}
	if got := all(t, dir, Filter{}); len(got) != 1000 {
		t.Errorf("%d records, want 1000", len(got))
	}
}

// A damaged index is an error a search reports, never a day silently
// read as empty.
func TestDamagedIndexIsAnError(t *testing.T) {
	t.Parallel()
	dir := compactedDay(t, 10*blockLines, func(int, *Entry) {})
	idx := filepath.Join(dir, "dns-2026-11-20.idx")
	good, _ := os.ReadFile(idx)
	for name, bad := range map[string][]byte{
		"truncated":           good[:len(good)-10],
		"trailer overwritten": append(good[:len(good)-trailerSize:len(good)-trailerSize], make([]byte, trailerSize)...),
		"key table cut":       append(append([]byte{}, good[:len(good)/2]...), good[len(good)-trailerSize:]...),
	} {
		os.WriteFile(idx, bad, 0o600)
		err := Search(dir, Filter{Client: netip.MustParsePrefix("10.20.3.4/32")}, func(*Entry) bool { return true })
		if err == nil || !strings.Contains(err.Error(), "damaged") {
			t.Errorf("%s: err = %v, want damaged", name, err)
		}
	}
}

// FuzzDayIndex: any bytes as a day's index give an error or blocks, never
// a panic or an allocation beyond the file's size.
func FuzzDayIndex(f *testing.F) {
	blocks := []blockIndex{{off: 0, size: 10, count: 2, first: 1, last: 2}, {off: 10, size: 5, count: 1, first: 3, last: 3}}
	p := postingsWriter{}
	for i, k := range []string{"c:10.0.0.1", "n:example.net", "a:blocked"} {
		p.add(k, uint32(i%2))
	}
	f.Add(appendIndex2(nil, blocks, p))
	f.Add([]byte(indexMagic))
	f.Add([]byte(indexMagic2 + strings.Repeat("\xff", 60)))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "x.idx")
		os.WriteFile(path, data, 0o600)
		x, err := openDayIndex(path)
		if err != nil {
			return
		}
		defer x.Close()
		for _, flt := range []Filter{{}, {Client: netip.MustParsePrefix("10.0.0.1/32")}, {Name: "example.net", Action: "blocked"}} {
			x.selectBlocks(flt)
		}
		for i := range 100 {
			x.postings(fmt.Sprintf("c:%d", i))
		}
	})
}
