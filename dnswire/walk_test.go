package dnswire

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestAppendQuery(t *testing.T) {
	b, err := AppendQuery(nil, "www.example.com", dns.TypeAAAA, dns.ClassINET, FlagRD|FlagCD, 1232, true)
	if err != nil {
		t.Fatal(err)
	}
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		t.Fatal(err)
	}
	opt := m.IsEdns0()
	if m.Id != 0 || m.Response || !m.RecursionDesired || !m.CheckingDisabled || len(m.Question) != 1 ||
		m.Question[0] != (dns.Question{Name: "www.example.com.", Qtype: dns.TypeAAAA, Qclass: dns.ClassINET}) ||
		opt == nil || opt.UDPSize() != 1232 || !opt.Do() || len(m.Answer)+len(m.Ns) != 0 || len(m.Extra) != 1 {
		t.Fatalf("query reads back as %v", m)
	}
	if b, err := AppendQuery(nil, "", dns.TypeNS, dns.ClassINET, FlagRD, 1232, false); err != nil || b[12] != 0 {
		t.Fatalf("the root: %v %x", err, b)
	}
	if _, err := AppendQuery(nil, "a..example", dns.TypeA, dns.ClassINET, FlagRD, 1232, false); err == nil {
		t.Fatal("an empty label was written")
	}
	// Names as the parser gives them: escapes written back as their bytes.
	for _, name := range []string{`o\.dd\(x.example`, `\000\255a.example`, `back\\slash.example.`, `a\ b.example`, `back\\.`, `dot\.`} {
		b, err := AppendQuery(nil, name, dns.TypeA, dns.ClassINET, FlagRD, 1232, false)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		m := new(dns.Msg)
		if err := m.Unpack(b); err != nil || m.Question[0].Name != dns.Fqdn(name) {
			t.Errorf("%s reads back as %v: %v", name, m.Question, err)
		}
	}
	for _, bad := range []string{`a\`, `\999.example`, strings.Repeat("a", 64) + ".example", strings.Repeat("abcdefghi.", 26)} {
		if _, err := AppendQuery(nil, bad, dns.TypeA, dns.ClassINET, FlagRD, 1232, false); err == nil {
			t.Errorf("%q written", bad)
		}
	}
}

func TestAppendNameAt(t *testing.T) {
	m := new(dns.Msg)
	m.SetQuestion("Mail.Example.COM.", dns.TypeMX)
	m.Answer = []dns.RR{
		&dns.CNAME{Hdr: dns.RR_Header{Name: "Mail.Example.COM.", Rrtype: dns.TypeCNAME, Class: dns.ClassINET}, Target: `o\.dd\(x.Example.COM.`},
	}
	m.Compress = true
	b := pack(t, m)
	recs, err := Records(b, nil)
	if err != nil || len(recs) != 1 {
		t.Fatalf("records: %v %v", recs, err)
	}
	r := recs[0]
	for _, tc := range []struct {
		lower bool
		want  string
	}{{false, `o\.dd\(x.Example.COM`}, {true, `o\.dd\(x.example.com`}} {
		name, next, err := AppendNameAt(nil, b, r.Data, tc.lower)
		if err != nil || string(name) != tc.want || next != r.End {
			t.Errorf("lower %v: %q next %d (want %q, %d): %v", tc.lower, name, next, tc.want, r.End, err)
		}
		if next2, err := CheckName(b, r.Data); err != nil || next2 != next {
			t.Errorf("CheckName: %d %v", next2, err)
		}
	}
	// A pointer must point backwards: forwards or at itself could loop.
	for _, ptr := range []int{r.Data, len(b) - 1} {
		bad := append([]byte(nil), b...)
		binary.BigEndian.PutUint16(bad[r.Data:], 0xC000|uint16(ptr))
		if _, _, err := AppendNameAt(nil, bad, r.Data, false); err == nil {
			t.Errorf("pointer to %d (name at %d) accepted", ptr, r.Data)
		}
	}
	// A name longer than 255 bytes on the wire.
	long := []byte{}
	for range 5 {
		long = append(long, 63)
		long = append(long, make([]byte, 63)...)
	}
	if _, _, err := AppendNameAt(nil, append(long, 0), 0, false); err == nil {
		t.Error("a 321-byte name accepted")
	}
}

func TestRecordsRejects(t *testing.T) {
	m := new(dns.Msg)
	m.SetQuestion("a.example.", dns.TypeA)
	m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "a.example.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: []byte{192, 0, 2, 1}}}
	b := pack(t, m)
	if recs, err := Records(b, nil); err != nil || len(recs) != 1 || recs[0].TTL(b) != 60 {
		t.Fatalf("%v %v", recs, err)
	}
	for name, bad := range map[string][]byte{
		"cut in a record":      b[:len(b)-2],
		"a byte after the end": append(append([]byte(nil), b...), 0),
		"two questions":        func() []byte { c := append([]byte(nil), b...); c[5] = 2; return c }(),
		"a record too many":    func() []byte { c := append([]byte(nil), b...); c[7] = 2; return c }(),
	} {
		if _, err := Records(bad, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestLowerQuestionAndSameQuestion(t *testing.T) {
	q := new(dns.Msg)
	q.SetQuestion("WwW.Example.COM.", dns.TypeA)
	wire, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	qend, err := QuestionEnd(wire)
	if err != nil {
		t.Fatal(err)
	}
	mixed := append([]byte(nil), wire...)
	if !LowerQuestion(wire, qend) {
		t.Fatal("a plain question name was not lower-cased")
	}
	var lowered dns.Msg
	if err := lowered.Unpack(wire); err != nil || lowered.Question[0].Name != "www.example.com." {
		t.Fatalf("lowered: %v, %v", lowered.Question, err)
	}
	if !SameQuestion(wire, mixed, qend) || !SameQuestion(mixed, wire, qend) {
		t.Error("the same question in another letter case differs")
	}
	other := append([]byte(nil), wire...)
	other[qend-3] = 28 // the type's low byte: AAAA instead of A
	if SameQuestion(wire, other, qend) {
		t.Error("another type is the same question")
	}
	if SameQuestion(wire, wire[:qend-1], qend) {
		t.Error("a shorter message holds the question")
	}
	compressed := append([]byte(nil), wire[:12]...)
	compressed = append(compressed, 0xC0, 12, 0, 1, 0, 1)
	if LowerQuestion(compressed, len(compressed)) {
		t.Error("a compressed question name was taken")
	}
}

// FuzzAppendNameRoundTrip writes back every name ParseQuery reads: the
// presentation form it gives (escapes included), with or without the
// trailing dot, is the question's name in wire form again.
func FuzzAppendNameRoundTrip(f *testing.F) {
	for _, name := range []string{"www.example.com.", `we\.ird\000name.example.`, `back\\.`, `a\"b.\255.`, "."} {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		b, _ := m.Pack()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		var q Query
		if ParseQuery(msg, &q) != nil {
			return
		}
		lowered := append(make([]byte, headerLen), msg[headerLen:q.QEnd-4]...) // the name, as q.Name has it
		LowerQuestion(lowered, len(lowered))
		want := lowered[headerLen:]
		for _, name := range []string{string(q.Name), string(q.Name) + "."} {
			got, err := AppendName(nil, name)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%q: %x (%v), want %x", name, got, err, want)
			}
		}
	})
}
