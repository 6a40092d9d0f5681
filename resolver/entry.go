package resolver

import (
	"encoding/binary"
	"strings"
	"sync/atomic"
	"time"

	"github.com/civicdns/civicdns/dnswire"
	"github.com/miekg/dns"
)

// entry is one upstream answer kept in wire form, ready to be copied out with
// its ID, question case and TTLs patched.
type entry struct {
	name   string // lower case, no trailing dot
	qtype  uint16
	qclass uint16
	bits   uint8 // DO and CD of the question

	wire     []byte   // packed answer, ID 0, no OPT
	qEnd     int      // end of the question in wire
	ttlOffs  []uint16 // where each record's TTL is in wire
	rcode    int
	flags    uint16   // the answer's own header bits kept (AA off, AD)
	cnames   []string // CNAME targets in the answer section
	stored   time.Time
	ttl      time.Duration // how long it is fresh
	negative bool

	hits        atomic.Uint32
	prefetching atomic.Bool
}

const (
	bitDO uint8 = 1 << iota
	bitCD
)

func questionBits(m *dnswire.Query) uint8 {
	var b uint8
	if m.DO {
		b |= bitDO
	}
	if m.CD() {
		b |= bitCD
	}
	return b
}

// newEntry packs an upstream answer for the cache: OPT removed, every TTL
// clamped to maxTTL, and its freshness computed per RFC 2308 for negative
// answers (the SOA's TTL capped by its MINIMUM) and the lowest TTL otherwise.
func newEntry(name string, qtype, qclass uint16, bits uint8, r *dns.Msg, lim ttlLimits, now time.Time) (*entry, error) {
	e := &entry{name: name, qtype: qtype, qclass: qclass, bits: bits, rcode: r.Rcode, stored: now}
	extra := r.Extra[:0:0]
	for _, rr := range r.Extra {
		if rr.Header().Rrtype != dns.TypeOPT {
			extra = append(extra, rr)
		}
	}
	maxTTL := uint32(lim.max / time.Second)
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
			e.cnames = append(e.cnames, strings.ToLower(strings.TrimSuffix(c.Target, ".")))
		}
	}
	e.negative = r.Rcode == dns.RcodeNameError || r.Rcode == dns.RcodeSuccess && len(r.Answer) == 0
	if e.negative {
		minTTL = 0
		for _, rr := range r.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				// RFC 2308 §5: the SOA goes out with the negative TTL.
				minTTL = min(soa.Hdr.Ttl, soa.Minttl, uint32(lim.negMax/time.Second))
				soa.Hdr.Ttl = minTTL
				break
			}
		}
		e.ttl = time.Duration(minTTL) * time.Second
	} else {
		for _, rr := range r.Ns {
			minTTL = min(minTTL, rr.Header().Ttl)
		}
		if minTTL == ^uint32(0) {
			minTTL = 0
		}
		e.ttl = max(time.Duration(minTTL)*time.Second, lim.min)
	}
	if r.AuthenticatedData {
		e.flags |= dnswire.FlagAD
	}
	out := &dns.Msg{MsgHdr: r.MsgHdr, Compress: true, Question: r.Question, Answer: r.Answer, Ns: r.Ns, Extra: extra}
	out.Id = 0
	wire, err := out.Pack()
	if err != nil {
		return nil, err
	}
	e.wire = wire
	if e.ttlOffs, err = dnswire.TTLOffsets(wire, nil); err != nil {
		return nil, err
	}
	if e.qEnd, err = dnswire.QuestionEnd(wire); err != nil {
		return nil, err
	}
	return e, nil
}

// cacheable reports whether the entry may be kept: answers and negative
// answers with a lifetime; never SERVFAIL, REFUSED and the like.
func (e *entry) cacheable() bool {
	return e.ttl > 0 && (e.rcode == dns.RcodeSuccess || e.rcode == dns.RcodeNameError)
}

// fresh reports whether the entry is still within its TTL at now.
func (e *entry) fresh(now time.Time) bool { return now.Sub(e.stored) < e.ttl }

// staleTTL is the TTL of answers served stale (RFC 8767 recommends 30s).
const staleTTL = 30

// writeAnswer copies the entry into q's answer buffer as the reply to q:
// the client's ID and question (letter case included), TTLs counted down by
// the time since it was stored (or staleTTL when serving stale), the OPT if
// the client sent one, and TC with no records when it does not fit.
func (e *entry) writeAnswer(q *Query, now time.Time, stale bool) {
	b := append(q.out[:0], e.wire...)
	m := &q.Msg
	binary.BigEndian.PutUint16(b, m.ID)
	var ad uint16
	if m.DO || m.Flags&dnswire.FlagAD != 0 {
		ad = e.flags & dnswire.FlagAD
	}
	binary.BigEndian.PutUint16(b[2:], dnswire.ReplyFlags(m.Flags, ad)|uint16(e.rcode&0xF))
	if e.qEnd == m.QEnd && e.name == nameString(m.Name) {
		copy(b[12:e.qEnd], q.Raw[12:m.QEnd])
	}
	elapsed := uint32(max(now.Sub(e.stored), 0) / time.Second)
	for _, off := range e.ttlOffs {
		ttl := uint32(staleTTL)
		if !stale {
			ttl = binary.BigEndian.Uint32(e.wire[off:])
			ttl -= min(ttl, elapsed)
		}
		binary.BigEndian.PutUint32(b[off:], ttl)
	}
	if m.EDNS {
		r := dnswire.Resume(b)
		if stale {
			r.AddOPT(advertisedUDPSize, m.DO, e.rcode, int(dns.ExtendedErrorCodeStaleAnswer), "")
		} else {
			r.AddOPT(advertisedUDPSize, m.DO, e.rcode, -1, "")
		}
		b = r.Bytes()
	}
	q.Rcode = e.rcode
	q.out = b[:0]
	if len(b) > q.maxAnswer() {
		b = dnswire.TruncatedReply(b, q.Raw, m, e.rcode, advertisedUDPSize)
	}
	q.Answer = b
	q.CNAMEs = e.cnames
	q.Stale = stale
}
