package recursive

import (
	_ "embed"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/miekg/dns"
)

// The IANA root hints (named.root, as Debian's dns-root-data ships it).
//
//go:embed root.hints
var builtinHints string

// LoadHints reads a root hints file in named.root format ("" means the
// built-in IANA hints) into the root's delegation.
func LoadHints(path string) (*delegation, error) {
	if path == "" {
		return parseHints("(built-in root hints)", builtinHints)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseHints(path, string(b))
}

func parseHints(file, text string) (*delegation, error) {
	d := &delegation{zone: ".", addrs: map[string][]netip.Addr{}}
	zp := dns.NewZoneParser(strings.NewReader(text), ".", file)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		switch v := rr.(type) {
		case *dns.NS:
			if dns.CanonicalName(v.Hdr.Name) != "." {
				return nil, fmt.Errorf("%s: root hints name the root's servers, not %s's", file, v.Hdr.Name)
			}
			d.ns = append(d.ns, dns.CanonicalName(v.Ns))
		case *dns.A, *dns.AAAA:
			if a, ok := addrOf(rr); ok {
				name := dns.CanonicalName(rr.Header().Name)
				d.addrs[name] = append(d.addrs[name], a)
			}
		}
	}
	if err := zp.Err(); err != nil {
		return nil, err
	}
	n := 0
	for _, ns := range d.ns {
		n += len(d.addrs[ns])
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: no root server with an address", file)
	}
	return d, nil
}
