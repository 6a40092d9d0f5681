package config

import "net/netip"

// encrypted checks the encrypted transports' listen addresses and that a
// certificate is given when any is on (its files are read by CheckFiles).
func (v *validator) encrypted() {
	s := &v.c.Server
	addrs := func(key string, list []string) []netip.AddrPort {
		var out []netip.AddrPort
		for _, l := range list {
			ap, err := netip.ParseAddrPort(l)
			if err != nil {
				v.bad("server."+key, "server.%s: %q is not an IP:port (write \"10.0.0.53:853\")", key, l)
				continue
			}
			out = append(out, ap)
		}
		return out
	}
	s.TLSAddrs = addrs("tls_listen", s.TLSListen)
	s.HTTPSAddrs = addrs("https_listen", s.HTTPSListen)
	if len(s.QUICListen) > 0 {
		v.bad("server.quic_listen", "server.quic_listen: DNS over QUIC is not served yet; use tls_listen (DoT) and https_listen (DoH)")
	}
	on := len(s.TLSListen) > 0 || len(s.HTTPSListen) > 0
	switch {
	case on && (s.TLSCert == "" || s.TLSKey == ""):
		v.bad("server.tls_cert", "server.tls_listen and https_listen need tls_cert and tls_key (`civicdns ca issue` makes them from the city CA)")
	case !on && (s.TLSCert != "" || s.TLSKey != ""):
		v.bad("server.tls_cert", "server.tls_cert and tls_key are for tls_listen and https_listen, and neither is set")
	}
}
