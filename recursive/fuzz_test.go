package recursive

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/civicdns/civicdns/dnssec"
	"github.com/miekg/dns"
)

// fixedSource answers every DS and DNSKEY question with one message.
type fixedSource struct{ m *dns.Msg }

func (s fixedSource) LookupDNSSEC(context.Context, string, uint16) (*dns.Msg, error) {
	return s.m, nil
}

// FuzzReferralAndAnswer feeds arbitrary server answers to the referral,
// lame, bailiwick, chain and validation code. Whatever a server sends:
// nothing panics; a referral only ever hands on to a zone below the one
// asked and above the name, with glue only for its own name servers inside
// the asked zone; nothing outside the zone survives the bailiwick filter;
// and with an anchor whose private key nobody has, no answer validates.
func FuzzReferralAndAnswer(f *testing.F) {
	seed := func(build func(m *dns.Msg)) {
		m := new(dns.Msg)
		m.SetQuestion("www.example.", dns.TypeA)
		m.Response = true
		build(m)
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	mustRR := func(s string) dns.RR {
		r, err := dns.NewRR(s)
		if err != nil {
			f.Fatal(err)
		}
		return r
	}
	seed(func(m *dns.Msg) { // a referral with glue, and poison beside it
		m.Ns = []dns.RR{mustRR("example. 3600 IN NS ns.example."), mustRR("evil. 3600 IN NS ns.evil.")}
		m.Extra = []dns.RR{mustRR("ns.example. 3600 IN A 192.0.2.1"), mustRR("ns.evil. 3600 IN A 203.0.113.1")}
	})
	seed(func(m *dns.Msg) { // an answer with a CNAME chain and a DNAME
		m.Authoritative = true
		m.Answer = []dns.RR{mustRR("www.example. 300 IN CNAME a.example."), mustRR("a.example. 300 IN A 192.0.2.2"),
			mustRR("b.example. 300 IN DNAME c.example."), mustRR("victim. 300 IN A 203.0.113.2")}
	})
	seed(func(m *dns.Msg) { // a signed-looking negative answer
		m.Authoritative = true
		m.Rcode = dns.RcodeNameError
		m.Ns = []dns.RR{mustRR("example. 300 IN SOA ns.example. admin.example. 1 2 3 4 300"),
			mustRR("a.example. 300 IN NSEC z.example. A RRSIG NSEC"),
			mustRR("example. 300 IN RRSIG SOA 13 1 300 20300101000000 20200101000000 12345 example. AAAA"),
			mustRR("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example. 300 IN NSEC3 1 1 0 - 2t7b4g4vsa5smi47k61mv5bv1a22bojr A RRSIG")}
	})
	seed(func(m *dns.Msg) { // DS and DNSKEY with signatures
		m.Answer = []dns.RR{mustRR("example. 300 IN DS 12345 13 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D"),
			mustRR("example. 300 IN DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ=="),
			mustRR("www.example. 300 IN RRSIG A 13 2 300 20300101000000 20200101000000 12345 example. AAAA")}
	})

	r, err := New(Options{DNSSEC: false, Now: func() time.Time { return time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		f.Fatal(err)
	}
	anchor, err := dnssec.ParseAnchors("fuzz", "example. IN DS 12345 13 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m := new(dns.Msg)
		if m.Unpack(b) != nil {
			return
		}
		for _, zone := range []string{".", "example."} {
			name := "www.example."
			if d := r.referral(m, zone, name); d != nil {
				if d.zone == zone || !dns.IsSubDomain(zone, d.zone) || !dns.IsSubDomain(d.zone, name) {
					t.Fatalf("referral from %s for %s to %s", zone, name, d.zone)
				}
				for ns := range d.addrs {
					if !dns.IsSubDomain(zone, ns) || !slices.Contains(d.ns, ns) {
						t.Fatalf("glue for %s believed from %s", ns, zone)
					}
				}
			}
			lame(m, zone, name)
			kept := inBailiwick(m, zone)
			for _, sec := range [][]dns.RR{kept.Answer, kept.Ns, kept.Extra} {
				for _, rr := range sec {
					if !dns.IsSubDomain(zone, dns.CanonicalName(rr.Header().Name)) {
						t.Fatalf("%v kept for zone %s", rr, zone)
					}
				}
			}
			chain(kept, name, dns.TypeA)
		}
		v := dnssec.NewValidator(anchor, fixedSource{m}, r.now)
		secure, err := v.Validate(context.Background(), inBailiwick(m, "example."), "www.example.", dns.TypeA, "example.")
		if secure && err == nil {
			t.Fatalf("validated without the anchor's private key:\n%v", m)
		}
	})
}

// FuzzParseHints: any hints text is read or refused, never a panic; what is
// read names the root's servers with at least one address.
func FuzzParseHints(f *testing.F) {
	f.Add(builtinHints)
	f.Add(". 3600 NS a.root.\na.root. 3600 A 127.0.0.1\n")
	f.Add("example. NS a.root.\n")
	f.Fuzz(func(t *testing.T, text string) {
		d, err := parseHints("fuzz", text)
		if err != nil {
			return
		}
		n := 0
		for _, a := range d.addrs {
			n += len(a)
		}
		if d.zone != "." || n == 0 {
			t.Fatalf("accepted hints without an address: %+v", d)
		}
	})
}
