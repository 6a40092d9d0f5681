package blocklists

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/civicdns/civicdns/internal/realdata"
)

// scaledFolder writes a lists folder with the real lists scaled to n names.
func scaledFolder(b *testing.B, n int) string {
	dir, err := realdata.Root()
	if err != nil {
		b.Fatal(err)
	}
	names, err := realdata.BlockNames(dir)
	if err != nil {
		b.Fatal(err)
	}
	out := b.TempDir()
	f, err := os.Create(filepath.Join(out, "scaled.domains"))
	if err != nil {
		b.Fatal(err)
	}
	if err := realdata.WriteScaled(f, names, n); err != nil {
		b.Fatal(err)
	}
	f.Close()
	os.WriteFile(filepath.Join(out, "scaled.toml"), []byte("category = \"scaled\"\n[[import]]\npath = \"scaled.domains\"\nformat = \"domains\"\n"), 0o644)
	return out
}

// BenchmarkBuild2M parses and compiles 2,000,000 names (the real lists,
// scaled). Targets: well under 1 s per build (a process serves 2M names
// within 1 s of its start); heap_MB is what the process's heap keeps, and
// the matcher must hold them in under 36 bytes a name (MB_per_M_names:
// under 100 MB a process with 2M names).
func BenchmarkBuild2M(b *testing.B) {
	dir := scaledFolder(b, 2000000)
	b.ResetTimer()
	var set *Set
	for i := 0; i < b.N; i++ {
		var err error
		set, err = Load(Options{FS: os.DirFS(dir), DisplayDir: dir})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap_MB")
	b.ReportMetric(float64(set.Matcher.Len()), "names")
	perName := float64(set.Matcher.Bytes()) / float64(set.Matcher.Len())
	b.ReportMetric(perName, "MB_per_M_names")
	if perName > 36 {
		b.Fatalf("the matcher takes %.1f bytes a name; the target is under 36", perName)
	}
	runtime.KeepAlive(set)
}

// BenchmarkReload2M reloads 2,000,000 unchanged names, as SIGHUP or a
// configuration change does: the files are read and hashed, and the
// running matcher kept. extra_heap_MB is what the reload holds beyond the
// running set (target: ~0, where a rebuild held a second matcher).
func BenchmarkReload2M(b *testing.B) {
	dir := scaledFolder(b, 2000000)
	opts := Options{FS: os.DirFS(dir), DisplayDir: dir, OSDir: dir}
	running, err := Load(opts)
	if err != nil {
		b.Fatal(err)
	}
	opts.Reuse = running
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		set, err := Load(opts)
		if err != nil || set != running {
			b.Fatalf("unchanged lists built again (%v)", err)
		}
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric((float64(after.HeapInuse)-float64(before.HeapInuse))/(1<<20), "extra_heap_MB")
	runtime.KeepAlive(running)
}

// BenchmarkLookup2M looks up real popular names (most not listed, some
// listed) in the 2,000,000-name matcher. Target: under 200 ns, 0 allocations.
func BenchmarkLookup2M(b *testing.B) {
	dir := scaledFolder(b, 2000000)
	set, err := Load(Options{FS: os.DirFS(dir), DisplayDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	rd, _ := realdata.Root()
	queries, err := realdata.TopDomains(rd)
	if err != nil {
		b.Fatal(err)
	}
	for i := range queries {
		queries[i] = "www." + queries[i] // a subdomain: every parent is looked up too
	}
	var buf [16]Hit
	listed := 0
	for _, q := range queries {
		if len(set.Matcher.Lookup(q, buf[:0])) > 0 {
			listed++
		}
	}
	if listed == 0 {
		b.Fatal("no listed name among the queries")
	}
	b.ReportMetric(float64(listed)*100/float64(len(queries)), "%listed")
	found := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		found += len(set.Matcher.Lookup(queries[i%len(queries)], buf[:0]))
	}
	b.StopTimer()
	runtime.KeepAlive(found)
}
