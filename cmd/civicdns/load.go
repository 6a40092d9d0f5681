package main

import (
	"errors"
	"flag"
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
