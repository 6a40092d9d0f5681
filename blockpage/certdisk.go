package blockpage

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// certDisk keeps minted certificates across restarts: a folder (0700) with
// the leaf key (leaf.key, 0600) and one DER file per name (named by a hash
// of the name, 0600). A file is used again only while it is valid for an
// hour more, signed by the CA in use and for the leaf key kept; expired
// files are removed at start. At most maxDiskCerts files are written.
type certDisk struct {
	dir   string
	ca    *CA
	files atomic.Int64
}

const maxDiskCerts = 20000

// openCertDisk opens (creating) the folder and its leaf key.
func openCertDisk(dir string, ca *CA, now time.Time) (*certDisk, *ecdsa.PrivateKey, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("block page certificates: %w", err)
	}
	key, err := leafKey(filepath.Join(dir, "leaf.key"))
	if err != nil {
		return nil, nil, fmt.Errorf("block page certificates: %w", err)
	}
	d := &certDisk{dir: dir, ca: ca}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".der") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if der, err := os.ReadFile(path); err != nil || expired(der, now) {
			os.Remove(path)
			continue
		}
		d.files.Add(1)
	}
	return d, key, nil
}

// leafKey reads the leaf key at path, or makes and writes it (0600).
func leafKey(path string) (*ecdsa.PrivateKey, error) {
	if b, err := os.ReadFile(path); err == nil {
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("%s: not a PEM key", path)
		}
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if ek, ok := k.(*ecdsa.PrivateKey); ok {
			return ek, nil
		}
		return nil, fmt.Errorf("%s: not an ECDSA key", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	err = errors.Join(pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}), f.Sync(), f.Close())
	return key, err
}

func expired(der []byte, now time.Time) bool {
	c, err := x509.ParseCertificate(der)
	return err != nil || !now.Before(c.NotAfter.Add(-time.Hour))
}

func (d *certDisk) path(name string) string {
	sum := sha256.Sum256([]byte(name))
	return filepath.Join(d.dir, hex.EncodeToString(sum[:16])+".der")
}

// load returns the kept certificate for name when it can still be used.
func (d *certDisk) load(name string, key *ecdsa.PrivateKey, now time.Time) *tls.Certificate {
	if d == nil {
		return nil
	}
	der, err := os.ReadFile(d.path(name))
	if err != nil {
		return nil
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil || !now.Before(leaf.NotAfter.Add(-time.Hour)) || leaf.CheckSignatureFrom(d.ca.Cert) != nil || leaf.VerifyHostname(name) != nil {
		return nil
	}
	if pub, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil
	}
	return &tls.Certificate{Certificate: [][]byte{der, d.ca.Cert.Raw}, PrivateKey: key, Leaf: leaf}
}

// store keeps a minted certificate (best effort: a full disk only costs a
// mint after the next restart).
func (d *certDisk) store(name string, c *tls.Certificate) {
	if d == nil || d.files.Load() >= maxDiskCerts {
		return
	}
	tmp := d.path(name) + ".new"
	if err := os.WriteFile(tmp, c.Certificate[0], 0o600); err != nil {
		return
	}
	if os.Rename(tmp, d.path(name)) == nil {
		d.files.Add(1)
	}
}
