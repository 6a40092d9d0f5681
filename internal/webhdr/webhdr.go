// Package webhdr sets the response headers every civicdns web page carries
// (the block page and the director console): a page's own content policy,
// no sniffing, no referrer, no caching.
package webhdr

import "net/http"

// Set writes the shared headers and the page's Content-Security-Policy.
func Set(h http.Header, csp string) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}
