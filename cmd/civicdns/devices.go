package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/civicdns/civicdns/devices"
	"github.com/civicdns/civicdns/state"
)

const devicesUsage = `usage: civicdns devices [-config FILE] add -department D -name NAME -by WHO
       civicdns devices [-config FILE] list [-department D] [-all]
       civicdns devices [-config FILE] revoke ID -by WHO
`

// cmdDevices enrolls and revokes roaming devices from a shell.
func cmdDevices(args []string, stdout, stderr io.Writer) int {
	cfg, store, verb, rest, sub, code := storeVerbConfig("devices", devicesUsage, args, stderr)
	if store == nil {
		return code
	}
	c := &shellCmd{cfg: cfg, store: store, sub: sub, rest: rest, stdout: stdout, stderr: stderr,
		by: sub.String("by", "", "the [[director]] who acts (the OS user is recorded beside)")}
	switch verb {
	case "add":
		return c.addDevice()
	case "list":
		return c.listDevices()
	case "revoke":
		return c.revokeDevice()
	}
	fmt.Fprint(stderr, devicesUsage)
	return 2
}

func (c *shellCmd) addDevice() int {
	dept := c.sub.String("department", "", "the [[department]] whose policy the device gets")
	name := c.sub.String("name", "", "what the device is called (the query log names it)")
	if c.sub.Parse(c.rest) != nil || c.sub.NArg() > 0 || *dept == "" || *name == "" {
		fmt.Fprint(c.stderr, devicesUsage)
		return 2
	}
	d := c.cfg.DepartmentNamed(*dept)
	if d == nil {
		return c.fail(2, "-department %q is not a [[department]] of %s", *dept, c.cfg.File)
	}
	if _, err := devices.AccessFor(&c.cfg.Server, devices.NewToken()); err != nil {
		return c.fail(2, "%v", err)
	}
	if !c.actor() {
		return 2
	}
	dev, err := c.store.AddDevice(d.Name, *name, *c.by, "")
	if err != nil {
		return c.fail(1, "%v", err)
	}
	acc, _ := devices.AccessFor(&c.cfg.Server, dev.Token)
	fmt.Fprintf(c.stdout, "enrolled %s %q of %s (live on a running server within a second)\n\n%s\n", dev.ID, esc(dev.Name), esc(dev.Department), accessText(acc))
	fmt.Fprintf(c.stdout, "The token is shown only now: civicdns keeps only its hash. `civicdns devices revoke %s -by NAME` ends it.\n", dev.ID)
	return 0
}

// accessText is how a device is set up, one transport a line.
func accessText(a devices.Access) string {
	var b strings.Builder
	if a.DoH != "" {
		fmt.Fprintf(&b, "  DNS over HTTPS (Windows, Android, Apple, browsers): %s\n", a.DoH)
	}
	if a.DoT {
		fmt.Fprintf(&b, "  DNS over TLS (Android \"Private DNS\", routers):    %s%s\n", a.TLSName, portNote(a.DoTPort, 853))
	}
	if a.DoQ {
		fmt.Fprintf(&b, "  DNS over QUIC:                                     %s%s\n", a.TLSName, portNote(a.DoQPort, 853))
	}
	return b.String()
}

func portNote(port, standard int) string {
	if port == standard {
		return ""
	}
	return fmt.Sprintf(" (port %d)", port)
}

func (c *shellCmd) listDevices() int {
	dept := c.sub.String("department", "", "one department's devices")
	all := c.sub.Bool("all", false, "also revoked devices")
	if c.sub.Parse(c.rest) != nil || c.sub.NArg() > 0 {
		fmt.Fprint(c.stderr, devicesUsage)
		return 2
	}
	list, err := c.store.Devices(*dept, 1<<30)
	if err != nil {
		return c.fail(1, "%v", err)
	}
	n := 0
	for _, d := range list {
		if d.Revoked && !*all {
			continue
		}
		n++
		fmt.Fprintln(c.stdout, deviceLine(d))
	}
	if n == 0 {
		fmt.Fprintln(c.stdout, "no device is enrolled")
	}
	return 0
}

// deviceLine is one device as devices list prints it, typed fields escaped.
func deviceLine(d *state.Device) string {
	status := "active"
	if d.Revoked {
		status = "revoked by " + d.RevokedBy + " " + d.RevokedAt.Format("2006-01-02")
	}
	return fmt.Sprintf("%s  %-24q %-14s added by %s %s (%s)", d.ID, esc(d.Name), esc(d.Department), esc(d.By), d.Time.Format("2006-01-02"), esc(status))
}

func (c *shellCmd) revokeDevice() int {
	id, ok := idArg(c.sub, c.rest, c.stderr)
	if !ok || !c.actor() {
		return 2
	}
	if err := c.store.RevokeDevice(id, *c.by, ""); err != nil {
		return c.fail(1, "%s: %v", id, err)
	}
	fmt.Fprintf(c.stdout, "revoked %s: its token is refused on every instance within a second\n", id)
	return 0
}
