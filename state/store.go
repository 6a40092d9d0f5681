package state

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/internal/health"
	"github.com/civicdns/civicdns/policy"
)

// Store is the exemption workflow's state in one folder. Safe for
// concurrent use, in one process and across processes.
type Store struct {
	dir      string
	workflow eventLog // the journal file, or with [state] postgres the shared table
	audit    eventLog
	outbox   *journal // [state] postgres: what waits for the database
	sh       *shared  // nil for a store of files alone
	now      func() time.Time
	log      *slog.Logger

	// mu guards idx, the workflow in memory, and the workflow log's
	// cursor: a read catches up (one stat, or nothing new) and copies out
	// under it; an append catches up, checks and appends under it.
	health *health.Tracker // whether the workflow and the audit trail take writes
	// maxDays is [policy] max_exemption in days, for approvals that do not
	// say (the CLI's); 0: no bound.
	maxDays int

	mu    sync.RWMutex
	idx   *index
	read1 bool // the workflow was read once (from a snapshot when there is one)

	sessions sessionsOnce // the console's sessions (Sessions)
	mail     journalOnce  // the notifications' outbox (Mail)
	onAudit  atomic.Pointer[func(AuditEvent)]
	snapAt   int // idx.applied when the last snapshot was read or written
}

// The files of a store.
const (
	WorkflowFile = "workflow.journal"
	AuditFile    = "audit.journal"
)

// Open opens (creating it, 0700) the store in dir. now is the clock
// (nil: time.Now).
func Open(dir string, now func() time.Time) (*Store, error) {
	if dir == "" {
		return nil, errors.New("state: no [state] dir configured")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	log := slog.Default()
	return &Store{
		dir:      dir,
		workflow: newJournal(filepath.Join(dir, WorkflowFile), log),
		audit:    newJournal(filepath.Join(dir, AuditFile), log),
		now:      now,
		log:      log,
		idx:      newIndex(),
		health:   health.New("state store", log, nil),
	}, nil
}

// Dir is the store's folder.
func (s *Store) Dir() string { return s.dir }

// Request is what an employee who hit a block asks for.
type Request struct {
	ID         string     `json:"id"` // unguessable: it is also the requester's receipt
	Time       time.Time  `json:"time"`
	Client     netip.Addr `json:"client"`
	Department string     `json:"department"` // the client's, when asked ("" citywide)
	Name       string     `json:"name"`       // the blocked name
	Category   string     `json:"category"`
	Matched    string     `json:"matched"`              // the listed name that blocked it
	Service    string     `json:"service,omitempty"`    // the chat catalogue's service that blocked it ("Telegram")
	ServiceID  string     `json:"service_id,omitempty"` // its id ("telegram")
	Reference  string     `json:"reference,omitempty"`  // the block page's reference the employee saw
	Requester  string     `json:"requester"`
	Email      string     `json:"email"`
	Reason     string     `json:"reason"`
}

// Grant is an exemption approved through the workflow.
type Grant struct {
	ID         string   `json:"id"`
	RequestID  string   `json:"request_id,omitempty"`
	Owner      string   `json:"owner"`                // the department whose director granted it (the request's)
	Department string   `json:"department,omitempty"` // or Clients
	Clients    []string `json:"clients,omitempty"`
	Category   string   `json:"category,omitempty"` // or Domains
	Domains    []string `json:"domains,omitempty"`
	ApprovedBy string   `json:"approved_by"`
	// ApproverEmail is where the approver is reminded before it ends.
	ApproverEmail string      `json:"approver_email,omitempty"`
	Reason        string      `json:"reason"`
	Reference     string      `json:"reference,omitempty"`
	Expires       config.Date `json:"expires"`
}

// record is one line of the workflow journal.
type record struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"` // request, approve, deny, revoke
	Request *Request  `json:"request,omitempty"`
	ID      string    `json:"id,omitempty"` // the request (approve, deny) or the exemption (revoke)
	By      string    `json:"by,omitempty"`
	From    string    `json:"from,omitempty"`
	Grant   *Grant    `json:"grant,omitempty"`
	Note    string    `json:"note,omitempty"`
	// Suspension is the device suspended (kind suspend).
	Suspension *Suspension `json:"suspension,omitempty"`
	// Device is the device enrolled (kind device-add).
	Device *Device `json:"device,omitempty"`
	// Audit is the action's audit event, in the same record: an action is
	// never stored without its audit event, nor the event without it.
	Audit *AuditEvent `json:"audit,omitempty"`
}

// The statuses of a request.
const (
	Pending  = "pending"
	Approved = "approved"
	Denied   = "denied"
)

// RequestState is a request and what became of it.
type RequestState struct {
	Request
	Status    string    `json:"status"`
	DecidedBy string    `json:"decided_by,omitempty"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
	Note      string    `json:"note,omitempty"`
	Exemption string    `json:"exemption,omitempty"` // the grant's ID when approved
}

// GrantState is a granted exemption and whether it was revoked.
type GrantState struct {
	Grant
	GrantedAt time.Time `json:"granted_at"`
	Revoked   bool      `json:"revoked"`
	RevokedBy string    `json:"revoked_by,omitempty"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// State is the workflow: every request, grant and suspension, in the
// order made. A State from Load is a copy the caller owns.
type State struct {
	Requests    []*RequestState
	Grants      []*GrantState
	Suspensions []*Suspension
	Devices     []*Device
}

// Request returns the request with that ID, or nil. (A linear search: for
// a copy in a CLI; the server asks the Store, which has an index.)
func (st *State) Request(id string) *RequestState {
	for _, r := range st.Requests {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// Grant returns the grant with that ID, or nil.
func (st *State) Grant(id string) *GrantState {
	for _, g := range st.Grants {
		if g.ID == id {
			return g
		}
	}
	return nil
}

// newID returns prefix and 8 random base-32 characters (40 bits): request
// IDs are receipts shown to requesters, so they must not be guessable.
func newID(prefix string) string {
	var b [5]byte
	rand.Read(b[:])
	return prefix + base32.StdEncoding.EncodeToString(b[:])
}

// Submit stores a new request, durably, before it returns it with its ID.
func (s *Store) Submit(q Request) (Request, error) {
	if err := bounded("name", q.Requester, MaxName, "e-mail address", q.Email, MaxName, "reason", q.Reason, MaxText,
		"reference", q.Reference, MaxReference, "blocked name", q.Name, 255); err != nil {
		return Request{}, err
	}
	q.ID, q.Time = newID("R-"), s.now()
	rec := record{Time: q.Time, Kind: "request", Request: &q, Audit: &AuditEvent{Time: q.Time,
		Who: q.Requester + " <" + q.Email + ">", From: q.Client.String(), Action: "request",
		What: fmt.Sprintf("request %s: %s (%s) for department %s", q.ID, q.Name, q.Category, departmentName(q.Department))}}
	err := s.appendRecord(func(*index) (record, error) { return rec, nil })
	if IsOffline(err) {
		// The database is away: the request waits, durably, in the outbox.
		err = s.queueWorkflow(rec)
	}
	return q, err
}

// Approval is a director's decision to grant a request.
type Approval struct {
	By        string
	ByEmail   string // the approver's address: reminded before the exemption ends
	From      string // the address the decision was made from ("" for the CLI)
	ForClient bool   // the requesting client alone, not its whole department
	Category  bool   // lift the whole category, not only the blocked name
	// Domains, when given, are lifted instead of the blocked name: every
	// domain of the catalogue's service that blocked it.
	Domains   []string
	Expires   config.Date
	Reason    string
	Reference string
	// MaxDays is [policy] max_exemption in days: the expiry may be at most
	// that far away (0: no bound).
	MaxDays int
}

// The longest a field a person types may be, in characters.
const (
	MaxName      = 200  // a director's or requester's name, an e-mail address
	MaxReference = 200  // a memo number, a ticket
	MaxText      = 2000 // a reason, a note
)

// InputError is input the store refuses for what it is (too long).
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

// bounded checks fields given as (label, value, limit) triples.
func bounded(fields ...any) error {
	for i := 0; i+2 < len(fields); i += 3 {
		label, value, limit := fields[i].(string), fields[i+1].(string), fields[i+2].(int)
		if n := utf8.RuneCountInString(value); n > limit {
			return &InputError{fmt.Sprintf("the %s is %d characters long; at most %d", label, n, limit)}
		}
	}
	return nil
}

// ErrNotPending is returned for a decision on a request already decided.
var ErrNotPending = errors.New("the request is already decided")

// ErrNotFound is returned for an unknown request or exemption.
var ErrNotFound = errors.New("no such request or exemption")

// Approve grants a pending request and returns the grant. Two approvals of
// one request end in one decision: the second gets ErrNotPending.
func (s *Store) Approve(id string, a Approval) (*Grant, error) {
	if a.Expires.IsZero() {
		return nil, errors.New("an approval needs an expiry date")
	}
	if strings.TrimSpace(a.By) == "" || strings.TrimSpace(a.Reason) == "" {
		return nil, errors.New("an approval needs who approves it and a reason")
	}
	if err := bounded("who", a.By, MaxName, "reason", a.Reason, MaxText, "reference", a.Reference, MaxReference); err != nil {
		return nil, err
	}
	now := s.now()
	if a.Expires.Start(time.Local).AddDate(0, 0, 1).Before(now) {
		return nil, fmt.Errorf("expiry %s is in the past", a.Expires)
	}
	if a.MaxDays == 0 {
		a.MaxDays = s.maxDays
	}
	if last := config.DateOf(now.AddDate(0, 0, a.MaxDays)); a.MaxDays > 0 && a.Expires.String() > last.String() {
		return nil, fmt.Errorf("expiry %s is more than policy.max_exemption (%d days) away: the latest is %s", a.Expires, a.MaxDays, last)
	}
	var g *Grant
	err := s.decide(id, func(q *RequestState) record {
		g = &Grant{ID: newID("x-"), RequestID: id, Owner: q.Department, ApprovedBy: a.By, ApproverEmail: a.ByEmail, Reason: a.Reason, Reference: a.Reference, Expires: a.Expires}
		if a.ForClient || q.Department == "" {
			g.Clients = []string{q.Client.String()}
		} else {
			g.Department = q.Department
		}
		switch {
		case a.Category:
			g.Category = q.Category
		case len(a.Domains) > 0:
			g.Domains = append([]string(nil), a.Domains...)
		default:
			g.Domains = []string{q.Matched}
		}
		return record{Time: now, Kind: "approve", ID: id, By: a.By, From: a.From, Grant: g, Note: a.Reason,
			Audit: &AuditEvent{Time: now, Who: a.By, From: a.From, Action: "approve", What: fmt.Sprintf("request %s: exemption %s for %s, lifts %s, expires %s (%s; ref %s)",
				id, g.ID, grantFor(g), grantLifts(g), g.Expires, g.Reason, g.Reference)}}
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// appendRecord appends the record rec makes from the workflow as it is,
// under the journal's lock (across processes) and the store's: a decision
// checked against the latest state, so two processes deciding at once end
// in one decision. rec's error appends nothing. Only the records written
// since the last read are read first.
func (s *Store) appendRecord(rec func(*index) (record, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var r record
	err := s.workflow.update(s.idx, func() ([]any, error) {
		var err error
		if r, err = rec(s.idx); err != nil {
			return nil, err
		}
		return []any{r}, nil
	})
	if err == nil {
		s.idx.apply(&r)
		if r.Audit != nil {
			s.audited(*r.Audit)
		}
	}
	s.wrote(err)
	return err
}

// decide appends the decision rec makes on request id if the request
// exists and is still pending.
func (s *Store) decide(id string, rec func(*RequestState) record) error {
	return s.appendRecord(func(x *index) (record, error) {
		q := x.requests[id]
		switch {
		case q == nil:
			return record{}, ErrNotFound
		case q.Status != Pending:
			return record{}, fmt.Errorf("%w (%s by %s)", ErrNotPending, q.Status, q.DecidedBy)
		}
		return rec(q), nil
	})
}

// Deny refuses a pending request.
func (s *Store) Deny(id, by, from, note string) error {
	if err := bounded("who", by, MaxName, "note", note, MaxText); err != nil {
		return err
	}
	return s.decide(id, func(*RequestState) record {
		now := s.now()
		return record{Time: now, Kind: "deny", ID: id, By: by, From: from, Note: note,
			Audit: &AuditEvent{Time: now, Who: by, From: from, Action: "deny", What: "request " + id + ": " + note}}
	})
}

// Revoke ends a grant at once.
func (s *Store) Revoke(id, by, from string) error {
	err := s.appendRecord(func(x *index) (record, error) {
		g := x.grants[id]
		switch {
		case g == nil:
			return record{}, ErrNotFound
		case g.Revoked:
			return record{}, fmt.Errorf("exemption %s was already revoked by %s", id, g.RevokedBy)
		}
		now := s.now()
		return record{Time: now, Kind: "revoke", ID: id, By: by, From: from,
			Audit: &AuditEvent{Time: now, Who: by, From: from, Action: "revoke", What: "exemption " + id}}, nil
	})
	return err
}

func departmentName(d string) string {
	if d == "" {
		return "(citywide)"
	}
	return d
}

func grantFor(g *Grant) string {
	if g.Department != "" {
		return "department " + g.Department
	}
	return "clients " + strings.Join(g.Clients, ", ")
}

func grantLifts(g *Grant) string {
	if g.Category != "" {
		return "category " + g.Category
	}
	return strings.Join(g.Domains, ", ")
}

// Exemptions are the grants not revoked, as the policy takes them (dates in
// loc). Expired ones are included: they lift nothing, and explain shows them.
func (st *State) Exemptions(loc *time.Location) []*policy.Exemption {
	var out []*policy.Exemption
	for _, g := range st.Grants {
		if g.Revoked {
			continue
		}
		e := &policy.Exemption{
			ID: g.ID, Department: g.Department, Category: g.Category, Domains: g.Domains,
			ApprovedBy: g.ApprovedBy, Reason: g.Reason, Reference: g.Reference, ExpiresOn: g.Expires,
			Expires: g.Expires.Start(loc).AddDate(0, 0, 1), Source: policy.SourceStore,
		}
		for _, c := range g.Clients {
			if a, err := netip.ParseAddr(c); err == nil {
				e.Clients = append(e.Clients, netip.PrefixFrom(a, a.BitLen()))
			}
		}
		out = append(out, e)
	}
	return out
}

// Stamp identifies the journal's content cheaply (size and modification
// time), so that a watcher sees another process's writes.
func (s *Store) Stamp() string {
	if s.sh != nil {
		return fmt.Sprintf("pg %d %v", s.sh.seq.Load(), s.sh.online.Load())
	}
	fi, err := os.Stat(filepath.Join(s.dir, WorkflowFile))
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%d/%d", fi.Size(), fi.ModTime().UnixNano())
}
