package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// The sections of the policy, checked as far as they can be without the
// category lists (policy.Compile does the rest).

func (v *validator) block() {
	b := &v.c.Block
	switch b.Answer {
	case "blockpage", "nxdomain", "null":
	default:
		v.bad("block.answer", `block.answer must be "blockpage", "nxdomain" or "null", not %q`, b.Answer)
	}
	if s := b.BlockpageIPv4; s != "" {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			v.bad("block.blockpage_ipv4", "block.blockpage_ipv4: %q is not an IPv4 address", s)
		}
		b.IPv4 = a
	}
	if s := b.BlockpageIPv6; s != "" {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is6() || a.Is4In6() {
			v.bad("block.blockpage_ipv6", "block.blockpage_ipv6: %q is not an IPv6 address", s)
		}
		b.IPv6 = a
	}
	if b.TTL < 0 || b.TTL.D().Hours() > 24 {
		v.bad("block.ttl", "block.ttl must be between 0 and 24h")
	}
	if b.Answer == "blockpage" && b.BlockpageIPv4 == "" && b.BlockpageIPv6 == "" {
		v.bad("block.answer", `block.answer "blockpage" needs blockpage_ipv4 or blockpage_ipv6 (the block page's address)`)
	}
}

func (v *validator) lists() {
	l := &v.c.Lists
	if l.Update && l.DownloadDir == "" {
		if v.c.State.Dir == "" {
			v.bad("lists.update", "lists.update needs lists.download_dir (or [state] dir) to keep the downloaded lists in")
		} else {
			l.DownloadDir = v.c.State.Dir + "/lists"
		}
	}
	if l.Watch < 0 {
		v.bad("lists.watch", "lists.watch must not be negative")
	}
}

func (v *validator) policy() {
	for i, n := range v.c.Policy.Allow {
		name, err := NormalizeName(n)
		if err != nil || name == "" {
			v.bad("policy.allow", "policy.allow: %q is not a domain name", n)
		}
		v.c.Policy.Allow[i] = name
	}
}

// departments checks every [[department]] and returns their names by
// DepartmentKey. Names are trimmed; two that differ only in case or spaces
// are one name given twice.
func (v *validator) departments() map[string]string {
	depts := map[string]string{}
	for i := range v.c.Department {
		d := &v.c.Department[i]
		p := fmt.Sprintf("department[%d]", i)
		d.Name = strings.TrimSpace(d.Name)
		key := DepartmentKey(d.Name)
		switch other, dup := depts[key]; {
		case d.Name == "":
			v.bad(p, "a [[department]] needs a name")
		case dup && other == d.Name:
			v.bad(p+".name", "department %q is defined twice", d.Name)
		case dup:
			v.bad(p+".name", "department %q and %q differ only in letter case: department names are compared without it", other, d.Name)
		default:
			depts[key] = d.Name
		}
		if len(d.Networks) == 0 {
			v.bad(p+".networks", "department %q needs at least one network", d.Name)
		}
		for _, n := range d.Networks {
			pfx, err := parsePrefix(n)
			if err != nil {
				v.bad(p+".networks", "department %q: %v", d.Name, err)
				continue
			}
			d.Prefixes = append(d.Prefixes, pfx)
		}
		for j, n := range d.BlockDomains {
			name, err := NormalizeName(n)
			if err != nil || name == "" {
				v.bad(p+".block_domains", "department %q: block_domains: %q is not a domain name", d.Name, n)
			}
			d.BlockDomains[j] = name
		}
	}
	seenPrefix := map[netip.Prefix]string{}
	for i, d := range v.c.Department {
		for _, pfx := range d.Prefixes {
			if other, ok := seenPrefix[pfx]; ok && other != d.Name {
				v.bad(fmt.Sprintf("department[%d].networks", i), "network %s is in both department %q and %q", pfx, other, d.Name)
			}
			seenPrefix[pfx] = d.Name
		}
	}
	return depts
}

// exemptions checks every [[exemption]]; a department is named as
// DepartmentKey compares, and written back as its [[department]] spells it.
func (v *validator) exemptions(depts map[string]string) {
	for i := range v.c.Exemption {
		e := &v.c.Exemption[i]
		p := fmt.Sprintf("exemption[%d]", i)
		switch {
		case e.Department == "" && len(e.Clients) == 0:
			v.bad(p, "an [[exemption]] needs department or clients")
		case e.Department != "" && len(e.Clients) > 0:
			v.bad(p+".clients", "an [[exemption]] has department or clients, not both")
		case e.Department != "":
			if name, ok := depts[DepartmentKey(e.Department)]; ok {
				e.Department = name
			} else {
				v.bad(p+".department", "exemption for unknown department %q", e.Department)
			}
		}
		for _, cl := range e.Clients {
			pfx, err := parsePrefix(cl)
			if err != nil {
				v.bad(p+".clients", "exemption clients: %v", err)
				continue
			}
			e.ClientPrefixes = append(e.ClientPrefixes, pfx)
		}
		if (e.Category == "") == (len(e.Domains) == 0) {
			v.bad(p, "an [[exemption]] lifts either a category or a list of domains")
		}
		for j, n := range e.Domains {
			name, err := NormalizeName(n)
			if err != nil || name == "" {
				v.bad(p+".domains", "exemption domains: %q is not a domain name", n)
			}
			e.Domains[j] = name
		}
		if strings.TrimSpace(e.ApprovedBy) == "" {
			v.bad(p, "an [[exemption]] needs approved_by (the director who authorised it)")
		}
		if strings.TrimSpace(e.Reason) == "" {
			v.bad(p, "an [[exemption]] needs a reason")
		}
		if e.Expires.IsZero() {
			v.bad(p, "an [[exemption]] needs expires (a date such as 2027-06-30)")
		} else if !e.Starts.IsZero() && e.Starts.String() > e.Expires.String() {
			v.bad(p+".starts", "exemption starts %s after it expires %s", e.Starts, e.Expires)
		}
	}
}

// parsePrefix reads a CIDR or a single address (a /32 or /128).
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a network (write 10.20.0.0/16 or fd00:20::/48)", s)
		}
		if p.Masked() != p {
			return netip.Prefix{}, fmt.Errorf("%q has host bits set (did you mean %s?)", s, p.Masked())
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or network", s)
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}
