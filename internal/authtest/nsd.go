package authtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Text is the zone in zone-file format: every record and signature.
func (z *Zone) Text() string {
	var lines []string
	for _, set := range z.sets {
		for _, rr := range set {
			lines = append(lines, rr.String())
		}
	}
	for _, set := range z.sigs {
		for _, rr := range set {
			lines = append(lines, rr.String())
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n"
}

// ServeNSD serves zones at addr with a real authoritative server, NSD
// (Debian's nsd package), from the zones' text, until the test ends.
func (h *Hierarchy) ServeNSD(addr string, zones ...*Zone) {
	h.t.Helper()
	nsd, err := exec.LookPath("nsd")
	if err != nil {
		nsd = "/usr/sbin/nsd" // not on a user's PATH
		if _, err := os.Stat(nsd); err != nil {
			h.t.Fatal("nsd is needed (apt-get install nsd); make test installs it")
		}
	}
	dir, err := os.MkdirTemp(h.t.TempDir(), "nsd")
	if err != nil {
		h.t.Fatal(err)
	}
	conf := fmt.Sprintf(`server:
  ip-address: %s@%d
  port: %d
  database: ""
  zonelistfile: "%[4]s/zone.list"
  pidfile: "%[4]s/nsd.pid"
  xfrdfile: "%[4]s/xfrd.state"
  xfrdir: "%[4]s"
  zonesdir: "%[4]s"
  logfile: "%[4]s/nsd.log"
  username: ""
  chroot: ""
  server-count: 1
  verbosity: 1
remote-control:
  control-enable: no
`, addr, h.Port, h.Port, dir)
	for i, z := range zones {
		file := fmt.Sprintf("zone%d.zone", i)
		if err := os.WriteFile(filepath.Join(dir, file), []byte(z.Text()), 0o644); err != nil {
			h.t.Fatal(err)
		}
		conf += fmt.Sprintf("zone:\n  name: %q\n  zonefile: %q\n", z.Origin, file)
	}
	confPath := filepath.Join(dir, "nsd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, nsd, "-d", "-c", confPath)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		h.t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	h.t.Cleanup(func() { cancel(); <-exited })
	// Ready when it answers for its first zone's SOA.
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	q := new(dns.Msg)
	q.SetQuestion(zones[0].Origin, dns.TypeSOA)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if r, _, err := c.Exchange(q, net.JoinHostPort(addr, fmt.Sprint(h.Port))); err == nil && r.Rcode == dns.RcodeSuccess {
			return
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "nsd.log"))
			h.t.Fatalf("nsd at %s exited: %s\n%s", addr, out.String(), log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "nsd.log"))
			h.t.Fatalf("nsd at %s did not answer in 10 s: %s\n%s", addr, out.String(), log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
