// Package dnstest has helpers for tests: in-process DNS servers on loopback
// to stand in for upstreams, a client, and a clock tests can move.
package dnstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Upstream is a fake upstream DNS server on 127.0.0.1, UDP and TCP on one port.
type Upstream struct {
	Addr    string
	queries atomic.Int64
	// Seen receives every question the server gets (buffered; extra ones are
	// dropped when nobody reads), for tests to wait on instead of sleeping.
	Seen chan dns.Question
}

// Queries is how many queries it has received.
func (u *Upstream) Queries() int64 { return u.queries.Load() }

// StartUpstream runs handler on UDP and TCP at a free loopback port until the test ends.
func StartUpstream(t testing.TB, handler dns.HandlerFunc) *Upstream {
	t.Helper()
	u := &Upstream{Seen: make(chan dns.Question, 1024)}
	wrapped := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		u.queries.Add(1)
		if len(r.Question) > 0 {
			select {
			case u.Seen <- r.Question[0]:
			default:
			}
		}
		handler(w, r)
	})
	pc, ln := listenBoth(t)
	u.Addr = pc.LocalAddr().String()
	Serve(t, &dns.Server{PacketConn: pc, Handler: wrapped})
	Serve(t, &dns.Server{Listener: ln, Handler: wrapped})
	return u
}

// listenBoth binds UDP and TCP on one free loopback port. The free UDP port
// may be taken on TCP (by a client's ephemeral port): then it tries another.
func listenBoth(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	var err error
	for try := 0; try < 20; try++ {
		var pc net.PacketConn
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			continue
		}
		var ln net.Listener
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			return pc, ln
		}
		pc.Close()
	}
	t.Fatal(err)
	return nil, nil
}

// StartTLSUpstream runs handler as a DNS-over-TLS server with cert.
func StartTLSUpstream(t testing.TB, cert tls.Certificate, handler dns.HandlerFunc) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	Serve(t, &dns.Server{Listener: ln, Handler: handler, Net: "tcp-tls"})
	return ln.Addr().String()
}

// Serve runs s until the test (or whatever t is: anything with Cleanup)
// ends, returning once it serves.
func Serve(t interface{ Cleanup(func()) }, s *dns.Server) {
	started := make(chan struct{})
	s.NotifyStartedFunc = func() { close(started) }
	done := make(chan struct{})
	go func() { s.ActivateAndServe(); close(done) }()
	<-started
	t.Cleanup(func() { s.Shutdown(); <-done })
}

// Answer is a handler that answers A questions with addr and ttl, and every
// other type with an empty NOERROR carrying a SOA (negative TTL ttl).
func Answer(addr string, ttl uint32) dns.HandlerFunc {
	return func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.RecursionAvailable = true
		q := r.Question[0]
		if q.Qtype == dns.TypeA {
			rr, _ := dns.NewRR(q.Name + " " + itoa(ttl) + " IN A " + addr)
			m.Answer = append(m.Answer, rr)
		} else {
			m.Ns = append(m.Ns, SOA(q.Name, ttl))
		}
		w.WriteMsg(m)
	}
}

// SOA is a SOA record for negative answers, with TTL and MINIMUM both ttl.
func SOA(zone string, ttl uint32) dns.RR {
	rr, _ := dns.NewRR(zone + " " + itoa(ttl) + " IN SOA ns.invalid. admin.invalid. 1 3600 600 86400 " + itoa(ttl))
	return rr
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

// Exchange sends m to addr over network ("udp" or "tcp") and returns the
// answer; it fails the test on error (call it from the test's goroutine).
func Exchange(t testing.TB, network, addr string, m *dns.Msg) *dns.Msg {
	t.Helper()
	r, err := TryExchange(network, addr, m)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TryExchange is Exchange returning the error, for other goroutines.
func TryExchange(network, addr string, m *dns.Msg) (*dns.Msg, error) {
	c := &dns.Client{Net: network, Timeout: 5 * time.Second, UDPSize: 1232}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		return nil, fmt.Errorf("exchange %s %s: %w", network, addr, err)
	}
	return r, nil
}

// FirstA returns the address of the first A record of r ("" for none).
func FirstA(r *dns.Msg) string {
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			return a.A.String()
		}
	}
	return ""
}

// Query makes a query for name and type with EDNS (1232 bytes).
func Query(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(1232, false)
	return m
}

// Clock is a clock a test sets by hand.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock starts a clock at a fixed instant.
func NewClock() *Clock { return &Clock{now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// SelfSigned makes a self-signed certificate for name and a pool trusting it.
func SelfSigned(t testing.TB, name string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// Dig runs Debian's dig against the DNS server at addr (IP:port), one try
// with a 5 s wait, and returns its output; the test fails if dig cannot run.
func Dig(t testing.TB, addr string, args ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command("dig", append([]string{"@" + host, "-p", port, "+time=5", "+tries=1"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("dig %v: %v\n%s", args, err, out)
	}
	return string(out)
}
