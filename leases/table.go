package leases

import (
	"net/netip"
	"time"
)

// Lease is an address held by a device from Start until End (zero: until
// another lease or a release says otherwise).
type Lease struct {
	Addr     netip.Addr
	MAC      string // lower case, colon-separated
	Hostname string
	Start    time.Time
	End      time.Time
}

// Holds reports whether the lease held its address at t.
func (l *Lease) Holds(t time.Time) bool {
	return !t.Before(l.Start) && (l.End.IsZero() || t.Before(l.End))
}

// Table is the leases by address, each address's in time order.
// Immutable once built.
type Table struct {
	byAddr map[netip.Addr][]Lease
}

// NewTable indexes leases (of several files: later ones override earlier
// ones for the same time).
func NewTable(lists ...[]Lease) *Table {
	t := &Table{byAddr: map[netip.Addr][]Lease{}}
	for _, list := range lists {
		for _, l := range list {
			a := l.Addr.Unmap()
			t.byAddr[a] = append(t.byAddr[a], l)
		}
	}
	return t
}

// At returns the lease that held addr at time at, or nil: the latest
// started at or before at that had not ended. No allocation.
func (t *Table) At(addr netip.Addr, at time.Time) *Lease {
	if t == nil {
		return nil
	}
	list := t.byAddr[addr.Unmap()]
	var best *Lease
	for i := range list {
		l := &list[i]
		if l.Holds(at) && (best == nil || !l.Start.Before(best.Start)) {
			best = l
		}
	}
	return best
}

// Len is how many addresses have leases.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.byAddr)
}
