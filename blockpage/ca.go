package blockpage

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// CA is the city's certificate authority the HTTPS block page mints its
// certificates with. City devices trust its certificate.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// LoadCA reads a CA certificate and its private key (PEM files).
func LoadCA(certFile, keyFile string) (*CA, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("block page CA: %w", err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("block page CA %s: %w", certFile, err)
	}
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("block page CA %s: not a CA certificate (no CA basic constraint or no certificate-signing key usage)", certFile)
	}
	key, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("block page CA %s: the key cannot sign", keyFile)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// CAOptions are what CreateCAWith makes a CA with.
type CAOptions struct {
	Name string
	// Permit, when set, constrains the CA to these DNS domains and their
	// subdomains (a critical Name Constraints extension): a stolen key
	// can then sign for nothing else, but the HTTPS block page can show
	// itself without a certificate error only for names inside them.
	Permit []string
	Now    time.Time
}

// caLifetime is how long a CA made here is valid.
const caLifetime = 5 // years

// CreateCA makes a new CA in dir: ca.pem (the certificate to deploy to
// city devices) and ca.key (its private key, mode 0600). It refuses to
// overwrite either.
func CreateCA(dir, name string, now time.Time) (certFile, keyFile string, err error) {
	return CreateCAWith(dir, CAOptions{Name: name, Now: now})
}

// CreateCAWith is CreateCA with every option: a CA for server
// certificates only (its Extended Key Usage is serverAuth, so it can sign
// no code, mail or client certificate), no intermediate below it, valid
// for five years, and constrained to opts.Permit when given.
func CreateCAWith(dir string, opts CAOptions) (certFile, keyFile string, err error) {
	name, now := opts.Name, opts.Now
	certFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca.key")
	for _, f := range []string{certFile, keyFile} {
		if _, err := os.Stat(f); err == nil {
			return "", "", fmt.Errorf("%s exists: not overwritten (a new CA would have to be deployed to every device again)", f)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"civicdns block page"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(caLifetime, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	if len(opts.Permit) > 0 {
		tmpl.PermittedDNSDomainsCritical = true
		tmpl.PermittedDNSDomains = opts.Permit
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	// The key first, created 0600 and never readable by others even for a moment.
	kf, err := os.OpenFile(keyFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", "", err
	}
	err = errors.Join(pem.Encode(kf, &pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), kf.Sync(), kf.Close())
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}
