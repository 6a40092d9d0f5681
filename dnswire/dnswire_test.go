package dnswire

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func pack(t testing.TB, m *dns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseQuery(t *testing.T) {
	t.Parallel()
	escaped := new(dns.Msg)
	escaped.SetQuestion(`we\.ird\032na\\me.Example.`, dns.TypeTXT)
	withOPT := new(dns.Msg)
	withOPT.SetQuestion("WWW.Example.COM.", dns.TypeAAAA)
	withOPT.SetEdns0(4096, true)
	withOPT.CheckingDisabled = true
	root := new(dns.Msg)
	root.SetQuestion(".", dns.TypeNS)

	for _, tc := range []struct {
		name     string
		msg      *dns.Msg
		wantName string
		qtype    uint16
		edns     bool
		do, cd   bool
		size     uint16
	}{
		{"lower-cased, no trailing dot", withOPT, "www.example.com", dns.TypeAAAA, true, true, true, 4096},
		{"escapes as miekg/dns writes them", escaped, `we\.ird\ na\\me.example`, dns.TypeTXT, false, false, false, 0},
		{"the root", root, "", dns.TypeNS, false, false, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var q Query
			if err := ParseQuery(pack(t, tc.msg), &q); err != nil {
				t.Fatal(err)
			}
			if string(q.Name) != tc.wantName || q.QType != tc.qtype || q.EDNS != tc.edns || q.DO != tc.do || q.CD() != tc.cd || q.UDPSize != tc.size {
				t.Errorf("got name %q type %d edns %v do %v cd %v size %d", q.Name, q.QType, q.EDNS, q.DO, q.CD(), q.UDPSize)
			}
			if q.ID != tc.msg.Id || !q.RD() {
				t.Errorf("header: id %d rd %v", q.ID, q.RD())
			}
		})
	}
}

func TestParseQueryRejects(t *testing.T) {
	t.Parallel()
	good := pack(t, func() *dns.Msg { m := new(dns.Msg); m.SetQuestion("a.example.", dns.TypeA); return m }())
	resp := append([]byte(nil), good...)
	resp[2] |= 0x80
	pointer := append(append([]byte(nil), good[:12]...), 0xC0, 0x0C, 0, 1, 0, 1)
	twoOPT := new(dns.Msg)
	twoOPT.SetQuestion("a.example.", dns.TypeA)
	twoOPT.SetEdns0(1232, false)
	twoOPT.Extra = append(twoOPT.Extra, twoOPT.Extra[0])
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"short", good[:11], ErrShort},
		{"response", resp, ErrNotQuery},
		{"cut in the name", good[:15], ErrFormat},
		{"cut in the type", good[:len(good)-1], ErrFormat},
		{"pointer in the question", pointer, ErrFormat},
		{"two OPT", pack(t, twoOPT), ErrFormat},
	} {
		var q Query
		if err := ParseQuery(tc.b, &q); err != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestReplies(t *testing.T) {
	t.Parallel()
	m := new(dns.Msg)
	m.SetQuestion("Blocked.Example.", dns.TypeA)
	m.SetEdns0(1232, true)
	raw := pack(t, m)
	var q Query
	if err := ParseQuery(raw, &q); err != nil {
		t.Fatal(err)
	}
	r := StartReply(nil, raw, &q, RcodeSuccess)
	r.AddAnswer(dns.TypeA, 60, []byte{10, 0, 0, 53})
	if err := r.AddCNAME(60, "safe.example."); err != nil {
		t.Fatal(err)
	}
	r.AddOPT(1232, true, 0, 15, "Blocked (gambling)")
	got := new(dns.Msg)
	if err := got.Unpack(r.Bytes()); err != nil {
		t.Fatal(err)
	}
	if got.Id != m.Id || !got.Response || got.Question[0].Name != "Blocked.Example." || len(got.Answer) != 2 {
		t.Fatalf("reply %v", got)
	}
	if a := got.Answer[0].(*dns.A); a.A.String() != "10.0.0.53" || a.Hdr.Name != "Blocked.Example." || a.Hdr.Ttl != 60 {
		t.Errorf("A %v", a)
	}
	if c := got.Answer[1].(*dns.CNAME); c.Target != "safe.example." {
		t.Errorf("CNAME %v", c)
	}
	opt := got.IsEdns0()
	if opt == nil || !opt.Do() || len(opt.Option) != 1 {
		t.Fatalf("OPT %v", opt)
	}
	if e := opt.Option[0].(*dns.EDNS0_EDE); e.InfoCode != 15 || e.ExtraText != "Blocked (gambling)" {
		t.Errorf("EDE %v", e)
	}

	bad := new(dns.Msg)
	if err := bad.Unpack(ErrorReply(nil, raw, &q, RcodeBadVers, -1, "", 1232)); err != nil || bad.Rcode != dns.RcodeBadVers {
		t.Errorf("BADVERS reply %v %v", bad, err)
	}
	tc := new(dns.Msg)
	if err := tc.Unpack(TruncatedReply(nil, raw, &q, 0, 1232)); err != nil || !tc.Truncated || len(tc.Question) != 1 {
		t.Errorf("truncated reply %v %v", tc, err)
	}
	if _, err := AppendName(nil, strings.Repeat("a", 64)+".com"); err == nil {
		t.Error("AppendName accepted a 64-byte label")
	}
}

// Records finds each record's TTL (the cache counts them down in stored
// bytes), the OPT's among them as a record of its own type.
func TestRecordTTLs(t *testing.T) {
	t.Parallel()
	m := new(dns.Msg)
	m.SetQuestion("x.example.", dns.TypeA)
	m.Response = true
	for _, s := range []string{"x.example. 100 IN CNAME y.example.", "y.example. 200 IN A 192.0.2.1"} {
		rr, _ := dns.NewRR(s)
		m.Answer = append(m.Answer, rr)
	}
	m.Compress = true
	m.SetEdns0(1232, false)
	b := pack(t, m)
	recs, err := Records(b, nil)
	if err != nil || len(recs) != 3 || recs[2].Type != TypeOPT || recs[2].Section != 2 {
		t.Fatalf("records %v %v (the OPT must be the third)", recs, err)
	}
	for i, want := range []uint32{100, 200} {
		if got := recs[i].TTL(b); got != want {
			t.Errorf("TTL %d at %d, want %d", got, recs[i].TTLAt, want)
		}
	}
}

// FuzzParseQuery checks that no input makes the parser panic, that what it
// accepts miekg/dns reads the same way, and that every reply it writes parses.
func FuzzParseQuery(f *testing.F) {
	for _, name := range []string{"www.example.com.", `a\.b.example.`, "."} {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		f.Add(pack(f, m))
		m.SetEdns0(1232, true)
		f.Add(pack(f, m))
	}
	f.Add([]byte{0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var q Query
		if err := ParseQuery(b, &q); err != nil {
			if err == ErrFormat {
				if _, err := new(dns.Msg).SetRcode(new(dns.Msg), 1).Pack(); err != nil {
					t.Fatal(err)
				}
				r := new(dns.Msg)
				if err := r.Unpack(HeaderOnlyReply(nil, b, RcodeFormErr)); err != nil {
					t.Fatalf("FORMERR reply does not parse: %v", err)
				}
			}
			return
		}
		m := new(dns.Msg)
		if m.Unpack(b) == nil && len(m.Question) == 1 {
			want := strings.ToLower(strings.TrimSuffix(m.Question[0].Name, "."))
			if want != string(q.Name) || m.Question[0].Qtype != q.QType {
				t.Fatalf("name %q type %d; miekg/dns reads %q type %d", q.Name, q.QType, want, m.Question[0].Qtype)
			}
		}
		r := new(dns.Msg)
		if err := r.Unpack(ErrorReply(nil, b, &q, RcodeRefused, 15, "x", 1232)); err != nil {
			t.Fatalf("error reply does not parse: %v", err)
		}
		if r.Id != q.ID || r.Rcode != RcodeRefused {
			t.Fatalf("error reply header %v", r.MsgHdr)
		}
	})
}
