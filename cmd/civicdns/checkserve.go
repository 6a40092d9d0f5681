package main

import (
	"fmt"
	"net"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/daemon"
	"github.com/civicdns/civicdns/state"
)

// serveChecks are what serve reads at start beyond the configuration and
// the lists, checked the same way, so that no configuration passes check
// and then fails serve: the block page's CA, the console's certificate,
// the state store's journals. Listen addresses this user cannot bind now
// (a port below 1024 without the capability, one already in use) are
// warnings: the service may have the right, or the address may be its own.
func serveChecks(cfg *config.Config) (errs []config.Error, warns []string) {
	bad := func(err error) { errs = append(errs, config.Error{File: cfg.File, Msg: err.Error()}) }
	if err := daemon.CheckFiles(cfg); err != nil {
		bad(err)
	}
	if cfg.State.Dir != "" {
		found, err := state.Verify(cfg.Path(cfg.State.Dir))
		if err != nil {
			bad(fmt.Errorf("state store: %w", err))
		}
		for _, f := range found {
			for _, d := range f.Damage {
				bad(d)
			}
		}
	}
	for _, ap := range cfg.Server.ListenAddrs {
		if ln, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap)); err != nil {
			warns = append(warns, fmt.Sprintf("server.listen %s: cannot be bound now on UDP (%v): serve will fail unless it runs with the right (CAP_NET_BIND_SERVICE) or the address is free", ap, err))
		} else {
			ln.Close()
		}
	}
	return errs, warns
}
