package state

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/civicdns/civicdns/config"
)

// index is the workflow in memory: every request, grant and suspension,
// found by ID and listed per department, kept up to date as records are
// appended (here, by another process, or by another instance through
// PostgreSQL). A lookup or a department's newest N cost the same with 100
// or 100,000 records; the journal is read once at start, then only what
// is new. It is guarded by the Store's mutex.
type index struct {
	st       State
	requests map[string]*RequestState
	grants   map[string]*GrantState
	susp     map[string]*Suspension
	devices  map[string]*Device
	// Per department (config.DepartmentKey), in the order made.
	deptRequests map[string][]*RequestState
	deptGrants   map[string][]*GrantState
	deptDevices  map[string][]*Device
	// pending per department, in the order made, with decided ones taken
	// out lazily (compacted when they are more than half).
	pending      map[string][]*RequestState
	pendingCount map[string]int
	// observe hears of every request and decision applied (Store.Observe).
	observe func(Event)
	resets  int // how often it was emptied to be read again from the start
	decoded int // records decoded from the log (tests count them)
	applied int // records applied, decoded or appended here
}

func newIndex() *index {
	x := &index{}
	x.reset()
	return x
}

func (x *index) reset() {
	n, d, a, o := x.resets, x.decoded, x.applied, x.observe
	*x = index{
		observe:  o,
		resets:   n + 1,
		decoded:  d,
		applied:  a,
		requests: map[string]*RequestState{}, grants: map[string]*GrantState{}, susp: map[string]*Suspension{},
		devices: map[string]*Device{}, deptDevices: map[string][]*Device{},
		deptRequests: map[string][]*RequestState{}, deptGrants: map[string][]*GrantState{},
		pending: map[string][]*RequestState{}, pendingCount: map[string]int{},
	}
}

// add decodes one journal record and applies it.
func (x *index) add(e entry) error {
	x.decoded++
	var r record
	if err := json.Unmarshal(e.data, &r); err != nil {
		return fmt.Errorf("state: the record at byte %d does not decode: %w", e.start, err)
	}
	x.apply(&r)
	return nil
}

// apply makes one record's change. Applying a request or a suspension
// that is already there changes nothing: a request queued while the
// shared database was away is applied when queued and again when it
// arrives from the database.
func (x *index) apply(r *record) {
	x.applied++
	switch r.Kind {
	case "request":
		if r.Request != nil && x.requests[r.Request.ID] == nil {
			q := &RequestState{Request: *r.Request, Status: Pending}
			k := config.DepartmentKey(q.Department)
			x.st.Requests = append(x.st.Requests, q)
			x.requests[q.ID] = q
			x.deptRequests[k] = append(x.deptRequests[k], q)
			x.pending[k] = append(x.pending[k], q)
			x.pendingCount[k]++
			if x.observe != nil {
				x.observe(Event{Kind: "request", Time: r.Time, Request: *q})
			}
		}
	case "approve", "deny":
		x.decide(r)
	case "revoke":
		if g := x.grants[r.ID]; g != nil {
			g.Revoked, g.RevokedBy, g.RevokedAt = true, r.By, r.Time
		}
	case "suspend":
		if s := r.Suspension; s != nil && x.susp[s.ID] == nil {
			x.st.Suspensions = append(x.st.Suspensions, s)
			x.susp[s.ID] = s
		}
	case "restore":
		if s := x.susp[r.ID]; s != nil {
			s.Restored, s.RestoredBy, s.RestoredAt = true, r.By, r.Time
		}
	case "device-add", "device-revoke":
		x.applyDevice(r)
	}
}

// load fills an empty index from a snapshot.
func (x *index) load(snap *snapshot) {
	x.requests = make(map[string]*RequestState, len(snap.Requests))
	x.grants = make(map[string]*GrantState, len(snap.Grants))
	x.st.Requests = make([]*RequestState, 0, len(snap.Requests))
	for _, q := range snap.Requests {
		k := deptKey(q.Department)
		x.st.Requests = append(x.st.Requests, q)
		x.requests[q.ID] = q
		x.deptRequests[k] = append(x.deptRequests[k], q)
		if q.Status == Pending {
			x.pending[k] = append(x.pending[k], q)
			x.pendingCount[k]++
		}
	}
	for _, g := range snap.Grants {
		k := deptKey(g.Owner)
		x.st.Grants = append(x.st.Grants, g)
		x.grants[g.ID] = g
		x.deptGrants[k] = append(x.deptGrants[k], g)
	}
	for _, sus := range snap.Suspensions {
		x.st.Suspensions = append(x.st.Suspensions, sus)
		x.susp[sus.ID] = sus
	}
	for _, d := range snap.Devices {
		x.addDevice(d)
	}
}

func (x *index) decide(r *record) {
	q := x.requests[r.ID]
	if q != nil && q.Status == Pending {
		q.Status, q.DecidedBy, q.DecidedAt, q.Note = Denied, r.By, r.Time, r.Note
		if r.Kind == "approve" {
			q.Status = Approved
		}
		k := config.DepartmentKey(q.Department)
		x.pendingCount[k]--
		if list := x.pending[k]; x.pendingCount[k]*2 < len(list) {
			x.pending[k] = compactPending(list)
		}
	}
	if g := r.Grant; g != nil && x.grants[g.ID] == nil {
		gs := &GrantState{Grant: *g, GrantedAt: r.Time}
		x.st.Grants = append(x.st.Grants, gs)
		x.grants[g.ID] = gs
		k := config.DepartmentKey(g.Owner)
		x.deptGrants[k] = append(x.deptGrants[k], gs)
		if q != nil {
			q.Exemption = g.ID
		}
	}
	if x.observe != nil && q != nil && q.DecidedAt.Equal(r.Time) {
		ev := Event{Kind: r.Kind, Time: r.Time, Request: *q}
		if g := x.grants[q.Exemption]; g != nil {
			ev.Grant = copyOf(g)
		}
		x.observe(ev)
	}
}

func deptKey(dept string) string { return config.DepartmentKey(dept) }

func compactPending(list []*RequestState) []*RequestState {
	out := make([]*RequestState, 0, len(list)/2+1)
	for _, q := range list {
		if q.Status == Pending {
			out = append(out, q)
		}
	}
	return out
}

// newestPending returns up to n of the department's pending requests,
// newest first.
func (x *index) newestPending(dept string, n int) []*RequestState {
	list := x.pending[deptKey(dept)]
	var out []*RequestState
	for i := len(list) - 1; i >= 0 && len(out) < n; i-- {
		if list[i].Status == Pending {
			out = append(out, list[i])
		}
	}
	return out
}

// Event is a change of the workflow that someone should hear of: a new
// request (its department's directors), a decision (the requester).
type Event struct {
	Kind    string // "request", "approve" or "deny"
	Time    time.Time
	Request RequestState // a copy
	Grant   *GrantState  // the exemption an approval made (a copy)
}

// Observe has fn hear of every request and decision as it is applied to
// the workflow in memory: made here, by a shell, or on another instance.
// Events are also replayed when the journal is read at start (fn tells
// them by their time). fn runs under the store's lock: it must only
// queue. Set it before the store is first read.
func (s *Store) Observe(fn func(Event)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idx.observe = fn
}
