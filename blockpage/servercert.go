package blockpage

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/civicdns/civicdns/internal/atomicfile"
)

// IssueServerCert makes a certificate signed by ca for a server of the
// city's own: name, every name under it (*.name: a roaming device's DoT or
// DoQ server name is TOKEN.name) and the addresses it listens on (IP
// SANs, so that a client that knows only the address verifies it too),
// with a key of its own, valid for validity.
func IssueServerCert(ca *CA, name string, ips []netip.Addr, now time.Time, validity time.Duration) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	var names []string
	if name != "" {
		names = []string{name, "*." + name}
	}
	return signLeaf(ca, key, names, ips, now, validity)
}

// signLeaf signs key's certificate for names (the first is its common
// name; none: the first address) and ips with ca:
// server authentication only, from an hour ago (devices' clocks run a
// little behind) for validity, never past the CA's end. The block page's
// minted certificates and the console's are both made here.
func signLeaf(ca *CA, key *ecdsa.PrivateKey, names []string, ips []netip.Addr, now time.Time, validity time.Duration) (*tls.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		DNSNames:     names,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter // never outlive the CA
	}
	if len(names) > 0 {
		tmpl.Subject.CommonName = names[0]
	}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(ip.AsSlice()))
	}
	if tmpl.Subject.CommonName == "" && len(ips) > 0 {
		tmpl.Subject.CommonName = ips[0].String()
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der, ca.Cert.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

// RenewingCert serves a certificate IssueServerCert made, issuing a new
// one a week before it ends: for a server that runs for months.
type RenewingCert struct {
	CA   *CA
	Name string
	IPs  []netip.Addr
	Now  func() time.Time

	mu   sync.Mutex
	cert *tls.Certificate
}

// serverCertValidity is how long the console's own certificate lasts.
const serverCertValidity = 90 * 24 * time.Hour

// GetCertificate is tls.Config.GetCertificate.
func (r *RenewingCert) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.Now()
	if r.cert == nil || now.After(r.cert.Leaf.NotAfter.Add(-7*24*time.Hour)) {
		c, err := IssueServerCert(r.CA, r.Name, r.IPs, now, serverCertValidity)
		if err != nil {
			return nil, err
		}
		r.cert = c
	}
	return r.cert, nil
}

// SaveServerCert writes cert (its chain and ECDSA key) as PEM to certPath
// and keyPath (0600), each replaced atomically: a server that re-reads its
// files when they change never sees half of them.
func SaveServerCert(cert *tls.Certificate, certPath, keyPath string) error {
	key, ok := cert.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return errors.New("not an ECDSA key")
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	var chain []byte
	for _, der := range cert.Certificate {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	if err := atomicfile.Write(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return atomicfile.Write(certPath, chain, 0o644)
}
