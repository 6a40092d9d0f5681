package console

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/internal/webhdr"
	"github.com/civicdns/civicdns/live"
	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/state"
)

// Options are what the console is made from.
type Options struct {
	State  *live.State
	Store  *state.Store
	Logger *slog.Logger
	Now    func() time.Time
	// OnChange is called after a decision, so that it is live at once.
	OnChange func()
	// Status reports the running server for `civicdns status` (nil: none).
	Status func() any
	// SearchLog reads the query log for the department's lookups (nil: no log).
	SearchLog LogSearch
}

// Server is the director console and its API.
type Server struct {
	state     *live.State
	store     *state.Store
	log       *slog.Logger
	now       func() time.Time
	onChange  func()
	status    func() any
	sessions  *sessions
	attempts  *attempts // failed sign-ins per address: the backoff
	dummies   *dummies  // hashes an unknown name is compared against
	oidc      oidcFlows // OpenID Connect sign-in (oidc.go)
	searchLog LogSearch
	mux       *http.ServeMux
}

// New makes the console.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.OnChange == nil {
		opts.OnChange = func() {}
	}
	s := &Server{
		state: opts.State, store: opts.Store, log: opts.Logger, now: opts.Now, onChange: opts.OnChange, status: opts.Status,
		sessions: &sessions{m: map[string]*session{}, now: opts.Now, store: opts.Store.Sessions()},
		attempts: &attempts{m: map[string]*tries{}, now: opts.Now},
		dummies:  &dummies{m: map[int][]byte{}},
		oidc:     oidcFlows{refresh: map[string]string{}}, searchLog: opts.SearchLog,
		mux: http.NewServeMux(),
	}
	s.dummies.prepare(s.state.Snapshot().Config.Director)
	m := s.mux
	m.HandleFunc("GET /signin", s.signinPage)
	m.HandleFunc("POST /signin", s.signin)
	m.HandleFunc("POST /signout", s.signedIn(s.signout))
	m.HandleFunc("GET /oidc/start", s.oidcStart)
	m.HandleFunc("GET /oidc/callback", s.oidcCallback)
	m.HandleFunc("GET /{$}", s.signedIn(s.dashboard))
	m.HandleFunc("POST /requests/{id}/approve", s.signedIn(s.approve))
	m.HandleFunc("POST /requests/{id}/deny", s.signedIn(s.deny))
	m.HandleFunc("POST /exemptions/{id}/revoke", s.signedIn(s.revoke))
	m.HandleFunc("POST /suspensions", s.signedIn(s.suspend))
	m.HandleFunc("POST /suspensions/{id}/restore", s.signedIn(s.restore))
	m.HandleFunc("GET /api/v1/suspensions", s.signedIn(s.apiSuspensions))
	m.HandleFunc("POST /api/v1/suspensions", s.signedIn(s.suspend))
	m.HandleFunc("POST /api/v1/suspensions/{id}/restore", s.signedIn(s.restore))
	m.HandleFunc("GET /devices", s.signedIn(s.devicesPage))
	m.HandleFunc("GET /logs", s.signedIn(s.logsPage))
	m.HandleFunc("POST /devices", s.signedIn(s.addDevice))
	m.HandleFunc("POST /devices/{id}/revoke", s.signedIn(s.revokeDevice))
	m.HandleFunc("GET /api/v1/devices", s.signedIn(s.apiDevices))
	m.HandleFunc("POST /api/v1/devices", s.signedIn(s.addDevice))
	m.HandleFunc("POST /api/v1/devices/{id}/revoke", s.signedIn(s.revokeDevice))
	m.HandleFunc("GET /api/v1/session", s.signedIn(s.apiSession))
	m.HandleFunc("GET /api/v1/status", s.apiStatus)
	m.HandleFunc("GET /api/v1/requests", s.signedIn(s.apiRequests))
	m.HandleFunc("GET /api/v1/exemptions", s.signedIn(s.apiExemptions))
	m.HandleFunc("POST /api/v1/requests/{id}/approve", s.signedIn(s.approve))
	m.HandleFunc("POST /api/v1/requests/{id}/deny", s.signedIn(s.deny))
	m.HandleFunc("POST /api/v1/exemptions/{id}/revoke", s.signedIn(s.revoke))
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	webhdr.Set(w.Header(), "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	// The console's own pages send their origin with their forms (with
	// no-referrer a browser sends "Origin: null"), so that a form posted
	// from another site can be told apart (sameOrigin); other sites still
	// get no referrer.
	w.Header().Set("Referrer-Policy", "same-origin")
	snap := s.state.Snapshot()
	listenHost, _, _ := net.SplitHostPort(snap.Config.Admin.Listen) // validated: host:port
	if !webhdr.HostAllowed(r.Host, snap.Config.Server.Name, listenHost) {
		// DNS rebinding: a name someone else's DNS points at this console.
		http.Error(w, "this console answers only to its own names and addresses", http.StatusMisdirectedRequest)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	s.mux.ServeHTTP(w, r)
}

func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

// fail answers an error as JSON for the API and as a page otherwise.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if isAPI(r) {
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	pages.ExecuteTemplate(w, "message", map[string]any{"Title": http.StatusText(status), "Message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// signedIn wraps a handler that needs a director; POSTs also need the
// session's CSRF token (a form field, or the X-CSRF-Token header for the API).
func (s *Server) signedIn(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, sess := s.sessions.get(r)
		if sess != nil && !s.stillGranted(sess) {
			// The director's entry changed (password, department, removed)
			// since the sign-in: the session ends.
			s.sessions.drop(sess.token)
			sess = nil
		}
		if sess == nil {
			if isAPI(r) {
				s.fail(w, r, http.StatusUnauthorized, "sign in first")
				return
			}
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			if !sameOrigin(r) {
				s.fail(w, r, http.StatusForbidden, "The form did not come from this console: open the console's own page.")
				return
			}
			t := r.Header.Get("X-CSRF-Token")
			if !isAPI(r) {
				t = r.PostFormValue("csrf")
			}
			if !sess.csrfOK(t) {
				s.fail(w, r, http.StatusForbidden, "The form is stale or did not come from this console: reload the page.")
				return
			}
		}
		h(w, r, sess)
	}
}

// The department's view of the workflow: nothing of another department's.

func sameDept(a, b string) bool { return config.DepartmentKey(a) == config.DepartmentKey(b) }

// The most a page or an API call lists of each kind: the newest. What a
// page costs does not grow with the store.
const (
	listPending = 500
	listDecided = 50
	listGrants  = 500
)

// view is the department's pending requests, its newest decided ones and
// its newest grants, from the store's index.
func (s *Server) view(dept string) (pending, decided []*state.RequestState, grants []*state.GrantState, err error) {
	if pending, _, err = s.store.Pending(dept, listPending); err != nil {
		return nil, nil, nil, err
	}
	recent, err := s.store.Requests(dept, listPending+listDecided)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, q := range recent {
		if q.Status != state.Pending && len(decided) < listDecided {
			decided = append(decided, q)
		}
	}
	grants, err = s.store.Grants(dept, listGrants)
	return pending, decided, grants, err
}

// grantView is a grant with what it means now.
type grantView struct {
	*state.GrantState
	Status string `json:"status"` // active, expired, revoked
}

func (s *Server) grantViews(grants []*state.GrantState) []grantView {
	loc := s.state.Snapshot().Policy.Location()
	now := s.now()
	out := make([]grantView, len(grants))
	for i, g := range grants {
		status := "active"
		switch {
		case g.Revoked:
			status = "revoked"
		case !now.Before(g.Expires.Start(loc).AddDate(0, 0, 1)):
			status = "expired"
		}
		out[i] = grantView{g, status}
	}
	return out
}

func (s *Server) configExemptions(dept string) []*policy.Exemption {
	var out []*policy.Exemption
	for _, e := range s.state.Snapshot().Policy.ConfigExemptions().All() {
		if sameDept(e.Department, dept) {
			out = append(out, e)
		}
	}
	return out
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, sess *session) {
	dept := s.viewDept(r, sess)
	pending, decided, grants, err := s.view(dept)
	if err != nil {
		s.log.Error("console: reading the state store", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "The state store cannot be read now.")
		return
	}
	suspended, _ := s.ownSuspensions(sess)
	// Every time on the page in the city's zone (citytime): the lists are copies.
	loc := s.state.Snapshot().Policy.Location()
	for _, q := range append(pending, decided...) {
		q.Time, q.DecidedAt = q.Time.In(loc), q.DecidedAt.In(loc)
	}
	for _, sus := range suspended {
		sus.Time = sus.Time.In(loc)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	pages.ExecuteTemplate(w, "dashboard", map[string]any{
		"Suspended": suspended,
		"Director":  sess.director, "Department": dept, "CSRF": sess.csrf, "Admin": s.isAdmin(sess), "Departments": s.state.Snapshot().Config.DepartmentNames(),
		"Pending": pending, "Decided": decided, "Grants": s.grantViews(grants), "Config": s.configExemptions(dept),
		"Expires": s.now().AddDate(0, 0, 30).Format("2006-01-02"), "Today": s.now().Format("2006-01-02"),
		"Done": doneMessage(r.URL.Query().Get("done")), "ReadOnly": s.readOnly(),
	})
}

// readOnly is the banner's text while the shared state database is away.
func (s *Server) readOnly() string {
	if s.store.Online() {
		return ""
	}
	return readOnlyMessage
}

// decisionInput reads an approval or denial from a form or a JSON body.
type decisionInput struct {
	Expires   string `json:"expires"`
	Reason    string `json:"reason"`
	Reference string `json:"reference"`
	Scope     string `json:"scope"` // "department" (default) or "client"
	Lifts     string `json:"lifts"` // "name" (default), "service" (every domain of the chat service that blocked it) or "category"
	Note      string `json:"note"`
}

func readInput(r *http.Request) (decisionInput, error) {
	var in decisionInput
	if isAPI(r) {
		if r.ContentLength == 0 {
			return in, nil
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		return in, dec.Decode(&in)
	}
	in.Expires, in.Reason, in.Reference = r.PostFormValue("expires"), r.PostFormValue("reason"), r.PostFormValue("reference")
	in.Scope, in.Lifts, in.Note = r.PostFormValue("scope"), r.PostFormValue("lifts"), r.PostFormValue("note")
	return in, nil
}

// ownRequest is the request id of the session's department, or nil (for
// another department's too: it does not exist for this director).
func (s *Server) ownRequest(sess *session, id string) (*state.RequestState, error) {
	q, err := s.store.Request(id)
	if err != nil {
		return nil, err
	}
	if q == nil || !s.mayAct(sess, q.Department) {
		return nil, nil
	}
	return q, nil
}

func (s *Server) decided(w http.ResponseWriter, r *http.Request, status int, v any, done string) {
	s.onChange()
	if isAPI(r) {
		writeJSON(w, status, v)
		return
	}
	http.Redirect(w, r, "/?done="+url.QueryEscape(done), http.StatusSeeOther)
}

// doneMessage is what the dashboard says after a decision, chosen by the
// code in ?done=: nothing from the address is echoed into the page.
func doneMessage(code string) string {
	switch code {
	case "approved":
		return "The request was approved: the exemption is live."
	case "denied":
		return "The request was denied."
	case "revoked":
		return "The exemption was revoked."
	case "suspended":
		return "The device's access is suspended."
	case "restored":
		return "The device's access is restored."
	case "device-revoked":
		return "The device's token is revoked: it is refused on every instance within a second."
	}
	return ""
}

// readOnlyMessage is what a director hears while the shared state database
// is away ([state] postgres): the console shows what it last knew.
const readOnlyMessage = "The console is read-only: the shared state database cannot be reached. What you see is the state last known; decisions can be made again when it returns. Requests from the block page are kept and will arrive then."

func (s *Server) storeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, state.ErrNotPending):
		s.fail(w, r, http.StatusConflict, err.Error())
	case errors.Is(err, state.ErrNotFound):
		s.fail(w, r, http.StatusNotFound, "No such request or exemption in your department.")
	case state.IsOffline(err):
		s.fail(w, r, http.StatusServiceUnavailable, readOnlyMessage)
	case errors.As(err, new(*state.InputError)):
		s.fail(w, r, http.StatusBadRequest, err.Error())
	default:
		s.log.Error("console: state store", "err", err)
		s.fail(w, r, http.StatusInternalServerError, "The decision could not be written to the state store and its audit trail, so it was not made. Tell the network admins.")
	}
}

// decision reads a decision's input and the request of the session's
// department it is about; it has answered the client when ok is false.
func (s *Server) decision(w http.ResponseWriter, r *http.Request, sess *session) (in decisionInput, q *state.RequestState, ok bool) {
	in, err := readInput(r)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "The decision could not be read: "+err.Error())
		return in, nil, false
	}
	if q, err = s.ownRequest(sess, r.PathValue("id")); err != nil {
		s.storeError(w, r, err)
		return in, nil, false
	}
	if q == nil {
		s.fail(w, r, http.StatusNotFound, "No such request in your department.")
		return in, nil, false
	}
	return in, q, true
}

func (s *Server) approve(w http.ResponseWriter, r *http.Request, sess *session) {
	in, q, ok := s.decision(w, r, sess)
	if !ok {
		return
	}
	expires, err := config.ParseDate(in.Expires)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "expires: "+err.Error())
		return
	}
	if strings.TrimSpace(in.Reason) == "" {
		s.fail(w, r, http.StatusBadRequest, "An approval needs a reason (it is the written authorization).")
		return
	}
	if (in.Scope != "" && in.Scope != "department" && in.Scope != "client") || (in.Lifts != "" && in.Lifts != "name" && in.Lifts != "category" && in.Lifts != "service") {
		s.fail(w, r, http.StatusBadRequest, `scope is "department" or "client"; lifts is "name", "service" or "category"`)
		return
	}
	var domains []string
	if in.Lifts == "service" {
		svc := s.state.Snapshot().Policy.Lists().ServiceByID[q.ServiceID]
		if svc == nil {
			s.fail(w, r, http.StatusBadRequest, "This request names no service of the lists in force: lift the name or the category.")
			return
		}
		domains = svc.Domains
	}
	g, err := s.store.Approve(q.ID, state.Approval{By: sess.director, ByEmail: sess.email, From: s.clientOf(r), ForClient: in.Scope == "client",
		Category: in.Lifts == "category", Domains: domains, Expires: expires, Reason: strings.TrimSpace(in.Reason), Reference: strings.TrimSpace(in.Reference),
		MaxDays: s.state.Snapshot().Config.Policy.MaxExemptionDays()})
	if err != nil {
		var we *state.WriteError
		if errors.Is(err, state.ErrNotPending) || errors.Is(err, state.ErrNotFound) || state.IsOffline(err) || errors.As(err, &we) {
			s.storeError(w, r, err)
		} else {
			s.fail(w, r, http.StatusBadRequest, err.Error())
		}
		return
	}
	s.decided(w, r, http.StatusCreated, g, "approved")
}

func (s *Server) deny(w http.ResponseWriter, r *http.Request, sess *session) {
	in, q, ok := s.decision(w, r, sess)
	if !ok {
		return
	}
	if err := s.store.Deny(q.ID, sess.director, s.clientOf(r), strings.TrimSpace(in.Note)); err != nil {
		s.storeError(w, r, err)
		return
	}
	s.decided(w, r, http.StatusOK, map[string]string{"id": q.ID, "status": state.Denied}, "denied")
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	g, err := s.store.Grant(id)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	if g == nil || !s.mayAct(sess, g.Owner) {
		s.fail(w, r, http.StatusNotFound, "No such exemption in your department.")
		return
	}
	if err := s.store.Revoke(id, sess.director, s.clientOf(r)); err != nil {
		s.storeError(w, r, err)
		return
	}
	s.decided(w, r, http.StatusOK, map[string]string{"id": id, "status": "revoked"}, "revoked")
}

func (s *Server) apiSession(w http.ResponseWriter, r *http.Request, sess *session) {
	writeJSON(w, http.StatusOK, map[string]any{"director": sess.director, "department": sess.department, "admin": s.isAdmin(sess), "csrf": sess.csrf, "expires": sess.expires})
}

func (s *Server) apiRequests(w http.ResponseWriter, r *http.Request, sess *session) {
	reqs, err := s.store.Requests(s.viewDept(r, sess), listPending+listDecided)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	if reqs == nil {
		reqs = []*state.RequestState{}
	}
	writeJSON(w, http.StatusOK, reqs)
}

func (s *Server) apiExemptions(w http.ResponseWriter, r *http.Request, sess *session) {
	dept := s.viewDept(r, sess)
	grants, err := s.store.Grants(dept, listGrants)
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"granted": s.grantViews(grants), "configuration": s.configExemptions(dept)})
}
