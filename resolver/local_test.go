package resolver

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/civicdns/civicdns/recursive"
	"github.com/miekg/dns"
)

// recorder is an upstream (or root server) that writes down every
// question it receives and answers REFUSED.
type recorder struct {
	*dnstest.Upstream
	mu   sync.Mutex
	seen []string
}

func startRecorder(t *testing.T) *recorder {
	r := &recorder{}
	r.Upstream = dnstest.StartUpstream(t, func(w dns.ResponseWriter, m *dns.Msg) {
		r.mu.Lock()
		r.seen = append(r.seen, strings.ToLower(strings.TrimSuffix(m.Question[0].Name, ".")))
		r.mu.Unlock()
		reply := new(dns.Msg)
		reply.SetRcode(m, dns.RcodeRefused)
		w.WriteMsg(reply)
	})
	return r
}

func (r *recorder) questions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

// localNames are the questions a city's devices ask all day that mean
// nothing outside the building (issue 31's thirteen, and more).
var localNames = []struct {
	name  string
	qtype uint16
	rcode int
}{
	{"4.3.20.10.in-addr.arpa", dns.TypePTR, dns.RcodeNameError},
	{"9.1.16.172.in-addr.arpa", dns.TypePTR, dns.RcodeNameError},
	{"5.1.168.192.in-addr.arpa", dns.TypePTR, dns.RcodeNameError},
	{"7.7.64.100.in-addr.arpa", dns.TypePTR, dns.RcodeNameError},
	{"1.1.254.169.in-addr.arpa", dns.TypePTR, dns.RcodeNameError},
	{"1.0.0.127.in-addr.arpa", dns.TypePTR, dns.RcodeSuccess},
	{"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa", dns.TypePTR, dns.RcodeSuccess},
	{"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa", dns.TypePTR, dns.RcodeNameError},
	{"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.e.f.ip6.arpa", dns.TypePTR, dns.RcodeNameError},
	{"localhost", dns.TypeA, dns.RcodeSuccess},
	{"db.localhost", dns.TypeAAAA, dns.RcodeSuccess},
	{"printer.local", dns.TypeA, dns.RcodeNameError},
	{"router.home.arpa", dns.TypeA, dns.RcodeNameError},
	{"x.invalid", dns.TypeA, dns.RcodeNameError},
	{"x.test", dns.TypeA, dns.RcodeNameError},
	{"abcdefghijklmnop.onion", dns.TypeA, dns.RcodeNameError},
	{"ipv4only.arpa", dns.TypeA, dns.RcodeSuccess},
	{"wpad.city.example", dns.TypeA, dns.RcodeNameError},
	{"isatap", dns.TypeA, dns.RcodeNameError},
}

// askLocal asks every local name and checks the rcode.
func askLocal(t *testing.T, addr string) {
	t.Helper()
	for _, c := range localNames {
		r := dnstest.Exchange(t, "udp", addr, dnstest.Query(c.name, c.qtype))
		if r.Rcode != c.rcode {
			t.Errorf("%s %s: %s, want %s", c.name, dns.TypeToString[c.qtype], dns.RcodeToString[r.Rcode], dns.RcodeToString[c.rcode])
		}
	}
}

// In forward mode no local name reaches the upstream; with the city's
// Active Directory zone for 10.in-addr.arpa, exactly those reverse lookups
// reach the AD server and nothing else does.
func TestLocalNamesNeverLeaveInForwardMode(t *testing.T) {
	t.Parallel()
	up, ad := startRecorder(t), startRecorder(t)
	ts := startServer(t, "[upstream]\nservers = [%s]\n", up.Addr)
	askLocal(t, ts.Addr)
	if seen := up.questions(); len(seen) != 0 {
		t.Errorf("the upstream was asked %v", seen)
	}
	dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("www.example.com", dns.TypeA))
	if seen := up.questions(); !slices.Contains(seen, "www.example.com") {
		t.Errorf("an ordinary name did not reach the upstream: %v", seen)
	}
	if n := ts.counter(t, "civicdns_queries_total", map[string]string{"action": "local"}); n != float64(len(localNames)) {
		t.Errorf("civicdns_queries_total{action=local} %v, want %d", n, len(localNames))
	}

	up2 := startRecorder(t)
	ts2 := startServer(t, fmt.Sprintf("[upstream]\nservers = [%%s]\n[[upstream.zone]]\nname = \"10.in-addr.arpa\"\nservers = [%q]\n", ad.Addr), up2.Addr)
	for _, c := range localNames {
		dnstest.Exchange(t, "udp", ts2.Addr, dnstest.Query(c.name, c.qtype))
	}
	if seen := ad.questions(); !slices.Equal(seen, []string{"4.3.20.10.in-addr.arpa"}) {
		t.Errorf("the AD server was asked %v, want only 4.3.20.10.in-addr.arpa", seen)
	}
	if seen := up2.questions(); len(seen) != 0 {
		t.Errorf("the upstream was asked %v", seen)
	}
}

// In recursive mode no local name reaches the root servers.
func TestLocalNamesNeverLeaveInRecursiveMode(t *testing.T) {
	t.Parallel()
	root := startRecorder(t)
	host, port, _ := strings.Cut(root.Addr, ":")
	hints := filepath.Join(t.TempDir(), "root.hints")
	os.WriteFile(hints, []byte(".  3600000 NS a.root-servers.net.\na.root-servers.net. 3600000 A "+host+"\n"), 0o644)
	ts := startServerRecursion(t, time.Now, nil, `["127.0.0.1:0"]`, fmt.Sprintf("[upstream]\nmode = \"recursive\"\nroot_hints = %q\ndnssec = false\n", hints),
		func(o *recursive.Options) { fmt.Sscan(port, &o.Port) })
	askLocal(t, ts.Addr)
	if seen := root.questions(); len(seen) != 0 {
		t.Errorf("the root was asked %v", seen)
	}
	dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("www.example.com", dns.TypeA))
	if len(root.questions()) == 0 {
		t.Error("an ordinary name did not reach the root")
	}
}
