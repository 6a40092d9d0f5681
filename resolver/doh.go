package resolver

import (
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/devices"
	"github.com/civicdns/civicdns/dnswire"
	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/query"
	"golang.org/x/net/netutil"
)

// DoHPath is where DNS over HTTPS is served (RFC 8484), GET ?dns= and
// POST; a roaming device's URL adds its token: /dns-query/TOKEN.
const DoHPath = "/dns-query"

// listenDoH binds [server] https_listen: DNS over HTTPS, HTTP/2 and
// HTTP/1.1, each query through the same chain as every transport. A client
// gets tcp_idle_timeout to send its request and to stay idle, and the
// connections of one address are bounded by tcp_max_connections.
func (s *Server) listenDoH(cfg *config.Config) error {
	for _, addr := range cfg.Server.HTTPSAddrs {
		ln, err := net.Listen("tcp", addr.String())
		if err != nil {
			return fmt.Errorf("https_listen %s: %w", addr, err)
		}
		idle := cfg.Server.TCPIdleTimeout.D()
		srv := &http.Server{
			Handler:           http.HandlerFunc(s.serveDoH),
			TLSConfig:         &tls.Config{GetCertificate: s.cert.GetCertificate, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}},
			ReadHeaderTimeout: idle, ReadTimeout: idle, WriteTimeout: 10 * time.Second, IdleTimeout: idle,
			MaxHeaderBytes: 16 << 10,
		}
		s.mu.Lock()
		s.https = append(s.https, dohListener{srv: srv, ln: netutil.LimitListener(ln, cfg.Server.TCPMaxConnections)})
		s.mu.Unlock()
	}
	return nil
}

// dohListener is one DoH address and its server.
type dohListener struct {
	srv *http.Server
	ln  net.Listener
}

// Addr is the address it is bound to.
func (d dohListener) Addr() net.Addr { return d.ln.Addr() }

// serveDoH answers one RFC 8484 request.
func (s *Server) serveDoH(w http.ResponseWriter, r *http.Request) {
	token, status := s.dohToken(r.URL.Path)
	if status != 0 {
		http.Error(w, http.StatusText(status), status)
		return
	}
	msg, status := dohMessage(r)
	if status != 0 {
		http.Error(w, http.StatusText(status), status)
		return
	}
	client, _ := netip.ParseAddrPort(r.RemoteAddr)
	q := s.pool.Get()
	defer s.pool.Put(q)
	in := q.InN(len(msg))
	copy(in, msg)
	q.Raw, q.Client, q.TCP, q.MayBlock, q.Received, q.Transport = in, client, true, true, s.now(), query.TransportHTTPS
	q.Token = token // the access stage looks it up again, in this query's snapshot (a revocation meanwhile counts)
	s.inflight.Add(1)
	defer s.inflight.Done()
	reply, maxAge := s.handleWarm(q)
	if !reply {
		http.Error(w, "not a DNS query", http.StatusBadRequest)
		return
	}
	if q.Decision.Action == policy.Limited {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "rate limited", http.StatusTooManyRequests)
		return
	}
	h := w.Header()
	h["Content-Type"] = dnsMessageType // the shared value: net/http only reads it
	h["Cache-Control"] = []string{"max-age=" + strconv.Itoa(int(maxAge))}
	h["Content-Length"] = []string{strconv.Itoa(len(q.Answer))}
	w.Write(q.Answer)
}

// dohToken is the device token's key of a DoH path (/dns-query/TOKEN),
// or zero for /dns-query itself; an unknown or revoked
// token is 403 before anything else is read, a path that is neither 404.
func (s *Server) dohToken(path string) (devices.Key, int) {
	tok, ok := strings.CutPrefix(path, DoHPath+"/")
	switch {
	case path == DoHPath:
		return devices.Key{}, 0
	case !ok:
		return devices.Key{}, http.StatusNotFound
	case !devices.WellFormed(tok):
		return devices.Key{}, http.StatusForbidden
	}
	k := devices.KeyOf(tok)
	if s.state.Snapshot().Devices.Lookup(k) == nil {
		return devices.Key{}, http.StatusForbidden
	}
	return k, 0
}

var dnsMessageType = []string{"application/dns-message"}

// dohMessage reads the DNS message of a GET (?dns=, base64url without
// padding) or a POST (application/dns-message), or an HTTP status.
func dohMessage(r *http.Request) ([]byte, int) {
	switch r.Method {
	case http.MethodGet:
		param := queryParam(r.URL.RawQuery, "dns")
		if param == "" || len(param) > 87382 {
			return nil, http.StatusBadRequest
		}
		msg, err := base64.RawURLEncoding.DecodeString(param)
		if err != nil {
			return nil, http.StatusBadRequest
		}
		return msg, 0
	case http.MethodPost:
		if r.Header.Get("Content-Type") != "application/dns-message" {
			return nil, http.StatusUnsupportedMediaType
		}
		msg, err := io.ReadAll(io.LimitReader(r.Body, 65536))
		if err != nil || len(msg) > 65535 {
			return nil, http.StatusRequestEntityTooLarge
		}
		return msg, 0
	}
	return nil, http.StatusMethodNotAllowed
}

// minTTL is the freshness of a DoH answer (RFC 8484 §5.1): its smallest
// TTL; 0 for an answer with no records.
func minTTL(msg []byte) uint32 {
	var buf [16]dnswire.Record
	recs, err := dnswire.Records(msg, buf[:0])
	if err != nil || len(recs) == 0 {
		return 0
	}
	lowest := ^uint32(0)
	for i := range recs {
		if recs[i].Type != dnswire.TypeOPT {
			lowest = min(lowest, recs[i].TTL(msg))
		}
	}
	if lowest == ^uint32(0) {
		return 0
	}
	return lowest
}

// HTTPSAddrs are the DNS-over-HTTPS addresses served.
func (s *Server) HTTPSAddrs() []netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	return addrPorts(s.https)
}

// queryParam is the value of key in a raw query string, without building
// the map url.Values is (one per request); percent-escapes are undone only
// when there are any (base64url needs none).
func queryParam(raw, key string) string {
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			if strings.Contains(v, "%") {
				v, _ = url.QueryUnescape(v)
			}
			return v
		}
	}
	return ""
}
