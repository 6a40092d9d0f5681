package resolver

import (
	"fmt"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/miekg/dns"
)

// BenchmarkCachedAnswerColdCPU measures cache hits over 1,000 names with
// the CPU's caches pushed out before each one, as the kernel's networking
// pushes them out between two datagrams: what a hit costs in memory reads.
// Its figure is ns/hit (the hits alone, timed one by one); ns/op includes
// pushing the caches out.
func BenchmarkCachedAnswerColdCPU(b *testing.B) {
	ts := warmServer(b)
	raws := make([][]byte, 1000)
	for i := range raws {
		m := dnstest.Query(fmt.Sprintf("host%d.example.com", i), dns.TypeA)
		dnstest.Exchange(b, "udp", ts.Addr, m)
		raws[i], _ = m.Pack()
	}
	junk := make([]byte, 2<<20) // larger than a core's L2
	var hits time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := 0; j < len(junk); j += 64 {
			junk[j]++
		}
		start := time.Now()
		q, reply, err := ts.serveOnce(raws[i%len(raws)])
		hits += time.Since(start)
		if !reply || err != nil || !q.Cached {
			b.Fatalf("not a cached answer: reply %v, err %v", reply, err)
		}
		ts.pool.Put(q)
	}
	b.ReportMetric(float64(hits.Nanoseconds())/float64(b.N), "ns/hit")
}

// BenchmarkForwardedMiss measures a cache miss answered by a forwarding
// upstream on loopback (an in-process server), as a later worker answers
// it: the chain, the upstream exchange on a fresh socket, the cache entry,
// the answer and its record. Every query asks a new name.
func BenchmarkForwardedMiss(b *testing.B) {
	ts := warmServer(b)
	raws := make([][]byte, b.N)
	for i := range raws {
		raws[i], _ = dnstest.Query(fmt.Sprintf("miss%d.example.com", i), dns.TypeA).Pack()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := ts.pool.Get()
		q.Raw = append(q.In()[:0], raws[i]...)
		q.Received = ts.now()
		q.MayBlock = true
		if reply, err := ts.handlePacket(q); !reply || err != nil || q.Cached || q.Answer == nil {
			b.Fatalf("not a miss answered: reply %v, err %v", reply, err)
		}
		ts.record(ts.metrics, q.FillRecord(ts.now()))
		ts.pool.Put(q)
	}
}
