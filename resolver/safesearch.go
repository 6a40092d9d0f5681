package resolver

import (
	"time"

	"github.com/civicdns/civicdns/dnswire"
	"github.com/miekg/dns"
)

// safeSearch answers q with a CNAME to the search engine's safe-search host
// followed by that host's own records (from the cache or the upstream), as
// a recursive resolver would have followed the CNAME itself.
func (st *cacheStage) safeSearch(q *Query, target string) error {
	m := &q.Msg
	e, how, err := st.entryFor(q, target, m.QType, m.QClass, questionBits(m))
	if err == errWouldBlock {
		return err
	}
	if err != nil {
		q.Err = err
		q.errorAnswer(dnswire.RcodeServFail, int(dns.ExtendedErrorCodeNoReachableAuthority), "no upstream answered")
		return nil
	}
	now := q.Received
	e.writeAnswer(q, now, how == fromStale) // the target's answer, TTLs counted down
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
	if m.EDNS {
		out.SetEdns0(advertisedUDPSize, m.DO)
	}
	out.Compress = true
	wire, err := out.PackBuffer(q.out[:0])
	if err != nil {
		return err
	}
	if len(wire) > q.maxAnswer() {
		wire = dnswire.TruncatedReply(wire, q.Raw, m, out.Rcode, advertisedUDPSize)
	}
	q.Answer, q.out, q.Rcode, q.Cached = wire, wire[:0], out.Rcode, how != fromUpstream
	q.CNAMEs = nil
	return nil
}
