//go:build linux

package resolver

import (
	"net"
	"testing"

	"github.com/miekg/dns"

	"github.com/civicdns/civicdns/internal/dnstest"
)

// TestUDPReaderAnswersHitsWithoutAllocating sends cache hits one at a time
// over loopback: the reader's whole loop (recvmmsg, the chain, the answer,
// its record, sendmmsg, the wait for the next) allocates nothing, the client
// neither. A closure per system call used to put seven objects a batch on
// the heap.
func TestUDPReaderAnswersHitsWithoutAllocating(t *testing.T) {
	ts := warmServer(t)
	m := dnstest.Query("www.example.com", dns.TypeA) // warmServer cached it
	raw, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("udp", ts.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 1500)
	exchange := func() {
		if _, err := c.Write(raw); err != nil {
			t.Fatal(err)
		}
		n, err := c.Read(buf)
		if err != nil || n < len(raw) || buf[0] != raw[0] || buf[1] != raw[1] {
			t.Fatalf("answer: %d bytes, %v", n, err)
		}
	}
	exchange()
	if allocs := testing.AllocsPerRun(2000, exchange); allocs != 0 {
		t.Errorf("%v allocations per cache hit over UDP, want 0", allocs)
	}
}
