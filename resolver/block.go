package resolver

import (
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/dnswire"
	"github.com/civicdns/civicdns/policy"
	"github.com/miekg/dns"
)

// blockAnswer writes the answer to a blocked query, per [block]: the block
// page's addresses for A and AAAA ("blockpage"), 0.0.0.0 and :: ("null"), or
// NXDOMAIN ("nxdomain"); other types get an empty NOERROR. Every one carries
// Extended DNS Error 15 (Blocked) naming the category, when the client
// speaks EDNS.
func (q *Query) blockAnswer(b *config.Block, d *policy.Decision) {
	rcode := dnswire.RcodeSuccess
	if d.NXDomain || b.Answer == "nxdomain" {
		rcode = dnswire.RcodeNXDomain
	}
	r := dnswire.StartReply(q.out, q.Raw, &q.Msg, rcode)
	ttl := uint32(b.TTL.D() / time.Second)
	if rcode == dnswire.RcodeSuccess {
		switch q.Msg.QType {
		case dns.TypeA:
			switch {
			case b.Answer == "null":
				r.AddAnswer(dns.TypeA, ttl, []byte{0, 0, 0, 0})
			case b.IPv4.IsValid():
				ip := b.IPv4.As4()
				r.AddAnswer(dns.TypeA, ttl, ip[:])
			}
		case dns.TypeAAAA:
			switch {
			case b.Answer == "null":
				var zero [16]byte
				r.AddAnswer(dns.TypeAAAA, ttl, zero[:])
			case b.IPv6.IsValid():
				ip := b.IPv6.As16()
				r.AddAnswer(dns.TypeAAAA, ttl, ip[:])
			}
		}
	}
	if q.Msg.EDNS {
		r.AddOPT(advertisedUDPSize, q.Msg.DO, rcode, int(dns.ExtendedErrorCodeBlocked), d.EDEText)
	}
	q.Answer = r.Bytes()
	q.out = q.Answer[:0]
	q.Rcode = rcode
}
