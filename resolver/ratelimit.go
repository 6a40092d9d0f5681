package resolver

import (
	"strconv"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/dnswire"
	"github.com/civicdns/civicdns/internal/ratelimit"
	"github.com/civicdns/civicdns/live"
	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/query"
)

// limiterState is the limiter built from one configuration's
// [server.rate_limit]: a reload that brings a new configuration builds a
// new one (the buckets start full again).
type limiterState struct {
	src *config.RateLimit
	lim *ratelimit.Clients
}

// limiterFor is the limiter of snap's configuration, or nil when off.
func (s *Server) limiterFor(snap *live.Snapshot) *ratelimit.Clients {
	cfg := &snap.Config.Server.RateLimit
	if cfg.Queries <= 0 {
		return nil
	}
	if st := s.limiter.Load(); st != nil && st.src == cfg {
		return st.lim
	}
	st := &limiterState{src: cfg, lim: ratelimit.NewClients(ratelimit.Config{
		Queries: cfg.Queries, Burst: cfg.Burst, Slip: cfg.Slip, IPv6Prefix: cfg.IPv6Prefix, Exempt: cfg.ExemptPrefixes, LogOnly: cfg.LogOnly,
	}, 0)}
	s.limiter.Store(st)
	return st.lim
}

// overLimit counts q against its client's rate limit: an enrolled
// device's token, or a served client's address (the access stage refuses
// the others, and they never fill the table). Over it, q gets the over-limit answer and reply says whether one
// goes out: UDP an empty TC=1 every slip-th query (the client retries over
// TCP) and nothing otherwise; streams REFUSED with EDE 18; DoH turns the
// Limited action into HTTP 429.
func (s *Server) overLimit(q *query.Query) (limited, reply bool) {
	lim := s.limiterFor(q.Snap)
	if lim == nil {
		return false, false
	}
	var r ratelimit.Result
	if !q.Token.IsZero() {
		if q.Device = q.Snap.Devices.Lookup(q.Token); q.Device == nil {
			return false, false
		}
		r = lim.TakeKey([16]byte(q.Token[:16]), q.Received)
	} else {
		if q.Served = q.Snap.Policy.Served(q.Client.Addr()); !q.Served {
			return false, false
		}
		r = lim.Take(q.Client.Addr(), q.Received)
	}
	if !r.Over {
		return false, false
	}
	s.metrics.rateLimited.WithLabelValues(q.TransportName()).Inc()
	if r.Report {
		who := lim.Key(q.Client.Addr()).String()
		if dev := q.Device; dev != nil {
			who = "device " + dev.ID + " " + strconv.Quote(dev.Name) + " at " + who
		}
		s.log.Warn("client over the rate limit", "client", who, "queries_over", r.Count,
			"transport", q.TransportName(), "log_only", lim.Config().LogOnly)
	}
	if r.Verdict == ratelimit.Allow { // log_only
		return false, false
	}
	q.Decision.Action = policy.Limited
	switch {
	case q.TCP:
		q.ErrorAnswer(dnswire.RcodeRefused, edeProhibited, "rate limited")
		return true, true
	case r.Verdict == ratelimit.Slip:
		q.SetAnswer(dnswire.TruncatedReply(q.Out(), q.Raw, &q.Msg, dnswire.RcodeSuccess, query.AdvertisedUDPSize), dnswire.RcodeSuccess)
		return true, true
	}
	return true, false
}
