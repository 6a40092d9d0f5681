package upstream

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/dnssec"
)

// Options are what FromConfig needs beside the [upstream] section.
type Options struct {
	Observer   Observer         // told of every exchange (metrics); may be nil
	Now        func() time.Time // default time.Now
	ResolvConf string           // where the system's resolvers are read; default /etc/resolv.conf
	RootCAs    *x509.CertPool   // for tls:// upstreams; default the system's
	// Recursive builds the resolver of mode = "recursive" (package
	// recursive, which builds on this one and so cannot be called from it).
	Recursive func(Plan) (Upstream, error)
	// Validations is told the outcome of each validation in forward mode
	// with dnssec = true (a metric); may be nil.
	Validations func(result string)
	// Paths resolves file names of the configuration (config.Config.Path).
	Paths func(string) string
}

// Plan is what an [upstream] section resolves to: the addresses of the
// default group (the system's resolvers when none are configured) and of
// each conditional-forwarding zone. Two equal plans make the same upstream,
// so a reload that leaves it unchanged keeps the running one (its sockets,
// connections and health).
type Plan struct {
	Servers []string
	System  bool // Servers came from ResolvConf
	Timeout time.Duration
	Zones   []config.Zone

	// Recursive mode: Servers is empty; the root hints and trust anchor
	// files are read here, so that a reload after they change rebuilds.
	Recursive   bool
	DNSSEC      bool
	RootHints   File
	TrustAnchor File
}

// File is a file the plan depends on: its path ("" for the built-in one)
// and its text.
type File struct {
	Path, Text string
}

// recursionWorstCase is the longest a recursive resolution is given: every
// zone cut from the root, some servers timing out on the way.
const recursionWorstCase = 10 * time.Second

// WorstCase is the longest an exchange can take: every server of the
// largest group tried, each for the full timeout.
func (p Plan) WorstCase() time.Duration {
	if p.Recursive {
		return recursionWorstCase
	}
	n := len(p.Servers)
	for _, z := range p.Zones {
		n = max(n, len(z.Servers))
	}
	return time.Duration(n) * p.Timeout
}

// Equal reports whether two plans make the same upstream.
func (p Plan) Equal(o Plan) bool {
	return slices.Equal(p.Servers, o.Servers) && p.Timeout == o.Timeout &&
		p.Recursive == o.Recursive && p.DNSSEC == o.DNSSEC && p.RootHints == o.RootHints && p.TrustAnchor == o.TrustAnchor &&
		slices.EqualFunc(p.Zones, o.Zones, func(a, b config.Zone) bool { return a.Name == b.Name && slices.Equal(a.Servers, b.Servers) })
}

// PlanFor resolves an [upstream] section, reading the system's resolvers
// when it names no servers.
func PlanFor(u config.Upstream, opts Options) (Plan, error) {
	p := Plan{Servers: u.Servers, Timeout: u.Timeout.D(), Zones: u.Zone, DNSSEC: u.DNSSEC}
	if u.Mode == "recursive" {
		p.Recursive = true
		var err error
		if p.RootHints, err = readFile(opts.path(u.RootHints)); err != nil {
			return Plan{}, fmt.Errorf("upstream.root_hints: %w", err)
		}
		if p.TrustAnchor, err = readFile(opts.path(u.TrustAnchor)); err != nil {
			return Plan{}, fmt.Errorf("upstream.trust_anchor: %w", err)
		}
		return p, nil
	}
	if p.DNSSEC {
		var err error
		if p.TrustAnchor, err = readFile(opts.path(u.TrustAnchor)); err != nil {
			return Plan{}, fmt.Errorf("upstream.trust_anchor: %w", err)
		}
	}
	if len(p.Servers) == 0 {
		servers, err := SystemServers(opts.resolvConf())
		if err != nil {
			return Plan{}, err
		}
		p.Servers, p.System = servers, true
	}
	return p, nil
}

func readFile(path string) (File, error) {
	if path == "" {
		return File{}, nil
	}
	b, err := os.ReadFile(path)
	return File{Path: path, Text: string(b)}, err
}

// path resolves a file named in the configuration (relative to its folder).
func (o Options) path(p string) string {
	if o.Paths == nil {
		return p
	}
	return o.Paths(p)
}

func (o Options) resolvConf() string {
	if o.ResolvConf == "" {
		return "/etc/resolv.conf"
	}
	return o.ResolvConf
}

// FromConfig builds the upstream of a plan: a Router over failover groups,
// one for the default servers and one per zone.
func FromConfig(p Plan, opts Options) (Upstream, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	group := func(addrs []string) (*Group, error) {
		var ups []Upstream
		for _, a := range addrs {
			u, err := New(a)
			if err != nil {
				return nil, err
			}
			if t, ok := u.(*TLS); ok && opts.RootCAs != nil {
				t.WithRootCAs(opts.RootCAs)
			}
			if h, ok := u.(*HTTPS); ok && opts.RootCAs != nil {
				h.WithRootCAs(opts.RootCAs)
			}
			if pl, ok := u.(*Plain); ok {
				if r, ok := opts.Observer.(RetransmitObserver); ok {
					addr := pl.Address()
					pl.OnRetransmit(func() { r.ObserveRetransmit(addr) })
				}
			}
			ups = append(ups, u)
		}
		return NewGroup(ups, p.Timeout, opts.Observer, now), nil
	}
	var def Upstream
	var err error
	if p.Recursive {
		if opts.Recursive == nil {
			return nil, errors.New("recursive mode: no recursive resolver in this build")
		}
		def, err = opts.Recursive(p)
	} else {
		def, err = group(p.Servers)
		if err == nil && p.DNSSEC {
			def, err = validating(def, p, opts)
		}
	}
	if err != nil {
		return nil, err
	}
	zones := map[string]Upstream{}
	for _, z := range p.Zones {
		g, err := group(z.Servers)
		if err != nil {
			return nil, err
		}
		zones[z.Name] = g
	}
	return NewRouter(def, zones), nil
}

// Loops reports an error when a plain upstream of the plan is one of the
// listen addresses: civicdns would forward every miss to itself (a
// resolv.conf that names the machine's own resolver is the usual cause).
// An unspecified listen address (0.0.0.0, ::) covers every address of the
// machine, loopback included.
func (p Plan) Loops(listen []netip.AddrPort) error {
	addrs := append([]string(nil), p.Servers...)
	for _, z := range p.Zones {
		addrs = append(addrs, z.Servers...)
	}
	var local map[netip.Addr]bool
	for _, a := range addrs {
		ap, err := netip.ParseAddrPort(a)
		if err != nil {
			continue // tls:// upstreams: never ourselves
		}
		for _, l := range listen {
			if l.Port() != ap.Port() {
				continue
			}
			same := l.Addr().Unmap() == ap.Addr().Unmap()
			if !same && l.Addr().IsUnspecified() {
				if local == nil {
					local = localAddrs()
				}
				same = ap.Addr().IsLoopback() || local[ap.Addr().Unmap()]
			}
			if same {
				from := "[upstream] servers"
				if p.System {
					from = "the system's resolvers (/etc/resolv.conf)"
				}
				return fmt.Errorf("upstream %s is civicdns's own listen address %s: every lookup would come back to itself; %s must name other resolvers", a, l, from)
			}
		}
	}
	return nil
}

// localAddrs lists the addresses of this machine's interfaces.
func localAddrs() map[netip.Addr]bool {
	out := map[netip.Addr]bool{}
	ifAddrs, _ := net.InterfaceAddrs()
	for _, ia := range ifAddrs {
		if n, ok := ia.(*net.IPNet); ok {
			if a, ok := netip.AddrFromSlice(n.IP); ok {
				out[a.Unmap()] = true
			}
		}
	}
	return out
}

// validating wraps the default group in validation against the plan's
// trust anchor (the built-in root KSKs when none is given).
func validating(def Upstream, p Plan, opts Options) (Upstream, error) {
	anchors := dnssec.RootAnchors()
	if p.TrustAnchor.Text != "" {
		var err error
		if anchors, err = dnssec.ParseAnchors(p.TrustAnchor.Path, p.TrustAnchor.Text); err != nil {
			return nil, fmt.Errorf("trust anchor: %w", err)
		}
	}
	return NewValidating(def, anchors, opts.Validations, opts), nil
}
