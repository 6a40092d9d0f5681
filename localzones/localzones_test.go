package localzones

import (
	"strings"
	"testing"

	"github.com/civicdns/civicdns/dnswire"
	"github.com/miekg/dns"
)

// answer is what the set answers name/qtype with, parsed back.
func answer(t *testing.T, s *Set, name string, qtype uint16) (*dns.Msg, bool) {
	t.Helper()
	m := s.Lookup(name)
	if !m.Local() {
		return nil, false
	}
	raw, _ := new(dns.Msg).SetQuestion(dns.Fqdn(name), qtype).Pack()
	var q dnswire.Query
	if err := dnswire.ParseQuery(raw, &q); err != nil {
		t.Fatal(err)
	}
	rcode := m.Rcode(name)
	r := dnswire.StartReply(nil, raw, &q, rcode)
	m.Write(&r, name, qtype)
	msg := new(dns.Msg)
	if err := msg.Unpack(r.Bytes()); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return msg, true
}

func summary(msg *dns.Msg) string {
	out := dns.RcodeToString[msg.Rcode]
	for _, rr := range msg.Answer {
		out += " " + strings.ReplaceAll(rr.String(), "\t", " ")
	}
	for _, rr := range msg.Ns {
		out += " | " + rr.Header().Name + " " + dns.TypeToString[rr.Header().Rrtype]
	}
	return out
}

func TestLocalAnswers(t *testing.T) {
	t.Parallel()
	s, err := Compile(Options{BlockWPAD: true, Forwarded: []string{"10.in-addr.arpa", "corp.home.arpa", "city.internal"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		qtype uint16
		want  string // "" : not local
	}{
		{"localhost", dns.TypeA, "NOERROR localhost. 10800 IN A 127.0.0.1"},
		{"printer.localhost", dns.TypeAAAA, "NOERROR printer.localhost. 10800 IN AAAA ::1"},
		{"localhost", dns.TypeMX, "NOERROR | localhost. SOA"},
		{"1.0.0.127.in-addr.arpa", dns.TypePTR, "NOERROR 1.0.0.127.in-addr.arpa. 10800 IN PTR localhost."},
		{"2.0.0.127.in-addr.arpa", dns.TypePTR, "NXDOMAIN | 127.in-addr.arpa. SOA"},
		{"0.0.127.in-addr.arpa", dns.TypePTR, "NOERROR | 127.in-addr.arpa. SOA"}, // above a record: no data, not no name
		{ip6Reverse("1"), dns.TypePTR, "NOERROR " + ip6Reverse("1") + ". 10800 IN PTR localhost."},
		{"4.3.168.192.in-addr.arpa", dns.TypePTR, "NXDOMAIN | 168.192.in-addr.arpa. SOA"},
		{"168.192.in-addr.arpa", dns.TypeNS, "NOERROR 168.192.in-addr.arpa. 10800 IN NS localhost."},
		{"168.192.in-addr.arpa", dns.TypeSOA, "NOERROR 168.192.in-addr.arpa. 10800 IN SOA localhost. nobody.invalid. 1 3600 1200 604800 10800"},
		{"1.2.20.172.in-addr.arpa", dns.TypePTR, "NXDOMAIN | 20.172.in-addr.arpa. SOA"},
		{"1.2.32.172.in-addr.arpa", dns.TypePTR, ""}, // 172.32/16 is public
		{"1.1.100.100.in-addr.arpa", dns.TypePTR, "NXDOMAIN | 100.100.in-addr.arpa. SOA"},
		{"printer.local", dns.TypeA, "NXDOMAIN | local. SOA"},
		{"router.home.arpa", dns.TypeA, "NXDOMAIN | home.arpa. SOA"},
		{"dc1.corp.home.arpa", dns.TypeA, ""},      // the city's own zone wins
		{"4.3.2.10.in-addr.arpa", dns.TypePTR, ""}, // forwarded to the AD servers
		{"x.invalid", dns.TypeA, "NXDOMAIN | invalid. SOA"},
		{"ipv4only.arpa", dns.TypeA, "NOERROR ipv4only.arpa. 10800 IN A 192.0.0.170 ipv4only.arpa. 10800 IN A 192.0.0.171"},
		{"ipv4only.arpa", dns.TypeAAAA, "NOERROR | ipv4only.arpa. SOA"},
		{"wpad.city.example", dns.TypeA, "NXDOMAIN"},
		{"isatap", dns.TypeA, "NXDOMAIN"},
		{"wpad.city.internal", dns.TypeA, ""}, // the city's own WPAD, under its zone
		{"www.example.com", dns.TypeA, ""},
		{"arpa", dns.TypeSOA, ""},
		{"in-addr.arpa", dns.TypeNS, ""},
	} {
		msg, ok := answer(t, s, c.name, c.qtype)
		got := ""
		if ok {
			got = summary(msg)
			if c.want != "NXDOMAIN" && !msg.Authoritative {
				t.Errorf("%s: not authoritative", c.name)
			}
		}
		if got != c.want {
			t.Errorf("%s %s:\n got %s\nwant %s", c.name, dns.TypeToString[c.qtype], got, c.want)
		}
	}
}

func TestOffAndNoWPAD(t *testing.T) {
	t.Parallel()
	s, err := Compile(Options{Off: []string{"local.", "10.IN-ADDR.ARPA"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"printer.local", "1.2.3.10.in-addr.arpa", "wpad.city.example"} {
		if s.Lookup(n).Local() {
			t.Errorf("%s is answered locally", n)
		}
	}
	if _, err := Compile(Options{Off: []string{"local", "city.example"}}); err == nil || !strings.Contains(err.Error(), "city.example: not a locally served zone") {
		t.Errorf("an unknown zone: %v", err)
	}
}

func TestLookupAndAnswerDoNotAllocate(t *testing.T) {
	s, _ := Compile(Options{BlockWPAD: true})
	raw, _ := new(dns.Msg).SetQuestion("4.3.168.192.in-addr.arpa.", dns.TypePTR).Pack()
	var q dnswire.Query
	dnswire.ParseQuery(raw, &q)
	buf := make([]byte, 0, 512)
	allocs := testing.AllocsPerRun(1000, func() {
		for _, n := range []string{"www.example.com", "4.3.168.192.in-addr.arpa", "localhost", "wpad.example.com"} {
			m := s.Lookup(n)
			r := dnswire.StartReply(buf, raw, &q, m.Rcode(n))
			m.Write(&r, n, dns.TypePTR)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations", allocs)
	}
}

func BenchmarkLookupNotLocal(b *testing.B) {
	s, _ := Compile(Options{BlockWPAD: true, Forwarded: []string{"city.internal"}})
	for b.Loop() {
		s.Lookup("www.example.com")
	}
}
