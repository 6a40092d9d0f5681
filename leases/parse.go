package leases

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Format is a lease file's kind.
type Format string

const (
	Kea     Format = "kea"     // Kea memfile CSV, v4 or v6 (by its header)
	ISC     Format = "isc"     // ISC dhcpd.leases
	Dnsmasq Format = "dnsmasq" // dnsmasq.leases
	Windows Format = "windows" // Windows DHCP server audit log (DhcpSrvLog-*.log)
)

// Detect tells a file's format from its first bytes.
func Detect(head []byte) (Format, error) {
	s := string(head)
	switch {
	case strings.HasPrefix(s, "address,"):
		return Kea, nil
	case strings.Contains(s, "ID,Date,Time,Description"), strings.Contains(s, "Microsoft DHCP Service Activity Log"):
		return Windows, nil
	case strings.Contains(s, "lease ") && strings.Contains(s, "{"), strings.HasPrefix(strings.TrimSpace(s), "#"), strings.Contains(s, "authoring-byte-order"):
		return ISC, nil
	}
	if f := strings.Fields(s); len(f) >= 4 {
		if _, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			return Dnsmasq, nil
		}
	}
	if strings.TrimSpace(s) == "" {
		return Dnsmasq, nil // empty: nothing to read whatever it is
	}
	return "", errors.New("not a lease file civicdns knows (Kea CSV, ISC dhcpd.leases, dnsmasq, Windows DHCP audit log)")
}

// Parse reads a lease file of the given format; loc is the zone of times
// written without one (the Windows audit log's, ISC's with db-time-format
// local). Malformed lines are skipped and counted, never an error.
func Parse(r io.Reader, f Format, loc *time.Location) (leases []Lease, skipped int, err error) {
	switch f {
	case Kea:
		return parseKea(r)
	case ISC:
		return parseISC(r, loc)
	case Dnsmasq:
		return parseDnsmasq(r)
	case Windows:
		return parseWindows(r, loc)
	}
	return nil, 0, fmt.Errorf("unknown lease format %q", f)
}

// normalMAC writes a hardware address as 00:11:22:aa:bb:cc ("" if none).
func normalMAC(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || s == "*" {
		return ""
	}
	if hw, err := net.ParseMAC(s); err == nil {
		return hw.String()
	}
	if len(s) == 12 { // Windows: 001122AABBCC
		if hw, err := net.ParseMAC(s[0:2] + ":" + s[2:4] + ":" + s[4:6] + ":" + s[6:8] + ":" + s[8:10] + ":" + s[10:12]); err == nil {
			return hw.String()
		}
	}
	return ""
}

// parseKea reads Kea's memfile CSV: a header naming the columns, then one
// line per lease change; a later line for an address supersedes earlier
// ones; valid_lifetime 0 or a state other than 0 ends the lease.
func parseKea(r io.Reader) ([]Lease, int, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord, cr.LazyQuotes = -1, true
	header, err := cr.Read()
	if err != nil {
		return nil, 0, err
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	last := map[netip.Addr]int{}
	var out []Lease
	skipped := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			skipped++
			continue
		}
		addr, err1 := netip.ParseAddr(get(rec, "address"))
		expire, err2 := strconv.ParseInt(get(rec, "expire"), 10, 64)
		valid, err3 := strconv.ParseInt(get(rec, "valid_lifetime"), 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			skipped++
			continue
		}
		end := time.Unix(expire, 0)
		l := Lease{Addr: addr, MAC: normalMAC(get(rec, "hwaddr")), Hostname: strings.TrimSuffix(get(rec, "hostname"), "."), Start: end.Add(-time.Duration(valid) * time.Second), End: end}
		if st := get(rec, "state"); valid == 0 || st != "" && st != "0" {
			l.End = l.Start // released, declined or reclaimed: holds nothing
		}
		if i, ok := last[addr]; ok && out[i].Start.Equal(l.Start) {
			out[i] = l // the same lease, changed
			continue
		}
		last[addr] = len(out)
		out = append(out, l)
	}
	return out, skipped, nil
}

// parseDnsmasq reads dnsmasq.leases: "EXPIRY MAC ADDR HOSTNAME CLIENTID"
// (expiry 0: infinite; IPv6 lines carry the IAID where the MAC is). The
// file holds current leases only, so each starts at the Unix epoch.
func parseDnsmasq(r io.Reader) ([]Lease, int, error) {
	sc := bufio.NewScanner(r)
	var out []Lease
	skipped := 0
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] == "duid" {
			continue
		}
		if len(f) < 4 {
			skipped++
			continue
		}
		exp, err := strconv.ParseInt(f[0], 10, 64)
		addr, err2 := netip.ParseAddr(f[2])
		if err != nil || err2 != nil {
			skipped++
			continue
		}
		l := Lease{Addr: addr, MAC: normalMAC(f[1]), Start: time.Unix(0, 0)}
		if f[3] != "*" {
			l.Hostname = f[3]
		}
		if exp != 0 {
			l.End = time.Unix(exp, 0)
		}
		out = append(out, l)
	}
	return out, skipped, sc.Err()
}

// parseISC reads dhcpd.leases: "lease ADDR { starts W Y/M/D H:M:S; ends
// …; hardware ethernet MAC; client-hostname "NAME"; binding state S; }";
// times are UTC unless the file says "db-time-format local".
func parseISC(r io.Reader, loc *time.Location) ([]Lease, int, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, 0, err
	}
	zone := time.UTC
	if bytes.Contains(data, []byte("db-time-format local")) && loc != nil {
		zone = loc
	}
	var out []Lease
	skipped := 0
	for _, block := range strings.Split(string(data), "\nlease ")[1:] {
		l, ok := iscLease(block, zone)
		if !ok {
			skipped++
			continue
		}
		out = append(out, l)
	}
	if strings.HasPrefix(string(data), "lease ") { // the first block, with no newline before it
		if l, ok := iscLease(strings.TrimPrefix(string(data), "lease "), zone); ok {
			out = append([]Lease{l}, out...)
		}
	}
	return out, skipped, nil
}

func iscLease(block string, zone *time.Location) (Lease, bool) {
	head, body, ok := strings.Cut(block, "{")
	if !ok {
		return Lease{}, false
	}
	body, _, _ = strings.Cut(body, "}")
	addr, err := netip.ParseAddr(strings.TrimSpace(head))
	if err != nil {
		return Lease{}, false
	}
	l := Lease{Addr: addr}
	active := true
	for _, stmt := range strings.Split(body, ";") {
		f := strings.Fields(stmt)
		switch {
		case len(f) >= 4 && (f[0] == "starts" || f[0] == "ends"):
			t, err := time.ParseInLocation("2006/01/02 15:04:05", f[2]+" "+f[3], zone)
			if err != nil {
				return Lease{}, false
			}
			if f[0] == "starts" {
				l.Start = t
			} else {
				l.End = t
			}
		case len(f) >= 3 && f[0] == "hardware":
			l.MAC = normalMAC(f[2])
		case len(f) >= 2 && f[0] == "client-hostname":
			l.Hostname = strings.Trim(strings.Join(f[1:], " "), `"`)
		case len(f) >= 3 && f[0] == "binding" && f[1] == "state":
			active = f[2] == "active"
		}
	}
	if l.Start.IsZero() {
		return Lease{}, false
	}
	if !active {
		l.End = l.Start
	}
	return l, true
}

// The Windows audit log's event IDs.
const (
	winAssign  = 10
	winRenew   = 11
	winRelease = 12
	winDeleted = 16
	winExpired = 17
	winExpDNS  = 18
)

// parseWindows reads a Windows DHCP server audit log (DhcpSrvLog-Day.log):
// after its legend, "ID,Date,Time,Description,IP Address,Host Name,MAC
// Address,…", local times MM/DD/YY. An assignment or renewal starts a
// lease with no known end; a release, deletion or expiry ends it.
func parseWindows(r io.Reader, loc *time.Location) ([]Lease, int, error) {
	if loc == nil {
		loc = time.Local
	}
	sc := bufio.NewScanner(r)
	open := map[netip.Addr]int{}
	var out []Lease
	skipped, started := 0, false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "ID,Date,Time") {
			started = true
			continue
		}
		if !started || line == "" {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) < 7 {
			skipped++
			continue
		}
		id, err1 := strconv.Atoi(strings.TrimSpace(f[0]))
		t, err2 := time.ParseInLocation("01/02/06 15:04:05", f[1]+" "+f[2], loc)
		addr, err3 := netip.ParseAddr(strings.TrimSpace(f[4]))
		if err1 != nil || err2 != nil || err3 != nil {
			if err1 == nil && (id < winAssign || id > winExpDNS) {
				continue // a server event, not a lease's
			}
			skipped++
			continue
		}
		switch id {
		case winAssign, winRenew:
			if i, ok := open[addr]; ok && out[i].MAC == normalMAC(f[6]) && id == winRenew {
				continue // the same device renewing: the lease goes on
			}
			if i, ok := open[addr]; ok && out[i].End.IsZero() {
				out[i].End = t
			}
			open[addr] = len(out)
			out = append(out, Lease{Addr: addr, Hostname: strings.TrimSpace(f[5]), MAC: normalMAC(f[6]), Start: t})
		case winRelease, winDeleted, winExpired, winExpDNS:
			if i, ok := open[addr]; ok && out[i].End.IsZero() {
				out[i].End = t
			}
			delete(open, addr)
		}
	}
	return out, skipped, sc.Err()
}
