package dnssec

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/miekg/dns"
)

// Source fetches records for the validator: DS records from a zone's parent
// and DNSKEY records from the zone, with their signatures, unvalidated.
type Source interface {
	LookupDNSSEC(ctx context.Context, name string, qtype uint16) (*dns.Msg, error)
}

// Validator validates answers against chains of trust from its anchors.
// It is safe for concurrent use.
type Validator struct {
	anchors  *Anchors
	src      Source
	now      func() time.Time
	keys     *lru.Cache[string, *zoneKeys]
	cuts     *lru.Cache[string, cutEntry]        // forwarding: names known not to be signed zone cuts
	verified *lru.Cache[[sha256.Size]byte, bool] // signatures checked: the outcome

	mu      sync.Mutex
	flights map[string]*keyFlight
}

// zoneKeys is what is known of a zone: its validated keys (secure), none
// (insecure: below an unsigned delegation), or why it is bogus.
type zoneKeys struct {
	keys    []zoneKey
	err     error // errInsecure or a *Failure
	expires time.Time
}

type keyFlight struct {
	done chan struct{}
	zk   *zoneKeys
}

// How long what is learnt of a zone is kept at most, and a bogus zone's
// verdict (so that a broken zone is not asked again for every query, and
// is tried again soon after it is mended).
const (
	maxKeyTTL   = time.Hour
	bogusTTL    = time.Minute
	keyCacheLen = 10000
	// verifiedCacheLen is how many signature checks are remembered (about
	// 100 bytes each).
	verifiedCacheLen = 50000
	maxDepth         = 32 // zone cuts followed from an answer up to its anchor
)

// NewValidator makes a validator; now is the clock signatures are checked
// against (time.Now when nil).
func NewValidator(anchors *Anchors, src Source, now func() time.Time) *Validator {
	if now == nil {
		now = time.Now
	}
	keys, _ := lru.New[string, *zoneKeys](keyCacheLen)
	cuts, _ := lru.New[string, cutEntry](keyCacheLen)
	verified, _ := lru.New[[sha256.Size]byte, bool](verifiedCacheLen)
	return &Validator{anchors: anchors, src: src, now: now, keys: keys, cuts: cuts, verified: verified, flights: map[string]*keyFlight{}}
}

// KnownZones is how many zones' security the validator holds (a metric).
func (v *Validator) KnownZones() int { return v.keys.Len() }

// Validate checks an answer to qname/qtype from zone (the zone whose server
// answered; "" when not known, as when forwarding): every RRset of the answer, the proofs of
// nonexistence of a negative answer, the proof behind a wildcard answer.
// It returns true when the whole answer is secure, false when part of it is
// insecure (an unsigned zone), and a *Failure when it is bogus.
func (v *Validator) Validate(ctx context.Context, r *dns.Msg, qname string, qtype uint16, zone string) (bool, error) {
	if qtype == dns.TypeRRSIG {
		return false, nil // signatures asked for themselves are not an RRset to validate (RFC 4035 §3.2.1)
	}
	asked := zone // "" when not known: canon would make it the root
	qname, zone = canon(qname), canon(zone)
	now := v.now()
	secure := true
	sname := qname
	var wildcards []wildcardUse
	for _, s := range rrsets(r.Answer) {
		owner := canon(s.name())
		ok, w, err := v.checkRRset(ctx, r, s, owner, asked, zone, now)
		if err != nil {
			return false, err
		}
		secure = secure && ok
		if w != nil {
			wildcards = append(wildcards, *w)
		}
		sname = follow(sname, owner, s)
	}
	// A chain that leaves the zone goes on elsewhere: nothing to prove here.
	chainGoesOn := sname != qname && r.Rcode == dns.RcodeSuccess && len(r.Ns) == 0
	negative := r.Rcode == dns.RcodeNameError || !answers(r.Answer, sname, qtype) && !chainGoesOn
	if !negative && len(wildcards) == 0 {
		return secure, nil
	}
	dsecure, err := v.proveDenial(ctx, r, sname, qtype, asked, negative, wildcards, now)
	return secure && dsecure, err
}

// wildcardUse is an answer RRset expanded from a wildcard: its owner and
// the closest encloser the signature's label count gives.
type wildcardUse struct{ name, ce string }

// checkRRset verifies one answer RRset: signed by its zone's keys (or in
// an insecure zone: secure is false), and whether a wildcard made it.
func (v *Validator) checkRRset(ctx context.Context, r *dns.Msg, s *rrset, owner, asked, zone string, now time.Time) (bool, *wildcardUse, error) {
	signer := s.signer()
	if signer == "" && s.rtype() == dns.TypeCNAME && dnameAbove(r.Answer, owner) {
		return true, nil, nil // a CNAME synthesised from a DNAME is never signed; the DNAME is
	}
	if signer == "" {
		zk := v.zoneSecurity(ctx, owner, asked)
		if zk.err == errInsecure {
			return false, nil, nil
		} else if zk.err != nil {
			return false, nil, zk.err
		}
		return false, nil, bogus("%s %s is unsigned in the signed zone %s", s.name(), dns.TypeToString[s.rtype()], zone)
	}
	if !under(owner, signer) || !under(signer, zone) {
		return false, nil, bogus("%s is signed by %s, which is not its zone", s.name(), signer)
	}
	zk := v.keysFor(ctx, signer, 0)
	switch {
	case zk.err == errInsecure:
		return false, nil, nil
	case zk.err != nil:
		return false, nil, zk.err
	}
	sig, err := v.verify(s, signer, zk.keys, now)
	if err != nil {
		return false, nil, err
	}
	if labels := dns.CountLabel(owner); int(sig.Labels) < labels && !isWildcardName(owner) {
		return true, &wildcardUse{owner, LastLabels(owner, int(sig.Labels))}, nil
	}
	return true, nil, nil
}

// follow moves the name the answer is about along a CNAME or DNAME.
func follow(sname, owner string, s *rrset) string {
	switch rr := s.rrs[0].(type) {
	case *dns.CNAME:
		if owner == sname {
			return canon(rr.Target)
		}
	case *dns.DNAME:
		if under(sname, owner) && sname != owner {
			return canon(sname[:len(sname)-len(owner)] + canon(rr.Target))
		}
	}
	return sname
}

// proveDenial checks the authority section's proofs: that the wildcards
// used were the closest, and for a negative answer that the name (or the
// type) does not exist. false without error: an insecure delegation.
func (v *Validator) proveDenial(ctx context.Context, r *dns.Msg, sname string, qtype uint16, asked string, negative bool, wildcards []wildcardUse, now time.Time) (bool, error) {
	d, dsecure, err := v.authorityIn(ctx, r, sname, asked, "", now)
	if err != nil || !dsecure {
		return false, err
	}
	for _, w := range wildcards {
		if err := d.wildcard(w.name, w.ce); err != nil {
			return false, err
		}
	}
	if !negative {
		return true, nil
	}
	if r.Rcode == dns.RcodeNameError {
		err = d.nxdomain(sname)
	} else {
		err = d.nodata(sname, qtype)
	}
	if err == errInsecure {
		return false, nil
	}
	return err == nil, err
}

// dnameAbove reports whether the answer has a DNAME at a proper ancestor of name.
func dnameAbove(answer []dns.RR, name string) bool {
	for _, rr := range answer {
		if d, ok := rr.(*dns.DNAME); ok && canon(d.Hdr.Name) != name && under(name, d.Hdr.Name) {
			return true
		}
	}
	return false
}

func isWildcardName(name string) bool { return len(name) > 1 && name[0] == '*' && name[1] == '.' }

// answers reports whether the answer has records of qtype at name.
func answers(answer []dns.RR, name string, qtype uint16) bool {
	for _, rr := range answer {
		h := rr.Header()
		if canon(h.Name) == name && (h.Rrtype == qtype || qtype == dns.TypeANY) {
			return true
		}
	}
	return false
}

// authorityIn validates the SOA, NSEC and NSEC3 records of an answer's
// authority section about name with their zone's keys. zone is the zone
// asked ("" when not known); below, when set, is a name the proof must come
// from above (a DS denial comes from the parent). secure is false when the
// zone is insecure (the proofs then prove nothing and need none).
func (v *Validator) authorityIn(ctx context.Context, r *dns.Msg, name, zone, below string, now time.Time) (*denial, bool, error) {
	sets := rrsets(r.Ns)
	signer := ""
	for _, s := range sets {
		if t := s.rtype(); (t == dns.TypeSOA || t == dns.TypeNSEC || t == dns.TypeNSEC3) && s.signer() != "" {
			signer = s.signer()
			break
		}
	}
	if signer == "" {
		signer = canon(zone)
		for _, s := range sets {
			if s.rtype() == dns.TypeSOA {
				signer = canon(s.name())
			}
		}
	}
	var zk *zoneKeys
	if signer == "." && zone == "" && name != "" && below == "" {
		// Nothing signed and no SOA, the zone not known: is name in a signed zone?
		if zk = v.zoneSecurity(ctx, name, ""); zk.err == nil {
			return nil, false, bogus("the negative answer for %s is unsigned in a signed zone", name)
		}
	} else {
		zk = v.keysFor(ctx, signer, 0)
	}
	if zone != "" && !under(signer, zone) {
		return nil, false, bogus("the proof is signed by %s, outside the zone %s asked", signer, zone)
	}
	if below != "" && (signer == below || !under(below, signer)) {
		return nil, false, bogus("the proof of no DS for %s is signed by %s, not by a zone above it", below, signer)
	}
	if zk.err == errInsecure {
		return nil, false, nil
	}
	if zk.err != nil {
		return nil, false, zk.err
	}
	d := &denial{}
	for _, s := range sets {
		switch s.rtype() {
		case dns.TypeSOA, dns.TypeNSEC, dns.TypeNSEC3:
		default:
			continue
		}
		if _, err := v.verify(s, signer, zk.keys, now); err != nil {
			return nil, false, err
		}
		for _, rr := range s.rrs {
			switch n := rr.(type) {
			case *dns.NSEC:
				d.nsec = append(d.nsec, n)
			case *dns.NSEC3:
				d.nsec3 = append(d.nsec3, n)
			}
		}
	}
	if !d.usable() {
		return nil, false, nil
	}
	return d, true, nil
}

// keysFor returns what is known of zone's keys, fetching and validating
// them (and those of the zones above it, up to an anchor) when not cached.
// Concurrent askers for one zone share one fetch.
func (v *Validator) keysFor(ctx context.Context, zone string, depth int) *zoneKeys {
	zone = canon(zone)
	now := v.now()
	if zk, ok := v.keys.Get(zone); ok && now.Before(zk.expires) {
		return zk
	}
	if depth > maxDepth {
		return &zoneKeys{err: bogus("the chain of trust to %s is too long", zone)}
	}
	v.mu.Lock()
	if f, ok := v.flights[zone]; ok {
		v.mu.Unlock()
		select {
		case <-f.done:
			return f.zk
		case <-ctx.Done():
			return &zoneKeys{err: ctx.Err()}
		}
	}
	f := &keyFlight{done: make(chan struct{})}
	v.flights[zone] = f
	v.mu.Unlock()

	zk := v.fetchKeys(ctx, zone, depth)
	if ctx.Err() == nil || zk.err == nil || zk.err == errInsecure {
		var f2 *Failure
		if errors.As(zk.err, &f2) {
			zk.expires = now.Add(bogusTTL)
		}
		if zk.expires.After(now) {
			v.keys.Add(zone, zk)
		}
	}
	v.mu.Lock()
	delete(v.flights, zone)
	v.mu.Unlock()
	f.zk = zk
	close(f.done)
	return zk
}

// fetchKeys works out zone's keys: from an anchor, or from its parent's
// validated DS records; insecure when the parent proves it has none.
func (v *Validator) fetchKeys(ctx context.Context, zone string, depth int) *zoneKeys {
	now := v.now()
	if v.anchors.Has(zone) {
		return v.dnskeys(ctx, zone, func(k *dns.DNSKEY) bool { return v.anchors.trusts(zone, k) }, now.Add(maxKeyTTL))
	}
	if !v.underAnchor(zone) || zone == "." {
		return &zoneKeys{err: errInsecure, expires: now.Add(maxKeyTTL)}
	}
	r, err := v.src.LookupDNSSEC(ctx, zone, dns.TypeDS)
	if err != nil {
		return &zoneKeys{err: err}
	}
	ds := findSet(r.Answer, zone, dns.TypeDS)
	if ds == nil {
		// No DS: the parent must prove it (then the zone is insecure).
		d, secure, err := v.authorityIn(ctx, r, "", "", zone, now)
		if err != nil {
			return &zoneKeys{err: err}
		}
		if !secure {
			return &zoneKeys{err: errInsecure, expires: now.Add(negativeTTL(r))}
		}
		kind, err := d.noDS(zone, r.Rcode == dns.RcodeNameError)
		if err != nil {
			return &zoneKeys{err: err}
		}
		if kind != cutUnsigned {
			return &zoneKeys{err: bogus("%s is claimed as a zone, but its parent proves no delegation there", zone)}
		}
		return &zoneKeys{err: errInsecure, expires: now.Add(negativeTTL(r))}
	}
	parent := ds.signer()
	if parent == "" {
		parent = Parent(zone)
	}
	if parent == zone || !under(zone, parent) {
		return &zoneKeys{err: bogus("the DS records of %s are signed by %s, not by a zone above it", zone, parent)}
	}
	pk := v.keysFor(ctx, parent, depth+1)
	if pk.err != nil {
		return &zoneKeys{err: pk.err, expires: pk.expires}
	}
	sig, err := v.verify(ds, parent, pk.keys, now)
	if err != nil {
		return &zoneKeys{err: err}
	}
	var set []*dns.DS
	for _, rr := range ds.rrs {
		d := rr.(*dns.DS)
		if algorithmSupported(d.Algorithm) && digestSupported(d.DigestType) {
			set = append(set, d)
		}
	}
	if len(set) == 0 { // only algorithms civicdns does not validate: treated as unsigned
		return &zoneKeys{err: errInsecure, expires: now.Add(ttlOf(ds.rrs, sig, now))}
	}
	return v.dnskeys(ctx, zone, func(k *dns.DNSKEY) bool { return dsMatches(set, k) }, now.Add(ttlOf(ds.rrs, sig, now)))
}

// dnskeys fetches zone's DNSKEY RRset and accepts it when a key trusted
// (by an anchor or a DS) signed it.
func (v *Validator) dnskeys(ctx context.Context, zone string, trusted func(*dns.DNSKEY) bool, notAfter time.Time) *zoneKeys {
	now := v.now()
	r, err := v.src.LookupDNSSEC(ctx, zone, dns.TypeDNSKEY)
	if err != nil {
		return &zoneKeys{err: err}
	}
	set := findSet(r.Answer, zone, dns.TypeDNSKEY)
	if set == nil {
		return &zoneKeys{err: bogus("%s has no DNSKEY records, but its parent says it is signed", zone)}
	}
	var entry, all []*dns.DNSKEY
	for _, rr := range set.rrs {
		k := rr.(*dns.DNSKEY)
		if k.Flags&dns.ZONE == 0 || k.Protocol != 3 {
			continue
		}
		all = append(all, k)
		if trusted(k) {
			entry = append(entry, k)
		}
	}
	if len(entry) == 0 {
		return &zoneKeys{err: bogus("no DNSKEY of %s matches its DS records or trust anchor", zone)}
	}
	sig, err := v.verify(set, zone, withTags(entry), now)
	if err != nil {
		return &zoneKeys{err: err}
	}
	exp := now.Add(min(ttlOf(set.rrs, sig, now), maxKeyTTL))
	if notAfter.Before(exp) {
		exp = notAfter
	}
	return &zoneKeys{keys: withTags(all), expires: exp}
}

// underAnchor reports whether an anchor is at or above zone: only then can
// it be secure.
func (v *Validator) underAnchor(zone string) bool {
	for _, a := range v.anchors.Zones() {
		if under(zone, a) {
			return true
		}
	}
	return false
}

// negativeTTL is how long a proof of no DS holds: the SOA's negative TTL.
func negativeTTL(r *dns.Msg) time.Duration {
	for _, rr := range r.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return min(time.Duration(min(soa.Hdr.Ttl, soa.Minttl))*time.Second, maxKeyTTL)
		}
	}
	return bogusTTL
}
