package console

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/state"
)

// suspendInput is a suspension from a form or a JSON body.
type suspendInput struct {
	Client string `json:"client"`
	Reason string `json:"reason"`
	Until  string `json:"until"` // YYYY-MM-DD; "" until restored
}

// withinDept reports whether every address of pfx is a device of the
// session's department: pfx lies in one of its networks, and no other
// department's network more specific than that one overlaps it (a unit
// inside the department's range is a department of its own).
func (s *Server) withinDept(sess *session, pfx netip.Prefix) bool {
	if s.isAdmin(sess) {
		return true // an admin suspends any device
	}
	pol := s.state.Snapshot().Policy
	d := pol.DepartmentNamed(sess.department)
	if d == nil {
		return false
	}
	var home netip.Prefix
	for _, n := range d.Networks {
		if n.Bits() <= pfx.Bits() && n.Contains(pfx.Addr()) && (!home.IsValid() || n.Bits() > home.Bits()) {
			home = n
		}
	}
	if !home.IsValid() {
		return false
	}
	for _, other := range pol.Departments() {
		if other == d {
			continue
		}
		for _, m := range other.Networks {
			if m.Overlaps(pfx) && m.Bits() > home.Bits() {
				return false
			}
		}
	}
	return true
}

// listSuspensions is how many of the newest suspensions a page looks at.
const listSuspensions = 1000

// ownSuspensions are the suspensions of the department's devices, newest first.
func (s *Server) ownSuspensions(sess *session) ([]*state.Suspension, error) {
	list, err := s.store.Suspensions(listSuspensions)
	if err != nil {
		return nil, err
	}
	var out []*state.Suspension
	for _, sus := range list {
		if s.withinDept(sess, sus.Client) {
			out = append(out, sus)
		}
	}
	return out, nil
}

func (s *Server) suspend(w http.ResponseWriter, r *http.Request, sess *session) {
	var in suspendInput
	if isAPI(r) {
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			s.fail(w, r, http.StatusBadRequest, "The suspension could not be read: "+err.Error())
			return
		}
	} else {
		in = suspendInput{Client: r.PostFormValue("client"), Reason: r.PostFormValue("reason"), Until: r.PostFormValue("until")}
	}
	pfx, err := config.ParsePrefix(strings.TrimSpace(in.Client))
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "client: write an IP address or a network (CIDR)")
		return
	}
	if !s.withinDept(sess, pfx) {
		s.fail(w, r, http.StatusForbidden, "Only devices of your department can be suspended here.")
		return
	}
	var until config.Date
	if in.Until != "" {
		if until, err = config.ParseDate(in.Until); err != nil {
			s.fail(w, r, http.StatusBadRequest, "until: "+err.Error())
			return
		}
	}
	sus, err := s.store.Suspend(pfx, sess.director, s.clientOf(r), strings.TrimSpace(in.Reason), sess.department, until)
	if state.IsOffline(err) {
		s.storeError(w, r, err)
		return
	}
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	s.decided(w, r, http.StatusCreated, sus, "suspended")
}

func (s *Server) restore(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	sus, err := s.store.Suspension(id)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	if sus == nil || !s.withinDept(sess, sus.Client) {
		s.fail(w, r, http.StatusNotFound, "No such suspension in your department.")
		return
	}
	if err := s.store.Restore(id, sess.director, s.clientOf(r)); err != nil {
		s.storeError(w, r, err)
		return
	}
	s.decided(w, r, http.StatusOK, map[string]string{"id": id, "status": "restored"}, "restored")
}

func (s *Server) apiSuspensions(w http.ResponseWriter, r *http.Request, sess *session) {
	list, err := s.ownSuspensions(sess)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	if list == nil {
		list = []*state.Suspension{}
	}
	writeJSON(w, http.StatusOK, list)
}
