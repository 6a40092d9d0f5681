package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/civicdns/civicdns/dnswire"
	"github.com/miekg/dns"
)

var wireLimits = Limits{Min: 0, Max: 3600 * time.Second, NegMax: 900 * time.Second}

// answers are upstream answers of every shape the forwarding path meets.
func answers() []*dns.Msg {
	rr := func(s string) dns.RR {
		r, err := dns.NewRR(s)
		if err != nil {
			panic(err)
		}
		return r
	}
	msg := func(name string, qtype uint16, rcode int, ans, ns, extra []dns.RR, edns bool) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		m.Response, m.RecursionAvailable, m.Rcode = true, true, rcode
		m.Answer, m.Ns, m.Extra = ans, ns, extra
		if edns {
			m.SetEdns0(1232, true)
		}
		m.Compress = true
		return m
	}
	soa := rr("example.com. 7200 IN SOA ns1.example.com. admin.example.com. 1 7200 3600 1209600 300")
	m := []*dns.Msg{
		msg("www.example.com.", dns.TypeA, 0, []dns.RR{rr("www.example.com. 300 IN A 192.0.2.1")}, nil, nil, true),
		msg("WwW.ExAmple.COM.", dns.TypeA, 0, []dns.RR{rr("WwW.ExAmple.COM. 300 IN A 192.0.2.1"), rr("www.example.com. 30 IN A 192.0.2.2")}, nil, nil, false),
		msg("a.example.com.", dns.TypeA, 0, []dns.RR{rr("a.example.com. 99999 IN CNAME B.Example.NET."), rr("b.example.net. 600 IN CNAME c.example.org."),
			rr("c.example.org. 60 IN A 192.0.2.3"), rr("c.example.org. 60 IN A 192.0.2.4"), rr("c.example.org. 60 IN A 192.0.2.5"), rr("c.example.org. 60 IN A 192.0.2.6")},
			[]dns.RR{rr("example.org. 86400 IN NS ns.example.org.")}, []dns.RR{rr("ns.example.org. 86400 IN A 192.0.2.53")}, true),
		msg("v6.example.com.", dns.TypeAAAA, 0, []dns.RR{rr("v6.example.com. 300 IN AAAA 2001:db8::1"), rr("v6.example.com. 300 IN AAAA ::ffff:192.0.2.9")}, nil, nil, true),
		msg("nx.example.com.", dns.TypeA, dns.RcodeNameError, nil, []dns.RR{soa}, nil, true),
		msg("nodata.example.com.", dns.TypeAAAA, 0, nil, []dns.RR{rr("example.com. 100 IN SOA ns1.example.com. admin.example.com. 1 7200 3600 1209600 3000")}, nil, false),
		msg("mail.example.com.", dns.TypeMX, 0, []dns.RR{rr("mail.example.com. 300 IN MX 10 mx1.example.com."), rr("mail.example.com. 300 IN MX 20 mx2.mail.example.com.")}, nil, nil, true),
		msg("txt.example.com.", dns.TypeTXT, 0, []dns.RR{rr(`txt.example.com. 300 IN TXT "v=spf1 -all" "two"`)}, nil, nil, true),
		msg("odd.example.com.", dns.TypeA, 0, []dns.RR{rr(`odd.example.com. 300 IN CNAME we\.ird\(name.example.com.`), rr(`we\.ird\(name.example.com. 300 IN A 192.0.2.7`)}, nil, nil, true),
		msg("fail.example.com.", dns.TypeA, dns.RcodeServerFailure, nil, nil, nil, true),
		msg("empty.example.com.", dns.TypeA, 0, nil, nil, nil, false),
	}
	m[2].AuthenticatedData = true
	return m
}

// NewEntryWire keeps what NewEntry keeps, for every shape of answer: the
// same freshness, rcode, flags, CNAME targets and summary, and a message
// that unpacks to the same records.
func TestNewEntryWireAsNewEntry(t *testing.T) {
	now := time.Unix(1e9, 0)
	for _, m := range answers() {
		t.Run(m.Question[0].Name, func(t *testing.T) {
			wire, err := m.Pack()
			if err != nil {
				t.Fatal(err)
			}
			q := m.Question[0]
			name := strings.ToLower(strings.TrimSuffix(q.Name, "."))
			got, err := NewEntryWire(name, q.Qtype, q.Qclass, 0, wire, wireLimits, now)
			if err != nil {
				t.Fatal(err)
			}
			r := new(dns.Msg)
			if err := r.Unpack(wire2(m)); err != nil {
				t.Fatal(err)
			}
			r.Question[0].Name = strings.ToLower(r.Question[0].Name)
			want, err := NewEntry(name, q.Qtype, q.Qclass, 0, r, wireLimits, now)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []struct {
				what      string
				got, want any
			}{
				{"TTL", got.TTL, want.TTL}, {"Negative", got.Negative, want.Negative}, {"Rcode", got.Rcode, want.Rcode},
				{"Flags", got.Flags, want.Flags}, {"CNAMEs", got.CNAMEs, want.CNAMEs}, {"Summary", got.Summary, want.Summary},
				{"QEnd", got.QEnd, want.QEnd}, {"TTL offsets", len(got.TTLOffs), len(want.TTLOffs)},
				{"records", unpacked(t, got.Wire), unpacked(t, want.Wire)},
			} {
				if !reflect.DeepEqual(f.got, f.want) {
					t.Errorf("%s: got %v, want %v", f.what, f.got, f.want)
				}
			}
			if got.Wire[0] != 0 || got.Wire[1] != 0 {
				t.Error("ID kept")
			}
			// What the answer says, read from the message itself: both
			// paths read bytes the same way, so this is the independent check.
			if ttl := wantTTL[q.Name]; got.TTL != ttl {
				t.Errorf("TTL %v, want %v", got.TTL, ttl)
			}
			if s := answerSummary(m.Answer); got.Summary != s {
				t.Errorf("summary %q, want %q", got.Summary, s)
			}
			var cnames []string
			for _, rr := range m.Answer {
				if c, ok := rr.(*dns.CNAME); ok {
					cnames = append(cnames, strings.ToLower(strings.TrimSuffix(c.Target, ".")))
				}
			}
			if !reflect.DeepEqual(got.CNAMEs, cnames) {
				t.Errorf("CNAMEs %q, want %q", got.CNAMEs, cnames)
			}
		})
	}
}

// wantTTL is each of answers()' freshness under wireLimits: the lowest
// answer and authority TTL, clamped to an hour; for a negative answer the
// SOA's TTL capped by its MINIMUM and the negative maximum (900 s).
var wantTTL = map[string]time.Duration{
	"www.example.com.": 300 * time.Second, "WwW.ExAmple.COM.": 30 * time.Second, "a.example.com.": 60 * time.Second,
	"v6.example.com.": 300 * time.Second, "nx.example.com.": 300 * time.Second, "nodata.example.com.": 100 * time.Second,
	"mail.example.com.": 300 * time.Second, "txt.example.com.": 300 * time.Second, "odd.example.com.": 300 * time.Second,
	"fail.example.com.": 0, "empty.example.com.": 0,
}

// answerSummary is what the query log says an answer holds, read from its
// records: addresses and CNAME targets, at most four, then an ellipsis.
func answerSummary(answer []dns.RR) string {
	var parts []string
	for _, rr := range answer {
		if len(parts) == 4 {
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

func wire2(m *dns.Msg) []byte {
	b, _ := m.Pack()
	return b
}

// unpacked is a message's sections as text, ID, compression and letter
// case aside (an owner name that points at the question, lower-cased, is
// lower-cased with it; WritePacked puts the client's own case there).
func unpacked(t *testing.T, wire []byte) string {
	t.Helper()
	m := new(dns.Msg)
	if err := m.Unpack(wire); err != nil {
		t.Fatalf("stored answer does not unpack: %v", err)
	}
	return strings.ToLower(fmt.Sprint(m.Question, m.Answer, m.Ns, m.Extra, m.Rcode))
}

// An OPT in the middle of the additional section, or a name pointing
// forward, is left to NewEntry.
func TestNewEntryWireLeavesOddShapes(t *testing.T) {
	m := answers()[2]
	m.Extra = append([]dns.RR{m.Extra[len(m.Extra)-1]}, m.Extra[:len(m.Extra)-1]...) // OPT first
	wire, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readWire("a.example.com", dns.TypeA, dns.ClassINET, 0, append([]byte(nil), wire...), wireLimits, time.Now(), true); !errors.Is(err, errReshape) {
		t.Fatalf("OPT first: err %v, want errReshape", err)
	}
	e, err := NewEntryWire("a.example.com", dns.TypeA, dns.ClassINET, 0, wire, wireLimits, time.Now())
	usual, _ := NewEntryWire("a.example.com", dns.TypeA, dns.ClassINET, 0, wire2(answers()[2]), wireLimits, time.Now())
	if err != nil || unpacked(t, e.Wire) != unpacked(t, usual.Wire) || e.TTL != usual.TTL {
		t.Fatalf("OPT first, packed again: %v", err)
	}
	// An uncompressed answer over 512 bytes is packed again, compressed.
	big := new(dns.Msg)
	big.SetQuestion("big.example.", dns.TypeA)
	big.Response = true
	for i := range 40 {
		big.Answer = append(big.Answer, &dns.A{Hdr: dns.RR_Header{Name: "big.example.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: []byte{192, 0, 2, byte(i)}})
	}
	if e, err := NewEntryWire("big.example", dns.TypeA, dns.ClassINET, 0, wire2(big), wireLimits, time.Now()); err != nil || len(e.Wire) >= len(wire2(big)) {
		t.Fatalf("uncompressed %d bytes kept as %d: %v", len(wire2(big)), len(e.Wire), err)
	}
	for _, bad := range [][]byte{
		append(wire2(answers()[0]), 0),               // a byte after the last record
		wire2(answers()[0])[:40],                     // cut short
		setA(wire2(answers()[0]), []byte{192, 0, 2}), // an A of three bytes
	} {
		if _, err := NewEntryWire("www.example.com", dns.TypeA, dns.ClassINET, 0, bad, wireLimits, time.Now()); err == nil || errors.Is(err, errReshape) {
			t.Errorf("malformed answer: err %v", err)
		}
	}
}

// setA rewrites the first answer record's data (an A record) to d.
func setA(wire, d []byte) []byte {
	m := new(dns.Msg)
	m.Unpack(wire)
	m.Answer[0] = &dns.RFC3597{Hdr: *m.Answer[0].Header(), Rdata: fmt.Sprintf("%x", d)}
	b, err := m.Pack()
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzNewEntryWire: whatever an upstream sends, NewEntryWire never panics;
// what it accepts is a well-formed message (every record within it, no
// OPT, a TTL offset for each record), and when miekg/dns can unpack it
// (miekg also parses the data of types the resolver only passes on),
// NewEntry reads it the same way.
func FuzzNewEntryWire(f *testing.F) {
	for _, m := range answers() {
		f.Add(wire2(m))
	}
	f.Fuzz(func(t *testing.T, wire []byte) {
		orig := append([]byte(nil), wire...)
		e, err := NewEntryWire("fuzz.example", dns.TypeA, dns.ClassINET, 0, wire, wireLimits, time.Unix(1e9, 0))
		if err != nil {
			return
		}
		recs, err := dnswire.Records(e.Wire, nil)
		if err != nil || 2*len(recs) != len(e.TTLOffs) {
			t.Fatalf("accepted a malformed answer: %v, %d records, %d bytes of TTL offsets", err, len(recs), len(e.TTLOffs))
		}
		for i, r := range recs {
			if off := int(binary.BigEndian.Uint16(e.TTLOffs[2*i:])); r.Type == dns.TypeOPT || off != r.TTLAt {
				t.Fatalf("record %d: type %d, TTL at %d, offset kept %d", i, r.Type, r.TTLAt, off)
			}
		}
		r := new(dns.Msg)
		if r.Unpack(orig) != nil {
			return // miekg is stricter on some record data it parses
		}
		want, err := NewEntry("fuzz.example", dns.TypeA, dns.ClassINET, 0, r, wireLimits, time.Unix(1e9, 0))
		if err != nil {
			return
		}
		if e.TTL != want.TTL || e.Negative != want.Negative || e.Rcode != want.Rcode || !reflect.DeepEqual(e.CNAMEs, want.CNAMEs) {
			t.Fatalf("read otherwise than NewEntry: TTL %v/%v negative %v/%v rcode %d/%d CNAMEs %q/%q",
				e.TTL, want.TTL, e.Negative, want.Negative, e.Rcode, want.Rcode, e.CNAMEs, want.CNAMEs)
		}
	})
}

// An entry and the bytes it keeps (name, answer, TTL offsets) are one
// allocation when they are small, the bytes right after the entry's
// fields; a larger answer's bytes are allocated on their own. Either way
// the entry reads as every other.
func TestEntryKeepsSmallAnswersBesideIt(t *testing.T) {
	for _, c := range []struct {
		m      *dns.Msg
		beside bool
	}{
		{answers()[0], true}, // one A record
		{answers()[2], true}, // CNAMEs, NS and glue: ~200 bytes
		{func() *dns.Msg { // 12 AAAA: past the largest size kept beside
			m := new(dns.Msg)
			m.SetQuestion("many.example.com.", dns.TypeAAAA)
			m.Response, m.Compress = true, true
			for i := 0; i < 12; i++ {
				rr, _ := dns.NewRR(fmt.Sprintf("many.example.com. 300 IN AAAA 2001:db8::%d", i))
				m.Answer = append(m.Answer, rr)
			}
			return m
		}(), false},
	} {
		wire, err := c.m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		q := c.m.Question[0]
		name := strings.ToLower(strings.TrimSuffix(q.Name, "."))
		e, err := NewEntryWire(name, q.Qtype, q.Qclass, 0, wire, wireLimits, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		after := uintptr(unsafe.Pointer(e)) + unsafe.Sizeof(*e)
		beside := uintptr(unsafe.Pointer(unsafe.StringData(e.Name))) == after
		if beside != c.beside {
			t.Errorf("%s (%d bytes kept): beside the entry %v, want %v", name, len(e.Name)+len(e.Wire)+len(e.TTLOffs), beside, c.beside)
		}
		records := len(c.m.Answer) + len(c.m.Ns) + len(c.m.Extra)
		if c.m.IsEdns0() != nil {
			records-- // the OPT is cut off
		}
		if e.Name != name || len(e.TTLOffs) != 2*records {
			t.Errorf("%s: name %q, %d TTL offsets", name, e.Name, len(e.TTLOffs)/2)
		}
		var back dns.Msg
		if err := back.Unpack(e.Wire); err != nil || len(back.Answer) != len(c.m.Answer) {
			t.Errorf("%s: the kept answer unpacks to %d records, %v", name, len(back.Answer), err)
		}
	}
}
