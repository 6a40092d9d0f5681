//go:build !linux

package upstream

import (
	"net"
	"net/netip"
	"time"
)

// UDPDialer opens the sockets of UDP exchanges, each on a fresh random
// port. The zero value is ready to use.
type UDPDialer struct{}

// Dial opens a UDP socket connected to addr on a fresh random port.
func (*UDPDialer) Dial(addr netip.AddrPort) (UDPSocket, error) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, err
	}
	return netUDPSocket{c}, nil
}

// Close does nothing: the sockets are the exchanges'.
func (*UDPDialer) Close() error { return nil }

type netUDPSocket struct{ *net.UDPConn }

func (s netUDPSocket) Exchange(query, buf []byte, deadline time.Time) (int, error) {
	if query != nil {
		if _, err := s.Write(query); err != nil {
			return 0, err
		}
	}
	s.SetReadDeadline(deadline)
	return s.Read(buf)
}
