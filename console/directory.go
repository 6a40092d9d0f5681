package console

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/directory"
)

// Sign-in through the city's directory ([directory]): the user's groups
// map to [[director]] entries with a group; an admin entry wins over a
// department's, then the first in the file. A directory session is
// re-checked against the directory at least every recheckEvery, and ends
// when the user's groups no longer give the same entry (or a reload
// removed it).

// recheckEvery is how long a directory session is trusted between checks.
const recheckEvery = 5 * time.Minute

// what is an identity as the sign-in's audit event describes it.
func (id identity) what() string {
	w := "department " + id.department
	if id.role == config.RoleAdmin {
		w += ", admin"
	}
	if id.dn != "" {
		w += ", through the directory as " + id.dn
	}
	return w
}

func (s *Server) directorySignIn(login, password, from string) (identity, int, string) {
	cfg := s.state.Snapshot().Config
	l, err := directory.New(cfg.Directory, cfg.Path)
	var u *directory.User
	if err == nil {
		u, err = l.Authenticate(login, password)
	}
	switch {
	case errors.Is(err, directory.ErrBadCredentials):
		return identity{}, s.refuse(login, from, "sign-in-failed", "directory", true), "The name or the password is wrong."
	case err != nil:
		s.log.Error("console: the directory cannot be asked; sign-in refused", "err", err)
		s.refuse(login, from, "sign-in-failed", "the directory cannot be reached", false)
		return identity{}, http.StatusServiceUnavailable, "The city directory cannot be reached now, so directory accounts cannot sign in. Local break-glass accounts still can. Tell the network admins."
	}
	d, ok := groupDirector(cfg, u.Groups)
	who := u.Name + " (" + u.Login + ")"
	if !ok {
		return identity{}, s.refuse(who, from, "sign-in-refused", "in no director group: "+u.DN, false),
			"Your directory account is in no group that directs a department in civicdns."
	}
	// d.Department is the department's own spelling: validation made it so.
	return identity{director: who, department: d.Department, entry: groupEntryOf(d), dn: u.DN, role: d.Role, email: u.Email}, 0, ""
}

// groupDirector is the [[director]] entry the groups give: an admin one
// first, else the first that matches.
func groupDirector(cfg *config.Config, groups []string) (config.Director, bool) {
	in := map[string]bool{}
	for _, g := range groups {
		in[directory.NormalizeDN(g)] = true
	}
	var found config.Director
	ok := false
	for _, d := range cfg.Director {
		if d.Group == "" || !in[directory.NormalizeDN(d.Group)] {
			continue
		}
		if d.Role == config.RoleAdmin {
			return d, true
		}
		if !ok {
			found, ok = d, true
		}
	}
	return found, ok
}

// groupEntryOf fingerprints a group entry: a session ends when the entry
// its user signed in through changes (group, department or role).
func groupEntryOf(d config.Director) string {
	sum := sha256.Sum256([]byte("group\x00" + directory.NormalizeDN(d.Group) + "\x00" + config.DepartmentKey(d.Department) + "\x00" + d.Role))
	return hex.EncodeToString(sum[:])
}

// directoryStillGranted re-checks a directory session: its entry must
// still be configured, and every recheckEvery the user's groups must
// still give it. A directory that cannot be asked keeps the session (the
// check is tried again at the next request) and is logged.
func (s *Server) directoryStillGranted(sess *session) bool {
	cfg := s.state.Snapshot().Config
	configured := false
	for _, d := range cfg.Director {
		if d.Group != "" && groupEntryOf(d) == sess.entry {
			configured = true
			break
		}
	}
	if !configured {
		return false
	}
	now := s.now()
	if now.Sub(time.Unix(0, sess.checked.Load())) < recheckEvery {
		return true
	}
	if strings.HasPrefix(sess.dn, "oidc:") {
		ok, checked := s.oidcStillGranted(sess)
		if ok && checked {
			sess.checked.Store(now.UnixNano())
		}
		return ok
	}
	l, err := directory.New(cfg.Directory, cfg.Path)
	var groups []string
	if err == nil {
		groups, err = l.Groups(sess.dn)
	}
	if err != nil {
		s.log.Warn("console: a directory session could not be re-checked; it goes on until it can be", "director", sess.director, "err", err)
		return true
	}
	if d, ok := groupDirector(cfg, groups); !ok || groupEntryOf(d) != sess.entry {
		s.log.Info("console: a directory session ended: the user's groups changed", "director", sess.director)
		return false
	}
	sess.checked.Store(now.UnixNano())
	return true
}
