//go:build !linux

package upstream

import (
	"net"
	"net/netip"
)

// DialUDP opens a UDP socket connected to addr on a fresh random port.
func DialUDP(addr netip.AddrPort) (UDPSocket, error) {
	return net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
}
