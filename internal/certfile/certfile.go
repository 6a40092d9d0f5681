// Package certfile serves a TLS certificate from its PEM files and re-reads
// them when they change (a renewed certificate is picked up without a
// restart): at most one stat of each file a second, on handshakes. A pair
// that does not load keeps the last good one, and says so once per change.
package certfile

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"
)

// Cert is a certificate read from a certificate and a key file.
type Cert struct {
	certPath, keyPath string
	onError           func(error) // told once per failed change

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string    // the files' sizes and times when cert was read
	checked time.Time // the last stat
	failed  string    // the stamp that failed to load (told once)
}

// Load reads the pair; onError (nil: none) is told when a later change
// cannot be loaded.
func Load(certPath, keyPath string, onError func(error)) (*Cert, error) {
	c := &Cert{certPath: certPath, keyPath: keyPath, onError: onError}
	stamp, err := c.stampNow()
	if err != nil {
		return nil, err
	}
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, fmt.Errorf("tls_cert %s / tls_key %s: %w", certPath, keyPath, err)
	}
	c.cert, c.stamp, c.checked = &pair, stamp, time.Now()
	return c, nil
}

// stampNow describes the files as they are: when it changes, re-read them.
func (c *Cert) stampNow() (string, error) {
	a, err := os.Stat(c.certPath)
	if err != nil {
		return "", fmt.Errorf("tls_cert: %w", err)
	}
	b, err := os.Stat(c.keyPath)
	if err != nil {
		return "", fmt.Errorf("tls_key: %w", err)
	}
	return fmt.Sprint(a.Size(), a.ModTime().UnixNano(), b.Size(), b.ModTime().UnixNano()), nil
}

// Leaf is the certificate served now, parsed.
func (c *Cert) Leaf() *x509.Certificate {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cert.Leaf != nil {
		return c.cert.Leaf
	}
	leaf, err := x509.ParseCertificate(c.cert.Certificate[0])
	if err != nil {
		return nil
	}
	return leaf
}

// GetCertificate is for tls.Config: the current certificate, re-read when
// its files changed.
func (c *Cert) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.Sub(c.checked) >= time.Second {
		c.checked = now
		c.refresh()
	}
	return c.cert, nil
}

// refresh re-reads the pair if the files changed (c.mu held).
func (c *Cert) refresh() {
	stamp, err := c.stampNow()
	if err == nil && stamp == c.stamp {
		return
	}
	if err == nil {
		var pair tls.Certificate
		if pair, err = tls.LoadX509KeyPair(c.certPath, c.keyPath); err == nil {
			c.cert, c.stamp, c.failed = &pair, stamp, ""
			return
		}
	}
	if stamp != c.failed && c.onError != nil {
		c.onError(fmt.Errorf("the resolver's certificate changed but cannot be loaded; the previous one stays: %w", err))
	}
	c.failed = stamp
}

// Covers reports whether the certificate names ip as an IP SAN (a client
// that knows only the address, as DDR's does, verifies it against these).
func Covers(leaf *x509.Certificate, ip netip.Addr) bool {
	for _, c := range leaf.IPAddresses {
		if a, ok := netip.AddrFromSlice(c); ok && a.Unmap() == ip.Unmap() {
			return true
		}
	}
	return false
}
