package upstream

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/miekg/dns"
)

// HTTPS is a DNS-over-HTTPS server (RFC 8484): POST application/dns-message
// over HTTP/2, its connections kept and reused by one http.Client. It fails
// like the other transports (timeouts, network errors, SERVFAIL and
// REFUSED answers), so a Group fails over from it the same way.
type HTTPS struct {
	url    string
	client *http.Client
}

// NewHTTPS makes a DoH upstream for an https:// URL.
func NewHTTPS(rawURL string) (*HTTPS, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("upstream %q: not an https:// URL", rawURL)
	}
	return &HTTPS{url: rawURL, client: httpsClient(nil)}, nil
}

func httpsClient(pool *x509.CertPool) *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 8, IdleConnTimeout: 90 * time.Second,
	}}
}

// WithRootCAs makes the upstream trust pool instead of the system roots (tests, private CAs).
func (h *HTTPS) WithRootCAs(pool *x509.CertPool) *HTTPS {
	h.client = httpsClient(pool)
	return h
}

// Address returns the URL.
func (h *HTTPS) Address() string { return h.url }

// Exchange POSTs q (with ID 0, as RFC 8484 asks for caches) and returns
// the answer with q's ID restored.
func (h *HTTPS) Exchange(ctx context.Context, q *dns.Msg) (*dns.Msg, error) {
	id := q.Id
	q.Id = 0
	wire, err := q.Pack()
	q.Id = id
	if err != nil {
		return nil, wrap(h.url, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(wire))
	if err != nil {
		return nil, wrap(h.url, err)
	}
	req.Header.Set("Content-Type", "application/dns-message")
	req.Header.Set("Accept", "application/dns-message")
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, wrap(h.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 65536))
	if err != nil {
		return nil, wrap(h.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		kind := KindOther
		if resp.StatusCode >= 500 {
			kind = KindServFail
		}
		return nil, &Error{Kind: kind, Upstream: h.url, Err: fmt.Errorf("HTTP %s", resp.Status)}
	}
	r := new(dns.Msg)
	if err := r.Unpack(body); err != nil {
		return nil, wrap(h.url, err)
	}
	if r.Id != 0 || !sameQuestion(&dns.Msg{MsgHdr: dns.MsgHdr{Id: 0}, Question: q.Question}, r) {
		return nil, &Error{Kind: KindOther, Upstream: h.url, Err: fmt.Errorf("the answer is not for the question asked")}
	}
	r.Id = id
	return r, nil
}

// Close releases idle connections.
func (h *HTTPS) Close() error {
	h.client.CloseIdleConnections()
	return nil
}
