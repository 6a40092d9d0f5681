package main

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/civicdns/civicdns/blockpage"
	"github.com/civicdns/civicdns/config"
)

// cmdCAIssue is `civicdns ca issue`: the resolver's certificate for DNS
// over TLS and HTTPS, signed by the city CA of `ca init`, for its name and
// every address it listens on (IP SANs: DDR verifies the address). It
// replaces the files atomically, so a running server picks the renewal up.
func cmdCAIssue(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("ca issue", flag.ContinueOnError)
	fl.SetOutput(stderr)
	dir := fl.String("dir", "", "the CA's folder (ca.pem, ca.key)")
	name := fl.String("name", "", "the resolver's name ([server] name, e.g. dns.city.example)")
	days := fl.Int("days", 397, "how long the certificate is valid")
	certPath := fl.String("cert", "", "where to write the certificate (default DIR/dns.pem)")
	keyPath := fl.String("key", "", "where to write its key (default DIR/dns.key)")
	var ipArgs multiFlag
	fl.Var(&ipArgs, "ip", "an address the resolver listens on (repeat for each)")
	if err := fl.Parse(args); err != nil || *dir == "" || *name == "" || fl.NArg() > 0 || *days < 1 || *days > 3650 {
		fmt.Fprint(stderr, caUsage)
		return 2
	}
	n, err := config.NormalizeName(*name)
	if err != nil || !strings.Contains(n, ".") {
		fmt.Fprintf(stderr, "civicdns ca issue: -name %q is not a host name\n", *name)
		return 2
	}
	var ips []netip.Addr
	for _, s := range ipArgs {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			fmt.Fprintf(stderr, "civicdns ca issue: -ip %q is not an address\n", s)
			return 2
		}
		ips = append(ips, ip.Unmap())
	}
	*certPath, *keyPath = cmp.Or(*certPath, filepath.Join(*dir, "dns.pem")), cmp.Or(*keyPath, filepath.Join(*dir, "dns.key"))
	ca, err := blockpage.LoadCA(filepath.Join(*dir, "ca.pem"), filepath.Join(*dir, "ca.key"))
	if err != nil {
		fmt.Fprintf(stderr, "civicdns ca issue: %v (make the CA with `civicdns ca init -dir %s`)\n", err, *dir)
		return 1
	}
	leaf, err := blockpage.IssueServerCert(ca, n, ips, time.Now(), time.Duration(*days)*24*time.Hour)
	if err == nil {
		err = blockpage.SaveServerCert(leaf, *certPath, *keyPath)
	}
	if err != nil {
		fmt.Fprintf(stderr, "civicdns ca issue: %v\n", err)
		return 1
	}
	owner := giveToServiceUser(filepath.Dir(*keyPath), *keyPath)
	fmt.Fprintf(stdout, "Made the resolver's certificate for %s (and *.%[1]s, roaming devices' names)%s, valid %d days, signed by the city CA:\n  %s\n  %s (the key, 0600%s)\n\n",
		n, ipList(ips), *days, *certPath, *keyPath, owner)
	fmt.Fprintf(stdout, "In civicdns.toml:\n  [server]\n  name = %q\n  tls_cert = %q\n  tls_key = %q\n\nA running server picks up a renewal by itself (the files are re-read when they change).\n",
		n, *certPath, *keyPath)
	return 0
}

func ipList(ips []netip.Addr) string {
	if len(ips) == 0 {
		return " (no addresses: DDR clients that verify the address will not use it; give -ip for each listen address)"
	}
	var s []string
	for _, ip := range ips {
		s = append(s, ip.String())
	}
	return " and " + strings.Join(s, ", ")
}
