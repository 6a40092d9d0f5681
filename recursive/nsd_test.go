package recursive

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/authtest"
	"github.com/miekg/dns"
)

// The hierarchy served by a real authoritative server, NSD: its referrals,
// glue, NSEC and NSEC3 proofs, wildcards and DNAME as NSD makes them, from
// zones signed by the test.
//
//	.                signed (NSEC), the trust anchor
//	example.         signed (NSEC3): leaf.example. (signed), plain.example. (unsigned)
//	leaf.example.    signed (NSEC): www, a wildcard, a DNAME, a CNAME
func TestAgainstNSD(t *testing.T) {
	h := authtest.New(t)
	rootAddr, exAddr, leafAddr := h.Addr(), h.Addr(), h.Addr()
	soa := "@ SOA ns.invalid. admin.invalid. 1 3600 600 86400 300\n"
	plain := authtest.NewZone(t, "plain.example.", soa+"@ NS ns.plain.example.\nwww A 192.0.2.3\n")
	leaf := authtest.NewZone(t, "leaf.example.", soa+fmt.Sprintf("@ NS ns\nns A %s\nwww A 192.0.2.1\nwww AAAA 2001:db8::1\n*.wild A 192.0.2.2\nold DNAME plain.example.\nalias CNAME www\n", leafAddr))
	leaf.Sign(t, authtest.SignOptions{})
	ex := authtest.NewZone(t, "example.", soa+fmt.Sprintf("@ NS ns\nns A %s\nleaf NS ns.leaf\nns.leaf A %s\nplain NS ns.plain\nns.plain A %s\n", exAddr, leafAddr, leafAddr))
	ex.Add(leaf.DS())
	ex.Sign(t, authtest.SignOptions{NSEC3: true})
	plain.Add(rr(t, "ns.plain.example. A "+leafAddr))
	root := authtest.NewZone(t, ".", soa+fmt.Sprintf("@ NS a.root.\na.root. A %s\nexample. NS ns.example.\nns.example. A %s\n", rootAddr, exAddr))
	root.Add(ex.DS())
	root.Sign(t, authtest.SignOptions{})
	h.ServeNSD(rootAddr, root)
	h.ServeNSD(exAddr, ex)
	h.ServeNSD(leafAddr, leaf, plain)

	r, err := New(Options{RootHints: h.RootHints(map[string]string{"a.root.": rootAddr}), DNSSEC: true, TrustAnchor: h.Anchor(root), Port: h.Port, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		q     string
		qtype uint16
		rcode int
		want  string
		ad    bool
	}{
		{"www.leaf.example.", dns.TypeA, dns.RcodeSuccess, "192.0.2.1", true},
		{"www.leaf.example.", dns.TypeMX, dns.RcodeSuccess, "", true},
		{"nope.leaf.example.", dns.TypeA, dns.RcodeNameError, "", true},
		{"nope.example.", dns.TypeA, dns.RcodeNameError, "", true},
		{"a.b.wild.leaf.example.", dns.TypeA, dns.RcodeSuccess, "192.0.2.2", true},
		{"alias.leaf.example.", dns.TypeAAAA, dns.RcodeSuccess, "2001:db8::1", true},
		{"www.old.leaf.example.", dns.TypeA, dns.RcodeSuccess, "192.0.2.3", false},
		{"www.plain.example.", dns.TypeA, dns.RcodeSuccess, "192.0.2.3", false},
	} {
		m, err := ask(t, r, c.q, c.qtype)
		if err != nil {
			t.Errorf("%s %s: %v", c.q, dns.TypeToString[c.qtype], err)
			continue
		}
		if m.Rcode != c.rcode || strings.Join(addrs(m), ",") != c.want || m.AuthenticatedData != c.ad {
			t.Errorf("%s %s: %s %v AD %v, want %s %q AD %v\n%v", c.q, dns.TypeToString[c.qtype], dns.RcodeToString[m.Rcode], addrs(m), m.AuthenticatedData,
				dns.RcodeToString[c.rcode], c.want, c.ad, m)
		}
	}
}
