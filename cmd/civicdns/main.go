// Command civicdns is the city's filtering DNS resolver: one binary with
// subcommands (serve, check, explain, version).
package main

import (
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: civicdns <command> [flags]

commands:
  serve   [-config FILE]                    run the resolver
  check   [-config FILE]                    validate the configuration and lists
  explain [-config FILE] -client IP NAME    show the policy decision for a client and name
  version                                   print the version

With no -config, civicdns.toml in the current folder is used if it exists,
else the embedded default (127.0.0.1:5353, the system's resolvers).
`

// run dispatches a subcommand and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return cmdServe(args[1:], stdout, stderr)
	case "check":
		return cmdCheck(args[1:], stdout, stderr)
	case "explain":
		return cmdExplain(args[1:], stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintf(stdout, "civicdns %s\n", version)
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "civicdns: unknown command %q\n\n%s", args[0], usage)
	return 2
}
