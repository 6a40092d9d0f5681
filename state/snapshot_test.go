package state

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/civicdns/civicdns/config"
)

func openChecked(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	return s
}

// A store closed after enough records writes a snapshot; the next start
// reads it and only the journal's tail. A damaged snapshot, or one that
// does not match the journal, is ignored: the journal is read whole.
func TestSnapshotAndTail(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ids := writeRequests(t, dir, snapshotEvery)
	s := openChecked(t, dir)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, SnapshotFile)); err != nil {
		t.Fatal("no snapshot written:", err)
	}
	// Another process appends after the snapshot.
	if _, err := openChecked(t, dir).Approve(ids[0], Approval{By: "Chief", Expires: config.Date{Year: 2099, Month: 1, Day: 1}, Reason: "ok"}); err != nil {
		t.Fatal(err)
	}
	again := openChecked(t, dir)
	if got := decoded(again); got != 1 {
		t.Errorf("with the snapshot, start-up decoded %d journal records, want 1 (the tail)", got)
	}
	want := func(s *Store, how string) {
		t.Helper()
		q, err := s.Request(ids[0])
		if err != nil || q == nil || q.Status != Approved || q.Exemption == "" {
			t.Fatalf("%s: the approved request: %v %+v", how, err, q)
		}
		if p, n, _ := s.Pending("Police", 1); n != snapshotEvery/2-1 || len(p) != 1 {
			t.Fatalf("%s: %d pending", how, n)
		}
		if g, _ := s.Grant(q.Exemption); g == nil {
			t.Fatalf("%s: the grant is missing", how)
		}
	}
	want(again, "snapshot and tail")

	// A damaged snapshot: the journal is read whole.
	path := filepath.Join(dir, SnapshotFile)
	data, _ := os.ReadFile(path)
	data[len(data)/2] ^= 0x10
	os.WriteFile(path, data, 0o600)
	whole := openChecked(t, dir)
	if got := decoded(whole); got != snapshotEvery*3/2+1 {
		t.Errorf("with a damaged snapshot, start-up decoded %d records", got)
	}
	want(whole, "damaged snapshot")

	// A journal replaced underneath (restored, repaired): the snapshot
	// does not match it and is ignored.
	if err := whole.Close(); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	writeRequests(t, other, 10)
	jdata, _ := os.ReadFile(filepath.Join(other, WorkflowFile))
	os.WriteFile(filepath.Join(dir, WorkflowFile), jdata, 0o600)
	restored := openChecked(t, dir)
	if st, _ := restored.Load(); len(st.Requests) != 10 {
		t.Errorf("after the journal was replaced: %d requests, want the journal's 10", len(st.Requests))
	}
}

// Start-up from a snapshot and a short tail at 1,000,000 records.
func BenchmarkOpen1MSnapshot(b *testing.B) {
	dir := b.TempDir()
	writeRequests(b, dir, 700000)
	s := openChecked(b, dir)
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		openChecked(b, dir)
	}
}
