package console

import (
	"net/http"
	"net/netip"
	"strings"
)

// clientOf is the address a request came from: the connection's, or,
// when that is one of [admin] trusted_proxies, the nearest address in
// X-Forwarded-For that is not a trusted proxy (the one the proxy saw).
// A client cannot make itself someone else by sending the header.
func (s *Server) clientOf(r *http.Request) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	addr := ap.Addr().Unmap()
	trusted := s.state.Snapshot().Config.Admin.TrustedProxyPrefixes
	if !inPrefixes(addr, trusted) {
		return addr.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a hop that is not an address: believe nothing further
		}
		addr = a.Unmap()
		if !inPrefixes(addr, trusted) {
			break
		}
	}
	return addr.String()
}

// viaTLS reports whether the browser reached the console over TLS: its own,
// or a trusted proxy's that says so (X-Forwarded-Proto: https).
func (s *Server) viaTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && inPrefixes(ap.Addr().Unmap(), s.state.Snapshot().Config.Admin.TrustedProxyPrefixes) &&
		strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// apiStatus is the running server's status (`civicdns status`): for a
// request from this machine itself (loopback, not through a proxy), or a
// signed-in director.
func (s *Server) apiStatus(w http.ResponseWriter, r *http.Request) {
	if s.status == nil {
		http.NotFound(w, r)
		return
	}
	if !localRequest(r) {
		if _, sess := s.sessions.get(r); sess == nil || !s.stillGranted(sess) {
			s.fail(w, r, http.StatusUnauthorized, "sign in first, or ask from the server itself (civicdns status)")
			return
		}
	}
	writeJSON(w, http.StatusOK, s.status())
}

// localRequest reports a request from this machine that no proxy forwarded.
func localRequest(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback() && r.Header.Get("X-Forwarded-For") == ""
}
