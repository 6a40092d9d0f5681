package blockpage

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/internal/ratelimit"
	"github.com/civicdns/civicdns/internal/webhdr"
	"github.com/civicdns/civicdns/live"
	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/state"
	"github.com/prometheus/client_golang/prometheus"
)

// Options are what the block page is made from.
type Options struct {
	State    *live.State
	Store    *state.Store // nil: no request form
	Logger   *slog.Logger
	Registry prometheus.Registerer
	Now      func() time.Time
	// OnRequest is called after a request is stored (nil: nothing).
	OnRequest func(state.Request)
}

// Server serves the block page over HTTP and, with a Minter, HTTPS.
type Server struct {
	state   *live.State
	store   *state.Store
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics
	csrf    *csrf
	limit   *ratelimit.Limiter
	lookups *ratelimit.Limiter // status lookups per client
	onReq   func(state.Request)
}

// requestsPerClient bounds the requests one device sends: 3 at once, then
// one every 10 minutes.
const (
	requestBurst = 3
	requestEvery = 10 * time.Minute
)

// New makes the block page.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Server{
		state: opts.State, store: opts.Store, log: opts.Logger, now: opts.Now,
		metrics: newMetrics(opts.Registry), csrf: newCSRF(), onReq: opts.OnRequest,
		limit:   &ratelimit.Limiter{Rate: 1 / requestEvery.Seconds(), Burst: requestBurst, Now: opts.Now},
		lookups: &ratelimit.Limiter{Rate: lookupsPerSecond, Burst: lookupBurst, Now: opts.Now},
	}
}

// NewMinter makes the HTTPS block page's certificate minter, counted in
// this server's metrics, keeping its certificates in dir ("": memory only).
func (s *Server) NewMinter(ca *CA, dir string) (*Minter, error) {
	return NewMinter(ca, dir, s.now, s.metrics)
}

// Facts are what the page says, and what ?format=json gives.
type Facts struct {
	Name       string    `json:"name"`
	Client     string    `json:"client"`
	Blocked    bool      `json:"blocked"`
	Exempted   bool      `json:"exempted,omitempty"`
	Category   string    `json:"category,omitempty"`
	Service    string    `json:"service,omitempty"` // the chat catalogue's service ("Telegram")
	ServiceID  string    `json:"service_id,omitempty"`
	Title      string    `json:"title,omitempty"`
	Policy     string    `json:"policy,omitempty"`
	Department string    `json:"department"` // "citywide" for a client of no department
	Matched    string    `json:"matched,omitempty"`
	Exemption  string    `json:"exemption,omitempty"` // the exemption that lifts it
	Expires    string    `json:"exemption_expires,omitempty"`
	Time       time.Time `json:"time"`
	Reference  string    `json:"reference"`
	Contact    string    `json:"contact,omitempty"`
	CanRequest bool      `json:"can_request"`
	// Suspended says the device's access is suspended (every name blocked).
	Suspended bool   `json:"suspended,omitempty"`
	Reason    string `json:"suspension_reason,omitempty"`
	// OpensAt is when the department's personal-use hours next open the
	// category ("" when they never do).
	OpensAt string `json:"opens_at,omitempty"`
}

// The block page's own paths, out of the way of any path a blocked site has.
const (
	requestPath = "/.civicdns/request"
	statusPath  = "/.civicdns/request/"
)

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	webhdr.Set(w.Header(), "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	switch {
	case r.URL.Path == requestPath && r.Method == http.MethodPost:
		s.submit(w, r)
	case strings.HasPrefix(r.URL.Path, statusPath) && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		s.status(w, r, strings.TrimPrefix(r.URL.Path, statusPath))
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		s.page(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// clientOf is the address of the device that asks.
func clientOf(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// hostOf is the name the browser asked for, normalised.
func hostOf(r *http.Request) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	name, err := config.NormalizeName(strings.Trim(host, "[]"))
	if err != nil {
		return ""
	}
	return name
}

// facts decides, with the live policy, what the page says about name for client.
func (s *Server) facts(client netip.Addr, name string) Facts {
	snap := s.state.Snapshot()
	now := s.now()
	f := Facts{Name: name, Client: client.String(), Department: "citywide", Time: now, Reference: newReference(), Contact: snap.Config.Blockpage.Contact}
	dept := snap.Policy.Department(client)
	if dept != nil {
		f.Department = dept.Name
	}
	if name == "" {
		return f
	}
	d := snap.Decide(dept, client, name, now)
	f.Category, f.Matched, f.Service, f.ServiceID = d.Category, d.Matched, d.Service, d.ServiceID
	switch d.Action {
	case policy.Blocked:
		f.Blocked = true
		f.CanRequest = s.store != nil && name != policy.Canary && d.Category != policy.SuspendedCategory
		if d.Category == policy.SuspendedCategory {
			f.Suspended = true
			f.Title, f.Policy = "Access suspended", "Access from this device is suspended"
			if sus := snap.Suspended.Covering(client, now); sus != nil {
				f.Reason = sus.Reason
			}
			return f
		}
		if at, ok := snap.Policy.NextOpen(dept, d.Category, now); ok {
			f.OpensAt = at.Format("Monday 2 January 15:04 MST")
		}
	case policy.Exempted:
		f.Exempted = true
		if d.Exemption != nil {
			f.Exemption, f.Expires = d.Exemption.ID, d.Exemption.ExpiresOn.String()
		}
	}
	if c := snap.Policy.Lists().Categories[d.Category]; c != nil {
		f.Title, f.Policy = c.Title, c.Policy
	} else if dept != nil && d.Category == dept.Name {
		f.Title, f.Policy = "Blocked by the "+dept.Name+" department", "Department standard of "+dept.Name
	}
	return f
}

func newReference() string {
	var b [5]byte
	rand.Read(b[:])
	return "B-" + base32.StdEncoding.EncodeToString(b[:])
}

func wantsJSON(r *http.Request) bool {
	return r.URL.Query().Get("format") == "json" || strings.Contains(r.Header.Get("Accept"), "application/json")
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	f := s.facts(clientOf(r), hostOf(r))
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	s.metrics.pages.WithLabelValues(scheme, fmt.Sprint(f.Blocked)).Inc()
	status := http.StatusOK
	if f.Blocked {
		status = http.StatusForbidden // a crawler or a script learns it was blocked
	}
	if wantsJSON(r) {
		writeJSON(w, status, f)
		return
	}
	s.render(w, status, "page", pageData{Facts: f, CSRF: s.csrf.token(f.Client, f.Name, s.now())})
}

type pageData struct {
	Facts
	CSRF    string
	Error   string
	Form    map[string]string
	Request *RequestStatus
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	if pd, ok := data.(pageData); ok {
		// Every time on the page in the city's zone (citytime).
		loc := s.state.Snapshot().Policy.Location()
		pd.Facts.Time = pd.Facts.Time.In(loc)
		if pd.Request != nil {
			r := *pd.Request
			r.Time, r.DecidedAt = r.Time.In(loc), r.DecidedAt.In(loc)
			pd.Request = &r
		}
		data = pd
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		s.log.Warn("block page template", "err", err)
	}
}

// Form limits.
const (
	maxFormBytes   = 16 << 10
	maxNameLen     = 100
	maxEmailLen    = 200
	maxReasonLen   = 2000
	minReasonRunes = 10
)

func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	client := clientOf(r)
	name := hostOf(r)
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.refuse(w, r, http.StatusBadRequest, "invalid", "The form could not be read.", nil)
		return
	}
	form := map[string]string{"requester": strings.TrimSpace(r.PostForm.Get("requester")),
		"email": strings.TrimSpace(r.PostForm.Get("email")), "reason": strings.TrimSpace(r.PostForm.Get("reason"))}
	if !s.csrf.valid(r.PostForm.Get("csrf"), client.String(), name, s.now()) {
		s.refuse(w, r, http.StatusForbidden, "csrf", "This form has expired or did not come from this page. Reload the page and send it again.", form)
		return
	}
	if s.store == nil {
		s.refuse(w, r, http.StatusNotFound, "invalid", "Exemption requests are not taken here; use the contact below.", form)
		return
	}
	if msg := validateForm(form); msg != "" {
		s.refuse(w, r, http.StatusBadRequest, "invalid", msg, form)
		return
	}
	f := s.facts(client, name)
	if !f.CanRequest {
		s.refuse(w, r, http.StatusBadRequest, "invalid", "This name is not blocked for your device: there is nothing to ask for.", form)
		return
	}
	if !s.limit.Allow(client.String()) {
		s.refuse(w, r, http.StatusTooManyRequests, "rate_limited", "Too many requests from this device. Try again in a few minutes.", form)
		return
	}
	dept := ""
	if f.Department != "citywide" {
		dept = f.Department
	}
	q, err := s.store.Submit(state.Request{Client: client, Department: dept, Name: name, Category: f.Category, Matched: f.Matched,
		Service: f.Service, ServiceID: f.ServiceID, Reference: r.PostForm.Get("reference"), Requester: form["requester"], Email: form["email"], Reason: form["reason"]})
	if err != nil {
		s.log.Error("storing an exemption request", "err", err)
		s.refuse(w, r, http.StatusInternalServerError, "error", "The request could not be stored. Please contact the help desk.", form)
		return
	}
	s.metrics.requests.WithLabelValues("stored").Inc()
	if s.onReq != nil {
		s.onReq(q)
	}
	rs := &state.RequestState{Request: q, Status: state.Pending}
	if wantsJSON(r) {
		writeJSON(w, http.StatusCreated, rs)
		return
	}
	s.render(w, http.StatusCreated, "status", pageData{Facts: f, Request: &RequestStatus{ID: q.ID, Time: q.Time, Name: q.Name,
		Category: q.Category, Department: q.Department, Status: state.Pending}})
}

func (s *Server) refuse(w http.ResponseWriter, r *http.Request, status int, result, msg string, form map[string]string) {
	s.metrics.requests.WithLabelValues(result).Inc()
	if wantsJSON(r) {
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	f := s.facts(clientOf(r), hostOf(r))
	s.render(w, status, "page", pageData{Facts: f, CSRF: s.csrf.token(f.Client, f.Name, s.now()), Error: msg, Form: form})
}

func validateForm(f map[string]string) string {
	switch {
	case f["requester"] == "" || utf8.RuneCountInString(f["requester"]) > maxNameLen:
		return "Please give your name (at most 100 characters)."
	case len(f["email"]) > maxEmailLen:
		return "Please give a shorter e-mail address."
	case !validEmail(f["email"]):
		return "Please give your e-mail address (name@example.org)."
	case utf8.RuneCountInString(f["reason"]) < minReasonRunes || utf8.RuneCountInString(f["reason"]) > maxReasonLen:
		return "Please say why you need this site for your work (10 to 2000 characters)."
	}
	return ""
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".")
}
