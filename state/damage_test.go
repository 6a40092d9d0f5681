package state

import (
	"errors"
	"fmt"
	"hash/crc32"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/config"
)

// A byte flipped in the middle of the last complete record is damage, not
// a torn write: the store will not open on it, and says the file and
// where the record starts. (It was dropped as torn, and a suspension with it.)
func TestAFlippedByteInTheLastRecordIsDamageNotATornWrite(t *testing.T) {
	t.Parallel()
	for _, at := range []string{"json", "length", "checksum", "newline"} {
		t.Run(at, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s, _ := Open(dir, nil)
			s.Submit(request("10.20.1.1"))
			sus, err := s.Suspend(mustPrefix("10.20.3.4/32"), "Chief", "", "investigation", "Police", config.Date{})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, WorkflowFile)
			data, _ := os.ReadFile(path)
			last := strings.LastIndexByte(string(data[:len(data)-1]), '\n') + 1
			i := map[string]int{"json": last + (len(data)-last)/2, "length": last, "checksum": len(data) - 3, "newline": len(data) - 1}[at]
			data[i] ^= 0x04
			os.WriteFile(path, data, 0o600)

			again, _ := Open(dir, nil)
			err = again.Check()
			var dmg *DamageError
			if !errors.As(err, &dmg) || dmg.Path != path || dmg.Offset != int64(last) {
				t.Fatalf("want damage at byte %d of %s, got %v", last, path, err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("byte %d", last)) || !strings.Contains(err.Error(), "state repair") {
				t.Errorf("the message: %v", err)
			}
			found, err := Verify(dir)
			if err != nil || len(found) != 1 || found[0].OK() || found[0].Records != 1 {
				t.Fatalf("verify: %v %+v", err, found)
			}
			_ = sus
		})
	}
}

// Only a record that runs past the end of the file, with no newline after
// it, is a torn write: cut off, logged, everything before it kept.
func TestOnlyAnIncompleteTailIsATornWrite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, _ := Open(dir, nil)
	a, _ := s.Submit(request("10.20.1.1"))
	path := filepath.Join(dir, WorkflowFile)
	good, _ := os.ReadFile(path)
	rec := frame(nil, []byte(`{"kind":"request","request":{"id":"R-TORN0000"}}`))
	for cut := 1; cut < len(rec); cut += 7 {
		os.WriteFile(path, append(append([]byte(nil), good...), rec[:cut]...), 0o600)
		again, _ := Open(dir, nil)
		if err := again.Check(); err != nil {
			t.Fatalf("torn after %d bytes: %v", cut, err)
		}
		if st, _ := again.Load(); len(st.Requests) != 1 || st.Request(a.ID) == nil {
			t.Fatalf("torn after %d bytes: %d requests", cut, len(st.Requests))
		}
		if f, _ := Verify(dir); f[0].Torn != int64(cut) || !f[0].OK() {
			t.Fatalf("verify, torn after %d bytes: %+v", cut, f[0])
		}
	}
	// The next write cuts the torn record off.
	again, _ := Open(dir, nil)
	b, err := again.Submit(request("10.20.1.2"))
	if err != nil {
		t.Fatal(err)
	}
	third, _ := Open(dir, nil)
	if st, err := third.Load(); err != nil || len(st.Requests) != 2 || st.Request(b.ID) == nil {
		t.Fatalf("after the next write: %v", err)
	}
}

// repair keeps the damaged file beside it and rewrites the journal with
// its intact records: the ones after the damage too.
func TestRepairKeepsACopyAndTheIntactRecords(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, _ := Open(dir, nil)
	var ids []string
	for i := range 3 {
		q, _ := s.Submit(request(fmt.Sprintf("10.20.1.%d", i+1)))
		ids = append(ids, q.ID)
	}
	path := filepath.Join(dir, WorkflowFile)
	data, _ := os.ReadFile(path)
	second := strings.IndexByte(string(data), '\n') + 1
	data[second+20] ^= 0x01
	os.WriteFile(path, data, 0o600)
	damaged := append([]byte(nil), data...)

	found, kept, err := Repair(dir, time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC))
	if err != nil || len(kept) != 1 || len(found[0].Damage) != 1 {
		t.Fatalf("repair: %v %v %+v", err, kept, found)
	}
	if copy, _ := os.ReadFile(kept[0]); string(copy) != string(damaged) || !strings.HasSuffix(kept[0], "workflow.journal.damaged-20261206T100000Z") {
		t.Errorf("the kept copy %s is not the damaged file", kept[0])
	}
	again, _ := Open(dir, nil)
	if err := again.Check(); err != nil {
		t.Fatal(err)
	}
	st, _ := again.Load()
	if len(st.Requests) != 2 || st.Request(ids[0]) == nil || st.Request(ids[2]) == nil {
		t.Fatalf("after repair: %d requests", len(st.Requests))
	}
	if found, _ := Verify(dir); !found[0].OK() {
		t.Errorf("still damaged: %+v", found[0])
	}
}

// Journals written before records carried their length are read as they
// are, and new records are appended in the new form after them.
func TestJournalsOfTheFirstFormatStillRead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old := `{"time":"2026-11-01T10:00:00Z","kind":"request","request":{"id":"R-OLD00001","time":"2026-11-01T10:00:00Z","client":"10.20.1.1","department":"Police","name":"www.casino.example","category":"gambling","matched":"casino.example","requester":"Pat","email":"pat@city.example","reason":"fraud case 12"}}`
	line := fmt.Sprintf("%s\t%x\n", old, crc32.ChecksumIEEE([]byte(old)))
	os.WriteFile(filepath.Join(dir, WorkflowFile), []byte(line), 0o600)
	s, _ := Open(dir, nil)
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	if q, _ := s.Request("R-OLD00001"); q == nil || q.Status != Pending {
		t.Fatal("the first-format record is not read")
	}
	if err := s.Deny("R-OLD00001", "Chief", "", "no"); err != nil {
		t.Fatal(err)
	}
	again, _ := Open(dir, nil)
	if q, err := again.Request("R-OLD00001"); err != nil || q.Status != Denied {
		t.Fatalf("after a new-form append: %v %+v", err, q)
	}
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// Every field a person types is bounded, and no approval runs longer
// than policy.max_exemption, whoever makes it.
func TestFieldsAndExemptionsAreBounded(t *testing.T) {
	t.Parallel()
	s, _ := Open(t.TempDir(), nil)
	long := strings.Repeat("x", MaxReference+1)
	q := request("10.20.1.1")
	q.Reference = long
	var in *InputError
	if _, err := s.Submit(q); !errors.As(err, &in) || !strings.Contains(err.Error(), "reference") {
		t.Errorf("a 201-character reference: %v", err)
	}
	ok, err := s.Submit(request("10.20.1.1"))
	if err != nil {
		t.Fatal(err)
	}
	next := config.DateOf(time.Now().AddDate(0, 6, 0))
	if _, err := s.Approve(ok.ID, Approval{By: "Chief", Expires: next, Reason: "r", Reference: long}); !errors.As(err, &in) {
		t.Errorf("an approval with a 201-character reference: %v", err)
	}
	far := config.DateOf(time.Now().AddDate(0, 0, 366))
	if _, err := s.Approve(ok.ID, Approval{By: "Chief", Expires: far, Reason: "r", MaxDays: 365}); err == nil || !strings.Contains(err.Error(), "max_exemption") {
		t.Errorf("an approval 366 days away: %v", err)
	}
	if _, err := s.Approve(ok.ID, Approval{By: "Chief", Expires: next, Reason: "r", MaxDays: 365}); err != nil {
		t.Errorf("an approval 6 months away: %v", err)
	}
	if err := s.Deny(ok.ID, "Chief", "", strings.Repeat("n", MaxText+1)); !errors.As(err, &in) {
		t.Errorf("a 2001-character note: %v", err)
	}
}

// The console's sessions journal is verified and repaired with the rest:
// a damaged one would otherwise refuse every sign-in.
func TestSessionsJournalIsVerifiedAndRepaired(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, _ := Open(dir, nil)
	for _, h := range []string{"a", "b"} {
		if err := s.Sessions().Append(SessionRecord{Kind: "open", Hash: h, Director: "Chief", Expires: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, SessionsFile)
	data, _ := os.ReadFile(path)
	data[5] ^= 0x01
	os.WriteFile(path, data, 0o600)
	found, err := Verify(dir)
	if err != nil || len(found) != 1 || found[0].File != path || found[0].OK() {
		t.Fatalf("verify: %v %+v", err, found)
	}
	if _, kept, err := Repair(dir, time.Now()); err != nil || len(kept) != 1 {
		t.Fatalf("repair: %v %v", err, kept)
	}
	again, _ := Open(dir, nil)
	open, err := again.Sessions().Open(time.Now())
	if err != nil || len(open) != 1 || open["b"].Director != "Chief" {
		t.Fatalf("after repair: %v %+v", err, open)
	}
}
