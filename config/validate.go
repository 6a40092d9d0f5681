package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// validator collects every problem of one configuration, each at the line
// of the key it is about.
type validator struct {
	c    *Config
	errs Errors
}

func (v *validator) bad(path, format string, args ...any) {
	v.errs = append(v.errs, v.c.ErrorAt(path, format, args...))
}

// validate checks every value that can be checked without the lists, and
// fills the parsed forms (addresses, prefixes). It reports all problems,
// section by section.
func (c *Config) validate() Errors {
	v := &validator{c: c}
	v.server()
	v.encrypted()
	v.upstream()
	v.cache()
	v.metrics()
	v.block()
	v.lists()
	v.policy()
	depts := v.departments()
	v.defaultAllow()
	v.exemptions(depts)
	v.blockpage()
	v.state()
	v.admin(depts)
	v.notify()
	v.syslog()
	v.log()
	return v.errs
}

func (v *validator) server() {
	s := &v.c.Server
	for i, z := range s.LocalZonesOff {
		name, err := NormalizeName(z)
		if err != nil || name == "" {
			v.bad("server.local_zones_off", "server.local_zones_off: %q is not a zone name", z)
			continue
		}
		s.LocalZonesOff[i] = name
	}
	if len(s.Listen) == 0 {
		v.bad("server.listen", "server.listen: at least one address is needed")
	}
	for _, l := range s.Listen {
		ap, err := netip.ParseAddrPort(l)
		if err != nil {
			v.bad("server.listen", "server.listen: %q is not an IP:port (write \"0.0.0.0:53\" or \"[::]:53\")", l)
			continue
		}
		s.ListenAddrs = append(s.ListenAddrs, ap)
	}
	if s.TCPIdleTimeout <= 0 {
		v.bad("server.tcp_idle_timeout", "server.tcp_idle_timeout must be positive")
	}
	if s.TCPMaxConnections < 1 {
		v.bad("server.tcp_max_connections", "server.tcp_max_connections must be at least 1")
	}
	if s.UDPSockets < 0 || s.UDPSockets > 64 {
		v.bad("server.udp_sockets", "server.udp_sockets must be 0 (one per CPU) to 64")
	}
	for _, a := range s.Allow {
		p, err := ParsePrefix(a)
		if err != nil {
			v.bad("server.allow", "server.allow: %v", err)
			continue
		}
		s.AllowPrefixes = append(s.AllowPrefixes, p)
	}
}

// defaultAllow is who is served when [server] allow is not set: loopback
// and every department's networks (run after the departments are read).
func (v *validator) defaultAllow() {
	s := &v.c.Server
	if len(s.Allow) > 0 {
		return
	}
	s.AllowPrefixes = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, d := range v.c.Department {
		s.AllowPrefixes = append(s.AllowPrefixes, d.Prefixes...)
	}
}

func (v *validator) upstream() {
	u := &v.c.Upstream
	switch u.Mode {
	case "forward":
	case "recursive":
		if !v.c.pos.Has("upstream.dnssec") {
			u.DNSSEC = true // on unless turned off
		}
		if len(u.Servers) > 0 {
			v.bad("upstream.servers", `upstream.servers is for mode = "forward"; in recursive mode civicdns asks the root itself (use root_hints for other root servers)`)
		}
	default:
		v.bad("upstream.mode", `upstream.mode must be "forward" or "recursive", not %q`, u.Mode)
	}
	if u.Mode == "forward" && u.RootHints != "" {
		v.bad("upstream.root_hints", `upstream.root_hints is for mode = "recursive"`)
	}
	for _, key := range []struct{ path, file string }{{"upstream.root_hints", u.RootHints}, {"upstream.trust_anchor", u.TrustAnchor}} {
		if key.file == "" {
			continue
		}
		path := key.file
		if !filepath.IsAbs(path) { // relative to the configuration's folder (Dir is set once loaded)
			path = filepath.Join(filepath.Dir(v.c.File), path)
		}
		if _, err := os.Stat(path); err != nil {
			v.bad(key.path, "%s: %v", key.path, err)
		}
	}
	for _, s := range u.Servers {
		if err := CheckUpstreamAddress(s); err != nil {
			v.bad("upstream.servers", "upstream.servers: %v", err)
		}
	}
	if u.Timeout <= 0 {
		v.bad("upstream.timeout", "upstream.timeout must be positive")
	}
	if u.AnswerTimeout <= 0 {
		v.bad("upstream.answer_timeout", "upstream.answer_timeout must be positive")
	}
	zones := map[string]bool{}
	for i := range u.Zone {
		z := &u.Zone[i]
		p := fmt.Sprintf("upstream.zone[%d]", i)
		name, err := NormalizeName(z.Name)
		if err != nil || name == "" {
			v.bad(p+".name", "upstream.zone name %q is not a domain name", z.Name)
		} else if zones[name] {
			v.bad(p+".name", "upstream.zone %q is given twice", z.Name)
		}
		zones[name] = true
		z.Name = name
		if len(z.Servers) == 0 {
			v.bad(p+".servers", "upstream.zone %q needs at least one server", z.Name)
		}
		for _, s := range z.Servers {
			if err := CheckUpstreamAddress(s); err != nil {
				v.bad(p+".servers", "upstream.zone %q: %v", z.Name, err)
			}
		}
	}
}

func (v *validator) cache() {
	c := &v.c.Cache
	if c.Size < 1 {
		v.bad("cache.size", "cache.size must be at least 1")
	}
	if c.MaxTTL <= 0 {
		v.bad("cache.max_ttl", "cache.max_ttl must be positive")
	}
	if c.MinTTL < 0 || c.MinTTL > c.MaxTTL {
		v.bad("cache.min_ttl", "cache.min_ttl must be between 0 and max_ttl")
	}
	if c.NegMaxTTL < 0 {
		v.bad("cache.negative_max_ttl", "cache.negative_max_ttl must not be negative")
	}
	if c.ServeStale < 0 {
		v.bad("cache.serve_stale", "cache.serve_stale must not be negative")
	}
	if c.StaleAfter < 0 {
		v.bad("cache.stale_answer_after", "cache.stale_answer_after must not be negative")
	}
}

func (v *validator) metrics() {
	if l := v.c.Metrics.Listen; l != "" {
		if _, _, err := net.SplitHostPort(l); err != nil {
			v.bad("metrics.listen", "metrics.listen: %q is not host:port", l)
		}
	}
}

// CheckUpstreamAddress accepts "IP:port", "IP" (port 53), "tls://host:port",
// "tls://IP:port#server.name" (the name checked in the certificate) and a
// DoH URL "https://host/dns-query".
func CheckUpstreamAddress(s string) error {
	if strings.HasPrefix(s, "https://") {
		if u, err := url.Parse(s); err != nil || u.Host == "" || u.RawQuery != "" {
			return fmt.Errorf("%q is not a DNS-over-HTTPS URL (https://host/dns-query)", s)
		}
		return nil
	}
	rest, isTLS := strings.CutPrefix(s, "tls://")
	if isTLS {
		rest, _, _ = strings.Cut(rest, "#")
	} else if strings.Contains(s, "://") {
		return fmt.Errorf("%q: only plain (IP:port), tls:// and https:// upstreams are supported", s)
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		if _, err2 := netip.ParseAddr(rest); err2 == nil && !isTLS {
			return nil
		}
		return fmt.Errorf("%q is not host:port", s)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("%q has a bad port", s)
	}
	if _, err := netip.ParseAddr(host); err != nil && !isTLS {
		return fmt.Errorf("%q: a plain upstream needs an IP address (host names need DNS themselves)", s)
	}
	return nil
}
