package resolver

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/internal/certfile"
)

// listenEncrypted binds the encrypted transports' addresses: DNS over TLS
// (RFC 7858) on [server] tls_listen, served like TCP (pipelined, idle
// timeout, its own connection limit) through the same chain, and DNS over
// HTTPS on https_listen (listenDoH). The certificate is re-read when its
// files change.
func (s *Server) listenEncrypted(cfg *config.Config) error {
	if len(cfg.Server.TLSAddrs) == 0 && len(cfg.Server.HTTPSAddrs) == 0 && len(cfg.Server.QUICAddrs) == 0 {
		return nil
	}
	cert, err := certfile.Load(cfg.Path(cfg.Server.TLSCert), cfg.Path(cfg.Server.TLSKey), func(err error) {
		s.log.Error("tls_cert", "err", err)
	})
	if err != nil {
		return err
	}
	s.cert = cert
	tlsConfig := &tls.Config{GetCertificate: cert.GetCertificate, MinVersion: tls.VersionTLS12, NextProtos: []string{"dot"}}
	for _, addr := range cfg.Server.TLSAddrs {
		ln, err := net.Listen("tcp", addr.String())
		if err != nil {
			return fmt.Errorf("tls_listen %s: %w", addr, err)
		}
		s.mu.Lock()
		s.tls = append(s.tls, tls.NewListener(ln, tlsConfig))
		s.mu.Unlock()
	}
	if err := s.listenDoH(cfg); err != nil {
		return err
	}
	if err := s.listenDoQ(cfg); err != nil {
		return err
	}
	s.ddr.Store(buildDDR(cfg.Server.Name, cert.Leaf(), s.TLSAddrs(), s.HTTPSAddrs(), s.QUICAddrs()))
	return nil
}

// TLSAddrs are the DNS-over-TLS addresses served.
func (s *Server) TLSAddrs() []netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	return addrPorts(s.tls)
}

// addrPorts are the bound addresses of listeners of any transport.
func addrPorts[L interface{ Addr() net.Addr }](lns []L) []netip.AddrPort {
	out := make([]netip.AddrPort, 0, len(lns))
	for _, ln := range lns {
		ap, _ := netip.ParseAddrPort(ln.Addr().String())
		out = append(out, ap)
	}
	return out
}
