package resolver

import (
	"context"

	"github.com/civicdns/civicdns/cache"
	"github.com/civicdns/civicdns/live"
	"github.com/civicdns/civicdns/query"
	"github.com/civicdns/civicdns/upstream"
	"github.com/miekg/dns"
)

// upstreamStage is the chain's last link: it asks the snapshot's upstream
// (forwarding groups by zone, or a recursive resolver) one question. The
// cache calls Fetch on a miss; as a Stage of its own it answers a query
// directly, uncached. An exchange is bound to the server's life, not to
// one client: several may be waiting for it.
type upstreamStage struct {
	life context.Context
}

func (st *upstreamStage) Name() string { return "upstream" }

// Fetch asks the upstream for a question, with recursion desired, the DO
// and CD bits of the client's query, and our EDNS buffer size.
func (st *upstreamStage) Fetch(snap *live.Snapshot, qn question) (*dns.Msg, string, error) {
	m := new(dns.Msg)
	fqdn := qn.name + "."
	if qn.name == "" {
		fqdn = "."
	}
	m.Question = []dns.Question{{Name: fqdn, Qtype: qn.qtype, Qclass: qn.qclass}}
	m.RecursionDesired = true
	m.CheckingDisabled = qn.bits&cache.BitCD != 0
	m.SetEdns0(query.AdvertisedUDPSize, qn.bits&cache.BitDO != 0)
	var r *dns.Msg
	var from string
	var err error
	if a, ok := snap.Upstream.(upstream.Answerer); ok {
		r, from, err = a.ExchangeFrom(st.life, m)
	} else {
		r, err = snap.Upstream.Exchange(st.life, m)
		from = snap.Upstream.Address()
	}
	if err != nil {
		return nil, "", err
	}
	r.Question = m.Question // the asked name, in lower case
	return r, from, nil
}

// Resolve answers q from the upstream without the cache.
func (st *upstreamStage) Resolve(ctx context.Context, q *query.Query) error {
	if !q.MayBlock {
		return query.ErrWouldBlock
	}
	m := &q.Msg
	r, from, err := st.Fetch(q.Snap, question{q.Lookup, m.QType, m.QClass, cache.Bits(m)})
	if err == nil {
		var e *cache.Entry
		if e, err = cache.NewEntry(q.Lookup, m.QType, m.QClass, cache.Bits(m), r, cache.LimitsOf(&q.Snap.Config.Cache), q.Received); err == nil {
			e.Upstream = from
			q.WritePacked(&e.Packed, q.Received, false)
			return nil
		}
	}
	q.FailAnswer(err)
	return nil
}
