package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civicdns/civicdns/state"
)

// session is a signed-in director.
type session struct {
	token      string
	director   string
	department string
	csrf       string
	expires    time.Time
	entry      string       // the director's entry at sign-in (entryOf, groupEntryOf)
	dn         string       // a directory user's DN; "" for a local account
	role       string       // a directory user's role (a local account's is read from its entry)
	email      string       // the director's address
	checked    atomic.Int64 // unix nanoseconds: a directory session's last re-check
}

// identity is who a session is for.
type identity struct {
	director, department, entry string
	dn, role                    string // a directory user's
	email                       string
}

// sessions are the signed-in directors: in memory, and in the state store
// (only each token's hash), so that a restart signs nobody out and, with
// [state] postgres, a session opened on one instance works on every one.
type sessions struct {
	store *state.Sessions
	now   func() time.Time

	mu       sync.Mutex
	m        map[string]*session // by the token's hash
	reloaded time.Time           // when the store was last read for a token not in m
}

const (
	sessionCookie = "civicdns_session"
	sessionLife   = 8 * time.Hour
	maxSessions   = 10000
	// reloadEvery bounds how often an unknown token makes the store be
	// read again (a session another instance opened, or a forged cookie).
	reloadEvery = time.Second
)

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// tokenHash is how a token is kept: its SHA-256, never itself.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// csrfOf derives a session's CSRF token from its session token, so that
// nothing more is stored and every instance derives the same.
func csrfOf(token string) string {
	sum := sha256.Sum256([]byte("civicdns console csrf\x00" + token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// create opens a session, durably: a session the store cannot keep is no
// session (the sign-in is refused).
func (ss *sessions) create(id identity) (string, *session, error) {
	now := ss.now()
	token := randomToken()
	s := &session{token: token, director: id.director, department: id.department, csrf: csrfOf(token), expires: now.Add(sessionLife),
		entry: id.entry, dn: id.dn, role: id.role, email: id.email}
	s.checked.Store(now.UnixNano())
	if err := ss.store.Append(state.SessionRecord{Kind: "open", Hash: tokenHash(token), Director: id.director, Department: id.department,
		Entry: id.entry, DN: id.dn, Role: id.role, Email: id.email, Expires: s.expires}); err != nil {
		return "", nil, err
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.m) >= maxSessions {
		for h, old := range ss.m {
			if now.After(old.expires) {
				delete(ss.m, h)
			}
		}
	}
	ss.m[tokenHash(token)] = s
	return token, s, nil
}

// get returns the session of a request's cookie, or nil.
func (ss *sessions) get(r *http.Request) (string, *session) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 64 {
		return "", nil
	}
	h := tokenHash(c.Value)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[h]
	if s == nil {
		s = ss.reload(h, c.Value)
	}
	if s == nil {
		return "", nil
	}
	if ss.now().After(s.expires) {
		delete(ss.m, h)
		return "", nil
	}
	return c.Value, s
}

// reload reads the store for a token not in memory (opened before a
// restart, or on another instance), at most once every reloadEvery.
// ss.mu is held.
func (ss *sessions) reload(h, token string) *session {
	now := ss.now()
	if now.Sub(ss.reloaded) < reloadEvery && !ss.reloaded.IsZero() {
		return nil
	}
	ss.reloaded = now
	open, err := ss.store.Open(now)
	if err != nil {
		return nil
	}
	r, ok := open[h]
	if !ok {
		return nil
	}
	s := &session{token: token, director: r.Director, department: r.Department, csrf: csrfOf(token), expires: r.Expires, entry: r.Entry,
		dn: r.DN, role: r.Role, email: r.Email} // checked zero: a directory session is re-checked at its first use here
	ss.m[h] = s
	return s
}

// drop closes a session, in memory and in the store.
func (ss *sessions) drop(token string) {
	h := tokenHash(token)
	ss.mu.Lock()
	delete(ss.m, h)
	ss.mu.Unlock()
	ss.store.Append(state.SessionRecord{Kind: "close", Hash: h})
}

// csrfOK compares a form's or header's token with the session's, in constant time.
func (s *session) csrfOK(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.csrf)) == 1
}
