package cache

import (
	"encoding/binary"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/civicdns/civicdns/dnswire"
	"github.com/civicdns/civicdns/query"
	"github.com/miekg/dns"
)

// Entry is one upstream answer kept in wire form, ready to be copied out
// (query.Query.WritePacked) with its ID, question case and TTLs patched.
type Entry struct {
	// What a hit reads first, together at the front (Store.Get).
	key     uint64       // its Store key, set by Put
	touched atomic.Int64 // unix ns it was last moved to its shard's front
	gone    atomic.Bool  // evicted or replaced: Store.recent must not answer with it
	Qtype   uint16
	Qclass  uint16
	Bits    uint8 // DO and CD of the question
	query.Packed

	TTL      time.Duration // how long it is fresh
	Negative bool

	Hits        atomic.Uint32 // asked for in its lifetime (prefetch)
	Prefetching atomic.Bool
}

// The question bits that make answers differ.
const (
	BitDO uint8 = 1 << iota
	BitCD
)

// Bits returns the DO and CD bits of a query, part of its cache key.
func Bits(m *dnswire.Query) uint8 {
	var b uint8
	if m.DO {
		b |= BitDO
	}
	if m.CD() {
		b |= BitCD
	}
	return b
}

// NewEntry packs an upstream answer for the cache: OPT removed, every TTL
// clamped to maxTTL, and its freshness computed per RFC 2308 for negative
// answers (the SOA's TTL capped by its MINIMUM) and the lowest TTL otherwise.
func NewEntry(name string, qtype, qclass uint16, bits uint8, r *dns.Msg, lim Limits, now time.Time) (*Entry, error) {
	e := &Entry{Qtype: qtype, Qclass: qclass, Bits: bits}
	e.Name, e.Rcode, e.Stored = name, r.Rcode, now
	extra := r.Extra[:0:0]
	for _, rr := range r.Extra {
		if rr.Header().Rrtype != dns.TypeOPT {
			extra = append(extra, rr)
		}
	}
	maxTTL := uint32(lim.Max / time.Second)
	minTTL := ^uint32(0)
	for _, sec := range [][]dns.RR{r.Answer, r.Ns, extra} {
		for _, rr := range sec {
			h := rr.Header()
			h.Ttl = min(h.Ttl, maxTTL)
		}
	}
	for _, rr := range r.Answer {
		minTTL = min(minTTL, rr.Header().Ttl)
		if c, ok := rr.(*dns.CNAME); ok {
			e.CNAMEs = append(e.CNAMEs, strings.ToLower(strings.TrimSuffix(c.Target, ".")))
		}
	}
	e.Negative = r.Rcode == dns.RcodeNameError || r.Rcode == dns.RcodeSuccess && len(r.Answer) == 0
	if e.Negative {
		minTTL = 0
		for _, rr := range r.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				// RFC 2308 §5: the SOA goes out with the negative TTL.
				minTTL = min(soa.Hdr.Ttl, soa.Minttl, uint32(lim.NegMax/time.Second))
				soa.Hdr.Ttl = minTTL
				break
			}
		}
		e.TTL = time.Duration(minTTL) * time.Second
	} else {
		for _, rr := range r.Ns {
			minTTL = min(minTTL, rr.Header().Ttl)
		}
		if minTTL == ^uint32(0) {
			minTTL = 0
		}
		e.TTL = max(time.Duration(minTTL)*time.Second, lim.Min)
	}
	if r.AuthenticatedData {
		e.Flags |= dnswire.FlagAD
	}
	e.Summary = summary(r.Answer)
	out := &dns.Msg{MsgHdr: r.MsgHdr, Compress: true, Question: r.Question, Answer: r.Answer, Ns: r.Ns, Extra: extra}
	out.Id = 0
	wire, err := out.Pack()
	if err != nil {
		return nil, err
	}
	offs, err := dnswire.TTLOffsets(wire, nil)
	if err != nil {
		return nil, err
	}
	e.keep(name, wire, offs)
	if e.QEnd, err = dnswire.QuestionEnd(wire); err != nil {
		return nil, err
	}
	return e, nil
}

// keep lays the entry's name, answer and TTL offsets out in one
// allocation, in that order: a cache hit reads all three (Store.Get
// compares the name, WritePacked copies the answer and patches its TTLs),
// and in one place they share cache lines instead of costing a miss each.
// The name is a string over the first bytes, which nothing writes again.
func (e *Entry) keep(name string, wire []byte, offs []uint16) {
	buf := make([]byte, 0, len(name)+len(wire)+2*len(offs))
	buf = append(buf, name...)
	buf = append(buf, wire...)
	for _, off := range offs {
		buf = binary.BigEndian.AppendUint16(buf, off)
	}
	n, w := len(name), len(name)+len(wire)
	e.Name = unsafe.String(unsafe.SliceData(buf), n)
	e.Wire = buf[n:w:w]
	e.TTLOffs = buf[w:]
}

// is reports whether e answers the question.
func (e *Entry) is(name string, qtype, qclass uint16, bits uint8) bool {
	return e.Qtype == qtype && e.Qclass == qclass && e.Bits == bits && e.Name == name
}

// Cacheable reports whether the entry may be kept: answers and negative
// answers with a lifetime; never SERVFAIL, REFUSED and the like.
func (e *Entry) Cacheable() bool {
	return e.TTL > 0 && (e.Rcode == dns.RcodeSuccess || e.Rcode == dns.RcodeNameError)
}

// Fresh reports whether the entry is still within its TTL at now.
func (e *Entry) Fresh(now time.Time) bool { return now.Sub(e.Stored) < e.TTL }

// summary says what an answer holds, for the query log: CNAME targets and
// addresses, at most maxSummary of them.
func summary(answer []dns.RR) string {
	const maxSummary = 4
	var parts []string
	for _, rr := range answer {
		if len(parts) == maxSummary {
			parts = append(parts, "…")
			break
		}
		switch v := rr.(type) {
		case *dns.A:
			parts = append(parts, v.A.String())
		case *dns.AAAA:
			parts = append(parts, v.AAAA.String())
		case *dns.CNAME:
			parts = append(parts, "cname:"+strings.TrimSuffix(v.Target, "."))
		}
	}
	return strings.Join(parts, ",")
}
