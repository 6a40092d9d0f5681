package blockpage

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/internal/ratelimit"
	lru "github.com/hashicorp/golang-lru/v2"
)

// Minter makes the HTTPS block page's certificates: for each name a browser
// asks for (SNI), a short-lived leaf signed by the city CA, so that on a
// city device the page shows instead of a certificate error. Minted
// certificates are kept in a bounded LRU; minting is rate-limited, so a
// flood of random names costs a bounded amount of CPU, and one name being
// asked by many clients at once is minted once.
type Minter struct {
	ca        *CA
	key       *ecdsa.PrivateKey // one leaf key for every minted certificate
	cache     *lru.Cache[string, *tls.Certificate]
	disk      *certDisk // minted certificates kept across restarts (nil: none)
	limit     *ratelimit.Limiter
	perClient *ratelimit.Limiter // one client cannot use up the limit for all
	now       func() time.Time
	validity  time.Duration
	metrics   *metrics

	mu      sync.Mutex
	minting map[string]*mintCall
}

type mintCall struct {
	done chan struct{}
	cert *tls.Certificate
	err  error
}

// The minting limits.
const (
	certCacheSize = 4096
	certValidity  = 24 * time.Hour
	mintsPerSec   = 50  // sustained, for all names together
	mintBurst     = 200 // at once (a page with many blocked third-party names)
	clientMints   = 2   // per client, sustained
	clientBurst   = 40  // per client, at once
)

// ErrMintLimit is why a handshake failed: too many new names at once.
var ErrMintLimit = errors.New("block page: too many certificates to mint at once; try again")

// NewMinter makes a minter signing with ca. With dir, minted certificates
// and their key are kept there (0600) and used again after a restart, so
// a restart does not mint every name again; "" keeps them in memory only.
func NewMinter(ca *CA, dir string, now func() time.Time, m *metrics) (*Minter, error) {
	if now == nil {
		now = time.Now
	}
	var disk *certDisk
	var key *ecdsa.PrivateKey
	var err error
	if dir != "" {
		if disk, key, err = openCertDisk(dir, ca, now()); err != nil {
			return nil, err
		}
	} else if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	cache, _ := lru.New[string, *tls.Certificate](certCacheSize)
	return &Minter{
		ca: ca, key: key, cache: cache, disk: disk, now: now, validity: certValidity, metrics: m,
		limit:     &ratelimit.Limiter{Rate: mintsPerSec, Burst: mintBurst, Now: now},
		perClient: &ratelimit.Limiter{Rate: clientMints, Burst: clientBurst, Now: now},
		minting:   map[string]*mintCall{},
	}, nil
}

// GetCertificate is tls.Config.GetCertificate: the certificate for the name
// the client asks for, or for the block page's own address when it names none.
func (m *Minter) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name, err := config.NormalizeName(hello.ServerName)
	if err != nil || name == "" || strings.ContainsAny(name, `\ `) {
		name = ""
		if hello.Conn != nil {
			if ap, err := netip.ParseAddrPort(hello.Conn.LocalAddr().String()); err == nil {
				name = ap.Addr().Unmap().String()
			}
		}
	}
	if name == "" {
		return nil, errors.New("block page: no server name and no local address")
	}
	client := ""
	if hello.Conn != nil {
		if ap, err := netip.ParseAddrPort(hello.Conn.RemoteAddr().String()); err == nil {
			client = ap.Addr().Unmap().String()
		}
	}
	return m.Certificate(name, client)
}

// Certificate returns the cached certificate for name (a host name or an IP
// address), minting one when there is none or it is in its last hour.
// client (its address) is limited on its own too: one client cannot use
// up the minting limit for everyone.
func (m *Minter) Certificate(name, client string) (*tls.Certificate, error) {
	now := m.now()
	if c, ok := m.cache.Get(name); ok && now.Before(c.Leaf.NotAfter.Add(-time.Hour)) {
		m.metrics.certs.WithLabelValues("cached").Inc()
		return c, nil
	}
	if c := m.disk.load(name, m.key, now); c != nil {
		m.cache.Add(name, c)
		m.metrics.certs.WithLabelValues("cached").Inc()
		return c, nil
	}
	m.mu.Lock()
	if call, ok := m.minting[name]; ok {
		m.mu.Unlock()
		<-call.done
		return call.cert, call.err
	}
	call := &mintCall{done: make(chan struct{})}
	m.minting[name] = call
	m.mu.Unlock()
	if m.perClient.Allow(client) && m.limit.Allow("") {
		call.cert, call.err = m.mint(name, now)
	} else {
		call.err = ErrMintLimit
	}
	switch {
	case call.err == nil:
		m.cache.Add(name, call.cert)
		m.disk.store(name, call.cert)
		m.metrics.certs.WithLabelValues("minted").Inc()
	case errors.Is(call.err, ErrMintLimit):
		m.metrics.certs.WithLabelValues("refused").Inc()
	default:
		m.metrics.certs.WithLabelValues("failed").Inc()
	}
	m.mu.Lock()
	delete(m.minting, name)
	m.mu.Unlock()
	close(call.done)
	return call.cert, call.err
}

func (m *Minter) mint(name string, now time.Time) (*tls.Certificate, error) {
	var ips []netip.Addr
	names := []string{name}
	if ip, err := netip.ParseAddr(name); err == nil {
		ips, names = []netip.Addr{ip}, nil
	}
	c, err := signLeaf(m.ca, m.key, names, ips, now, m.validity)
	if err != nil {
		return nil, fmt.Errorf("block page: minting for %s: %w", name, err)
	}
	return c, nil
}

// TLSConfig is the HTTPS block page's TLS configuration.
func (m *Minter) TLSConfig() *tls.Config {
	return &tls.Config{GetCertificate: m.GetCertificate, MinVersion: tls.VersionTLS12}
}
