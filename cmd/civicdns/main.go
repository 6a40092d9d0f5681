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
  serve      [-config FILE]                    run the resolver
  check      [-config FILE]                    validate the configuration and lists
  explain    [-config FILE] -client IP NAME    show the policy decision for a client and name
  exemptions [-config FILE] list|approve|deny|revoke   the exemption workflow from a shell
  audit      [-config FILE] [-since DUR]       print the audit trail
  logs       [-config FILE] [filters]          search the query log; logs hold|release|holds: legal holds
  report     [-config FILE] [-department D] [-since DUR] [-csv]   per-department figures from the query log
  access     [-config FILE] suspend|restore|list   suspend a device's Internet access
  devices    [-config FILE] add|list|revoke    roaming city devices: their DoH URL and DoT/DoQ name, by token
  lists      [-config FILE] diff|services|review|add   list refreshes, the chat catalogue, what the lists miss, add a name
  state      [-config FILE] verify|repair      check the state store's journals; repair damaged ones
  status     [-config FILE] [-json]            ask the running server how it is (over [admin] listen, from this machine)
  ca init    -dir DIR                          make a city CA for the HTTPS block page
  ca issue   -dir DIR -name NAME [-ip IP]...   the resolver's certificate for DNS over TLS and HTTPS, from that CA
  passwd                                       read a password, print its bcrypt hash for [[director]]
  version                                      print the version

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
	case "exemptions":
		return cmdExemptions(args[1:], stdout, stderr)
	case "audit":
		return cmdAudit(args[1:], stdout, stderr)
	case "logs":
		return cmdLogs(args[1:], stdout, stderr)
	case "report":
		return cmdReport(args[1:], stdout, stderr)
	case "ca":
		return cmdCA(args[1:], stdout, stderr)
	case "access":
		return cmdAccess(args[1:], stdout, stderr)
	case "devices":
		return cmdDevices(args[1:], stdout, stderr)
	case "lists":
		return cmdLists(args[1:], stdout, stderr)
	case "state":
		return cmdState(args[1:], stdout, stderr)
	case "status":
		return cmdStatus(args[1:], stdout, stderr)
	case "passwd":
		return cmdPasswd(args[1:], os.Stdin, stdout, stderr)
	case "version", "-version", "--version":
		if len(args) > 1 {
			fmt.Fprintf(stderr, "civicdns version takes no argument\n")
			return 2
		}
		fmt.Fprintf(stdout, "civicdns %s\n", version)
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "civicdns: unknown command %q\n\n%s", args[0], usage)
	return 2
}
