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
	s.QUICAddrs = addrs("quic_listen", s.QUICListen)
	v.rateLimit()
	on := len(s.TLSListen) > 0 || len(s.HTTPSListen) > 0 || len(s.QUICListen) > 0
	switch {
	case on && (s.TLSCert == "" || s.TLSKey == ""):
		v.bad("server.tls_cert", "server.tls_listen, https_listen and quic_listen need tls_cert and tls_key (`civicdns ca issue` makes them from the city CA)")
	case !on && (s.TLSCert != "" || s.TLSKey != ""):
		v.bad("server.tls_cert", "server.tls_cert and tls_key are for tls_listen, https_listen and quic_listen, and none is set")
	}
}

// rateLimit checks [server.rate_limit].
func (v *validator) rateLimit() {
	r := &v.c.Server.RateLimit
	switch {
	case r.Queries < 0 || r.Queries > 1000000:
		v.bad("server.rate_limit.queries", "server.rate_limit.queries must be 0 (off) to 1000000 a second")
	case r.Burst < 0 || r.Burst > 10000000:
		v.bad("server.rate_limit.burst", "server.rate_limit.burst must be 0 (twice queries) or more")
	case r.Slip < 0 || r.Slip > 10:
		v.bad("server.rate_limit.slip", "server.rate_limit.slip must be 0 (drop all) to 10")
	case r.IPv6Prefix < 32 || r.IPv6Prefix > 128:
		v.bad("server.rate_limit.ipv6_prefix", "server.rate_limit.ipv6_prefix must be 32 to 128 (64: a household or an office)")
	}
	r.ExemptPrefixes = nil
	for _, e := range r.Exempt {
		p, err := ParsePrefix(e)
		if err != nil {
			v.bad("server.rate_limit.exempt", "server.rate_limit.exempt: %q is not a network or an address", e)
			continue
		}
		r.ExemptPrefixes = append(r.ExemptPrefixes, p)
	}
}
