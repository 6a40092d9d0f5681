package console

import (
	"net/http"
)

// Admins ([[director]] role = "admin", or a directory group with it) see
// and decide for every department: the dashboard and the API take
// ?department=NAME; a department's director sees their own alone,
// whatever they send.

// viewDept is the department a page or an API call is about.
func (s *Server) viewDept(r *http.Request, sess *session) string {
	want := r.URL.Query().Get("department")
	if want == "" || !s.isAdmin(sess) {
		return sess.department
	}
	if d := s.state.Snapshot().Config.DepartmentNamed(want); d != nil {
		return d.Name
	}
	return sess.department
}

// mayAct reports whether the session may decide for dept's requests,
// exemptions and devices: its own department, or any for an admin.
func (s *Server) mayAct(sess *session, dept string) bool {
	return sameDept(dept, sess.department) || s.isAdmin(sess)
}
