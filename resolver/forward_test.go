package resolver

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/civicdns/civicdns/live"
	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/upstream"
	"github.com/miekg/dns"
)

func TestStaleAnswerWhileTheUpstreamIsSlow(t *testing.T) {
	t.Parallel()
	var slow atomic.Bool
	release := make(chan struct{})
	up := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		if slow.Load() {
			<-release
		}
		dnstest.Answer("192.0.2.9", 10)(w, r)
	})
	cfg := strings.Replace(forwardTo, "500ms", "10s", 1) + "[cache]\nserve_stale = \"1h\"\nstale_answer_after = \"100ms\"\n"
	ts := startServer(t, cfg, up.Addr)
	dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("slow.example", dns.TypeA))
	slow.Store(true)
	ts.Clock.Advance(20 * time.Second)
	r := dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("slow.example", dns.TypeA))
	if _, ttl := aRecord(t, r); ttl != 30 {
		t.Errorf("TTL %d, want 30 (stale)", ttl)
	}
	if code, _, ok := ede(r); !ok || code != dns.ExtendedErrorCodeStaleAnswer {
		t.Errorf("no EDE 3")
	}
	// The refresh goes on and fills the cache once the upstream answers.
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("slow.example", dns.TypeA))
		if _, ttl := aRecord(t, r); ttl == 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the background refresh never reached the cache")
		}
	}
}

func TestForwardingOverTLS(t *testing.T) {
	t.Parallel()
	cert, pool := dnstest.SelfSigned(t, "dns.test")
	addr := dnstest.StartTLSUpstream(t, cert, dnstest.Answer("192.0.2.53", 60))
	text := "[server]\nlisten = [\"127.0.0.1:0\"]\n[upstream]\nservers = [\"tls://" + addr + "#dns.test\"]\n[metrics]\nlisten = \"\"\n"
	cfg, err := config.Parse("tls.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Load(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	state, err := live.New(cfg, pol, live.Options{Upstream: upstream.Options{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	defer state.Close()
	srv, err := New(Options{State: state})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	r := dnstest.Exchange(t, "udp", srv.Addrs()[0].String(), dnstest.Query("dot.example", dns.TypeA))
	if ip, _ := aRecord(t, r); ip != "192.0.2.53" {
		t.Errorf("answer over DoT: %s", ip)
	}
}

// An upstream that refuses civicdns is told apart from one that is down:
// EDE 18 (Prohibited) with the upstream's address, not EDE 22.
func TestUpstreamRefusedGivesEDE18(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeRefused)
		w.WriteMsg(m)
	})
	ts := startServer(t, forwardTo, up.Addr)
	r := dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("refused.example", dns.TypeA))
	code, text, ok := ede(r)
	if r.Rcode != dns.RcodeServerFailure || !ok || code != dns.ExtendedErrorCodeProhibited || !strings.Contains(text, up.Addr) {
		t.Errorf("%s EDE %d %q, want SERVFAIL EDE 18 naming %s", dns.RcodeToString[r.Rcode], code, text, up.Addr)
	}
}

// When the upstreams could take longer than answer_timeout, a client gets
// SERVFAIL (EDE 22) by then, while the exchange goes on and fills the
// cache for the next one.
func TestAnswerTimeoutBoundsTheClientsWait(t *testing.T) {
	t.Parallel()
	silent := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {})
	good := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.31", 300))
	cfg := strings.Replace(forwardTo, `"500ms"`, "\"2s\"\nanswer_timeout = \"200ms\"", 1)
	ts := startServer(t, cfg, silent.Addr, good.Addr)
	r := dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("late.example", dns.TypeA))
	asked := good.Queries() // the silent one's 2s are not over: the good one is not asked yet
	code, text, ok := ede(r)
	if r.Rcode != dns.RcodeServerFailure || !ok || code != dns.ExtendedErrorCodeNoReachableAuthority {
		t.Errorf("%s EDE %d %q, want SERVFAIL EDE 22", dns.RcodeToString[r.Rcode], code, text)
	}
	if asked != 0 {
		t.Errorf("the client waited until the second upstream was asked")
	}
	for i := 0; ; i++ {
		r := dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query("late.example", dns.TypeA))
		if dnstest.FirstA(r) == "192.0.2.31" {
			break
		}
		if i == 100 {
			t.Fatal("the exchange that went on never filled the cache")
		}
		<-good.Seen // the next try waits for the good upstream to be asked
	}
}

// A name with bytes outside host names (a dot inside a label, a zero byte)
// goes upstream byte for byte in the forwarding path's wire-form query, and
// its answer comes back from the cache the same.
func TestForwardsEscapedNames(t *testing.T) {
	t.Parallel()
	var asked atomic.Value
	up := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		asked.Store(r.Question[0].Name)
		dnstest.Answer("192.0.2.77", 300)(w, r)
	})
	ts := startServer(t, forwardTo, up.Addr)
	const name = `we\.ird\000name.example.`
	for range 2 { // upstream, then the cache
		r := dnstest.Exchange(t, "udp", ts.Addr, dnstest.Query(name, dns.TypeA))
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Question[0].Name != name {
			t.Fatalf("answer %v", r)
		}
	}
	if got, _ := asked.Load().(string); got != name || up.Queries() != 1 {
		t.Fatalf("upstream asked %q %d times, want %q once", got, up.Queries(), name)
	}
}
