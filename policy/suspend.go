package policy

import (
	"net/netip"
	"time"
)

// SuspendedCategory is the category of every name a suspended device asks for.
const SuspendedCategory = "suspended"

// Suspension is a device's Internet access suspended by an admin or its
// director: every name is blocked but [policy] allow names, until restored
// or until its last day.
type Suspension struct {
	ID      string
	Client  netip.Prefix
	By      string
	Reason  string
	Until   time.Time // the first instant it no longer applies; zero: until restored
	Owner   string    // the department of the director who suspended it ("" for an admin)
	Created time.Time
}

// Active reports whether the suspension applies at now.
func (s *Suspension) Active(now time.Time) bool { return s.Until.IsZero() || now.Before(s.Until) }

// Suspensions is an immutable index of suspensions by client address.
type Suspensions struct {
	all    []*Suspension
	single map[netip.Addr][]*Suspension
	wide   []*Suspension
}

// NewSuspensions indexes a list of suspensions.
func NewSuspensions(list []*Suspension) *Suspensions {
	x := &Suspensions{all: list, single: map[netip.Addr][]*Suspension{}}
	for _, s := range list {
		if s.Client.IsSingleIP() {
			a := s.Client.Addr().Unmap()
			x.single[a] = append(x.single[a], s)
		} else {
			x.wide = append(x.wide, s)
		}
	}
	return x
}

// All lists them.
func (x *Suspensions) All() []*Suspension {
	if x == nil {
		return nil
	}
	return x.all
}

// Covering returns the active suspension of client at now, or nil.
func (x *Suspensions) Covering(client netip.Addr, now time.Time) *Suspension {
	if x == nil || len(x.all) == 0 {
		return nil
	}
	for _, s := range x.single[client] {
		if s.Active(now) {
			return s
		}
	}
	for _, s := range x.wide {
		if s.Active(now) && s.Client.Contains(client) {
			return s
		}
	}
	return nil
}

// AllowedCitywide reports whether name is a [policy] allow name (or under one).
func (p *Policy) AllowedCitywide(name string) bool { return p.allow.longest(name) >= 0 }

// SuspendedDecision is the decision for any name a suspended device asks
// for (but [policy] allow names).
func SuspendedDecision(d *Department, s *Suspension) Decision {
	return Decision{Action: Blocked, Category: SuspendedCategory, Department: d, EDEText: "Blocked (suspended)", where: s.ID}
}
