package devices

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/civicdns/civicdns/config"
)

func TestTokens(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok := NewToken()
		if !WellFormed(tok) || seen[tok] {
			t.Fatalf("token %q: well formed %v, seen before %v", tok, WellFormed(tok), seen[tok])
		}
		seen[tok] = true
		k := KeyOf(tok)
		if back, ok := ParseKey(k.String()); !ok || back != k || k.IsZero() {
			t.Fatalf("key %s does not read back", k)
		}
	}
	for _, bad := range []string{"", "short", strings.Repeat("a", 25), strings.Repeat("a", 27), strings.Repeat("A", 26), strings.Repeat("a", 25) + "1", strings.Repeat("a", 25) + "-"} {
		if WellFormed(bad) {
			t.Errorf("%q taken for a token", bad)
		}
	}
	if _, ok := ParseKey("zz"); ok {
		t.Error("a short key was read")
	}
}

func TestFromServerName(t *testing.T) {
	tok := NewToken()
	cases := []struct {
		sni, name string
		ok        bool
	}{
		{tok + ".dns.city.example", "dns.city.example", true},
		{strings.ToUpper(tok) + ".DNS.City.Example", "dns.city.example", true},
		{"dns.city.example", "dns.city.example", false},
		{tok + ".dns.other.example", "dns.city.example", false},
		{tok + "x.dns.city.example", "dns.city.example", false},
		{"a." + tok + ".city.example", "dns.city.example", false},
		{tok + ".dns.city.example", "", false},
		{"", "dns.city.example", false},
		{strings.Repeat("0", 26) + ".dns.city.example", "dns.city.example", false},
	}
	for _, c := range cases {
		got, ok := FromServerName(c.sni, c.name)
		if ok != c.ok || ok && got != tok {
			t.Errorf("FromServerName(%q, %q) = %q, %v; want ok %v", c.sni, c.name, got, ok, c.ok)
		}
	}
}

func TestTable(t *testing.T) {
	a, b := KeyOf(NewToken()), KeyOf(NewToken())
	tab := NewTable([]*Device{{ID: "D-1", Name: "car 12", Department: "Police", Key: a}})
	if d := tab.Lookup(a); d == nil || d.Name != "car 12" {
		t.Fatalf("lookup: %+v", d)
	}
	if tab.Lookup(b) != nil || tab.Len() != 1 {
		t.Fatal("an unknown key was found")
	}
	var none *Table
	if none.Lookup(a) != nil || none.Len() != 0 {
		t.Fatal("a nil table knows a device")
	}
}

func FuzzFromServerName(f *testing.F) {
	f.Add(NewToken()+".dns.city.example", "dns.city.example")
	f.Add("dns.city.example", "dns.city.example")
	f.Fuzz(func(t *testing.T, sni, name string) {
		tok, ok := FromServerName(sni, name)
		if ok && (!WellFormed(tok) || !strings.EqualFold(sni, tok+"."+name)) {
			t.Fatalf("%q from %q, %q", tok, sni, name)
		}
	})
}

func TestAccessFor(t *testing.T) {
	tok := NewToken()
	srv := &config.Server{Name: "dns.city.example",
		HTTPSAddrs: []netip.AddrPort{netip.MustParseAddrPort("10.0.0.53:443")},
		TLSAddrs:   []netip.AddrPort{netip.MustParseAddrPort("10.0.0.53:853")}}
	a, err := AccessFor(srv, tok)
	if err != nil || a.DoH != "https://dns.city.example/dns-query/"+tok || a.TLSName != tok+".dns.city.example" || !a.DoT || a.DoTPort != 853 || a.DoQ {
		t.Fatalf("%+v %v", a, err)
	}
	srv.HTTPSAddrs[0] = netip.MustParseAddrPort("10.0.0.53:8443")
	if a, _ := AccessFor(srv, tok); a.DoH != "https://dns.city.example:8443/dns-query/"+tok {
		t.Fatalf("another port: %s", a.DoH)
	}
	if _, err := AccessFor(&config.Server{HTTPSAddrs: srv.HTTPSAddrs}, tok); err != ErrNoName {
		t.Fatalf("no name: %v", err)
	}
	if _, err := AccessFor(&config.Server{Name: "dns.city.example"}, tok); err == nil {
		t.Fatal("no listener, no error")
	}
}
