package blockpage

import (
	"net/http"
	"time"
)

// Status lookups per client: enough for a person reloading the page, not
// for a script walking request IDs.
const (
	lookupBurst      = 20
	lookupsPerSecond = 1
	maxRequestID     = 16 // "R-" and 8 base-32 characters, with room
)

// RequestStatus is what the public status page shows of a request: the
// decision and, for an approval, the exemption's last day. Nothing a
// director wrote (a reason, a note) and nothing of the requester's.
type RequestStatus struct {
	ID         string    `json:"id"`
	Time       time.Time `json:"time"`
	Name       string    `json:"name"`
	Category   string    `json:"category"`
	Department string    `json:"department"`
	Status     string    `json:"status"`
	DecidedAt  time.Time `json:"decided_at,omitzero"`
	Expires    string    `json:"expires,omitempty"` // approved: the exemption's last day
}

// status answers /.civicdns/request/ID from the store's index: one map
// lookup, however many requests there are, and rate limited per client.
func (s *Server) status(w http.ResponseWriter, r *http.Request, id string) {
	client := clientOf(r)
	if !s.lookups.Allow(client.String()) {
		s.metrics.requests.WithLabelValues("rate_limited").Inc()
		w.Header().Set("Retry-After", "5")
		if wantsJSON(r) {
			writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "too many lookups from this device; try again in a few seconds"})
			return
		}
		s.render(w, http.StatusTooManyRequests, "status", pageData{Facts: s.facts(client, ""), Error: "Too many lookups from this device. Try again in a few seconds."})
		return
	}
	view, err := s.lookup(id)
	if err != nil {
		s.log.Error("reading exemption requests", "err", err)
		http.Error(w, "the requests cannot be read now", http.StatusInternalServerError)
		return
	}
	if view == nil {
		if wantsJSON(r) {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such request"})
			return
		}
		s.render(w, http.StatusNotFound, "status", pageData{Facts: s.facts(client, ""), Error: "There is no such request."})
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, view)
		return
	}
	s.render(w, http.StatusOK, "status", pageData{Facts: s.facts(client, ""), Request: view})
}

// lookup is the public view of request id, or nil.
func (s *Server) lookup(id string) (*RequestStatus, error) {
	if s.store == nil || len(id) > maxRequestID {
		return nil, nil
	}
	rs, err := s.store.Request(id)
	if err != nil || rs == nil {
		return nil, err
	}
	view := &RequestStatus{ID: rs.ID, Time: rs.Time, Name: rs.Name, Category: rs.Category, Department: rs.Department,
		Status: rs.Status, DecidedAt: rs.DecidedAt}
	if rs.Exemption != "" {
		g, err := s.store.Grant(rs.Exemption)
		if err != nil {
			return nil, err
		}
		if g != nil {
			view.Expires = g.Expires.String()
		}
	}
	return view, nil
}
