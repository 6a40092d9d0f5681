package blocklists

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/civicdns/civicdns/internal/dnstest"
)

func TestUpdaterKeepsTheLastGoodCopy(t *testing.T) {
	t.Parallel()
	var body atomic.Value
	var status atomic.Int32
	body.Store("fresh.example\nnewer.example\n")
	status.Store(200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
		w.Write([]byte(body.Load().(string)))
	}))
	defer srv.Close()

	dl := t.TempDir()
	fsys := fstest.MapFS{
		"a.toml":       {Data: []byte("category = \"a\"\n[[import]]\npath = \"bundled.list\"\nurl = \"" + srv.URL + "/a.list\"\nformat = \"domains\"\nrefresh = \"1h\"\n")},
		"bundled.list": {Data: []byte("bundled.example\n")},
	}
	load := func() *Set {
		set, err := Load(Options{FS: fsys, DisplayDir: "lists", DownloadDir: dl})
		if err != nil {
			t.Fatal(err)
		}
		return set
	}
	blocked := func(set *Set, name string) bool { return len(set.Matcher.Lookup(name, nil)) > 0 }

	set := load()
	if !blocked(set, "bundled.example") || len(set.Downloads) != 1 {
		t.Fatalf("before any download the bundled copy is used: %+v", set.Downloads)
	}
	clock := dnstest.NewClock()
	var changes atomic.Int32
	var results []error
	u := &Updater{Now: clock.Now, OnChange: func() { changes.Add(1) }, OnResult: func(d Download, err error) { results = append(results, err) }}
	ctx := context.Background()

	if n := u.Check(ctx, set.Downloads); n != 1 || changes.Load() != 1 {
		t.Fatalf("first check wrote %d, changes %d", n, changes.Load())
	}
	set = load()
	if !blocked(set, "fresh.example") || blocked(set, "bundled.example") {
		t.Fatal("the downloaded copy is not the one used")
	}
	if n := u.Check(ctx, set.Downloads); n != 0 {
		t.Error("downloaded again before the refresh period")
	}

	// A failing server and a page that is not a list change nothing.
	for _, tc := range []struct {
		status int
		body   string
	}{{500, "oops"}, {200, "<html><body>moved</body></html>\n<p>see elsewhere</p>\n"}, {200, ""}} {
		clock.Advance(2 * time.Hour)
		status.Store(int32(tc.status))
		body.Store(tc.body)
		if n := u.Check(ctx, set.Downloads); n != 0 {
			t.Errorf("status %d %q replaced the good copy", tc.status, tc.body)
		}
		if results[len(results)-1] == nil {
			t.Errorf("status %d %q: no error reported", tc.status, tc.body)
		}
		if !blocked(load(), "fresh.example") {
			t.Errorf("status %d: the last good copy is gone", tc.status)
		}
	}
	if changes.Load() != 1 {
		t.Errorf("%d reloads asked for, want 1", changes.Load())
	}
	path := DownloadPath(dl, "a", srv.URL+"/a.list")
	if filepath.Dir(path) != dl {
		t.Errorf("copy kept at %s", path)
	}
	if _, err := os.Stat(path); err != nil {
		t.Error(err)
	}
}

// lists diff: what each refresh added and removed, the first one against
// the bundled copy it replaced.
func TestDiffOfARefresh(t *testing.T) {
	t.Parallel()
	var body atomic.Value
	body.Store("kept.example\nadded.example\n")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body.Load().(string))) }))
	defer srv.Close()
	dl := t.TempDir()
	fsys := fstest.MapFS{
		"a.toml":       {Data: []byte("category = \"a\"\n[[import]]\npath = \"bundled.list\"\nurl = \"" + srv.URL + "/a.list\"\nformat = \"domains\"\nrefresh = \"1h\"\n")},
		"bundled.list": {Data: []byte("kept.example\ngone.example\n")},
	}
	set, err := Load(Options{FS: fsys, DisplayDir: "lists", DownloadDir: dl})
	if err != nil {
		t.Fatal(err)
	}
	d := set.Downloads[0]
	if _, ok, err := DiffDownload(d); ok || err != nil {
		t.Fatalf("a diff before any download: %v %v", ok, err)
	}
	clock := dnstest.NewClock()
	u := &Updater{Now: clock.Now}
	u.Check(context.Background(), set.Downloads)
	diff, ok, err := DiffDownload(d)
	if !ok || err != nil || strings.Join(diff.Added, ",") != "added.example" || strings.Join(diff.Removed, ",") != "gone.example" {
		t.Fatalf("first refresh: %v %v %+v", ok, err, diff)
	}
	body.Store("kept.example\nadded.example\nnewest.example\n")
	clock.Advance(2 * time.Hour)
	os.Chtimes(d.Path, time.Unix(0, 0), time.Unix(0, 0)) // let the server's copy count as newer
	u.Check(context.Background(), set.Downloads)
	if diff, _, _ := DiffDownload(d); strings.Join(diff.Added, ",") != "newest.example" || len(diff.Removed) != 0 {
		t.Errorf("second refresh: %+v", diff)
	}
}

// A refresh that would shrink a list to less than half (or to fewer than
// ten names) is refused: the last good copy stays, the error says why,
// and DiffRefused shows what it would have changed.
func TestARefreshThatShrinksTheListIsRefused(t *testing.T) {
	t.Parallel()
	names := func(from, n int) string {
		var b strings.Builder
		for i := from; i < from+n; i++ {
			fmt.Fprintf(&b, "casino%d.example\n", i)
		}
		return b.String()
	}
	var body atomic.Value
	body.Store(names(0, 30))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body.Load().(string))) }))
	defer srv.Close()
	dl := t.TempDir()
	fsys := fstest.MapFS{
		"a.toml":       {Data: []byte("category = \"a\"\n[[import]]\npath = \"bundled.list\"\nurl = \"" + srv.URL + "/a.list\"\nformat = \"domains\"\nrefresh = \"1h\"\n")},
		"bundled.list": {Data: []byte(names(0, 100))},
	}
	set, err := Load(Options{FS: fsys, DisplayDir: "lists", DownloadDir: dl})
	if err != nil {
		t.Fatal(err)
	}
	clock := dnstest.NewClock()
	var last error
	u := &Updater{Now: clock.Now, OnResult: func(d Download, err error) { last = err }}
	var shrink *ShrinkError
	if n := u.Check(context.Background(), set.Downloads); n != 0 || !errors.As(last, &shrink) || shrink.Old != 100 || shrink.New != 30 {
		t.Fatalf("100 names to 30: wrote %d, %v", n, last)
	}
	d := set.Downloads[0]
	if _, err := os.Stat(d.Path); !errors.Is(err, os.ErrNotExist) {
		t.Error("the refused copy took the list's place")
	}
	diff, ok, err := DiffRefused(d)
	if err != nil || !ok || len(diff.Removed) != 70 || len(diff.Added) != 0 {
		t.Fatalf("the refused refresh's diff: %v %v +%d -%d", err, ok, len(diff.Added), len(diff.Removed))
	}
	// Half or more is a refresh like any other, and clears the refused copy.
	clock.Advance(2 * time.Hour)
	body.Store(names(0, 60))
	if n := u.Check(context.Background(), set.Downloads); n != 1 || last != nil {
		t.Fatalf("100 names to 60: wrote %d, %v", n, last)
	}
	if _, ok, _ := DiffRefused(d); ok {
		t.Error("the refused copy is still there after a good refresh")
	}
	// Fewer than ten is refused even when more than half.
	clock.Advance(2 * time.Hour)
	body.Store(names(0, 9))
	if u.Check(context.Background(), set.Downloads); !errors.As(last, &shrink) {
		t.Errorf("60 names to 9: %v", last)
	}
}
