//go:build linux

package resolver

import "golang.org/x/sys/unix"

// dontFragment makes the answers a UDP listener sends leave whole, with the
// IPv4 Don't Fragment bit set, and never shrunk to a path MTU learned from
// ICMP: RFC 9715's advice to responders (IP_DONTFRAG), as Linux spells it
// (IP_PMTUDISC_PROBE). Answers are at most query.AdvertisedUDPSize (1,232
// bytes, which fits the IPv6 minimum MTU), so no answer needs fragments; a
// forged "fragmentation needed" can no longer make the kernel split them
// (fragments are what off-path cache poisoning rides on). It also spares
// the kernel hashing a fresh IP ID for every answer, as it does for
// datagrams that may be fragmented (Linux's default, IP_PMTUDISC_WANT).
//
// network is the Control callback's: "udp4" or "udp6". An IPv6 socket also
// carries IPv4 (mapped addresses) unless it is v6-only, so it gets both.
func dontFragment(network string, fd int) error {
	if network == "udp6" {
		err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MTU_DISCOVER, unix.IPV6_PMTUDISC_PROBE)
		// The IPv4 half, for mapped addresses; its error does not matter, as
		// a socket that refused it would send no IPv4.
		unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_PROBE)
		return err
	}
	return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_PROBE)
}
