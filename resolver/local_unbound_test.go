package resolver

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/miekg/dns"
)

// startUnbound runs Debian's Unbound on its defaults (local zones
// included), forwarding everything else to up, on a loopback port.
func startUnbound(t *testing.T, up string) string {
	t.Helper()
	bin, err := exec.LookPath("unbound")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/unbound"); serr != nil {
			t.Fatal("unbound is needed (apt-get install unbound); make test installs it")
		}
		bin = "/usr/sbin/unbound"
	}
	l, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.LocalAddr().(*net.UDPAddr).Port
	l.Close()
	upHost, upPort, _ := strings.Cut(up, ":")
	dir := t.TempDir()
	conf := fmt.Sprintf(`server:
  interface: 127.0.0.1
  port: %d
  do-ip6: no
  do-tcp: yes
  chroot: ""
  username: ""
  directory: %q
  pidfile: %q
  use-syslog: no
  logfile: ""
  verbosity: 0
  num-threads: 1
  so-reuseport: no
  access-control: 127.0.0.0/8 allow
  module-config: "iterator"
  do-not-query-localhost: no
forward-zone:
  name: "."
  forward-addr: %s@%s
`, port, dir, filepath.Join(dir, "unbound.pid"), upHost, upPort)
	path := filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-d", "-c", path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		// Ready when it answers: localhost is one of its own names.
		if r, err := dnstest.TryExchange("udp", addr, dnstest.Query("localhost", dns.TypeA)); err == nil && r.Rcode == dns.RcodeSuccess {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("unbound did not answer on %s: %s", addr, stderr.String())
		}
		time.Sleep(50 * time.Millisecond) // polling for the process to be ready
	}
}

// shape is what must agree: the rcode, the answer records (type, data), the
// owner of the SOA in the authority section.
func shape(r *dns.Msg) string {
	var ans []string
	for _, rr := range r.Answer {
		fields := strings.Fields(rr.String())
		ans = append(ans, strings.ToLower(strings.Join(append([]string{fields[0], fields[3]}, fields[4:]...), " ")))
	}
	sort.Strings(ans)
	soa := ""
	for _, rr := range r.Ns {
		if rr.Header().Rrtype == dns.TypeSOA {
			soa = strings.ToLower(rr.Header().Name)
		}
	}
	return dns.RcodeToString[r.Rcode] + " [" + strings.Join(ans, "; ") + "] soa=" + soa
}

// civicdns answers what Unbound answers on its defaults, for every name
// both answer locally, side by side: the same rcode, records and SOA owner.
func TestLocalAnswersMatchUnbound(t *testing.T) {
	t.Parallel()
	ubUp := startRecorder(t)
	ub := startUnbound(t, ubUp.Addr)
	up := startRecorder(t)
	ts := startServer(t, "[upstream]\nservers = [%s]\n", up.Addr)
	type question struct {
		name  string
		qtype uint16
	}
	var qs []question
	for _, c := range localNames {
		qs = append(qs, question{c.name, c.qtype})
	}
	qs = append(qs, question{"localhost", dns.TypeMX}, question{"localhost", dns.TypeAAAA}, question{"2.0.0.127.in-addr.arpa", dns.TypePTR},
		question{"168.192.in-addr.arpa", dns.TypeSOA}, question{"168.192.in-addr.arpa", dns.TypeNS}, question{"168.192.in-addr.arpa", dns.TypeA},
		question{"10.in-addr.arpa", dns.TypeSOA}, question{"home.arpa", dns.TypeNS}, question{"x.y.invalid", dns.TypeTXT}, question{"onion", dns.TypeSOA})
	compared := 0
	for _, q := range qs {
		before := len(ubUp.questions())
		u := dnstest.Exchange(t, "udp", ub, dnstest.Query(q.name, q.qtype))
		if len(ubUp.questions()) > before {
			t.Logf("%s %s: Unbound sends it upstream (not one of its local zones)", q.name, dns.TypeToString[q.qtype])
			continue
		}
		c := dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query(q.name, q.qtype))
		if shape(c) != shape(u) {
			t.Errorf("%s %s:\n civicdns %s\n  Unbound %s", q.name, dns.TypeToString[q.qtype], shape(c), shape(u))
		}
		compared++
	}
	if compared < 20 {
		t.Errorf("only %d questions both answer locally", compared)
	}
	if seen := up.questions(); len(seen) != 0 {
		t.Errorf("civicdns's upstream was asked %v", seen)
	}
	if seen := ubUp.questions(); !slices.Contains(seen, "printer.local") {
		t.Errorf("Unbound answered .local itself? its upstream saw %v", seen)
	}
}
