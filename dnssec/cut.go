package dnssec

import (
	"context"
	"time"

	"github.com/miekg/dns"
)

// cutKind is what a parent's validated answer to a DS question says of a
// name that has no DS records.
type cutKind int

const (
	cutUnsigned cutKind = iota // a delegation without DS: everything below is insecure
	notACut                    // no zone starts there: the parent's zone goes on
	nonexistent                // the name does not exist at all
)

// noDS reads a proof of no DS for name.
func (d *denial) noDS(name string, nxdomain bool) (cutKind, error) {
	if nxdomain {
		if err := d.nxdomain(name); err != nil && err != errInsecure {
			return 0, err
		}
		return nonexistent, nil
	}
	if len(d.nsec3) > 0 {
		for _, n := range d.nsec3 {
			if n.Match(name) {
				return bitmapCut(name, n.TypeBitMap)
			}
		}
		ce, err := d.closestEncloser(name)
		if err != nil {
			return 0, err
		}
		if d.optOutCovers(NextCloser(name, ce)) {
			return cutUnsigned, nil // an opt-out span: perhaps an unsigned delegation
		}
		return 0, bogus("no NSEC3 proves that %s has no DS records", name)
	}
	for _, n := range d.nsec {
		if canon(n.Hdr.Name) == canon(name) {
			return bitmapCut(name, n.TypeBitMap)
		}
	}
	for _, n := range d.nsec {
		if nsecCovers(n, name) && under(n.NextDomain, name) {
			return notACut, nil // an empty non-terminal
		}
	}
	return 0, bogus("no NSEC proves that %s has no DS records", name)
}

func bitmapCut(name string, bitmap []uint16) (cutKind, error) {
	switch {
	case hasType(bitmap, dns.TypeDS):
		return 0, bogus("the proof says %s has DS records", name)
	case hasType(bitmap, dns.TypeSOA) && name != ".":
		return 0, bogus("the DS denial for %s comes from the child zone", name)
	case hasType(bitmap, dns.TypeNS):
		return cutUnsigned, nil
	}
	return notACut, nil
}

type cutEntry struct {
	kind    cutKind
	expires time.Time
}

// zoneSecurity finds whether name lies in a signed zone when no one said
// which zone it is in (forwarding: the upstream answers for every zone).
// From the closest anchor down, label by label, each name's DS records
// (or the validated proof there are none) say whether a zone starts there:
// a signed one (its keys are fetched), an unsigned one (insecure from
// there down), or none. What is learnt of each name is cached.
//
// from, when not "", is a zone known to hold name (the zone whose server
// answered, in recursive mode): the walk starts there instead of at the
// anchor, and finds an unsigned child zone served by the same server.
func (v *Validator) zoneSecurity(ctx context.Context, name, from string) *zoneKeys {
	name = canon(name)
	anchor := canon(from) // where the walk starts: from, or the closest anchor above name
	if from == "" {
		anchor = ""
		for _, a := range v.anchors.Zones() {
			if under(name, a) && (anchor == "" || dns.CountLabel(a) > dns.CountLabel(anchor)) {
				anchor = a
			}
		}
	}
	if anchor == "" {
		return &zoneKeys{err: errInsecure}
	}
	zk := v.keysFor(ctx, anchor, 0)
	for n := dns.CountLabel(anchor) + 1; n <= dns.CountLabel(name) && zk.err == nil; n++ {
		at := LastLabels(name, n)
		kind, err := v.cutAt(ctx, at)
		switch {
		case err == errSignedCut:
			zk = v.keysFor(ctx, at, 0)
		case err != nil:
			return &zoneKeys{err: err}
		case kind == cutUnsigned:
			return &zoneKeys{err: errInsecure}
		case kind == nonexistent:
			return zk // the name cannot be there: data claiming it is bogus in a signed zone
		}
	}
	return zk
}

// errSignedCut says a name has DS records: a signed zone starts there.
var errSignedCut = &Failure{Kind: Bogus, Reason: "a signed zone cut"}

// cutAt asks for name's DS records and reads the answer.
func (v *Validator) cutAt(ctx context.Context, name string) (cutKind, error) {
	now := v.now()
	if e, ok := v.cuts.Get(name); ok && now.Before(e.expires) {
		return e.kind, nil
	}
	r, err := v.src.LookupDNSSEC(ctx, name, dns.TypeDS)
	if err != nil {
		return 0, err
	}
	if findSet(r.Answer, name, dns.TypeDS) != nil {
		return 0, errSignedCut
	}
	d, secure, err := v.authorityIn(ctx, r, "", ".", name, now)
	if err != nil {
		return 0, err
	}
	if !secure {
		return cutUnsigned, nil
	}
	kind, err := d.noDS(name, r.Rcode == dns.RcodeNameError)
	if err != nil {
		return 0, err
	}
	v.cuts.Add(name, cutEntry{kind, now.Add(negativeTTL(r))})
	return kind, nil
}
