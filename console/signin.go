package console

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/state"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// nameKey is how a director's name is compared: trimmed and Unicode case
// folded (so "ſam" and "SAM" are "sam").
func nameKey(name string) string { return cases.Fold().String(strings.TrimSpace(name)) }

// compatibilityForm reports a name that NFKC would change (ſ, ﬁ, full-width
// letters): such a name is refused, never taken for the one it resembles.
func compatibilityForm(name string) bool { return !norm.NFKC.IsNormalString(name) }

// director finds a [[director]] by name, after case folding.
func (s *Server) director(name string) (config.Director, string, bool) {
	if compatibilityForm(name) {
		return config.Director{}, "", false
	}
	snap := s.state.Snapshot()
	key := nameKey(name)
	for _, d := range snap.Config.Director {
		if nameKey(d.Name) == key {
			dept := d.Department
			if pd := snap.Policy.DepartmentNamed(d.Department); pd != nil {
				dept = pd.Name
			}
			return d, dept, true
		}
	}
	return config.Director{}, "", false
}

// entryOf fingerprints what a session was granted on: the director's
// name, department, password hash and role. A session ends when it changes (a
// new password, another department or role, the director removed) and the
// configuration is reloaded.
func entryOf(d config.Director) string {
	sum := sha256.Sum256([]byte(nameKey(d.Name) + "\x00" + config.DepartmentKey(d.Department) + "\x00" + d.PasswordHash + "\x00" + d.Role))
	return hex.EncodeToString(sum[:])
}

// stillGranted reports whether the session's director entry is as it was
// at sign-in.
func (s *Server) stillGranted(sess *session) bool {
	if sess.dn != "" {
		return s.directoryStillGranted(sess)
	}
	d, _, ok := s.director(sess.director)
	return ok && entryOf(d) == sess.entry
}

func (s *Server) signinPage(w http.ResponseWriter, r *http.Request) {
	if _, sess := s.sessions.get(r); sess != nil && s.stillGranted(sess) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.renderSignin(w, http.StatusOK, "", "")
}

func (s *Server) renderSignin(w http.ResponseWriter, status int, name, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	pages.ExecuteTemplate(w, "signin", map[string]any{"Name": name, "Error": msg, "OIDC": s.state.Snapshot().Config.Directory.OIDC()})
}

// maxAuditName bounds what a refused sign-in writes of the name typed.
const maxAuditName = 64

// auditName is the name as the audit trail keeps it: cut to 64 characters
// (a sign-in with a 64 KB name writes 64 of them and the length).
func auditName(name string) string {
	if utf8.RuneCountInString(name) <= maxAuditName {
		return name
	}
	cut := []rune(name)[:maxAuditName]
	return string(cut) + "… (" + strconv.Itoa(len(name)) + " bytes)"
}

func (s *Server) signin(w http.ResponseWriter, r *http.Request) {
	from := s.clientOf(r)
	if !sameOrigin(r) {
		s.renderSignin(w, http.StatusForbidden, "", "The sign-in form did not come from this console: open the console's own page.")
		return
	}
	name, password := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("password")
	if wait, refused := s.attempts.wait(from); wait > 0 {
		if refused > 0 {
			// One audit event a minute per address, with the count since.
			s.store.Audit(state.AuditEvent{Who: auditName(name), From: from, Action: "sign-in-refused",
				What: strconv.Itoa(refused) + " attempts refused by the backoff"})
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		s.renderSignin(w, http.StatusTooManyRequests, name, "Too many failed sign-ins from this device. Wait "+wait.Round(time.Second).String()+".")
		return
	}
	id, status, msg := s.authenticate(name, password, from)
	if status != 0 {
		s.renderSignin(w, status, name, msg)
		return
	}
	s.openSession(w, r, id, from, nil)
}

// openSession opens a signed-in director's session, audited (a sign-in
// that cannot be audited does not happen), and sends the browser to the
// dashboard; opened, when given, learns the session's token hash.
func (s *Server) openSession(w http.ResponseWriter, r *http.Request, id identity, from string, opened func(tokenHash string)) {
	token, _, err := s.sessions.create(id)
	if err != nil {
		s.log.Error("console: sign-in refused: the session cannot be stored", "err", err)
		s.renderSignin(w, http.StatusServiceUnavailable, "", "The session cannot be stored now, so the sign-in is refused. Tell the network admins.")
		return
	}
	if err := s.store.Audit(state.AuditEvent{Who: id.director, From: from, Action: "sign-in", What: id.what()}); err != nil {
		s.sessions.drop(token)
		s.log.Error("console: sign-in refused: the audit trail cannot be written", "err", err)
		s.renderSignin(w, http.StatusServiceUnavailable, "", "The sign-in cannot be recorded in the audit trail now, so it is refused. Tell the network admins.")
		return
	}
	if opened != nil {
		opened(tokenHash(token))
	}
	s.attempts.succeeded(from)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: s.viaTLS(r),
		SameSite: http.SameSiteStrictMode, MaxAge: int(sessionLife / time.Second)})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// authenticate checks a sign-in: a local account ([[director]] name and
// password_hash, the break-glass path) by that name first, else the
// city's directory when [directory] is set. It returns who signs in, or
// the HTTP status and message of a refusal (audited, and counted by the
// backoff when the name or password is wrong).
func (s *Server) authenticate(name, password, from string) (identity, int, string) {
	d, dept, ok := s.director(name)
	if !ok && s.state.Snapshot().Config.Directory.Enabled() {
		return s.directorySignIn(name, password, from)
	}
	hash := s.dummies.get(topCost(s.state.Snapshot().Config.Director))
	if ok {
		hash = []byte(d.PasswordHash)
	}
	// bcrypt compares in constant time, and an unknown name is compared
	// with a hash of the same cost: the answer takes the same time.
	if err := bcrypt.CompareHashAndPassword(hash, []byte(password)); err != nil || !ok || password == "" {
		return identity{}, s.refuse(name, from, "sign-in-failed", "", true), "The name or the password is wrong."
	}
	return identity{director: d.Name, department: dept, entry: entryOf(d), email: d.Email}, 0, ""
}

// refuse audits a refused sign-in and returns its status; wrong counts
// it for the backoff.
func (s *Server) refuse(name, from, action, what string, wrong bool) int {
	if wrong {
		s.attempts.failed(from)
	}
	if err := s.store.Audit(state.AuditEvent{Who: auditName(name), From: from, Action: action, What: what}); err != nil {
		s.log.Error("console: a refused sign-in could not be audited", "err", err)
	}
	if wrong {
		return http.StatusUnauthorized
	}
	return http.StatusForbidden
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request, sess *session) {
	s.sessions.drop(sess.token)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.viaTLS(r), SameSite: http.SameSiteStrictMode})
	if err := s.store.Audit(state.AuditEvent{Who: sess.director, From: s.clientOf(r), Action: "sign-out"}); err != nil {
		s.log.Error("console: a sign-out could not be audited", "err", err)
	}
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// sameOrigin checks a browser's Origin (or, without one, its Referer)
// against the console's own address: a sign-in form posted from another
// site is refused (login CSRF). A client that sends neither (curl, a
// script) is no browser acting for someone else.
func sameOrigin(r *http.Request) bool {
	own := r.Host
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		return err == nil && o != "null" && strings.EqualFold(u.Host, own)
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		u, err := url.Parse(ref)
		return err == nil && strings.EqualFold(u.Host, own)
	}
	return true
}

func bcryptCost(hash string) int {
	c, err := bcrypt.Cost([]byte(hash))
	if err != nil {
		return 0
	}
	return c
}
