package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// session is a signed-in director.
type session struct {
	token      string
	director   string
	department string
	csrf       string
	expires    time.Time
	entry      string // the director's entry at sign-in (entryOf)
}

// sessions are kept in memory: a restart signs everyone out.
type sessions struct {
	mu  sync.Mutex
	m   map[string]*session
	now func() time.Time
}

const (
	sessionCookie = "civicdns_session"
	sessionLife   = 8 * time.Hour
	maxSessions   = 10000
)

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (ss *sessions) create(director, department, entry string) (string, *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	if len(ss.m) >= maxSessions {
		for t, s := range ss.m {
			if now.After(s.expires) {
				delete(ss.m, t)
			}
		}
	}
	token := randomToken()
	s := &session{token: token, director: director, department: department, csrf: randomToken(), expires: now.Add(sessionLife), entry: entry}
	ss.m[token] = s
	return token, s
}

// get returns the session of a request's cookie, or nil.
func (ss *sessions) get(r *http.Request) (string, *session) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return "", nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[c.Value]
	if s == nil {
		return "", nil
	}
	if ss.now().After(s.expires) {
		delete(ss.m, c.Value)
		return "", nil
	}
	return c.Value, s
}

func (ss *sessions) drop(token string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, token)
}

// csrfOK compares a form's or header's token with the session's, in constant time.
func (s *session) csrfOK(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.csrf)) == 1
}
