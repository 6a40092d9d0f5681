package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
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
	v.c.Policy.Location = time.Local
	if tz := v.c.Policy.Timezone; tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			v.bad("policy.timezone", "policy.timezone: %q is not a time zone (write an IANA name such as \"America/Chicago\")", tz)
		} else {
			v.c.Policy.Location = loc
		}
	}
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
	for i := range v.c.Department {
		for j := range v.c.Department[i].Hours {
			v.hours(&v.c.Department[i], fmt.Sprintf("department[%d].hours[%d]", i, j), &v.c.Department[i].Hours[j])
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
		} else if from := laterDate(e.Starts, v.today()); e.Expires.Start(time.UTC).Sub(from.Start(time.UTC)) > v.c.Policy.MaxExemption.D() {
			v.bad(p+".expires", "exemption expires %s, more than policy.max_exemption (%d days) after %s: approve it again when it ends", e.Expires, v.c.Policy.MaxExemptionDays(), from)
		}
	}
}

// laterDate is the later of two dates (an unset one is the earliest).
func laterDate(a, b Date) Date {
	if a.String() > b.String() {
		return a
	}
	return b
}

// today is the day the configuration is checked, in the policy's zone.
func (v *validator) today() Date {
	loc := v.c.Policy.Location
	if loc == nil {
		loc = time.Local
	}
	return DateOf(time.Now().In(loc))
}

// ParsePrefix reads a client: a CIDR (without host bits) or a single
// address (a /32 or /128).
func ParsePrefix(s string) (netip.Prefix, error) {
	return parsePrefix(strings.TrimSpace(s))
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

var dayBits = map[string]uint8{"sun": 1 << 0, "mon": 1 << 1, "tue": 1 << 2, "wed": 1 << 3, "thu": 1 << 4, "fri": 1 << 5, "sat": 1 << 6, "daily": 0x7F}

// hours checks a personal-use window. The citywide minimum is never opened
// by a window: a window opens only the department's own extra categories.
func (v *validator) hours(d *Department, p string, h *Hours) {
	for _, day := range h.Days {
		bit, ok := dayBits[strings.ToLower(strings.TrimSpace(day))]
		if !ok {
			v.bad(p+".days", "department %q hours: %q is not a day (mon, tue, wed, thu, fri, sat, sun or daily)", d.Name, day)
		}
		h.DayMask |= bit
	}
	if len(h.Days) == 0 {
		v.bad(p+".days", "department %q hours: days is needed (for example [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"])", d.Name)
	}
	from, to, ok := strings.Cut(h.Hours, "-")
	start, err1 := clockMinutes(from, false)
	end, err2 := clockMinutes(to, true)
	switch {
	case !ok || err1 != nil || err2 != nil:
		v.bad(p+".hours", "department %q hours: %q is not HH:MM-HH:MM (for example \"12:00-13:00\")", d.Name, h.Hours)
	case start == end:
		v.bad(p+".hours", "department %q hours: %q is an empty window", d.Name, h.Hours)
	}
	h.Start, h.End = start, end
	if len(h.Open) == 0 && len(h.Block) == 0 {
		v.bad(p, "department %q hours: a window opens or blocks categories (open = [...] or block = [...])", d.Name)
	}
	own := map[string]bool{}
	for _, c := range d.Block {
		own[c] = true
	}
	for _, c := range h.Open {
		switch {
		case slices.Contains(v.c.Policy.Block, c):
			v.bad(p+".open", "department %q hours: %q is in the citywide minimum ([policy] block): no window opens it", d.Name, c)
		case !own[c]:
			v.bad(p+".open", "department %q hours: %q is not one of the department's own categories (its block), so there is nothing to open", d.Name, c)
		}
	}
}

// clockMinutes reads HH:MM as minutes from midnight; "24:00" only as an end.
func clockMinutes(s string, end bool) (int, error) {
	hh, mm, ok := strings.Cut(strings.TrimSpace(s), ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if !ok || err1 != nil || err2 != nil || len(mm) != 2 || m < 0 || m > 59 || h < 0 || h > 24 || h == 24 && (m != 0 || !end) {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return h*60 + m, nil
}
