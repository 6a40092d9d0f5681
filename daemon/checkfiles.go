package daemon

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"

	"github.com/civicdns/civicdns/blockpage"
	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/directory"
)

// CheckFiles reads the files a configuration names that serve reads at
// start beyond the configuration and the lists: the block page's CA, the
// console's certificate and the resolver's (DoT, DoH). `civicdns check` and every reload ask it, so
// that nothing passes them that serve would refuse.
func CheckFiles(cfg *config.Config) error {
	var errs []error
	if bp := cfg.Blockpage; bp.CACert != "" && bp.CAKey != "" {
		if _, err := blockpage.LoadCA(cfg.Path(bp.CACert), cfg.Path(bp.CAKey)); err != nil {
			errs = append(errs, err)
		}
	}
	if a := cfg.Admin; a.TLSCert != "" && a.TLSKey != "" {
		if _, err := tls.LoadX509KeyPair(cfg.Path(a.TLSCert), cfg.Path(a.TLSKey)); err != nil {
			errs = append(errs, fmt.Errorf("admin.tls_cert: %w", err))
		}
	}
	if s := cfg.Server; s.TLSCert != "" && s.TLSKey != "" {
		if _, err := tls.LoadX509KeyPair(cfg.Path(s.TLSCert), cfg.Path(s.TLSKey)); err != nil {
			errs = append(errs, fmt.Errorf("server.tls_cert: %w", err))
		}
	}
	n := cfg.Notify
	for _, f := range []struct{ key, path string }{{"notify.password_file", n.PasswordFile}, {"notify.ca_cert", n.CACert},
		{"notify.webhook_secret_file", n.WebhookSecretFile}, {"directory.oidc_client_secret_file", cfg.Directory.OIDCClientSecretFile},
		{"log.syslog_ca_cert", cfg.Log.SyslogCACert}} {
		if f.path == "" {
			continue
		}
		if _, err := os.ReadFile(cfg.Path(f.path)); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.key, err))
		}
	}
	if cfg.Directory.Enabled() {
		// The password file and the directory's CA; the directory itself
		// is not asked: it may be away, and DNS does not need it.
		if _, err := directory.New(cfg.Directory, cfg.Path); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
