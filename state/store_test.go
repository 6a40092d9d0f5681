package state

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civicdns/civicdns/config"
)

func request(client string) Request {
	return Request{Client: netip.MustParseAddr(client), Department: "Police", Name: "www.casino.example", Category: "gambling",
		Matched: "casino.example", Requester: "Pat Doe", Email: "pat@city.example", Reason: "fraud case 12"}
}

func TestWorkflowReplays(t *testing.T) {
	t.Parallel()
	s, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	q, err := s.Submit(request("10.20.1.1"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(q.ID, "R-") || len(q.ID) != 10 {
		t.Errorf("request ID %q", q.ID)
	}
	q2, _ := s.Submit(request("10.20.1.2"))
	g, err := s.Approve(q.ID, Approval{By: "Chief of Police", Expires: config.Date{Year: 2099, Month: 1, Day: 1}, Reason: "fraud unit", Reference: "Memo 7"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Approve(q.ID, Approval{By: "Deputy", Expires: config.Date{Year: 2099, Month: 1, Day: 1}, Reason: "again"}); !errors.Is(err, ErrNotPending) {
		t.Errorf("second approval: %v", err)
	}
	if err := s.Deny(q2.ID, "Chief of Police", "10.20.0.9", "not work related"); err != nil {
		t.Fatal(err)
	}
	st, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if r := st.Request(q.ID); r.Status != Approved || r.Exemption != g.ID || r.DecidedBy != "Chief of Police" {
		t.Errorf("approved request: %+v", r)
	}
	if r := st.Request(q2.ID); r.Status != Denied || r.Note != "not work related" {
		t.Errorf("denied request: %+v", r)
	}
	ex := st.Exemptions(time.UTC)
	if len(ex) != 1 || ex[0].Department != "Police" || ex[0].Domains[0] != "casino.example" || ex[0].Source != "state store" {
		t.Fatalf("exemptions %+v", ex)
	}
	if err := s.Revoke(g.ID, "Chief of Police", ""); err != nil {
		t.Fatal(err)
	}
	st, _ = s.Load()
	if len(st.Exemptions(time.UTC)) != 0 || !st.Grant(g.ID).Revoked {
		t.Error("revoked grant still lifts")
	}
	audit, err := s.AuditSince(time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range audit {
		actions = append(actions, ev.Action)
	}
	if got := strings.Join(actions, ","); got != "request,request,approve,deny,revoke" {
		t.Errorf("audit: %s", got)
	}
}

// A crash in the middle of a write leaves a torn last record: it is
// skipped, every earlier one is read, and the next write cuts it off
// rather than joining it.
func TestTornRecordIsSkippedAndCutOff(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, _ := Open(dir, nil)
	a, _ := s.Submit(request("10.20.1.1"))
	b, _ := s.Submit(request("10.20.1.2"))
	path := filepath.Join(dir, WorkflowFile)
	data, _ := os.ReadFile(path)
	for _, cut := range []int{1, 10, 40} { // the second record torn at several points
		torn := data[:len(data)-cut]
		if err := os.WriteFile(path, torn, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := s.Load()
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Requests) != 1 || st.Request(a.ID) == nil || st.Request(b.ID) != nil {
			t.Fatalf("cut %d: %d requests", cut, len(st.Requests))
		}
	}
	c, err := s.Submit(request("10.20.1.3"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Load()
	if err != nil || len(st.Requests) != 2 || st.Request(c.ID) == nil {
		t.Fatalf("after the next write: %v, %d requests", err, len(st.Requests))
	}
	// A damaged record in the middle is not a torn write: a store opened
	// on it (as the server starts) reports it.
	data, _ = os.ReadFile(path)
	data[5] ^= 0x20
	os.WriteFile(path, data, 0o600)
	again, _ := Open(dir, nil)
	if err := again.Check(); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("corruption in the middle: %v", err)
	}
}

// Writers in several stores on one folder (as the server and two CLIs
// are) never interleave: every record is whole, and concurrent approvals
// of one request end in one decision.
func TestConcurrentWritersNeverCorrupt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, _ := Open(dir, nil)
	q, _ := first.Submit(request("10.20.1.1"))
	var wg sync.WaitGroup
	var mu sync.Mutex
	approvals := 0
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(dir, nil) // a store of its own: its own file descriptions and locks
			if err != nil {
				t.Error(err)
				return
			}
			for i := 0; i < 25; i++ {
				if _, err := s.Submit(request("10.20.2.1")); err != nil {
					t.Error(err)
				}
			}
			if _, err := s.Approve(q.ID, Approval{By: "Chief", Expires: config.Date{Year: 2099, Month: 1, Day: 1}, Reason: "r"}); err == nil {
				mu.Lock()
				approvals++
				mu.Unlock()
			} else if !errors.Is(err, ErrNotPending) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	st, err := first.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Requests) != 101 || approvals != 1 || len(st.Grants) != 1 {
		t.Errorf("%d requests (want 101), %d approvals and %d grants (want 1)", len(st.Requests), approvals, len(st.Grants))
	}
	fi, _ := os.Stat(filepath.Join(dir, WorkflowFile))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("journal mode %v", fi.Mode().Perm())
	}
}

// FuzzJournal feeds arbitrary bytes to the journal reader: it never
// panics, every record it returns is intact and framed again the same, and
// the records it returns end in order within the bytes.
func FuzzJournal(f *testing.F) {
	f.Add(frame(nil, []byte(`{"kind":"request"}`)))
	f.Add(append(frame(nil, []byte(`{"kind":"request"}`)), []byte(`20 {"kind":"appr`)...))
	f.Add([]byte("{}\t0\n{}\tzz\n"))
	f.Add([]byte("2 {} 00000000\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := newDecoder(bytes.NewReader(b), 0)
		var end int64
		for range 10000 {
			e, err := d.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if !IsDamage(err) {
					t.Fatalf("not damage: %v", err)
				}
				if d.off <= end || d.off > int64(len(b)) {
					t.Fatalf("after damage the reader is at %d (last record ended at %d, %d bytes)", d.off, end, len(b))
				}
				end = d.off
				continue
			}
			if e.start < end || e.end <= e.start || e.end > int64(len(b)) {
				t.Fatalf("record %d-%d after %d, %d bytes", e.start, e.end, end, len(b))
			}
			end = e.end
			if b[e.start] != '{' && !bytes.Equal(frame(nil, e.data), b[e.start:e.end]) {
				t.Fatal("a returned record does not frame back to its bytes")
			}
		}
	})
}
