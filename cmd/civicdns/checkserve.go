package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/daemon"
	"github.com/civicdns/civicdns/devices"
	"github.com/civicdns/civicdns/internal/safetext"
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
		if err == nil && !damaged(found) {
			warns = append(warns, deviceWarnings(cfg)...)
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

func damaged(found []state.Finding) bool {
	for _, f := range found {
		if len(f.Damage) > 0 {
			return true
		}
	}
	return false
}

// deviceWarnings are what would keep enrolled roaming devices from their
// policy: a department no longer configured (they get the citywide policy),
// no [server] name, or a certificate that does not cover TOKEN.NAME.
func deviceWarnings(cfg *config.Config) []string {
	dir := cfg.Path(cfg.State.Dir)
	if _, err := os.Stat(filepath.Join(dir, state.WorkflowFile)); err != nil {
		return nil // nothing enrolled yet; and check makes no folder
	}
	store, err := state.Open(dir, nil)
	if err != nil {
		return nil
	}
	devs, err := store.PolicyDevices()
	if err != nil || len(devs) == 0 {
		return nil
	}
	var warns []string
	for _, d := range devs {
		if cfg.DepartmentNamed(d.Department) == nil {
			warns = append(warns, fmt.Sprintf("device %s %q belongs to department %q, which is not a [[department]] any more: it gets the citywide policy (revoke it, or enroll it again)",
				d.ID, safetext.Escape(d.Name), safetext.Escape(d.Department)))
		}
	}
	if cfg.Server.Name == "" {
		return append(warns, fmt.Sprintf("%d devices are enrolled but [server] name is not set: their DoT/DoQ names cannot be recognised", len(devs)))
	}
	if leaf := serverLeaf(cfg); leaf != nil && leaf.VerifyHostname(devices.NewToken()+"."+cfg.Server.Name) != nil {
		warns = append(warns, fmt.Sprintf("tls_cert does not cover *.%s: %d enrolled devices' DoT/DoQ names (TOKEN.%[1]s) will not verify; `civicdns ca issue -name %[1]s` covers it", cfg.Server.Name, len(devs)))
	}
	return warns
}
