package query

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/dnswire"
	"github.com/civicdns/civicdns/localzones"
	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/upstream"
	"github.com/miekg/dns"
)

// Every answer civicdns writes is written here: errors, failures mapped
// from their cause, blocks, and answers copied from their stored wire form.

// ErrorAnswer writes a bodiless answer with rcode (and an Extended DNS
// Error when edeCode >= 0).
func (q *Query) ErrorAnswer(rcode, edeCode int, edeText string) {
	q.SetAnswer(dnswire.ErrorReply(q.Out(), q.Raw, &q.Msg, rcode, edeCode, edeText, AdvertisedUDPSize), rcode)
}

// Failure is how an error that stopped a query is told to the client.
type Failure struct {
	Rcode int
	EDE   int // Extended DNS Error (RFC 8914)
	Text  string
}

// FailureFor maps why a query could not be answered to its rcode and
// Extended DNS Error. It is the one place this is decided:
//
//	timeout              SERVFAIL, EDE 22 No Reachable Authority
//	network error        SERVFAIL, EDE 23 Network Error
//	upstream REFUSED     SERVFAIL, EDE 18 Prohibited (civicdns is not allowed to ask it)
//	upstream SERVFAIL    SERVFAIL, EDE 22 No Reachable Authority (it could not resolve either)
//	DNSSEC bogus         SERVFAIL, EDE 6 DNSSEC Bogus
//	signature expired    SERVFAIL, EDE 7 Signature Expired
//	not yet valid        SERVFAIL, EDE 8 Signature Not Yet Valid
//	anything else        SERVFAIL, EDE 0 Other
//
// The text names the upstream when one failed, so that an admin reading a
// client's dig output knows where to look.
func FailureFor(err error) Failure {
	f := Failure{Rcode: dnswire.RcodeServFail, EDE: int(dns.ExtendedErrorCodeOther), Text: "resolution failed"}
	where := ""
	var ue *upstream.Error
	if errors.As(err, &ue) {
		where = "upstream " + ue.Upstream + " "
		if ue.Upstream == "" {
			where = "upstreams "
		}
	}
	switch upstream.KindOf(err) {
	case upstream.KindTimeout:
		f.EDE, f.Text = int(dns.ExtendedErrorCodeNoReachableAuthority), where+"timed out"
	case upstream.KindNetwork:
		f.EDE, f.Text = int(dns.ExtendedErrorCodeNetworkError), where+"unreachable"
	case upstream.KindRefused:
		f.EDE, f.Text = int(dns.ExtendedErrorCodeProhibited), where+"refused the query"
	case upstream.KindServFail:
		f.EDE, f.Text = int(dns.ExtendedErrorCodeNoReachableAuthority), where+"answered SERVFAIL"
	case upstream.KindBogus:
		f.EDE, f.Text = int(dns.ExtendedErrorCodeDNSBogus), "DNSSEC validation failed"
	case upstream.KindSigExpired:
		f.EDE, f.Text = int(dns.ExtendedErrorCodeSignatureExpired), "DNSSEC signature expired"
	case upstream.KindSigNotYetValid:
		f.EDE, f.Text = int(dns.ExtendedErrorCodeSignatureNotYetValid), "DNSSEC signature not yet valid"
	}
	return f
}

// FailAnswer answers q with the failure err maps to (FailureFor), and keeps
// err for the logs.
func (q *Query) FailAnswer(err error) {
	f := FailureFor(err)
	q.Err = err
	q.ErrorAnswer(f.Rcode, f.EDE, f.Text)
}

// BlockAnswer writes the answer to a blocked query, per [block]: the block
// page's addresses for A and AAAA ("blockpage"), 0.0.0.0 and :: ("null"), or
// NXDOMAIN ("nxdomain"); other types get an empty NOERROR. Every one carries
// Extended DNS Error 15 (Blocked) naming the category, when the client
// speaks EDNS.
func (q *Query) BlockAnswer(b *config.Block, d *policy.Decision) {
	rcode := dnswire.RcodeSuccess
	if d.NXDomain || b.Answer == "nxdomain" {
		rcode = dnswire.RcodeNXDomain
	}
	r := dnswire.StartReply(q.Out(), q.Raw, &q.Msg, rcode)
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
		r.AddOPT(AdvertisedUDPSize, q.Msg.DO, rcode, int(dns.ExtendedErrorCodeBlocked), d.EDEText)
	}
	q.SetAnswer(r.Bytes(), rcode)
}

// Packed is an answer kept in wire form (a cache entry), ready to be copied
// out to any client that asks the same question.
type Packed struct {
	Name    string // the question's name: lower case, no trailing dot
	Wire    []byte // the answer, ID 0, no OPT
	QEnd    int    // end of the question in Wire
	TTLOffs []byte // where each record's TTL is in Wire: big-endian uint16s
	Rcode   int
	Flags   uint16    // the answer's own header bits kept (AD)
	CNAMEs  []string  // CNAME targets in the answer section
	Stored  time.Time // when it was received: TTLs count down from here
	// Summary is what the answer says, for the query log: its addresses
	// and CNAME targets ("192.0.2.1,192.0.2.2", "cname:a.example,192.0.2.1").
	Summary string
	// Upstream is the server that gave the answer.
	Upstream string
}

// StaleTTL is the TTL of answers served stale (RFC 8767 recommends 30s).
const StaleTTL = 30

// WritePacked copies p into q's answer buffer as the reply to q: the
// client's ID and question (letter case included), TTLs counted down by the
// time since it was stored (or StaleTTL when serving stale), the OPT if the
// client sent one (with EDE 3 Stale Answer when stale), and TC with no
// records when it does not fit.
func (q *Query) WritePacked(p *Packed, now time.Time, stale bool) {
	b := append(q.Out(), p.Wire...)
	m := &q.Msg
	binary.BigEndian.PutUint16(b, m.ID)
	var ad uint16
	if m.DO || m.Flags&dnswire.FlagAD != 0 {
		ad = p.Flags & dnswire.FlagAD
	}
	binary.BigEndian.PutUint16(b[2:], dnswire.ReplyFlags(m.Flags, ad)|uint16(p.Rcode&0xF))
	if p.QEnd == m.QEnd && p.Name == NameString(m.Name) {
		copy(b[12:p.QEnd], q.Raw[12:m.QEnd])
	}
	elapsed := uint32(max(now.Sub(p.Stored), 0) / time.Second)
	for i := 0; i+1 < len(p.TTLOffs); i += 2 {
		off := binary.BigEndian.Uint16(p.TTLOffs[i:])
		ttl := uint32(StaleTTL)
		if !stale {
			ttl = binary.BigEndian.Uint32(p.Wire[off:])
			ttl -= min(ttl, elapsed)
		}
		binary.BigEndian.PutUint32(b[off:], ttl)
	}
	if m.EDNS {
		r := dnswire.Resume(b)
		if stale {
			r.AddOPT(AdvertisedUDPSize, m.DO, p.Rcode, int(dns.ExtendedErrorCodeStaleAnswer), "")
		} else {
			r.AddOPT(AdvertisedUDPSize, m.DO, p.Rcode, -1, "")
		}
		b = r.Bytes()
	}
	q.SetAnswer(b, p.Rcode)
	if len(b) > q.MaxAnswer() {
		q.Answer = dnswire.TruncatedReply(b, q.Raw, m, p.Rcode, AdvertisedUDPSize)
	}
	q.CNAMEs = p.CNAMEs
	q.Summary, q.Upstream = p.Summary, p.Upstream
	q.Stale = stale
}

// LocalAnswer writes the answer of a locally served zone, or the NXDOMAIN
// of a wpad or isatap name (with Extended DNS Error 15, Blocked, saying so).
func (q *Query) LocalAnswer(m localzones.Match) {
	name := q.Name()
	rcode := m.Rcode(name)
	r := dnswire.StartReply(q.Out(), q.Raw, &q.Msg, rcode)
	m.Write(&r, name, q.Msg.QType)
	if q.Msg.EDNS {
		if m.WPAD {
			r.AddOPT(AdvertisedUDPSize, q.Msg.DO, rcode, int(dns.ExtendedErrorCodeBlocked), "Blocked (wpad: the global query block list)")
		} else {
			r.AddOPT(AdvertisedUDPSize, q.Msg.DO, rcode, -1, "")
		}
	}
	q.SetAnswer(r.Bytes(), rcode)
}
