package resolver

import (
	"context"
	"time"

	"github.com/civicdns/civicdns/cache"
	"github.com/civicdns/civicdns/dnswire"
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
	now  func() time.Time
}

func (st *upstreamStage) Name() string { return "upstream" }

// Fetch asks the upstream for a question, with recursion desired, the DO
// and CD bits of the client's query, and our EDNS buffer size, and makes
// the answer a cache entry (not stored: the cache decides).
//
// Forwarding upstreams are asked in wire form and their answer is kept as
// the bytes that came (cache.NewEntryWire): no message is built, copied,
// packed, unpacked and packed again on the miss path. Upstreams that
// read the answer (DNSSEC validation, recursion) get and give messages.
func (st *upstreamStage) Fetch(snap *live.Snapshot, qn question) (*cache.Entry, error) {
	lim := cache.LimitsOf(&snap.Config.Cache)
	if w, ok := snap.Upstream.(upstream.WireAnswerer); ok {
		return st.fetchWire(w, lim, qn)
	}
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
		return nil, err
	}
	r.Question = m.Question // the asked name, in lower case
	return st.entry(qn, r, from, lim)
}

// fetchWire is Fetch in wire form. The query is written into a buffer of
// its own: an exchange may outlive the client that asked.
func (st *upstreamStage) fetchWire(w upstream.WireAnswerer, lim cache.Limits, qn question) (*cache.Entry, error) {
	flags := dnswire.FlagRD
	if qn.bits&cache.BitCD != 0 {
		flags |= dnswire.FlagCD
	}
	var buf [maxQueryLen]byte
	wire, err := dnswire.AppendQuery(buf[:0], qn.name, qn.qtype, qn.qclass, flags, query.AdvertisedUDPSize, qn.bits&cache.BitDO != 0)
	if err != nil {
		return nil, err
	}
	ans, from, err := w.ExchangeWire(st.life, qn.name, wire)
	if err != nil {
		return nil, err
	}
	e, err := cache.NewEntryWire(qn.name, qn.qtype, qn.qclass, qn.bits, ans, lim, st.now())
	if err != nil {
		return nil, err
	}
	e.Upstream = from
	return e, nil
}

// maxQueryLen bounds a query's size: header, a name of 255 bytes, type,
// class and the OPT.
const maxQueryLen = 12 + 255 + 4 + 11

func (st *upstreamStage) entry(qn question, r *dns.Msg, from string, lim cache.Limits) (*cache.Entry, error) {
	e, err := cache.NewEntry(qn.name, qn.qtype, qn.qclass, qn.bits, r, lim, st.now())
	if err != nil {
		return nil, err
	}
	e.Upstream = from
	return e, nil
}

// Resolve answers q from the upstream without the cache.
func (st *upstreamStage) Resolve(ctx context.Context, q *query.Query) error {
	if !q.MayBlock {
		return query.ErrWouldBlock
	}
	m := &q.Msg
	e, err := st.Fetch(q.Snap, question{q.Lookup, m.QType, m.QClass, cache.Bits(m)})
	if err != nil {
		q.FailAnswer(err)
		return nil
	}
	q.WritePacked(&e.Packed, q.Received, false)
	return nil
}
