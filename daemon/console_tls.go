package daemon

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/civicdns/civicdns/blockpage"
	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/internal/webhdr"
	"github.com/civicdns/civicdns/live"
)

// consoleTLS is the console's TLS: [admin] tls_cert and tls_key; else a
// certificate for [server] name (and the listen address) from the block
// page's city CA when both are configured; else nil, plain HTTP.
func consoleTLS(cfg *config.Config, now func() time.Time) (*tls.Config, error) {
	a := cfg.Admin
	if a.TLSCert != "" {
		pair, err := tls.LoadX509KeyPair(cfg.Path(a.TLSCert), cfg.Path(a.TLSKey))
		if err != nil {
			return nil, fmt.Errorf("admin.tls_cert: %w", err)
		}
		return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
	}
	bp := cfg.Blockpage
	if cfg.Server.Name == "" || bp.CACert == "" || bp.CAKey == "" {
		return nil, nil
	}
	ca, err := blockpage.LoadCA(cfg.Path(bp.CACert), cfg.Path(bp.CAKey))
	if err != nil {
		return nil, err
	}
	var ips []netip.Addr
	if h, _, err := net.SplitHostPort(a.Listen); err == nil {
		if ip, err := netip.ParseAddr(h); err == nil && !ip.IsUnspecified() {
			ips = append(ips, ip)
		}
	}
	if now == nil {
		now = time.Now
	}
	rc := &blockpage.RenewingCert{CA: ca, Name: cfg.Server.Name, IPs: ips, Now: now}
	return &tls.Config{GetCertificate: rc.GetCertificate, MinVersion: tls.VersionTLS12}, nil
}

// hostGuard serves h only to requests whose Host is an IP literal,
// localhost, [server] name or the listen address's host: a name someone
// else's DNS points here (DNS rebinding) gets 421.
func hostGuard(st *live.State, listen string, h http.Handler) http.Handler {
	listenHost, _, _ := net.SplitHostPort(listen)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !webhdr.HostAllowed(r.Host, st.Snapshot().Config.Server.Name, listenHost) {
			http.Error(w, "this server answers only to its own names and addresses", http.StatusMisdirectedRequest)
			return
		}
		h.ServeHTTP(w, r)
	})
}
