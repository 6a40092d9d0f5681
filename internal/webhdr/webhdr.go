// Package webhdr sets the response headers every civicdns web page carries
// (the block page and the director console): a page's own content policy,
// no sniffing, no referrer, no caching.
package webhdr

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Set writes the shared headers and the page's Content-Security-Policy.
func Set(h http.Header, csp string) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

// HostAllowed reports whether a request's Host may be served by a page
// only the city's staff should reach (the console, /metrics): an IP
// literal, "localhost", or one of names. Anything else is a name that
// someone else's DNS points at this server (DNS rebinding: a page on
// evil.example made to reach the console from a director's browser).
func HostAllowed(host string, names ...string) bool {
	h := host
	if sh, _, err := net.SplitHostPort(host); err == nil {
		h = sh
	}
	h = strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), ".")
	if _, err := netip.ParseAddr(h); err == nil || strings.EqualFold(h, "localhost") {
		return true
	}
	for _, n := range names {
		if n != "" && strings.EqualFold(h, strings.TrimSuffix(n, ".")) {
			return true
		}
	}
	return false
}
