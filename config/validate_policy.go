package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// validatePolicy checks [block], [policy], departments and exemptions as far
// as they can be checked without the category lists (policy.Compile does the rest).
func (c *Config) validatePolicy() Errors {
	var errs Errors
	bad := func(path, format string, args ...any) {
		errs = append(errs, c.ErrorAt(path, format, args...))
	}

	switch c.Block.Answer {
	case "blockpage", "nxdomain", "null":
	default:
		bad("block.answer", `block.answer must be "blockpage", "nxdomain" or "null", not %q`, c.Block.Answer)
	}
	if s := c.Block.BlockpageIPv4; s != "" {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			bad("block.blockpage_ipv4", "block.blockpage_ipv4: %q is not an IPv4 address", s)
		}
		c.Block.IPv4 = a
	}
	if s := c.Block.BlockpageIPv6; s != "" {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is6() || a.Is4In6() {
			bad("block.blockpage_ipv6", "block.blockpage_ipv6: %q is not an IPv6 address", s)
		}
		c.Block.IPv6 = a
	}
	if c.Block.TTL < 0 || c.Block.TTL.D().Hours() > 24 {
		bad("block.ttl", "block.ttl must be between 0 and 24h")
	}

	if c.Block.Answer == "blockpage" && c.Block.BlockpageIPv4 == "" && c.Block.BlockpageIPv6 == "" {
		bad("block.answer", `block.answer "blockpage" needs blockpage_ipv4 or blockpage_ipv6 (the block page's address)`)
	}
	if c.Lists.Update && c.Lists.DownloadDir == "" {
		if c.State.Dir == "" {
			bad("lists.update", "lists.update needs lists.download_dir (or [state] dir) to keep the downloaded lists in")
		} else {
			c.Lists.DownloadDir = c.State.Dir + "/lists"
		}
	}
	if c.Lists.Watch < 0 {
		bad("lists.watch", "lists.watch must not be negative")
	}
	for i, n := range c.Policy.Allow {
		name, err := NormalizeName(n)
		if err != nil || name == "" {
			bad("policy.allow", "policy.allow: %q is not a domain name", n)
		}
		c.Policy.Allow[i] = name
	}

	depts := map[string]bool{}
	for i := range c.Department {
		d := &c.Department[i]
		p := fmt.Sprintf("department[%d]", i)
		if strings.TrimSpace(d.Name) == "" {
			bad(p, "a [[department]] needs a name")
		} else if depts[d.Name] {
			bad(p+".name", "department %q is defined twice", d.Name)
		}
		depts[d.Name] = true
		if len(d.Networks) == 0 {
			bad(p+".networks", "department %q needs at least one network", d.Name)
		}
		for _, n := range d.Networks {
			pfx, err := parsePrefix(n)
			if err != nil {
				bad(p+".networks", "department %q: %v", d.Name, err)
				continue
			}
			d.Prefixes = append(d.Prefixes, pfx)
		}
		for j, n := range d.BlockDomains {
			name, err := NormalizeName(n)
			if err != nil || name == "" {
				bad(p+".block_domains", "department %q: block_domains: %q is not a domain name", d.Name, n)
			}
			d.BlockDomains[j] = name
		}
	}
	seenPrefix := map[netip.Prefix]string{}
	for i, d := range c.Department {
		for _, pfx := range d.Prefixes {
			if other, ok := seenPrefix[pfx]; ok && other != d.Name {
				bad(fmt.Sprintf("department[%d].networks", i), "network %s is in both department %q and %q", pfx, other, d.Name)
			}
			seenPrefix[pfx] = d.Name
		}
	}

	for i := range c.Exemption {
		e := &c.Exemption[i]
		p := fmt.Sprintf("exemption[%d]", i)
		switch {
		case e.Department == "" && len(e.Clients) == 0:
			bad(p, "an [[exemption]] needs department or clients")
		case e.Department != "" && len(e.Clients) > 0:
			bad(p+".clients", "an [[exemption]] has department or clients, not both")
		case e.Department != "" && !depts[e.Department]:
			bad(p+".department", "exemption for unknown department %q", e.Department)
		}
		for _, cl := range e.Clients {
			pfx, err := parsePrefix(cl)
			if err != nil {
				bad(p+".clients", "exemption clients: %v", err)
				continue
			}
			e.ClientPrefixes = append(e.ClientPrefixes, pfx)
		}
		if (e.Category == "") == (len(e.Domains) == 0) {
			bad(p, "an [[exemption]] lifts either a category or a list of domains")
		}
		for j, n := range e.Domains {
			name, err := NormalizeName(n)
			if err != nil || name == "" {
				bad(p+".domains", "exemption domains: %q is not a domain name", n)
			}
			e.Domains[j] = name
		}
		if strings.TrimSpace(e.ApprovedBy) == "" {
			bad(p, "an [[exemption]] needs approved_by (the director who authorised it)")
		}
		if strings.TrimSpace(e.Reason) == "" {
			bad(p, "an [[exemption]] needs a reason")
		}
		if e.Expires.IsZero() {
			bad(p, "an [[exemption]] needs expires (a date such as 2027-06-30)")
		} else if !e.Starts.IsZero() && e.Starts.String() > e.Expires.String() {
			bad(p+".starts", "exemption starts %s after it expires %s", e.Starts, e.Expires)
		}
	}
	return errs
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
