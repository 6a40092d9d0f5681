//go:build linux

package resolver

import (
	"net"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"

	"github.com/civicdns/civicdns/internal/dnstest"
)

// TestAnswersAreNotFragmented checks every UDP listener, IPv4 and IPv6, is
// set to send whole datagrams with DF and to ignore learned path MTUs
// (IP_PMTUDISC_PROBE, RFC 9715), and still answers.
func TestAnswersAreNotFragmented(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.1", 60))
	cfgText := strings.Replace(forwardTo, "%s", `"`+up.Addr+`"`, 1)
	ts := startServerListen(t, `["127.0.0.1:0", "[::1]:0"]`, cfgText)
	type opt struct {
		level, name, want int
		what              string
	}
	v4 := opt{unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_PROBE, "IP_MTU_DISCOVER"}
	v6 := opt{unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_PROBE, "IPV6_MTU_DISCOVER"}
	families := map[bool]int{}
	for _, c := range ts.udp {
		isV6 := c.LocalAddr().(*net.UDPAddr).IP.To4() == nil
		families[isV6]++
		opts := []opt{v4}
		if isV6 {
			opts = []opt{v6, v4} // the IPv4 half of a dual-stack socket too
		}
		raw, err := c.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range opts {
			var got int
			var gerr error
			if err := raw.Control(func(fd uintptr) { got, gerr = unix.GetsockoptInt(int(fd), o.level, o.name) }); err != nil {
				t.Fatal(err)
			}
			if gerr != nil || got != o.want {
				t.Errorf("%s on %s: %d (%v), want %d (PROBE)", o.what, c.LocalAddr(), got, gerr, o.want)
			}
		}
		r := dnstest.Exchange(t, "udp", c.LocalAddr().String(), dnstest.Query("whole.example", dns.TypeA))
		if ip, _ := aRecord(t, r); ip != "192.0.2.1" {
			t.Errorf("answer on %s: %s", c.LocalAddr(), ip)
		}
	}
	if families[false] == 0 || families[true] == 0 {
		t.Fatalf("listeners by family (IPv6?): %v", families)
	}
}
