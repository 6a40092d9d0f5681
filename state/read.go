package state

import (
	"time"

	"github.com/civicdns/civicdns/policy"
)

// refresh brings the workflow in memory up to date: the records appended
// since the last read, by this process or another (a CLI, or another
// instance through PostgreSQL). With nothing new it costs one stat (a
// shared store: nothing; its watcher says when there is news).
func (s *Store) refresh() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j, ok := s.workflow.(*journal); ok && !s.read1 {
		s.read1 = true
		s.loadSnapshot(j)
	}
	resets := s.idx.resets
	if err := s.workflow.since(s.idx); err != nil {
		return err
	}
	if s.idx.resets != resets && s.outbox != nil {
		// Read again from the start: the requests still waiting in the
		// outbox are this instance's too.
		s.applyQueued()
	}
	return nil
}

// read runs fn on the workflow in memory, up to date, under the read lock.
func (s *Store) read(fn func(x *index)) error {
	if err := s.refresh(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	fn(s.idx)
	return nil
}

// Refresh reads what was appended since the last read (the daemon calls
// it when the store's stamp changes). A damaged record is an error.
func (s *Store) Refresh() error { return s.refresh() }

// Load returns a copy of the whole workflow (for a CLI command; the server
// reads through the indexed lookups below, which cost the same however
// many records there are).
func (s *Store) Load() (*State, error) {
	out := &State{}
	err := s.read(func(x *index) {
		out.Requests, out.Grants, out.Suspensions = copies(x.st.Requests), copies(x.st.Grants), copies(x.st.Suspensions)
		out.Devices = copies(x.st.Devices)
	})
	return out, err
}

// copyOf is a copy of *p the caller owns, or nil.
func copyOf[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

// copies copies every item of list, in order.
func copies[T any](list []*T) []*T {
	out := make([]*T, len(list))
	for i, p := range list {
		out[i] = copyOf(p)
	}
	return out
}

// newest copies up to n of list's last items, newest first.
func newest[T any](list []*T, n int) []*T {
	var out []*T
	for i := len(list) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, copyOf(list[i]))
	}
	return out
}

// Request returns a copy of the request with that ID, or nil.
func (s *Store) Request(id string) (*RequestState, error) {
	var out *RequestState
	err := s.read(func(x *index) { out = copyOf(x.requests[id]) })
	return out, err
}

// Grant returns a copy of the exemption with that ID, or nil.
func (s *Store) Grant(id string) (*GrantState, error) {
	var out *GrantState
	err := s.read(func(x *index) { out = copyOf(x.grants[id]) })
	return out, err
}

// Suspension returns a copy of the suspension with that ID, or nil.
func (s *Store) Suspension(id string) (*Suspension, error) {
	var out *Suspension
	err := s.read(func(x *index) { out = copyOf(x.susp[id]) })
	return out, err
}

// Requests returns copies of up to n of the department's requests, newest
// first, every status.
func (s *Store) Requests(dept string, n int) ([]*RequestState, error) {
	var out []*RequestState
	err := s.read(func(x *index) { out = newest(x.deptRequests[deptKey(dept)], n) })
	return out, err
}

// Pending returns copies of up to n of the department's pending requests,
// newest first, and how many are pending in all.
func (s *Store) Pending(dept string, n int) ([]*RequestState, int, error) {
	var out []*RequestState
	var total int
	err := s.read(func(x *index) {
		for _, q := range x.newestPending(dept, n) {
			out = append(out, copyOf(q))
		}
		total = x.pendingCount[deptKey(dept)]
	})
	return out, total, err
}

// PendingByDepartment counts the pending requests of every department
// ("" citywide), by the department's key.
func (s *Store) PendingByDepartment() (map[string]int, error) {
	out := map[string]int{}
	err := s.read(func(x *index) {
		for k, n := range x.pendingCount {
			if n > 0 {
				out[k] = n
			}
		}
	})
	return out, err
}

// Grants returns copies of up to n of the exemptions the department's
// directors granted, newest first.
func (s *Store) Grants(dept string, n int) ([]*GrantState, error) {
	var out []*GrantState
	err := s.read(func(x *index) { out = newest(x.deptGrants[deptKey(dept)], n) })
	return out, err
}

// Suspensions returns copies of up to n suspensions, newest first, ended
// ones included.
func (s *Store) Suspensions(n int) ([]*Suspension, error) {
	var out []*Suspension
	err := s.read(func(x *index) { out = newest(x.st.Suspensions, n) })
	return out, err
}

// Exemptions are the grants not revoked, as the policy takes them.
func (s *Store) Exemptions(loc *time.Location) ([]*policy.Exemption, error) {
	var out []*policy.Exemption
	err := s.read(func(x *index) { out = x.st.Exemptions(loc) })
	return out, err
}

// PolicySuspensions are the suspensions not restored, as the policy takes them.
func (s *Store) PolicySuspensions(loc *time.Location) ([]*policy.Suspension, error) {
	var out []*policy.Suspension
	err := s.read(func(x *index) { out = x.st.PolicySuspensions(loc) })
	return out, err
}

// ActiveGrants returns copies of the exemptions not revoked (expired ones
// too: the caller knows the day).
func (s *Store) ActiveGrants() ([]*GrantState, error) {
	var out []*GrantState
	err := s.read(func(x *index) {
		for _, g := range x.st.Grants {
			if !g.Revoked {
				out = append(out, copyOf(g))
			}
		}
	})
	return out, err
}
