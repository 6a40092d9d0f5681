package blockpage

import (
	"crypto/x509"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/state"
)

func (f *fixture) status(t testing.TB, id, accept string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+"/.civicdns/request/"+id, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func submitted(t testing.TB, s *state.Store, i int) state.Request {
	t.Helper()
	q, err := s.Submit(state.Request{Client: netip.MustParseAddr("10.20.1.1"), Department: "Police", Name: fmt.Sprintf("www.casino%d.example", i),
		Category: "gambling", Matched: "casino.example", Requester: "Pat Doe", Email: "pat@city.example", Reason: "fraud case 12"})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// The public status page shows the decision and the exemption's last day,
// never what the director wrote for the department.
func TestStatusShowsTheDecisionNotTheDirectorsReason(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	q := submitted(t, f.store, 1)
	if _, err := f.store.Approve(q.ID, state.Approval{By: "Chief", Expires: config.Date{Year: 2099, Month: 3, Day: 31},
		Reason: "vice unit investigation 4471", Reference: "Memo 2026-114"}); err != nil {
		t.Fatal(err)
	}
	for _, accept := range []string{"", "application/json"} {
		code, body := f.status(t, q.ID, accept)
		if code != http.StatusOK || !strings.Contains(body, "approved") || !strings.Contains(body, "2099-03-31") {
			t.Errorf("%q: %d %s", accept, code, body)
		}
		for _, secret := range []string{"vice unit", "Memo 2026-114", "Chief", "pat@city.example", "fraud case"} {
			if strings.Contains(body, secret) {
				t.Errorf("%q: the public status shows %q: %s", accept, secret, body)
			}
		}
	}
	if code, body := f.status(t, strings.Repeat("R", 5000), ""); code != http.StatusNotFound || strings.Contains(body, "RRRRRRRRRRRRRRRRR") {
		t.Errorf("an unknown ID: %d, echoed back", code)
	}
}

// A client that walks request IDs is slowed down; another client is not.
func TestStatusLookupsAreRateLimitedPerClient(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	q := submitted(t, f.store, 1)
	limited := 0
	for range lookupBurst + 5 {
		if code, _ := f.status(t, "R-NOSUCH00", "application/json"); code == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited != 5 {
		t.Errorf("%d of %d lookups limited, want 5", limited, lookupBurst+5)
	}
	// The same page for another address (the limiter's key is the client).
	req := httptest.NewRequest("GET", "/.civicdns/request/"+q.ID, nil)
	req.RemoteAddr = "10.20.9.9:40000"
	rec := httptest.NewRecorder()
	f.page.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("another client: %d", rec.Code)
	}
}

// A status lookup costs the same with 100 or 100,000 requests stored: it
// is a lookup in the store's index, not a replay of the journal.
func BenchmarkStatusLookup(b *testing.B) {
	for _, n := range []int{100, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			f := newFixture(b, true)
			ids := make([]string, 0, n)
			for i := range n {
				ids = append(ids, submitted(b, f.store, i).ID)
			}
			f.page.lookups.Burst = 1e12 // the benchmark is one client
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				req := httptest.NewRequest("GET", "/.civicdns/request/"+ids[i%len(ids)]+"?format=json", nil)
				rec := httptest.NewRecorder()
				f.page.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}

// The CA signs server certificates only, for five years, and with -permit
// only inside the domains given: a certificate it signs for another name
// does not verify.
func TestCAIsForServersFiveYearsAndConstrainable(t *testing.T) {
	t.Parallel()
	now := time.Now()
	certFile, keyFile, err := CreateCAWith(t.TempDir(), CAOptions{Name: "City CA", Permit: []string{"city.example"}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := LoadCA(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(ca.Cert.ExtKeyUsage) != 1 || ca.Cert.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("EKU %v, want serverAuth only", ca.Cert.ExtKeyUsage)
	}
	if years := ca.Cert.NotAfter.Sub(now).Hours() / 24 / 365; years > 5.01 || years < 4.99 {
		t.Errorf("the CA lives %.2f years, want 5", years)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	m, err := NewMinter(ca, "", nil, newMetrics(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	for name, ok := range map[string]bool{"www.city.example": true, "www.pokerstars.com": false} {
		c, err := m.Certificate(name, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		_, verr := c.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: pool})
		if (verr == nil) != ok {
			t.Errorf("%s verifies: %v, want %v", name, verr, ok)
		}
	}
}
