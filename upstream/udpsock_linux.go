//go:build linux

package upstream

import (
	"net/netip"
	"os"

	"golang.org/x/sys/unix"
)

// DialUDP opens a UDP socket connected to addr, on a port the kernel picks
// at random from the ephemeral range, for one exchange. It is the miss
// path's one unavoidable cost per query, so it makes the system calls
// itself (socket, connect, and the poller's registration) rather than the
// net package's dozen (address resolution, getsockname, getpeername,
// SO_BROADCAST).
func DialUDP(addr netip.AddrPort) (UDPSocket, error) {
	family := unix.AF_INET
	var sa unix.Sockaddr
	if a := addr.Addr().Unmap(); a.Is4() {
		sa = &unix.SockaddrInet4{Port: int(addr.Port()), Addr: a.As4()}
	} else {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: int(addr.Port()), Addr: a.As16(), ZoneId: zoneID(a.Zone())}
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := unix.Connect(fd, sa); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("connect", err)
	}
	// A non-blocking descriptor: os.File registers it with the runtime's
	// poller, so reads park the goroutine and deadlines work.
	return os.NewFile(uintptr(fd), "udp"), nil
}

func zoneID(zone string) uint32 {
	if zone == "" {
		return 0
	}
	if ifi, err := netInterfaceByName(zone); err == nil {
		return uint32(ifi)
	}
	return 0
}
