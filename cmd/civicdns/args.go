package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/civicdns/civicdns/config"
)

// parseWithConfig parses a command's flags where the configuration file
// may also be given as its one positional argument, before, between or
// after the flags (`civicdns check my.toml`, `civicdns serve
// /etc/civicdns/civicdns.toml -log-json`). Anything else left over is an
// error, never ignored; the caller prints the usage.
func parseWithConfig(fl *flag.FlagSet, cfgPath *string, args []string) error {
	var pos []string
	for {
		if err := fl.Parse(args); err != nil {
			return err
		}
		if fl.NArg() == 0 {
			break
		}
		pos = append(pos, fl.Arg(0))
		args = fl.Args()[1:]
	}
	switch {
	case len(pos) == 0:
		return nil
	case len(pos) > 1:
		return &argError{"one configuration file at most; got " + strings.Join(pos, " ")}
	case *cfgPath != "":
		return &argError{"the configuration is given twice: -config " + *cfgPath + " and " + pos[0]}
	}
	*cfgPath = pos[0]
	return nil
}

// argError is an argument parseWithConfig refuses (the flag package has
// already printed its own errors, with the usage).
type argError struct{ msg string }

func (e *argError) Error() string { return e.msg }

// usageError prints why the arguments do not fit and the usage when the
// flag package has not already, and returns the exit code: 0 for -h.
func usageError(fl *flag.FlagSet, err error) int {
	var ae *argError
	if errors.As(err, &ae) {
		fmt.Fprintf(fl.Output(), "civicdns %s: %v\n", fl.Name(), err)
		fl.Usage()
	}
	if err == flag.ErrHelp {
		return 0
	}
	return 2
}

// durationFlag is a -since style flag that takes days as well as Go's
// durations ("7d", "36h", "1d12h").
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	return f.d.String()
}

func (f durationFlag) Set(s string) error {
	d, err := config.ParseDuration(s)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

// durationVar defines a duration flag that takes days ("7d").
func durationVar(fl *flag.FlagSet, name string, def time.Duration, usage string) *time.Duration {
	d := def
	fl.Var(durationFlag{&d}, name, usage)
	return &d
}

// checkFilter reports a filter value that names nothing: the error lists
// the valid values ("" is no filter).
func checkFilter(flagName, value string, valid []string) error {
	if value == "" {
		return nil
	}
	for _, v := range valid {
		if strings.EqualFold(v, value) {
			return nil
		}
	}
	return fmt.Errorf("-%s %q names nothing; the valid values: %s", flagName, value, strings.Join(valid, ", "))
}
