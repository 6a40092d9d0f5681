//go:build !linux

package upstream

import (
	"net"
	"net/netip"
)

// dialUDP opens a UDP socket connected to addr on a fresh random port.
func dialUDP(addr netip.AddrPort) (udpSocket, error) {
	return net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
}
