package state

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/civicdns/civicdns/config"
)

// writeRequests writes a workflow journal of n requests, half of them
// decided, straight to dir (as n Submits would, without n fsyncs).
func writeRequests(tb testing.TB, dir string, n int) []string {
	tb.Helper()
	var buf []byte
	ids := make([]string, n)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		q := request(fmt.Sprintf("10.20.%d.%d", i/250%250, i%250+1))
		q.ID, q.Time = fmt.Sprintf("R-%08d", i), t0.Add(time.Duration(i)*time.Second)
		ids[i] = q.ID
		data, _ := json.Marshal(record{Time: q.Time, Kind: "request", Request: &q})
		buf = frame(buf, data)
		if i%2 == 1 {
			data, _ = json.Marshal(record{Time: q.Time, Kind: "deny", ID: q.ID, By: "Chief", Note: "no"})
			buf = frame(buf, data)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, WorkflowFile), buf, 0o600); err != nil {
		tb.Fatal(err)
	}
	return ids
}

// countingIndex counts what the store decodes from its journal.
func decoded(s *Store) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.idx.decoded
}

// After the first read, lookups, lists and appends decode only what is
// new: a status lookup never replays the journal.
func TestReadsAndAppendsDecodeOnlyWhatIsNew(t *testing.T) {
	t.Parallel()
	for _, n := range []int{100, 100000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			readsAndAppendsDecodeOnlyWhatIsNew(t, n)
		})
	}
}

// readsAndAppendsDecodeOnlyWhatIsNew: with n requests in the journal (half
// of them decided), lookups, a list and an append decode nothing once the
// journal was read, and another process's append is decoded alone.
func readsAndAppendsDecodeOnlyWhatIsNew(t *testing.T, n int) {
	dir := t.TempDir()
	ids := writeRequests(t, dir, n)
	s, _ := Open(dir, nil)
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	start := decoded(s)
	if start != n*3/2 {
		t.Fatalf("the first read decoded %d records, want %d", start, n*3/2)
	}
	for _, id := range ids[len(ids)-100:] {
		if q, err := s.Request(id); err != nil || q == nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	if p, pending, err := s.Pending("Police", 10); err != nil || len(p) != 10 || pending != n/2 || p[0].ID != ids[n-2] {
		t.Fatalf("pending: %v, %d of %d", err, len(p), pending)
	}
	q, err := s.Submit(request("10.20.1.1"))
	if err != nil {
		t.Fatal(err)
	}
	if got := decoded(s) - start; got != 0 {
		t.Errorf("lookups and an append decoded %d records", got)
	}
	// Another process's append (a CLI) is read, alone.
	other, _ := Open(dir, nil)
	if _, err := other.Approve(q.ID, Approval{By: "Chief", Expires: config.Date{Year: 2099, Month: 1, Day: 1}, Reason: "ok"}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Request(q.ID); err != nil || got.Status != Approved {
		t.Fatalf("the other process's approval: %v %+v", err, got)
	}
	if got := decoded(s) - start; got != 1 {
		t.Errorf("reading another process's approval decoded %d records, want 1", got)
	}
}

// Lookup, list and append at 100 and 100,000 records.
func BenchmarkStore(b *testing.B) {
	for _, n := range []int{100, 100000} {
		dir := b.TempDir()
		ids := writeRequests(b, dir, n)
		s, _ := Open(dir, nil)
		if err := s.Check(); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("Request/%d", n), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if q, _ := s.Request(ids[i%n]); q == nil {
					b.Fatal("not found")
				}
			}
		})
		b.Run(fmt.Sprintf("Pending50/%d", n), func(b *testing.B) {
			for b.Loop() {
				if p, _, _ := s.Pending("Police", 50); len(p) != 50 {
					b.Fatal(len(p))
				}
			}
		})
		b.Run(fmt.Sprintf("Submit/%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Submit(request("10.20.1.1")); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Start-up: the whole journal read once, at 1,000,000 records.
func BenchmarkOpen1M(b *testing.B) {
	dir := b.TempDir()
	writeRequests(b, dir, 700000) // 700,000 requests, 350,000 decisions: 1.05M records
	b.ResetTimer()
	for b.Loop() {
		s, _ := Open(dir, nil)
		if err := s.Check(); err != nil {
			b.Fatal(err)
		}
	}
}
