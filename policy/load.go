package policy

import (
	"os"
	"time"

	"github.com/civicdns/civicdns/blocklists"
	"github.com/civicdns/civicdns/config"
)

// Load reads the category lists the configuration names ([lists] dir, or
// the built-in lists when it is empty) and compiles the policy.
func Load(cfg *config.Config, loc *time.Location) (*Policy, error) {
	return Reload(cfg, loc, nil)
}

// Reload is Load for a running policy: when the lists read as they did
// when running's were built, the new policy shares running's compiled
// lists instead of building a second copy (nil running: Load).
func Reload(cfg *config.Config, loc *time.Location, running *Policy) (*Policy, error) {
	opts := blocklists.Options{FS: blocklists.Shipped(), DisplayDir: blocklists.ShippedDir}
	if cfg.Lists.Dir != "" {
		dir := cfg.Path(cfg.Lists.Dir)
		if _, err := os.Stat(dir); err != nil {
			return nil, config.Errors{cfg.ErrorAt("lists.dir", "lists.dir: %v", err)}
		}
		opts = blocklists.Options{FS: os.DirFS(dir), DisplayDir: dir, OSDir: dir}
	}
	if cfg.Lists.Update {
		opts.DownloadDir = cfg.Path(cfg.Lists.DownloadDir)
	}
	if running != nil {
		opts.Reuse = running.Lists()
	}
	set, err := blocklists.Load(opts)
	if err != nil {
		return nil, err
	}
	return Compile(cfg, set, loc)
}
