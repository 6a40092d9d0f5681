package upstream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"sync"

	"github.com/miekg/dns"
)

// TLS is a DNS-over-TLS server (RFC 7858). Connections are kept open and
// reused, one exchange at a time each.
type TLS struct {
	addr   string
	dialer tls.Dialer

	mu   sync.Mutex
	idle []*dns.Conn
}

const maxIdleTLS = 8

// NewTLS makes a DoT upstream. serverName is checked in the certificate;
// empty means the host part of hostport.
func NewTLS(hostport, serverName string) (*TLS, error) {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, err
	}
	if serverName == "" {
		serverName = host
	}
	return &TLS{addr: hostport, dialer: tls.Dialer{Config: &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12}}}, nil
}

// WithRootCAs makes the upstream trust pool instead of the system roots (tests, private CAs).
func (t *TLS) WithRootCAs(pool *x509.CertPool) *TLS {
	cfg := t.dialer.Config.Clone()
	cfg.RootCAs = pool
	t.dialer.Config = cfg
	return t
}

// Address returns "tls://host:port".
func (t *TLS) Address() string { return "tls://" + t.addr }

// Exchange sends q over a pooled connection, or a new one when a pooled one
// turns out to be closed by the server.
func (t *TLS) Exchange(ctx context.Context, q *dns.Msg) (*dns.Msg, error) {
	q.Id = newID()
	if c := t.take(); c != nil {
		if r, err := exchangeConn(ctx, c, q); err == nil {
			t.put(c)
			return r, nil
		}
		c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	nc, err := t.dialer.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, err
	}
	c := &dns.Conn{Conn: nc}
	r, err := exchangeConn(ctx, c, q)
	if err != nil {
		c.Close()
		return nil, err
	}
	t.put(c)
	return r, nil
}

func (t *TLS) take() *dns.Conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.idle); n > 0 {
		c := t.idle[n-1]
		t.idle = t.idle[:n-1]
		return c
	}
	return nil
}

func (t *TLS) put(c *dns.Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.idle) >= maxIdleTLS {
		c.Close()
		return
	}
	t.idle = append(t.idle, c)
}

// Close closes the idle connections.
func (t *TLS) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.idle {
		c.Close()
	}
	t.idle = nil
	return nil
}
