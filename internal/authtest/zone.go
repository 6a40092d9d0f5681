// Package authtest builds DNS hierarchies on loopback for tests: zones from
// zone-file text, signed with keys the test makes (NSEC or NSEC3, any
// algorithm civicdns validates), served by in-process authoritative servers,
// each zone on its own 127.0.0.x address, all on one port.
package authtest

import (
	"crypto"
	"slices"
	"strings"
	"time"

	"github.com/civicdns/civicdns/dnssec"
	"github.com/miekg/dns"
)

// TB is what authtest needs of a test: a testing.TB, or a program's
// stand-in (make bench serves a hierarchy with this package).
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
	TempDir() string
}

// Zone is one zone's records, signed or not.
type Zone struct {
	Origin string
	sets   map[key][]dns.RR
	sigs   map[key][]dns.RR
	byName map[string][]uint16 // the types at each name
	above  map[string]bool     // names with other names below them
	nsecs  []string            // NSEC owners, in canonical order
	nsec3  *dns.NSEC3PARAM
	optOut bool
	ksk    *dns.DNSKEY
	signed bool
}

type key struct {
	name  string
	rtype uint16
}

// NewZone parses zone-file text (with $TTL defaulting to 3600) for origin.
func NewZone(t TB, origin, text string) *Zone {
	t.Helper()
	z := &Zone{Origin: dns.CanonicalName(origin), sets: map[key][]dns.RR{}, sigs: map[key][]dns.RR{}, byName: map[string][]uint16{}, above: map[string]bool{}}
	zp := dns.NewZoneParser(strings.NewReader("$TTL 3600\n"+text), z.Origin, "")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		z.Add(rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("zone %s: %v", origin, err)
	}
	return z
}

// Add puts a record in the zone (before signing).
func (z *Zone) Add(rr dns.RR) {
	h := rr.Header()
	h.Name = dns.CanonicalName(h.Name)
	k := key{h.Name, h.Rrtype}
	if len(z.sets[k]) == 0 {
		z.byName[h.Name] = append(z.byName[h.Name], h.Rrtype)
		if h.Rrtype != dns.TypeNSEC3 {
			for p := h.Name; p != z.Origin && p != "."; {
				p = dnssec.Parent(p)
				z.above[p] = true
			}
		}
	}
	z.sets[k] = append(z.sets[k], rr)
}

// SignOptions say how a zone is signed.
type SignOptions struct {
	Algorithm  uint8 // default ECDSAP256SHA256
	NSEC3      bool
	OptOut     bool      // NSEC3 opt-out: unsigned delegations get no NSEC3
	Inception  time.Time // default an hour ago
	Expiration time.Time // default in 30 days
}

// Sign makes a KSK and a ZSK, adds the DNSKEYs, the NSEC or NSEC3 chain, and
// signs every authoritative RRset (not delegations' NS nor glue).
func (z *Zone) Sign(t TB, o SignOptions) {
	t.Helper()
	if o.Algorithm == 0 {
		o.Algorithm = dns.ECDSAP256SHA256
	}
	if o.Inception.IsZero() {
		o.Inception = time.Now().Add(-time.Hour)
	}
	if o.Expiration.IsZero() {
		o.Expiration = time.Now().Add(30 * 24 * time.Hour)
	}
	bits := map[uint8]int{dns.RSASHA256: 2048, dns.RSASHA512: 2048, dns.ECDSAP256SHA256: 256, dns.ECDSAP384SHA384: 384, dns.ED25519: 256}[o.Algorithm]
	newKey := func(flags uint16) (*dns.DNSKEY, crypto.Signer) {
		for {
			k := &dns.DNSKEY{Hdr: dns.RR_Header{Name: z.Origin, Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600}, Flags: flags, Protocol: 3, Algorithm: o.Algorithm}
			priv, err := k.Generate(bits)
			if err != nil {
				t.Fatal(err)
			}
			// miekg/dns takes key tag 0 for "unset" and will not sign with
			// it: one key in 65,536 is made again.
			if k.KeyTag() != 0 {
				return k, priv.(crypto.Signer)
			}
		}
	}
	ksk, kskPriv := newKey(dns.ZONE | dns.SEP)
	zsk, zskPriv := newKey(dns.ZONE)
	z.ksk = ksk
	z.Add(ksk)
	z.Add(zsk)
	if o.NSEC3 {
		z.nsec3 = &dns.NSEC3PARAM{Hdr: dns.RR_Header{Name: z.Origin, Rrtype: dns.TypeNSEC3PARAM, Class: dns.ClassINET}, Hash: dns.SHA1, Iterations: 0}
		z.optOut = o.OptOut
		z.addNSEC3(o.OptOut)
	} else {
		z.addNSEC()
	}
	for k, set := range z.sets {
		if z.glue(k.name) || z.cut(k.name) && k.rtype != dns.TypeDS && k.rtype != dns.TypeNSEC && k.rtype != dns.TypeNSEC3 {
			continue
		}
		signer, priv := zsk, zskPriv
		if k.rtype == dns.TypeDNSKEY {
			signer, priv = ksk, kskPriv
		}
		sig := &dns.RRSIG{Hdr: dns.RR_Header{Name: k.name, Rrtype: dns.TypeRRSIG, Class: dns.ClassINET, Ttl: set[0].Header().Ttl},
			KeyTag: signer.KeyTag(), SignerName: z.Origin, Algorithm: o.Algorithm,
			Inception: uint32(o.Inception.Unix()), Expiration: uint32(o.Expiration.Unix())}
		if err := sig.Sign(priv, set); err != nil {
			t.Fatalf("sign %s %s: %v", k.name, dns.TypeToString[k.rtype], err)
		}
		z.sigs[k] = []dns.RR{sig}
	}
	z.signed = true
}

// DS is the DS record of a signed zone's KSK, for its parent.
func (z *Zone) DS() *dns.DS { return z.ksk.ToDS(dns.SHA256) }

// Anchor is the zone's KSK as a trust anchor file's text.
func (z *Zone) Anchor() string { return z.DS().String() + "\n" }

// Corrupt flips a bit of the signature over name/rtype (a bogus zone).
func (z *Zone) Corrupt(name string, rtype uint16) {
	for _, rr := range z.sigs[key{dns.CanonicalName(name), rtype}] {
		sig := rr.(*dns.RRSIG)
		b := []byte(sig.Signature)
		if b[4] == 'A' {
			b[4] = 'B'
		} else {
			b[4] = 'A'
		}
		sig.Signature = string(b)
	}
}

// cut reports whether name is a delegation point of the zone.
func (z *Zone) cut(name string) bool {
	return name != z.Origin && len(z.sets[key{name, dns.TypeNS}]) > 0
}

// cutAbove is the delegation point at or above name, if any.
func (z *Zone) cutAbove(name string) string {
	for n := name; n != z.Origin && dns.IsSubDomain(z.Origin, n); n = dnssec.Parent(n) {
		if z.cut(n) {
			return n
		}
	}
	return ""
}

// glue reports whether name is below a delegation point (not authoritative).
func (z *Zone) glue(name string) bool {
	c := z.cutAbove(name)
	return c != "" && c != name
}

// names lists the zone's authoritative owner names in canonical order.
func (z *Zone) names() []string {
	seen := map[string]bool{}
	var out []string
	for k := range z.sets {
		if !seen[k.name] && !z.glue(k.name) {
			seen[k.name] = true
			out = append(out, k.name)
		}
	}
	slices.SortFunc(out, dnssec.CanonicalCompare)
	return out
}

func (z *Zone) types(name string) []uint16 { return slices.Clone(z.byName[name]) }

func (z *Zone) bitmap(name string, extra ...uint16) []uint16 {
	ts := append(z.types(name), extra...)
	if !z.cut(name) || len(z.sets[key{name, dns.TypeDS}]) > 0 {
		ts = append(ts, dns.TypeRRSIG)
	}
	slices.Sort(ts)
	return slices.Compact(ts)
}

func (z *Zone) addNSEC() {
	names := z.names()
	z.nsecs = names
	for i, n := range names {
		next := names[(i+1)%len(names)]
		z.Add(&dns.NSEC{Hdr: dns.RR_Header{Name: n, Rrtype: dns.TypeNSEC, Class: dns.ClassINET, Ttl: 300}, NextDomain: next, TypeBitMap: z.bitmap(n, dns.TypeNSEC)})
	}
}

func (z *Zone) addNSEC3(optOut bool) {
	z.Add(z.nsec3)
	names := z.names()
	all := map[string]bool{}
	for _, n := range names {
		if optOut && z.cut(n) && len(z.sets[key{n, dns.TypeDS}]) == 0 {
			continue
		}
		all[n] = true
		for p := dnssec.Parent(n); p != z.Origin && dns.IsSubDomain(z.Origin, p); p = dnssec.Parent(p) {
			all[p] = true // empty non-terminals
		}
	}
	type hashed struct{ hash, name string }
	var hs []hashed
	for n := range all {
		hs = append(hs, hashed{dns.HashName(n, dns.SHA1, 0, ""), n})
	}
	slices.SortFunc(hs, func(a, b hashed) int { return strings.Compare(a.hash, b.hash) })
	var flags uint8
	if optOut {
		flags = 1
	}
	for i, h := range hs {
		next := hs[(i+1)%len(hs)].hash
		var bm []uint16
		if len(z.types(h.name)) > 0 {
			bm = z.bitmap(h.name)
		}
		z.Add(&dns.NSEC3{Hdr: dns.RR_Header{Name: strings.ToLower(h.hash) + "." + z.Origin, Rrtype: dns.TypeNSEC3, Class: dns.ClassINET, Ttl: 300},
			Hash: dns.SHA1, Flags: flags, Iterations: 0, SaltLength: 0, Salt: "", HashLength: 20, NextDomain: next, TypeBitMap: bm})
	}
}
