package policy

import (
	"net/netip"
	"sort"
)

// networks finds a client's department by longest prefix: one map per
// prefix length in use, tried from the longest, so a lookup costs a few map
// probes however many departments there are.
type networks struct {
	levels []level // longest first
}

type level struct {
	bits int
	is4  bool
	m    map[netip.Prefix]*Department
}

func (n *networks) add(p netip.Prefix, d *Department) {
	p = p.Masked()
	for i := range n.levels {
		if l := &n.levels[i]; l.bits == p.Bits() && l.is4 == p.Addr().Is4() {
			l.m[p] = d
			return
		}
	}
	n.levels = append(n.levels, level{bits: p.Bits(), is4: p.Addr().Is4(), m: map[netip.Prefix]*Department{p: d}})
	sort.SliceStable(n.levels, func(i, j int) bool { return n.levels[i].bits > n.levels[j].bits })
}

// lookup returns the department of the longest prefix containing a, and that prefix.
func (n *networks) lookup(a netip.Addr) (*Department, netip.Prefix) {
	a = a.Unmap()
	is4 := a.Is4()
	for _, l := range n.levels {
		if l.is4 != is4 {
			continue
		}
		p, err := a.Prefix(l.bits)
		if err != nil {
			continue
		}
		if d, ok := l.m[p]; ok {
			return d, p
		}
	}
	return nil, netip.Prefix{}
}
