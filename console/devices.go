package console

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/devices"
	"github.com/civicdns/civicdns/state"
)

// Roaming devices in the console: a department's directors see their
// department's devices; admins ([[director]] role = "admin") see every
// department's and enroll and revoke them. The token of a new device is
// shown once, on the page that answers the enrolment (with a QR code of
// its DoH URL), and never again: only its hash is kept.

// listDevices is how many of the newest devices a page shows.
const listDevices = 500

// isAdmin reports whether the session's director is an admin now.
func (s *Server) isAdmin(sess *session) bool {
	if sess.dn != "" {
		return sess.role == config.RoleAdmin // re-checked with the session (directoryStillGranted)
	}
	d, _, ok := s.director(sess.director)
	return ok && d.Role == config.RoleAdmin
}

// enrolledView is a device just enrolled, as the page shows it once.
type enrolledView struct {
	*state.Enrolled
	devices.Access
	QR template.HTML
}

func (s *Server) devicesPage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.renderDevices(w, r, sess, http.StatusOK, nil)
}

// renderDevices answers the devices page, with a device just enrolled.
func (s *Server) renderDevices(w http.ResponseWriter, r *http.Request, sess *session, status int, enrolled *enrolledView) {
	admin := s.isAdmin(sess)
	dept := sess.department
	if admin {
		dept = "" // every department
	}
	list, err := s.store.Devices(dept, listDevices)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	loc := s.state.Snapshot().Policy.Location()
	for _, d := range list {
		d.Time, d.RevokedAt = d.Time.In(loc), d.RevokedAt.In(loc)
	}
	var depts []string
	for _, d := range s.state.Snapshot().Config.Department {
		depts = append(depts, d.Name)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	pages.ExecuteTemplate(w, "devices", map[string]any{
		"Director": sess.director, "Department": sess.department, "CSRF": sess.csrf, "Admin": admin,
		"Devices": list, "Departments": depts, "Enrolled": enrolled,
		"Done": doneMessage(r.URL.Query().Get("done")), "ReadOnly": s.readOnly(),
	})
}

// deviceInput is an enrolment from a form or a JSON body.
type deviceInput struct {
	Department string `json:"department"`
	Name       string `json:"name"`
}

func (s *Server) addDevice(w http.ResponseWriter, r *http.Request, sess *session) {
	if !s.isAdmin(sess) {
		s.fail(w, r, http.StatusForbidden, "Only an admin enrolls devices.")
		return
	}
	var in deviceInput
	if isAPI(r) {
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			s.fail(w, r, http.StatusBadRequest, "The device could not be read: "+err.Error())
			return
		}
	} else {
		in = deviceInput{Department: r.PostFormValue("department"), Name: r.PostFormValue("name")}
	}
	snap := s.state.Snapshot()
	d := snap.Config.DepartmentNamed(in.Department)
	if d == nil {
		s.fail(w, r, http.StatusBadRequest, "department: not a department of the configuration")
		return
	}
	if _, err := devices.AccessFor(&snap.Config.Server, devices.NewToken()); err != nil {
		s.fail(w, r, http.StatusBadRequest, "No device can be enrolled yet: "+err.Error())
		return
	}
	dev, err := s.store.AddDevice(d.Name, strings.TrimSpace(in.Name), sess.director, s.clientOf(r))
	if err != nil {
		if state.IsOffline(err) || errors.As(err, new(*state.WriteError)) {
			s.storeError(w, r, err)
		} else {
			s.fail(w, r, http.StatusBadRequest, err.Error())
		}
		return
	}
	s.onChange()
	acc, _ := devices.AccessFor(&snap.Config.Server, dev.Token)
	if isAPI(r) {
		writeJSON(w, http.StatusCreated, map[string]any{"device": dev.Device, "token": dev.Token, "doh": acc.DoH, "tls_name": acc.TLSName})
		return
	}
	view := &enrolledView{Enrolled: dev, Access: acc}
	if acc.DoH != "" {
		view.QR, _ = qrSVG(acc.DoH)
	}
	s.renderDevices(w, r, sess, http.StatusCreated, view)
}

func (s *Server) revokeDevice(w http.ResponseWriter, r *http.Request, sess *session) {
	if !s.isAdmin(sess) {
		s.fail(w, r, http.StatusForbidden, "Only an admin revokes devices.")
		return
	}
	id := r.PathValue("id")
	if err := s.store.RevokeDevice(id, sess.director, s.clientOf(r)); err != nil {
		if errors.Is(err, state.ErrNotFound) {
			s.fail(w, r, http.StatusNotFound, "No such device.")
			return
		}
		s.storeError(w, r, err)
		return
	}
	s.onChange()
	if isAPI(r) {
		writeJSON(w, http.StatusOK, map[string]string{"id": id, "status": "revoked"})
		return
	}
	http.Redirect(w, r, "/devices?done=device-revoked", http.StatusSeeOther)
}

func (s *Server) apiDevices(w http.ResponseWriter, r *http.Request, sess *session) {
	dept := sess.department
	if s.isAdmin(sess) {
		dept = ""
	}
	list, err := s.store.Devices(dept, listDevices)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	if list == nil {
		list = []*state.Device{}
	}
	writeJSON(w, http.StatusOK, list)
}
