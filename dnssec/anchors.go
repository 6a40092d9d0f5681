package dnssec

import (
	_ "embed"
	"fmt"
	"os"
	"strings"

	"github.com/miekg/dns"
)

//go:embed root.ds
var rootAnchors string

// digestLen is the length in hex digits of each DS digest type civicdns uses.
var digestLen = map[uint8]int{dns.SHA1: 40, dns.SHA256: 64, dns.SHA384: 96}

// Anchors are the trust anchors: per zone, the DS records (or DNSKEYs)
// a chain of trust starts from.
type Anchors struct {
	ds   map[string][]*dns.DS
	keys map[string][]*dns.DNSKEY
}

// RootAnchors returns the built-in root anchors: KSK-2017 (20326) and
// KSK-2024 (38696), as IANA publishes them.
func RootAnchors() *Anchors {
	a, err := ParseAnchors("(built-in root anchors)", rootAnchors)
	if err != nil {
		panic(err) // the embedded file is tested
	}
	return a
}

// LoadAnchors reads a trust anchor file: DS or DNSKEY records in zone file
// format (a root.key or root.ds as DNS software ships them).
func LoadAnchors(path string) (*Anchors, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseAnchors(path, string(b))
}

// ParseAnchors reads trust anchors from zone file text; file names it in
// errors (file:line).
func ParseAnchors(file, text string) (*Anchors, error) {
	a := &Anchors{ds: map[string][]*dns.DS{}, keys: map[string][]*dns.DNSKEY{}}
	zp := dns.NewZoneParser(strings.NewReader(text), ".", file)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		switch v := rr.(type) {
		case *dns.DS:
			if want := digestLen[v.DigestType]; want == 0 || len(v.Digest) != want {
				return nil, fmt.Errorf("%s: the DS of %s with key tag %d has digest type %d and a %d-digit digest: a trust anchor needs a SHA-1, SHA-256 or SHA-384 digest of its length", file, v.Hdr.Name, v.KeyTag, v.DigestType, len(v.Digest))
			}
			name := canon(v.Hdr.Name)
			a.ds[name] = append(a.ds[name], v)
		case *dns.DNSKEY:
			if v.Flags&dns.SEP == 0 && v.Flags&dns.ZONE == 0 {
				continue
			}
			name := canon(v.Hdr.Name)
			a.keys[name] = append(a.keys[name], v)
		default:
			return nil, fmt.Errorf("%s: a trust anchor must be a DS or DNSKEY record, not %s", file, dns.TypeToString[rr.Header().Rrtype])
		}
	}
	if err := zp.Err(); err != nil {
		return nil, err
	}
	if len(a.ds) == 0 && len(a.keys) == 0 {
		return nil, fmt.Errorf("%s: no DS or DNSKEY records", file)
	}
	return a, nil
}

// Has reports whether zone has an anchor.
func (a *Anchors) Has(zone string) bool {
	zone = canon(zone)
	return len(a.ds[zone]) > 0 || len(a.keys[zone]) > 0
}

// Zones lists the anchored zones.
func (a *Anchors) Zones() []string {
	var out []string
	for z := range a.ds {
		out = append(out, z)
	}
	for z := range a.keys {
		if len(a.ds[z]) == 0 {
			out = append(out, z)
		}
	}
	return out
}

// trusts reports whether key is one of zone's anchors (directly, or by a
// DS digest).
func (a *Anchors) trusts(zone string, key *dns.DNSKEY) bool {
	zone = canon(zone)
	for _, k := range a.keys[zone] {
		if k.Algorithm == key.Algorithm && k.PublicKey == key.PublicKey && k.Flags == key.Flags {
			return true
		}
	}
	return dsMatches(a.ds[zone], key)
}

// dsMatches reports whether key's digest is one of the DS records.
func dsMatches(set []*dns.DS, key *dns.DNSKEY) bool {
	tag := key.KeyTag()
	for _, ds := range set {
		if ds.KeyTag != tag || ds.Algorithm != key.Algorithm || !digestSupported(ds.DigestType) {
			continue
		}
		if d := key.ToDS(ds.DigestType); d != nil && strings.EqualFold(d.Digest, ds.Digest) {
			return true
		}
	}
	return false
}
