package dnssec

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// The algorithms and digests civicdns validates (RFC 8624's MUST and
// RECOMMENDED). A zone signed only with others is treated as unsigned.
func algorithmSupported(alg uint8) bool {
	switch alg {
	case dns.RSASHA1, dns.RSASHA1NSEC3SHA1, dns.RSASHA256, dns.RSASHA512,
		dns.ECDSAP256SHA256, dns.ECDSAP384SHA384, dns.ED25519:
		return true
	}
	return false
}

func digestSupported(d uint8) bool {
	return d == dns.SHA1 || d == dns.SHA256 || d == dns.SHA384
}

// Failure is why an answer is bogus. Kind says which of the three Extended
// DNS Errors it is.
type Failure struct {
	Kind   FailureKind
	Reason string
}

func (f *Failure) Error() string { return "DNSSEC: " + f.Reason }

// FailureKind tells bogus answers apart for the client (EDE 6, 7, 8).
type FailureKind int

// The kinds of validation failure.
const (
	Bogus FailureKind = iota
	SignatureExpired
	SignatureNotYetValid
)

func bogus(format string, args ...any) *Failure {
	return &Failure{Kind: Bogus, Reason: fmt.Sprintf(format, args...)}
}

// rrset is one owner, type and class with the signatures that cover it.
type rrset struct {
	rrs  []dns.RR
	sigs []*dns.RRSIG
}

func (s *rrset) name() string  { return s.rrs[0].Header().Name }
func (s *rrset) rtype() uint16 { return s.rrs[0].Header().Rrtype }

type setKey struct {
	name  string
	rtype uint16
}

// rrsets groups a section into RRsets, each with its RRSIGs, in the order
// they first appear. RRSIGs covering nothing in the section are dropped.
func rrsets(section []dns.RR) []*rrset {
	var out []*rrset
	index := map[setKey]*rrset{}
	for _, rr := range section {
		h := rr.Header()
		if h.Rrtype == dns.TypeRRSIG || h.Rrtype == dns.TypeOPT {
			continue
		}
		k := setKey{canon(h.Name), h.Rrtype}
		s := index[k]
		if s == nil {
			s = &rrset{}
			index[k] = s
			out = append(out, s)
		}
		s.rrs = append(s.rrs, rr)
	}
	for _, rr := range section {
		if sig, ok := rr.(*dns.RRSIG); ok {
			if s := index[setKey{canon(sig.Hdr.Name), sig.TypeCovered}]; s != nil {
				s.sigs = append(s.sigs, sig)
			}
		}
	}
	return out
}

// findSet is the RRset of rtype owned by name (canonical) in a section, or nil.
func findSet(section []dns.RR, name string, rtype uint16) *rrset {
	for _, s := range rrsets(section) {
		if s.rtype() == rtype && canon(s.name()) == name {
			return s
		}
	}
	return nil
}

// signer is the zone that signed s, from its first signature ("" when unsigned).
func (s *rrset) signer() string {
	if len(s.sigs) == 0 {
		return ""
	}
	return canon(s.sigs[0].SignerName)
}

// verify checks s against a zone's keys: one valid signature by one of them,
// made by zone, within its validity period, is enough. It returns the
// signature that verified (its Labels tell a wildcard expansion).
func (v *Validator) verify(s *rrset, zone string, keys []zoneKey, now time.Time) (*dns.RRSIG, error) {
	if len(s.sigs) == 0 {
		return nil, bogus("%s %s has no signature in the signed zone %s", s.name(), dns.TypeToString[s.rtype()], zone)
	}
	var expired, early, other bool
	for _, sig := range s.sigs {
		if canon(sig.SignerName) != zone || !algorithmSupported(sig.Algorithm) {
			continue
		}
		for _, zk := range keys {
			k := zk.key
			if zk.tag != sig.KeyTag || k.Algorithm != sig.Algorithm {
				continue
			}
			if err := v.checkSignature(sig, k, s.rrs); err != nil {
				other = true
				continue
			}
			if !sig.ValidityPeriod(now) {
				if now.Before(sigTime(sig.Inception, now)) {
					early = true
				} else {
					expired = true
				}
				continue
			}
			return sig, nil
		}
	}
	what := fmt.Sprintf("%s %s", s.name(), dns.TypeToString[s.rtype()])
	switch {
	case expired:
		return nil, &Failure{Kind: SignatureExpired, Reason: "the signature of " + what + " has expired"}
	case early:
		return nil, &Failure{Kind: SignatureNotYetValid, Reason: "the signature of " + what + " is not valid yet"}
	case other:
		return nil, bogus("the signature of %s does not verify with %s's keys", what, zone)
	}
	return nil, bogus("%s is not signed by a key of %s", what, zone)
}

// checkSignature is sig.Verify, remembered: the same signature over the
// same data with the same key is checked once. A wildcard's signature is
// the same for every name it answers, a zone's NSEC records prove many
// names: as Unbound keeps the security status of RRsets it has seen, this
// keeps the crypto off the path of each new name.
func (v *Validator) checkSignature(sig *dns.RRSIG, k *dns.DNSKEY, rrs []dns.RR) error {
	key := signatureKey(sig, k, rrs)
	if ok, hit := v.verified.Get(key); hit {
		if ok {
			return nil
		}
		return errBadSignature
	}
	err := sig.Verify(k, rrs)
	v.verified.Add(key, err == nil)
	return err
}

var errBadSignature = errors.New("the signature does not verify")

// signatureKey names what a verification depends on (as a digest): the signature with
// its fields, the key, and the RRset in canonical form (owner in lower
// case, the wildcard's owner for an expanded answer, the original TTL,
// records sorted).
func signatureKey(sig *dns.RRSIG, k *dns.DNSKEY, rrs []dns.RR) [sha256.Size]byte {
	lines := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		c := dns.Copy(rr)
		h := c.Header()
		h.Ttl = sig.OrigTtl
		h.Name = canon(h.Name)
		if labels := dns.SplitDomainName(h.Name); len(labels) > int(sig.Labels) {
			h.Name = "*." + strings.Join(labels[len(labels)-int(sig.Labels):], ".") + "."
		}
		lines = append(lines, c.String())
	}
	slices.Sort(lines)
	var b strings.Builder
	fmt.Fprintf(&b, "%d %d %d %d %d %d %d %s %s\n%d %d %s\n", sig.TypeCovered, sig.Algorithm, sig.Labels, sig.OrigTtl,
		sig.Expiration, sig.Inception, sig.KeyTag, canon(sig.SignerName), sig.Signature, k.Flags, k.Algorithm, k.PublicKey)
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	// Kept as a SHA-256 digest: 32 bytes an entry, whatever the key size.
	return sha256.Sum256([]byte(b.String()))
}

// zoneKey is a DNSKEY with its key tag, computed once (it decodes the key).
type zoneKey struct {
	key *dns.DNSKEY
	tag uint16
}

func withTags(keys []*dns.DNSKEY) []zoneKey {
	out := make([]zoneKey, len(keys))
	for i, k := range keys {
		out[i] = zoneKey{k, k.KeyTag()}
	}
	return out
}

// sigTime turns a 32-bit serial-arithmetic signature time into a time near
// now (RFC 4034 §3.1.5).
func sigTime(t uint32, now time.Time) time.Time {
	mod := int64(1) << 32
	n := now.Unix()
	base := n - n%mod
	v := base + int64(t)
	if v-n > mod/2 {
		v -= mod
	} else if n-v > mod/2 {
		v += mod
	}
	return time.Unix(v, 0)
}

// ttlOf is how long a validated RRset may be trusted: its TTL, capped by its
// signature's expiry.
func ttlOf(rrs []dns.RR, sig *dns.RRSIG, now time.Time) time.Duration {
	ttl := time.Duration(^uint32(0)) * time.Second
	for _, rr := range rrs {
		ttl = min(ttl, time.Duration(rr.Header().Ttl)*time.Second)
	}
	if sig != nil {
		ttl = min(ttl, sigTime(sig.Expiration, now).Sub(now))
	}
	return max(ttl, 0)
}

// errInsecure marks a zone below an insecure delegation, or one whose keys
// use only algorithms not supported: its answers are returned without AD.
var errInsecure = errors.New("insecure")

// Strip drops the DNSSEC records a client that did not set DO did not ask
// for (RFC 4035 §3.2.1): RRSIG, NSEC and NSEC3 unless they are qtype.
func Strip(rrs []dns.RR, qtype uint16) []dns.RR {
	out := rrs[:0:0]
	for _, rr := range rrs {
		switch t := rr.Header().Rrtype; t {
		case dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3:
			if t != qtype {
				continue
			}
		}
		out = append(out, rr)
	}
	return out
}
