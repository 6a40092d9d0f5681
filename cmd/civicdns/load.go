package main

import (
	"log/slog"

	"errors"
	"flag"
	"github.com/civicdns/civicdns/policy"
	"io/fs"
	"os"

	"github.com/civicdns/civicdns/config"
)

// defaultConfigFile is read when -config is not given and it exists.
const defaultConfigFile = "civicdns.toml"

// configFlag adds -config to a subcommand's flags.
func configFlag(fl *flag.FlagSet) *string {
	return fl.String("config", "", "configuration file (default civicdns.toml if present, else the embedded default)")
}

// loadConfig reads the named file, civicdns.toml, or the embedded default.
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		if _, err := os.Stat(defaultConfigFile); err == nil {
			path = defaultConfigFile
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if path == "" {
		return config.LoadDefault()
	}
	return config.Load(path)
}

// loadConfigAll is loadConfig keeping a configuration with wrong values (for check).
func loadConfigAll(path string) (*config.Config, config.Errors) {
	if path == "" {
		if _, err := os.Stat(defaultConfigFile); err == nil {
			path = defaultConfigFile
		}
	}
	if path == "" {
		cfg, err := config.LoadDefault()
		if err != nil {
			return nil, config.Errors{{File: config.DefaultFile, Msg: err.Error()}}
		}
		return cfg, nil
	}
	return config.LoadAll(path)
}

// loadPolicy reads the configuration and compiles its policy with the lists.
func loadPolicy(path string) (*config.Config, *policy.Policy, error) {
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, nil, err
	}
	pol, err := policy.Load(cfg, nil)
	if err != nil {
		return nil, nil, err
	}
	return cfg, pol, nil
}

// logWarnings logs the lines of imported lists that were skipped.
func logWarnings(log *slog.Logger, pol *policy.Policy) {
	w := pol.Lists().Warnings
	for i, e := range w {
		if i == 20 {
			log.Warn("more skipped list lines not logged", "count", len(w)-i)
			break
		}
		log.Warn("list line skipped", "where", e.Error())
	}
}
