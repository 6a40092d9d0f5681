package export

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/civicdns/civicdns/query"
	"github.com/civicdns/civicdns/state"
)

// receiver is a syslog receiver over TLS on loopback reading RFC 6587
// octet-counted frames, as a SIEM's listener does.
type receiver struct {
	addr  string
	tls   *tls.Config
	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
	got   []string
	seen  chan struct{}
}

func (r *receiver) start(t *testing.T) {
	ln, err := tls.Listen("tcp", r.addr, r.tls)
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.ln, r.addr = ln, ln.Addr().String()
	r.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			r.conns = append(r.conns, c)
			r.mu.Unlock()
			go r.read(c)
		}
	}()
}

func (r *receiver) read(c net.Conn) {
	ReadOctetCounted(c, func(msg []byte) bool {
		r.mu.Lock()
		r.got = append(r.got, string(msg))
		r.mu.Unlock()
		r.seen <- struct{}{}
		return true
	})
}

func (r *receiver) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ln.Close()
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
}

func (r *receiver) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		r.mu.Lock()
		if len(r.got) >= n {
			out := append([]string(nil), r.got...)
			r.mu.Unlock()
			return out
		}
		r.mu.Unlock()
		select {
		case <-r.seen:
		case <-deadline:
			t.Fatalf("%d syslog messages arrived, want %d", len(r.got), n)
		}
	}
}

// Blocked lookups and audit events reach a SIEM over TLS as RFC 5424
// with structured data; the SIEM stops for a while, and every message
// queued meanwhile arrives, once, when it is back.
func TestSyslogToASIEMThatGoesAway(t *testing.T) {
	t.Parallel()
	certPath, keyPath, _ := dnstest.CertFiles(t, "siem.city.example")
	pair, _ := tls.LoadX509KeyPair(certPath, keyPath)
	r := &receiver{addr: "127.0.0.1:0", tls: &tls.Config{Certificates: []tls.Certificate{pair}}, seen: make(chan struct{}, 1000)}
	r.start(t)
	cfg := &config.Config{Log: config.Log{Syslog: "tcp+tls://" + r.addr, SyslogEvents: []string{"blocked", "audit"}, SyslogCACert: certPath}}
	s, err := NewSyslog(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.log = discard()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	record := func(name, action string) {
		s.Record(&query.Record{Time: time.Now(), Client: netip.MustParseAddr("10.20.3.4"), Device: `laptop "17"`, Department: "Police",
			Name: []byte(name), Type: 1, Action: action, Category: "gambling", Transport: "udp"})
	}
	record("www.pokerstars.com", "blocked")
	record("www.example.com", "allowed") // not selected
	s.Audit(state.AuditEvent{Time: time.Now(), Who: "Chief of Police", From: "10.0.0.9", Action: "approve", What: "request R-1]"})
	got := r.wait(t, 2)
	if !strings.HasPrefix(got[0], "<133>1 ") || !strings.Contains(got[0], `[civicdns@32473 client="10.20.3.4" device="laptop \"17\"" department="Police" name="www.pokerstars.com"`) ||
		!strings.Contains(got[0], `category="gambling" action="blocked"`) {
		t.Fatalf("the blocked lookup:\n%s", got[0])
	}
	if !strings.Contains(got[1], ` audit [civicdns@32473 who="Chief of Police" from="10.0.0.9" action="approve" what="request R-1\]"]`) {
		t.Fatalf("the audit event:\n%s", got[1])
	}
	// The SIEM goes away; lookups go on; it comes back.
	r.stop()
	waitUntil(t, func() bool { return !s.Connected() })
	for i := range 5 {
		record("n"+strconv.Itoa(i)+".casino.example", "blocked")
	}
	r.start(t)
	got = r.wait(t, 7)
	if len(got) != 7 || s.Dropped() != 0 {
		t.Fatalf("%d messages (want 7), %d dropped", len(got), s.Dropped())
	}
	for i := range 5 {
		if !strings.Contains(strings.Join(got[2:], "\n"), "n"+strconv.Itoa(i)+".casino.example") {
			t.Errorf("n%d was lost", i)
		}
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("not within 15 s")
		}
		time.Sleep(10 * time.Millisecond) // polling a flag another goroutine sets
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
