package resolver

import (
	"context"
	"time"

	"github.com/civicdns/civicdns/dnswire"
	"github.com/civicdns/civicdns/query"
	"github.com/miekg/dns"
)

// safeSearchStage answers a search engine's name, for a department with
// safe search, as a recursive resolver would a CNAME to its safe-search
// host: it rewrites the name the cache and upstream are asked (q.Lookup) to
// the safe host, and on the way back prepends the CNAME to that host's
// answer, under the client's own question.
type safeSearchStage struct {
	next query.Handler
}

func (st *safeSearchStage) Name() string { return "safesearch" }

func (st *safeSearchStage) Resolve(ctx context.Context, q *query.Query) error {
	target := q.Decision.SafeSearch
	if target == "" {
		return st.next.Resolve(ctx, q)
	}
	q.Lookup = target
	if err := st.next.Resolve(ctx, q); err != nil {
		return err
	}
	if q.Err != nil && !q.Stale {
		return nil // a failure: already answered under the client's question
	}
	q.CNAMEs = nil // the safe host is the policy's own choice
	return prependCNAME(q, target)
}

// prependCNAME rewrites the safe host's answer in q as the answer to the
// client's question: its question, then a CNAME to target, then the host's
// records. It allocates (miekg/dns); safe-search answers are few.
func prependCNAME(q *query.Query, target string) error {
	m := &q.Msg
	got := new(dns.Msg)
	if err := got.Unpack(q.Answer); err != nil {
		return err
	}
	out := new(dns.Msg)
	out.SetReply(&dns.Msg{MsgHdr: dns.MsgHdr{Id: m.ID, Opcode: m.Opcode(), RecursionDesired: m.RD(), CheckingDisabled: m.CD()},
		Question: []dns.Question{{Name: m.FQDN(), Qtype: m.QType, Qclass: m.QClass}}})
	out.RecursionAvailable = true
	out.Rcode = got.Rcode
	ttl := uint32(time.Hour / time.Second)
	for _, rr := range got.Answer {
		ttl = min(ttl, rr.Header().Ttl)
	}
	out.Answer = append([]dns.RR{&dns.CNAME{
		Hdr:    dns.RR_Header{Name: m.FQDN(), Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: ttl},
		Target: dns.Fqdn(target),
	}}, got.Answer...)
	out.Ns = got.Ns
	out.Extra = nil
	if m.EDNS {
		out.SetEdns0(query.AdvertisedUDPSize, m.DO)
		if q.Stale {
			opt := out.IsEdns0()
			opt.Option = append(opt.Option, &dns.EDNS0_EDE{InfoCode: dns.ExtendedErrorCodeStaleAnswer})
		}
	}
	out.Compress = true
	wire, err := out.PackBuffer(q.Out())
	if err != nil {
		return err
	}
	if len(wire) > q.MaxAnswer() {
		wire = dnswire.TruncatedReply(wire, q.Raw, m, out.Rcode, query.AdvertisedUDPSize)
	}
	q.SetAnswer(wire, out.Rcode)
	return nil
}
