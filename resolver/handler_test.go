package resolver

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/query"
	"github.com/civicdns/civicdns/querylog"
	"github.com/miekg/dns"
)

// warmServer starts a server with www.example.com A cached, recording to
// rec too when given.
func warmServer(tb testing.TB, rec ...query.Recorder) *testServer {
	up := dnstest.StartUpstream(tb, dnstest.Answer("192.0.2.1", 3600))
	var r query.Recorder
	if len(rec) > 0 {
		r = rec[0]
	}
	ts := startServerFull(tb, time.Now, r, `["127.0.0.1:0"]`, strings.ReplaceAll(forwardTo, "%s", `"`+up.Addr+`"`))
	dnstest.Exchange(tb, "udp", ts.Addr, dnstest.Query("www.example.com", dns.TypeA))
	return ts
}

// benchClient is the address serveOnce's queries come from.
func benchClient() netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 40000)
}

// serveOnce runs a packet through the UDP reader's first pass, and records
// the answer as the reader does.
func (ts *testServer) serveOnce(raw []byte) (*query.Query, bool, error) {
	q := ts.pool.Get()
	q.Raw = append(q.In()[:0], raw...)
	q.Received = ts.now()
	q.Client = benchClient() // a loopback client: served ([server] allow)
	reply, err := ts.handlePacket(q)
	if reply && err == nil {
		ts.record(ts.metrics, q.FillRecord(ts.now()))
	}
	return q, reply, err
}

// FuzzHandlePacket feeds arbitrary packets to the message handler: it must
// never panic, and every answer it writes must be a well-formed DNS message
// with the query's ID.
func FuzzHandlePacket(f *testing.F) {
	for _, m := range []*dns.Msg{
		dnstest.Query("www.example.com", dns.TypeA),
		dnstest.Query("WWW.EXAMPLE.COM", dns.TypeA),
		dnstest.Query("www.example.com", dns.TypeANY),
		dnstest.Query("other.example", dns.TypeAAAA),
	} {
		b, _ := m.Pack()
		f.Add(b)
	}
	f.Add([]byte{0xAB, 0xCD, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w', 'w'})
	ts := warmServer(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		q, reply, err := ts.serveOnce(b)
		defer ts.pool.Put(q)
		if err != nil && err != query.ErrWouldBlock {
			t.Fatalf("handler error: %v", err)
		}
		if !reply || err == query.ErrWouldBlock {
			return
		}
		r := new(dns.Msg)
		if err := r.Unpack(q.Answer); err != nil {
			t.Fatalf("answer does not parse: %v (%x)", err, q.Answer)
		}
		if r.Id != uint16(b[0])<<8|uint16(b[1]) || !r.Response {
			t.Fatalf("answer header %v", r.MsgHdr)
		}
	})
}

// benchServe runs the packet for qname through the UDP reader's first pass
// b.N times, failing unless each answer is what ok says.
func benchServe(b *testing.B, qname string, ok func(*query.Query) bool, setup ...func(*testServer)) {
	benchServeRec(b, nil, qname, ok, setup...)
}

func benchServeRec(b *testing.B, rec query.Recorder, qname string, ok func(*query.Query) bool, setup ...func(*testServer)) {
	var ts *testServer
	if rec != nil {
		ts = warmServer(b, rec)
	} else {
		ts = warmServer(b)
	}
	for _, f := range setup {
		f(ts)
	}
	raw, _ := dnstest.Query(qname, dns.TypeA).Pack()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			q, reply, err := ts.serveOnce(raw)
			if !reply || err != nil || !ok(q) {
				b.Errorf("unexpected answer for %s: reply %v, err %v, action %q", qname, reply, err, q.Decision.Action)
				return
			}
			ts.pool.Put(q)
		}
	})
}

// BenchmarkCachedAnswer measures the whole cached-answer path of the UDP
// reader: decode, sanity, identify, policy, cache lookup, answer copy with
// TTL patching, and the record. The target is at most 2 allocations.
// Run with -cpu 1 for one reader, -cpu 2 for every CPU at once.
func BenchmarkCachedAnswer(b *testing.B) {
	benchServe(b, "www.example.com", func(q *query.Query) bool { return q.Cached })
}

// BenchmarkBlockedAnswer measures a blocked query: decode, department,
// policy decision on the shipped lists, block answer with EDE 15, record.
func BenchmarkBlockedAnswer(b *testing.B) {
	benchServe(b, "www.pokerstars.com", func(q *query.Query) bool { return q.Decision.Action == policy.Blocked })
}

// BenchmarkCachedAnswerWithLiveExemptions is BenchmarkCachedAnswer with
// 1,000 of the state store's exemptions live.
func BenchmarkCachedAnswerWithLiveExemptions(b *testing.B) {
	benchServe(b, "www.example.com", func(q *query.Query) bool { return q.Cached }, func(ts *testServer) {
		var ex []*policy.Exemption
		for i := 0; i < 1000; i++ {
			ex = append(ex, &policy.Exemption{ID: fmt.Sprint("x-", i), Clients: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 99, byte(i >> 8), byte(i)}), 32)},
				Domains: []string{fmt.Sprintf("site%d.example", i)}, Expires: ts.Clock.Now().Add(time.Hour), Source: policy.SourceStore})
		}
		ts.State.SetStoreExemptions(ex)
		if n := ts.State.Snapshot().Exemptions.Active(ts.Clock.Now()); n != 1000 {
			b.Fatalf("%d live exemptions", n)
		}
	})
}

// BenchmarkCachedAnswerWithQueryLog is BenchmarkCachedAnswer with the query
// log on: every answer recorded to day files by a running writer.
func BenchmarkCachedAnswerWithQueryLog(b *testing.B) {
	lg, err := querylog.Open(querylog.Options{Dir: b.TempDir(), Instance: "bench", Location: time.UTC}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { lg.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	benchServeRec(b, lg, "www.example.com", func(q *query.Query) bool { return q.Cached })
}

// BenchmarkCachedAnswerRateLimited is BenchmarkCachedAnswer with
// [server.rate_limit] on (a limit no query reaches): what the limiter adds
// to the hit path.
func BenchmarkCachedAnswerRateLimited(b *testing.B) {
	benchServe(b, "www.example.com", func(q *query.Query) bool { return q.Cached }, func(ts *testServer) {
		cfg := *ts.State.Snapshot().Config
		cfg.Server.RateLimit.Queries = 1 << 30
		if err := ts.Reload(&cfg, ts.State.Snapshot().Policy); err != nil {
			b.Fatal(err)
		}
	})
}
