package recursive

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/authtest"
	"github.com/miekg/dns"
)

// world is a DNS hierarchy on loopback for the tests:
//
//	.                 signed (NSEC), the trust anchor
//	example.          signed (NSEC3 with opt-out)
//	  good.example.     signed (NSEC): two servers, one of them dead; a
//	                    wildcard; a DNAME to other.test; a CNAME to
//	                    other.test; a name only answered in full over TCP;
//	                    sub.good.example., unsigned, served by the same server
//	  nsec3.example.    signed (NSEC3, P-384), a wildcard, and an
//	                    unsigned child.nsec3.example (no opt-out)
//	  ed.example.       signed (NSEC, Ed25519)
//	  insecure.example. unsigned, no DS (an insecure delegation; example.
//	                    is NSEC3 with opt-out)
//	  bogus.example.    signed (RSA/SHA-256), one signature broken
//	  expired.example.  signed with signatures that expired yesterday
//	  future.example.   signed with signatures valid from tomorrow
//	test.             unsigned (no DS in the root)
//	  other.test.       unsigned; its server has no glue in test.
//	  evil.test.        unsigned; its server adds records for good.example
//	  loop1.test., loop2.test.  each served by a name in the other
//	  many.test.        300 name servers, none resolvable
type world struct {
	h       *authtest.Hierarchy
	hints   string
	anchor  string
	servers map[string]*authtest.Server
}

func newWorld(t *testing.T) *world {
	t.Helper()
	h := authtest.New(t)
	w := &world{h: h, servers: map[string]*authtest.Server{}}
	addr := map[string]string{}
	for _, n := range []string{"root", "example", "good", "dead", "nsec3", "insecure", "ed", "bogus", "expired", "future", "test", "other", "evil"} {
		addr[n] = h.Addr()
	}
	zone := func(origin, text string) *authtest.Zone {
		return authtest.NewZone(t, origin, "@ SOA ns.invalid. admin.invalid. 1 3600 600 86400 300\n"+text)
	}
	leaf := func(origin, ns string) *authtest.Zone {
		return zone(origin, fmt.Sprintf("@ NS ns1.%[1]s\nns1 A %[2]s\nwww A 192.0.2.1\nwww AAAA 2001:db8::1\n", origin, ns))
	}

	good := zone("good.example.", fmt.Sprintf(`@ NS ns1.good.example.
@ NS ns2.good.example.
ns1 A %s
ns2 A %s
www A 192.0.2.10
*.wild A 192.0.2.11
alias CNAME www.other.test.
inner CNAME www
big TXT "truncated over UDP"
ent.deep A 192.0.2.12
ns-other A %s
moved DNAME other.test.
sub NS ns1.good.example.
`, addr["good"], addr["dead"], addr["other"]))
	sub := zone("sub.good.example.", "@ NS ns1.good.example.\nwww A 192.0.2.14\n") // unsigned, no DS, on good's own server
	good.Sign(t, authtest.SignOptions{})
	nsec3 := leaf("nsec3.example.", addr["nsec3"])
	nsec3.Add(rr(t, "*.wild.nsec3.example. A 192.0.2.13"))
	nsec3.Add(rr(t, "child.nsec3.example. NS ns1.insecure.example."))
	nsec3.Sign(t, authtest.SignOptions{NSEC3: true, Algorithm: dns.ECDSAP384SHA384})
	child := leaf("child.nsec3.example.", addr["insecure"])
	ed := leaf("ed.example.", addr["ed"])
	ed.Sign(t, authtest.SignOptions{Algorithm: dns.ED25519})
	insecure := leaf("insecure.example.", addr["insecure"])
	bogus := leaf("bogus.example.", addr["bogus"])
	bogus.Sign(t, authtest.SignOptions{Algorithm: dns.RSASHA256})
	bogus.Corrupt("www.bogus.example.", dns.TypeA)
	expired := leaf("expired.example.", addr["expired"])
	expired.Sign(t, authtest.SignOptions{Algorithm: dns.ECDSAP384SHA384, Inception: time.Now().Add(-30 * 24 * time.Hour), Expiration: time.Now().Add(-24 * time.Hour)})
	future := leaf("future.example.", addr["future"])
	future.Sign(t, authtest.SignOptions{Inception: time.Now().Add(24 * time.Hour), Expiration: time.Now().Add(30 * 24 * time.Hour)})

	example := zone("example.", fmt.Sprintf("@ NS ns.example.\nns A %s\n", addr["example"]))
	for _, c := range []struct {
		name, ns string
		z        *authtest.Zone
	}{{"good", addr["good"], good}, {"nsec3", addr["nsec3"], nsec3}, {"insecure", addr["insecure"], nil}, {"ed", addr["ed"], ed}, {"bogus", addr["bogus"], bogus}, {"expired", addr["expired"], expired}, {"future", addr["future"], future}} {
		if c.name == "good" {
			example.Add(rr(t, "good.example. NS ns1.good.example."))
			example.Add(rr(t, "good.example. NS ns2.good.example."))
			example.Add(rr(t, "ns1.good.example. A "+addr["good"]))
			example.Add(rr(t, "ns2.good.example. A "+addr["dead"]))
		} else {
			example.Add(rr(t, fmt.Sprintf("%s.example. NS ns1.%s.example.", c.name, c.name)))
			example.Add(rr(t, fmt.Sprintf("ns1.%s.example. A %s", c.name, c.ns)))
		}
		if c.z != nil {
			example.Add(c.z.DS())
		}
	}
	example.Sign(t, authtest.SignOptions{NSEC3: true, OptOut: true})

	other := zone("other.test.", "@ NS ns-other.good.example.\nwww A 192.0.2.20\nhost A 192.0.2.21\n")
	evil := zone("evil.test.", fmt.Sprintf("@ NS ns.evil.test.\nns A %s\nwww A 192.0.2.30\n", addr["evil"]))
	test := zone("test.", fmt.Sprintf(`@ NS ns.test.
ns A %s
other NS ns-other.good.example.
evil NS ns.evil.test.
ns.evil A %s
loop1 NS ns.loop2.test.
loop2 NS ns.loop1.test.
`, addr["test"], addr["evil"]))
	for i := 0; i < 300; i++ {
		test.Add(rr(t, fmt.Sprintf("many.test. NS ns%d.nowhere.invalid.", i)))
	}
	root := zone(".", fmt.Sprintf("@ NS a.root.\na.root. A %s\nexample. NS ns.example.\nns.example. A %s\ntest. NS ns.test.\nns.test. A %s\n", addr["root"], addr["example"], addr["test"]))
	root.Add(example.DS())
	root.Sign(t, authtest.SignOptions{})

	w.servers["root"] = h.Serve(addr["root"], root)
	w.servers["example"] = h.Serve(addr["example"], example)
	w.servers["good"] = h.Serve(addr["good"], good, sub)
	w.servers["nsec3"] = h.Serve(addr["nsec3"], nsec3)
	w.servers["insecure"] = h.Serve(addr["insecure"], insecure, child)
	w.servers["ed"] = h.Serve(addr["ed"], ed)
	w.servers["bogus"] = h.Serve(addr["bogus"], bogus)
	w.servers["expired"] = h.Serve(addr["expired"], expired)
	w.servers["future"] = h.Serve(addr["future"], future)
	w.servers["test"] = h.Serve(addr["test"], test)
	w.servers["other"] = h.Serve(addr["other"], other)
	w.servers["evil"] = h.Serve(addr["evil"], evil)
	// The "dead" server never answers: queries to it time out.
	h.Serve(addr["dead"]).SetRewrite(func(bool, *dns.Msg, *dns.Msg) *dns.Msg { return nil })
	w.servers["good"].SetRewrite(func(udp bool, q, r *dns.Msg) *dns.Msg {
		if udp && strings.EqualFold(q.Question[0].Name, "big.good.example.") {
			r.Truncated, r.Answer, r.Ns = true, nil, nil
		}
		return r
	})
	w.servers["evil"].SetRewrite(func(udp bool, q, r *dns.Msg) *dns.Msg {
		poison := rr(t, "www.good.example. 86400 IN A 203.0.113.66")
		r.Answer = append(r.Answer, poison)
		r.Extra = append(r.Extra, rr(t, "ns1.good.example. 86400 IN A 203.0.113.66"))
		return r
	})
	w.hints = h.RootHints(map[string]string{"a.root.": addr["root"]})
	w.anchor = h.Anchor(root)
	return w
}

func rr(t testing.TB, s string) dns.RR {
	t.Helper()
	r, err := dns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// resolver makes a validating resolver for the world.
func (w *world) resolver(t *testing.T, mod ...func(*Options)) *Resolver {
	t.Helper()
	o := Options{RootHints: w.hints, DNSSEC: true, TrustAnchor: w.anchor, Port: w.h.Port, Timeout: 500 * time.Millisecond}
	for _, f := range mod {
		f(&o)
	}
	r, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// ask resolves name/qtype with DO set (dnssec records kept) unless noDO.
func ask(t *testing.T, r *Resolver, name string, qtype uint16, flags ...string) (*dns.Msg, error) {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	do := true
	for _, f := range flags {
		switch f {
		case "nodo":
			do = false
		case "cd":
			q.CheckingDisabled = true
		}
	}
	q.SetEdns0(1232, do)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return r.Exchange(ctx, q)
}
