package dnssec

import (
	"slices"

	"github.com/miekg/dns"
)

// maxNSEC3Iterations is the most NSEC3 hash iterations civicdns computes;
// a zone using more is treated as insecure (RFC 9276 §3.2), so that an
// answer cannot make the resolver hash without end.
const maxNSEC3Iterations = 150

// denial holds the validated NSEC or NSEC3 records of an answer's
// authority section, and proves from them what does not exist.
type denial struct {
	nsec  []*dns.NSEC
	nsec3 []*dns.NSEC3
}

func hasType(bitmap []uint16, t uint16) bool { return slices.Contains(bitmap, t) }

// nsecCovers reports whether n proves that name does not exist: name falls
// strictly between its owner and next name (the last NSEC of a zone wraps
// round to the apex).
func nsecCovers(n *dns.NSEC, name string) bool {
	owner, next := n.Hdr.Name, n.NextDomain
	if CanonicalCompare(owner, name) >= 0 {
		return false
	}
	// An NSEC at a delegation or a DNAME says nothing of the names below it.
	if under(name, owner) && (hasType(n.TypeBitMap, dns.TypeNS) && !hasType(n.TypeBitMap, dns.TypeSOA) || hasType(n.TypeBitMap, dns.TypeDNAME)) {
		return false
	}
	if CanonicalCompare(next, owner) <= 0 { // the last NSEC: next is the apex
		return under(name, next)
	}
	return CanonicalCompare(name, next) < 0
}

// commonAncestor is the longest name both a and b are under.
func commonAncestor(a, b string) string {
	return LastLabels(canon(a), dns.CompareDomainName(a, b))
}

// nxdomain proves that name does not exist, nor a wildcard that could
// have answered for it.
func (d *denial) nxdomain(name string) error {
	if len(d.nsec3) > 0 {
		ce, err := d.closestEncloser(name)
		if err != nil {
			return err
		}
		if !d.nsec3Covers(wildcardOf(ce)) {
			return bogus("no NSEC3 proves that %s does not exist", wildcardOf(ce))
		}
		return nil
	}
	var cover *dns.NSEC
	for _, n := range d.nsec {
		if nsecCovers(n, name) {
			cover = n
			break
		}
	}
	if cover == nil {
		return bogus("no NSEC proves that %s does not exist", name)
	}
	ce := commonAncestor(name, cover.Hdr.Name)
	if c2 := commonAncestor(name, cover.NextDomain); dns.CountLabel(c2) > dns.CountLabel(ce) {
		ce = c2
	}
	wc := wildcardOf(ce)
	for _, n := range d.nsec {
		if nsecCovers(n, wc) {
			return nil
		}
	}
	return bogus("no NSEC proves that %s does not exist", wc)
}

// nodata proves that name exists without records of qtype (or that it is an
// empty non-terminal, or that a wildcard matching it has none).
func (d *denial) nodata(name string, qtype uint16) error {
	if len(d.nsec3) > 0 {
		for _, n := range d.nsec3 {
			if n.Match(name) {
				if hasType(n.TypeBitMap, qtype) || hasType(n.TypeBitMap, dns.TypeCNAME) {
					return bogus("the NSEC3 of %s says it has %s records", name, dns.TypeToString[qtype])
				}
				if qtype == dns.TypeDS && hasType(n.TypeBitMap, dns.TypeSOA) && name != "." {
					return bogus("the DS denial for %s comes from the child zone", name)
				}
				return nil
			}
		}
		// No match: an opt-out span (an unsigned delegation, for DS), or a
		// wildcard with no such type.
		ce, err := d.closestEncloser(name)
		if err != nil {
			return err
		}
		if qtype == dns.TypeDS && d.optOutCovers(NextCloser(name, ce)) {
			return errInsecure
		}
		for _, n := range d.nsec3 {
			if n.Match(wildcardOf(ce)) && !hasType(n.TypeBitMap, qtype) && !hasType(n.TypeBitMap, dns.TypeCNAME) {
				return nil
			}
		}
		return bogus("no NSEC3 proves that %s has no %s records", name, dns.TypeToString[qtype])
	}
	for _, n := range d.nsec {
		if canon(n.Hdr.Name) == canon(name) {
			if hasType(n.TypeBitMap, qtype) || hasType(n.TypeBitMap, dns.TypeCNAME) {
				return bogus("the NSEC of %s says it has %s records", name, dns.TypeToString[qtype])
			}
			if qtype == dns.TypeDS && hasType(n.TypeBitMap, dns.TypeSOA) && name != "." {
				return bogus("the DS denial for %s comes from the child zone", name)
			}
			if qtype != dns.TypeDS && hasType(n.TypeBitMap, dns.TypeNS) && !hasType(n.TypeBitMap, dns.TypeSOA) {
				return bogus("the NSEC of %s is the parent's, at a delegation", name)
			}
			return nil
		}
	}
	for _, n := range d.nsec {
		// An empty non-terminal: name sorts between an NSEC and its next
		// name, which is below name.
		if nsecCovers(n, name) && under(n.NextDomain, name) && canon(n.NextDomain) != canon(name) {
			return nil
		}
	}
	for _, n := range d.nsec {
		if nsecCovers(n, name) {
			ce := commonAncestor(name, n.Hdr.Name)
			if c2 := commonAncestor(name, n.NextDomain); dns.CountLabel(c2) > dns.CountLabel(ce) {
				ce = c2
			}
			for _, w := range d.nsec {
				if canon(w.Hdr.Name) == canon(wildcardOf(ce)) && !hasType(w.TypeBitMap, qtype) && !hasType(w.TypeBitMap, dns.TypeCNAME) {
					return nil
				}
			}
		}
	}
	return bogus("no NSEC proves that %s has no %s records", name, dns.TypeToString[qtype])
}

// wildcard proves that an answer synthesised from the wildcard at the
// closest encloser ce was right to be: name itself does not exist.
func (d *denial) wildcard(name, ce string) error {
	if len(d.nsec3) > 0 {
		if d.nsec3Covers(NextCloser(name, ce)) {
			return nil
		}
		return bogus("no NSEC3 proves that %s does not exist, for the wildcard answer", NextCloser(name, ce))
	}
	for _, n := range d.nsec {
		if nsecCovers(n, name) {
			return nil
		}
	}
	return bogus("no NSEC proves that %s does not exist, for the wildcard answer", name)
}

// closestEncloser finds the longest existing ancestor of name that NSEC3
// proves, with the next closer name covered (RFC 5155 §8.3).
func (d *denial) closestEncloser(name string) (string, error) {
	for ce := Parent(name); ; ce = Parent(ce) {
		for _, n := range d.nsec3 {
			if n.Match(ce) {
				if hasType(n.TypeBitMap, dns.TypeDNAME) || hasType(n.TypeBitMap, dns.TypeNS) && !hasType(n.TypeBitMap, dns.TypeSOA) {
					return "", bogus("the closest encloser %s of %s is a delegation or a DNAME", ce, name)
				}
				if !d.nsec3Covers(NextCloser(name, ce)) {
					return "", bogus("no NSEC3 covers %s", NextCloser(name, ce))
				}
				return ce, nil
			}
		}
		if ce == "." {
			return "", bogus("no NSEC3 proves a closest encloser of %s", name)
		}
	}
}

func (d *denial) nsec3Covers(name string) bool {
	for _, n := range d.nsec3 {
		if n.Cover(name) {
			return true
		}
	}
	return false
}

func (d *denial) optOutCovers(name string) bool {
	for _, n := range d.nsec3 {
		if n.Flags&1 == 1 && n.Cover(name) {
			return true
		}
	}
	return false
}

// usable reports whether the NSEC3 records are ones civicdns computes:
// SHA-1, at most maxNSEC3Iterations. Others make the answer insecure.
func (d *denial) usable() bool {
	for _, n := range d.nsec3 {
		if n.Hash != dns.SHA1 || n.Iterations > maxNSEC3Iterations {
			return false
		}
	}
	return true
}
