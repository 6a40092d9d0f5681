package upstream

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// dohServer answers RFC 8484 POSTs with 192.0.2.53, or fails with status.
func dohServer(t *testing.T, status int) *httptest.Server {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status != 0 {
			http.Error(w, "broken", status)
			return
		}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/dns-message" || r.ProtoMajor != 2 {
			http.Error(w, "not DoH over HTTP/2", http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(r.Body)
		q := new(dns.Msg)
		if q.Unpack(body) != nil || q.Id != 0 {
			http.Error(w, "bad query", http.StatusBadRequest)
			return
		}
		m := new(dns.Msg)
		m.SetReply(q)
		rr, _ := dns.NewRR(q.Question[0].Name + " 60 IN A 192.0.2.53")
		m.Answer = append(m.Answer, rr)
		wire, _ := m.Pack()
		w.Header().Set("Content-Type", "application/dns-message")
		w.Write(wire)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestDoHUpstream(t *testing.T) {
	t.Parallel()
	srv := dohServer(t, 0)
	u, err := New(srv.URL + "/dns-query")
	if err != nil {
		t.Fatal(err)
	}
	h := u.(*HTTPS).WithRootCAs(srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs)
	q := new(dns.Msg).SetQuestion("www.example.com.", dns.TypeA)
	q.Id = 4242
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := h.Exchange(ctx, q)
	if err != nil || r.Id != 4242 || len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.53" {
		t.Fatalf("%v %v", r, err)
	}
	// A server error fails over like SERVFAIL; a certificate nobody trusts is no answer.
	bad := dohServer(t, http.StatusBadGateway)
	b, _ := NewHTTPS(bad.URL + "/dns-query")
	b.WithRootCAs(bad.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs)
	if _, err := b.Exchange(ctx, q); KindOf(err) != KindServFail || !KindOf(err).Failover() {
		t.Errorf("HTTP 502: %v (kind %s)", err, KindOf(err))
	}
	untrusted, _ := NewHTTPS(srv.URL + "/dns-query")
	if _, err := untrusted.Exchange(ctx, q); err == nil {
		t.Error("an untrusted certificate was accepted")
	}
	if _, err := New("https://"); err == nil {
		t.Error("an https URL without a host was accepted")
	}
}
