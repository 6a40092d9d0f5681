package cache

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/civicdns/civicdns/dnswire"
	"github.com/miekg/dns"
)

// errReshape is readWire's answer for a message it keeps no shortcut for
// (an OPT record that is not the last record, a compression pointer that
// points forward): NewEntryWire unpacks it and packs it again.
var errReshape = errors.New("cache: answer needs unpacking")

// reshapeAbove is the size past which an answer is packed again, with
// compression, rather than kept as it came: an upstream that did not
// compress it could make it too large for clients that take 512 bytes
// (or for our 1232) where the compressed answer fits.
const reshapeAbove = 512

// NewEntryWire makes an answer in wire form, as it came from the upstream,
// a cache entry: nothing is unpacked or packed again, the bytes become the
// entry's (wire belongs to it from now on). OPT removed (it is the last
// record: cut off), the question's name in lower case, every TTL clamped
// to the maximum; freshness per RFC 2308 for negative answers (the SOA's
// TTL capped by its MINIMUM, and the SOA given it) and the lowest answer
// and authority TTL otherwise; the CNAME targets and the log's summary
// read. The message is checked as it is walked: every record within it,
// A and AAAA of their sizes, SOA and CNAME data well formed. Rare shapes
// (an OPT before other records, forward pointers) and answers larger than
// reshapeAbove are unpacked and packed again (NewEntry).
func NewEntryWire(name string, qtype, qclass uint16, bits uint8, wire []byte, lim Limits, now time.Time) (*Entry, error) {
	if len(wire) <= reshapeAbove {
		if e, err := readWire(name, qtype, qclass, bits, wire, lim, now, false); err != errReshape {
			return e, err
		}
	}
	r := new(dns.Msg)
	if err := r.Unpack(wire); err != nil {
		return nil, err
	}
	r.Question = []dns.Question{{Name: dns.Fqdn(name), Qtype: qtype, Qclass: qclass}} // the asked name, in lower case
	return NewEntry(name, qtype, qclass, bits, r, lim, now)
}

// readWire is NewEntryWire without the fallback: errReshape for the
// shapes it leaves, and for an answer that needs scrubbing (unless
// scrubbed: NewEntry's).
func readWire(name string, qtype, qclass uint16, bits uint8, wire []byte, lim Limits, now time.Time, scrubbed bool) (*Entry, error) {
	var buf [24]dnswire.Record
	recs, err := dnswire.Records(wire, buf[:0])
	if err != nil {
		return nil, err
	}
	if !scrubbed && !plainShape(wire, recs, name) {
		return nil, errReshape
	}
	qend, _ := dnswire.QuestionEnd(wire) // Records checked it
	if !dnswire.LowerQuestion(wire, qend) {
		return nil, errReshape
	}
	rcode := int(wire[3] & 0xF)
	for i, r := range recs {
		if !backwardNames(wire, &r) {
			return nil, errReshape
		}
		if r.Type != dns.TypeOPT {
			continue
		}
		if r.Section != 2 || i != len(recs)-1 {
			return nil, errReshape
		}
		rcode |= int(wire[r.TTLAt]) << 4 // the extended rcode's upper bits
		wire = wire[:r.Start]
		binary.BigEndian.PutUint16(wire[10:], binary.BigEndian.Uint16(wire[10:])-1)
		recs = recs[:i]
	}

	e, kept := newEntry(len(name) + len(wire) + 2*len(recs))
	e.Qtype, e.Qclass, e.Bits = qtype, qclass, bits
	e.Rcode, e.Stored, e.QEnd = rcode, now, qend
	maxTTL := uint32(lim.Max / time.Second)
	minTTL := ^uint32(0)
	var offBuf [24]uint16
	offs := offBuf[:0]
	ancount := 0
	var soa *dnswire.Record
	var sumBuf [96]byte
	sum := summaryOf{b: sumBuf[:0]}
	for i := range recs {
		r := &recs[i]
		ttl := min(r.TTL(wire), maxTTL)
		binary.BigEndian.PutUint32(wire[r.TTLAt:], ttl)
		offs = append(offs, uint16(r.TTLAt))
		switch r.Section {
		case 0:
			ancount++
			minTTL = min(minTTL, ttl)
			if sum, err = answerRecord(e, wire, r, sum); err != nil {
				return nil, err
			}
		case 1:
			if r.Type == dns.TypeSOA && soa == nil {
				if !soaData(wire, r) {
					return nil, dnswire.ErrFormat
				}
				soa = r
			}
		}
	}
	e.Summary = string(sum.b)
	e.Negative = rcode == dns.RcodeNameError || rcode == dns.RcodeSuccess && ancount == 0
	e.TTL = freshness(e.Negative, wire, recs, soa, minTTL, lim)
	if binary.BigEndian.Uint16(wire[2:])&dnswire.FlagAD != 0 {
		e.Flags |= dnswire.FlagAD
	}
	wire[0], wire[1] = 0, 0
	e.keep(kept, name, wire, offs)
	return e, nil
}

// freshness is how long an answer stays fresh: for a negative one the
// SOA's TTL capped by its MINIMUM and NegMax (RFC 2308; the SOA goes out
// with it), else the lowest answer (minTTL) and authority TTL, at least
// lim.Min.
func freshness(negative bool, wire []byte, recs []dnswire.Record, soa *dnswire.Record, minTTL uint32, lim Limits) time.Duration {
	if negative {
		minTTL = 0
		if soa != nil {
			// RFC 2308 §5: the SOA goes out with the negative TTL.
			minimum := binary.BigEndian.Uint32(wire[soa.End-4:])
			minTTL = min(soa.TTL(wire), minimum, uint32(lim.NegMax/time.Second))
			binary.BigEndian.PutUint32(wire[soa.TTLAt:], minTTL)
		}
		return time.Duration(minTTL) * time.Second
	}
	for i := range recs {
		if recs[i].Section == 1 {
			minTTL = min(minTTL, recs[i].TTL(wire))
		}
	}
	if minTTL == ^uint32(0) {
		minTTL = 0
	}
	return max(time.Duration(minTTL)*time.Second, lim.Min)
}

// summaryOf is what the log's summary is made of: the text so far, in a
// buffer on the stack for the common answer, and its number of parts.
type summaryOf struct {
	b     []byte
	parts int
}

// answerRecord reads what the entry keeps of an answer record: CNAME
// targets, and addresses and targets for the summary (at most maxSummary
// parts, then an ellipsis).
func answerRecord(e *Entry, wire []byte, r *dnswire.Record, sum summaryOf) (summaryOf, error) {
	const maxSummary = 4
	if n := r.End - r.Data; r.Type == dns.TypeA && n != net.IPv4len || r.Type == dns.TypeAAAA && n != net.IPv6len {
		return sum, dnswire.ErrFormat
	}
	if sum.parts > maxSummary && r.Type != dns.TypeCNAME {
		return sum, nil
	}
	start := len(sum.b)
	if sum.parts > 0 {
		sum.b = append(sum.b, ',')
	}
	switch r.Type {
	case dns.TypeA, dns.TypeAAAA:
		ip, _ := netip.AddrFromSlice(wire[r.Data:r.End])
		sum.b = ip.Unmap().AppendTo(sum.b) // as net.IP prints it: a v4-mapped address as IPv4
	case dns.TypeCNAME:
		target, next, err := dnswire.AppendNameAt(nil, wire, r.Data, false)
		if err != nil || next != r.End {
			return sum, dnswire.ErrFormat
		}
		e.CNAMEs = append(e.CNAMEs, strings.ToLower(string(target)))
		sum.b = append(append(sum.b, "cname:"...), target...)
	default:
		sum.b = sum.b[:start]
		return sum, nil
	}
	switch sum.parts++; {
	case sum.parts == maxSummary+1:
		sum.b = append(sum.b[:start], ",…"...)
	case sum.parts > maxSummary+1:
		sum.b = sum.b[:start]
	}
	return sum, nil
}

// soaData reports whether an SOA record's data is two names and 20 bytes.
func soaData(wire []byte, r *dnswire.Record) bool {
	off := r.Data
	for range 2 {
		var err error
		if off, err = dnswire.CheckName(wire, off); err != nil {
			return false
		}
	}
	return off+20 == r.End
}

// backwardNames reports whether the record's owner name, and the names in
// its data where RFC 3597 §4 lets them be compressed, point only backwards:
// cutting the message after the record then leaves them whole.
func backwardNames(wire []byte, r *dnswire.Record) bool {
	check := func(off int) (int, bool) {
		next, err := dnswire.CheckName(wire, off)
		return next, err == nil
	}
	if _, ok := check(r.Start); !ok {
		return false
	}
	off := r.Data
	switch r.Type {
	case dns.TypeNS, dns.TypeCNAME, dns.TypePTR, dns.TypeMD, dns.TypeMF, dns.TypeMB, dns.TypeMG, dns.TypeMR:
		_, ok := check(off)
		return ok
	case dns.TypeMX:
		_, ok := check(off + 2)
		return ok
	case dns.TypeSOA, dns.TypeMINFO:
		next, ok := check(off)
		if ok {
			_, ok = check(next)
		}
		return ok
	}
	return true
}
