package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// validate checks every value that can be checked without the lists, and
// fills the parsed forms (addresses, prefixes). It reports all problems.
func (c *Config) validate() Errors {
	var errs Errors
	bad := func(path, format string, args ...any) {
		errs = append(errs, c.ErrorAt(path, format, args...))
	}

	// [server]
	if len(c.Server.Listen) == 0 {
		bad("server.listen", "server.listen: at least one address is needed")
	}
	for _, l := range c.Server.Listen {
		ap, err := netip.ParseAddrPort(l)
		if err != nil {
			bad("server.listen", "server.listen: %q is not an IP:port (write \"0.0.0.0:53\" or \"[::]:53\")", l)
			continue
		}
		c.Server.ListenAddrs = append(c.Server.ListenAddrs, ap)
	}
	if c.Server.TCPIdleTimeout <= 0 {
		bad("server.tcp_idle_timeout", "server.tcp_idle_timeout must be positive")
	}
	if c.Server.TCPMaxConnections < 1 {
		bad("server.tcp_max_connections", "server.tcp_max_connections must be at least 1")
	}
	if c.Server.UDPSockets < 0 || c.Server.UDPSockets > 64 {
		bad("server.udp_sockets", "server.udp_sockets must be 0 (one per CPU) to 64")
	}

	// [upstream]
	switch c.Upstream.Mode {
	case "forward":
	case "recursive":
		bad("upstream.mode", `upstream.mode "recursive" is not available in this release; use "forward"`)
	default:
		bad("upstream.mode", `upstream.mode must be "forward" or "recursive", not %q`, c.Upstream.Mode)
	}
	for _, s := range c.Upstream.Servers {
		if err := CheckUpstreamAddress(s); err != nil {
			bad("upstream.servers", "upstream.servers: %v", err)
		}
	}
	if c.Upstream.Timeout <= 0 {
		bad("upstream.timeout", "upstream.timeout must be positive")
	}
	zones := map[string]bool{}
	for i := range c.Upstream.Zone {
		z := &c.Upstream.Zone[i]
		p := fmt.Sprintf("upstream.zone[%d]", i)
		name, err := NormalizeName(z.Name)
		if err != nil || name == "" {
			bad(p+".name", "upstream.zone name %q is not a domain name", z.Name)
		} else if zones[name] {
			bad(p+".name", "upstream.zone %q is given twice", z.Name)
		}
		zones[name] = true
		z.Name = name
		if len(z.Servers) == 0 {
			bad(p+".servers", "upstream.zone %q needs at least one server", z.Name)
		}
		for _, s := range z.Servers {
			if err := CheckUpstreamAddress(s); err != nil {
				bad(p+".servers", "upstream.zone %q: %v", z.Name, err)
			}
		}
	}

	// [cache]
	if c.Cache.Size < 1 {
		bad("cache.size", "cache.size must be at least 1")
	}
	if c.Cache.MaxTTL <= 0 {
		bad("cache.max_ttl", "cache.max_ttl must be positive")
	}
	if c.Cache.MinTTL < 0 || c.Cache.MinTTL > c.Cache.MaxTTL {
		bad("cache.min_ttl", "cache.min_ttl must be between 0 and max_ttl")
	}
	if c.Cache.NegMaxTTL < 0 {
		bad("cache.negative_max_ttl", "cache.negative_max_ttl must not be negative")
	}
	if c.Cache.ServeStale < 0 {
		bad("cache.serve_stale", "cache.serve_stale must not be negative")
	}
	if c.Cache.StaleAfter < 0 {
		bad("cache.stale_answer_after", "cache.stale_answer_after must not be negative")
	}

	// [metrics]
	if l := c.Metrics.Listen; l != "" {
		if _, _, err := net.SplitHostPort(l); err != nil {
			bad("metrics.listen", "metrics.listen: %q is not host:port", l)
		}
	}

	errs = append(errs, c.validatePolicy()...)
	return errs
}

// CheckUpstreamAddress accepts "IP:port", "IP" (port 53), "tls://host:port"
// and "tls://IP:port#server.name" (the name checked in the certificate).
func CheckUpstreamAddress(s string) error {
	rest, isTLS := strings.CutPrefix(s, "tls://")
	if isTLS {
		rest, _, _ = strings.Cut(rest, "#")
	} else if strings.Contains(s, "://") {
		return fmt.Errorf("%q: only plain (IP:port) and tls:// upstreams are supported", s)
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
