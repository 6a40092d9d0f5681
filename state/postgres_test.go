package state

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/internal/pgtest"
)

// waitFor waits for a change signal of s and then for cond, until a
// generous deadline (the signal is what the test waits on, not time).
func waitFor(t *testing.T, s *Store, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for !cond() {
		select {
		case <-s.Changes():
		case <-deadline:
			t.Fatalf("%s: not within 30 s", what)
		}
	}
}

// Two instances share one workflow through a real PostgreSQL: a request on
// one is seen by the other, concurrent approvals end in one decision, a
// revocation is announced; with the database killed each answers from its
// local copy, queues requests and refuses decisions; back, the queue is
// delivered.
func TestSharedStoreThroughPostgres(t *testing.T) {
	c := pgtest.Start(t)
	a, err := OpenShared(filepath.Join(t.TempDir(), "a"), c.DSN(), nil)
	if err != nil {
		t.Fatal(err)
	}
	bDir := filepath.Join(t.TempDir(), "b")
	b, err := OpenShared(bDir, c.DSN(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var running sync.WaitGroup
	for _, s := range []*Store{a, b} {
		running.Add(1)
		go func() { defer running.Done(); s.Run(ctx) }()
	}
	defer func() { cancel(); running.Wait() }()

	// The query log's legal holds, placed on one instance, hold on the other.
	holdsA, holdsB := OpenSharedHolds(filepath.Join(t.TempDir(), "ha"), c.DSN()), OpenSharedHolds(filepath.Join(t.TempDir(), "hb"), c.DSN())
	defer holdsA.Close()
	defer holdsB.Close()
	if err := holdsA.Append(func([]json.RawMessage) ([]any, error) {
		return []any{map[string]string{"kind": "hold", "id": "h-1"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if recs, err := holdsB.Records(); err != nil || len(recs) != 1 || !strings.Contains(string(recs[0]), "h-1") {
		t.Fatalf("holds on b: %s %v", recs, err)
	}

	q, err := a.Submit(request("10.20.1.1"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := b.Load()
	if err != nil || st.Request(q.ID) == nil || st.Request(q.ID).Status != Pending {
		t.Fatalf("the other instance does not see the request: %v", err)
	}

	// Both directors approve at once: one decision.
	expires := config.Date{Year: 2099, Month: 1, Day: 1}
	errs := make(chan error, 2)
	for _, s := range []*Store{a, b} {
		go func() {
			_, err := s.Approve(q.ID, Approval{By: "Chief", Expires: expires, Reason: "fraud unit"})
			errs <- err
		}()
	}
	e1, e2 := <-errs, <-errs
	if (e1 == nil) == (e2 == nil) || !errors.Is(e1, ErrNotPending) && !errors.Is(e2, ErrNotPending) {
		t.Fatalf("two approvals: %v and %v; want one decision", e1, e2)
	}
	st, _ = a.Load()
	if len(st.Grants) != 1 {
		t.Fatalf("%d grants", len(st.Grants))
	}
	grant := st.Grants[0].ID

	// A revocation on a is announced to b (LISTEN/NOTIFY).
	if err := a.Revoke(grant, "Chief", ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, "the revocation reaching b", func() bool {
		st, err := b.Load()
		return err == nil && st.Grant(grant) != nil && st.Grant(grant).Revoked
	})
	if ev, err := b.AuditSince(time.Time{}); err != nil || len(ev) < 2 {
		t.Fatalf("the audit trail on b: %v %v", ev, err)
	}

	// The database goes away.
	q2, _ := a.Submit(request("10.20.1.2"))
	waitFor(t, b, "the second request reaching b", func() bool {
		st, err := b.Load() // as the daemon does on each change: the local copy follows
		return err == nil && st.Request(q2.ID) != nil
	})
	c.Kill()
	waitFor(t, b, "b to see the database gone", func() bool { return !b.Online() })
	st, err = b.Load()
	if err != nil || st.Grant(grant) == nil || !st.Grant(grant).Revoked || st.Request(q2.ID) == nil {
		t.Fatalf("without the database, b in memory: %v", err)
	}
	// b restarted while the database is away reads its local copy.
	b2, err := OpenShared(bDir, c.DSN(), nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err = b2.Load()
	if err != nil || st.Grant(grant) == nil || !st.Grant(grant).Revoked || st.Request(q2.ID) == nil || len(st.Requests) != 2 {
		t.Fatalf("without the database, b's local copy: %v %+v", err, st)
	}
	queued, err := a.Submit(request("10.20.1.3"))
	if err != nil {
		t.Fatalf("a request while the database is away: %v", err)
	}
	if st, _ := a.Load(); st.Request(queued.ID) == nil || st.Request(queued.ID).Status != Pending {
		t.Fatal("the queued request is not shown as pending where it was made")
	}
	if _, err := a.Approve(q2.ID, Approval{By: "Chief", Expires: expires, Reason: "x"}); !IsOffline(err) {
		t.Fatalf("a decision while the database is away: %v", err)
	}
	if err := a.Audit(AuditEvent{Who: "Chief", Action: "sign-in"}); err != nil {
		t.Fatalf("an audit event while the database is away: %v", err)
	}

	// Back: the queued request and audit event are delivered, once.
	c.Restart(t)
	waitFor(t, b, "the queued request reaching b", func() bool {
		st, err := b.Load()
		return err == nil && b.Online() && st.Request(queued.ID) != nil
	})
	if err := a.deliver(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, _ = b.Load()
	n := 0
	for _, r := range st.Requests {
		if r.ID == queued.ID {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the queued request is there %d times", n)
	}
	waitFor(t, b, "the queued audit event", func() bool {
		ev, _ := b.AuditSince(time.Time{})
		for _, e := range ev {
			if e.Action == "sign-in" {
				return true
			}
		}
		return false
	})
}
