//go:build linux

package upstream

import (
	"errors"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// UDPDialer opens the sockets of UDP exchanges, each on a fresh port the
// kernel picks at random, and waits for their answers without handing each
// socket to Go's netpoller. The zero value is ready to use.
//
// A socket per query is the miss path's one unavoidable cost (RFC 5452),
// and wrapping each in an os.File added a third to its system calls: fcntl,
// epoll_ctl ADD and DEL on the runtime's poller, a read that fails (EAGAIN)
// before every wait, and a finalizer set and cleared. Instead an exchange
// borrows a waiter: an epoll instance of our own, made once and registered
// once with Go's netpoller (an epoll descriptor is readable when one of its
// sockets is). The socket joins it with one epoll_ctl, the query is sent
// only once the wait has begun (an answer that comes at once still wakes
// it, and nothing is read before there can be something to read), and
// closing the socket takes it out of the set.
type UDPDialer struct {
	mu     sync.Mutex
	idle   []*udpWaiter
	closed bool // waiters coming back are closed, not kept
}

// maxIdleWaiters bounds the waiters kept between exchanges (one descriptor
// each); past it a waiter is closed when its exchange ends.
const maxIdleWaiters = 1024

// Dial opens a UDP socket connected to addr on a fresh random port.
func (d *UDPDialer) Dial(addr netip.AddrPort) (UDPSocket, error) {
	fd, err := dialUDP(addr)
	if err != nil {
		return nil, err
	}
	w, err := d.waiter()
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
	if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		unix.Close(fd)
		d.put(w)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	return &udpSocket{fd: fd, w: w, d: d}, nil
}

// Close closes the idle waiters; an exchange still in flight (a reload
// closes the upstreams it replaced) closes its own when it ends. The dialer
// still dials, keeping no waiter.
func (d *UDPDialer) Close() error {
	d.mu.Lock()
	idle := d.idle
	d.idle, d.closed = nil, true
	d.mu.Unlock()
	var errs []error
	for _, w := range idle {
		errs = append(errs, w.file.Close())
	}
	return errors.Join(errs...)
}

func (d *UDPDialer) waiter() (*udpWaiter, error) {
	d.mu.Lock()
	if n := len(d.idle); n > 0 {
		w := d.idle[n-1]
		d.idle = d.idle[:n-1]
		d.mu.Unlock()
		return w, nil
	}
	d.mu.Unlock()
	return newUDPWaiter()
}

func (d *UDPDialer) put(w *udpWaiter) {
	d.mu.Lock()
	if !d.closed && len(d.idle) < maxIdleWaiters {
		d.idle = append(d.idle, w)
		d.mu.Unlock()
		return
	}
	d.mu.Unlock()
	w.file.Close()
}

// dialUDP makes the socket: socket and connect (the kernel binds a random
// ephemeral port), nothing else.
func dialUDP(addr netip.AddrPort) (int, error) {
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
		return -1, os.NewSyscallError("socket", err)
	}
	if err := unix.Connect(fd, sa); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("connect", err)
	}
	return fd, nil
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

// udpWaiter is an epoll instance that Go's netpoller watches: a goroutine
// parks on it (RawConn.Read) until the socket added to it has a datagram,
// an error, or the deadline passes.
type udpWaiter struct {
	epfd int
	file *os.File // epfd, registered with the netpoller
	raw  syscall.RawConn
	step func(uintptr) bool // w.advance, made once: no closure per wait

	// The wait in progress.
	fd    int
	query []byte // to send once the wait has begun; nil when sent
	buf   []byte
	n     int
	err   error
}

func newUDPWaiter() (*udpWaiter, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	// Non-blocking, so that os.File registers it with the netpoller.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	f := os.NewFile(uintptr(epfd), "udp-waiter")
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	w := &udpWaiter{epfd: epfd, file: f, raw: raw}
	w.step = w.advance
	return w, nil
}

// advance is RawConn.Read's callback, run once the wait has begun and
// again each time the epoll descriptor becomes readable: it sends the
// query the first time, then reads. false means wait.
func (w *udpWaiter) advance(uintptr) bool {
	if q := w.query; q != nil {
		w.query = nil
		if _, err := unix.Write(w.fd, q); err != nil {
			w.err = os.NewSyscallError("write", err)
			return true
		}
		return false
	}
	n, err := unix.Read(w.fd, w.buf)
	switch {
	case err == unix.EAGAIN || err == unix.EINTR:
		return false
	case err != nil:
		w.err = os.NewSyscallError("read", err)
	default:
		w.n = n
	}
	return true
}

// udpSocket is one exchange's socket with the waiter it borrowed.
type udpSocket struct {
	fd int
	w  *udpWaiter
	d  *UDPDialer
}

func (s *udpSocket) Exchange(query, buf []byte, deadline time.Time) (int, error) {
	w := s.w
	if w == nil {
		return 0, os.ErrClosed
	}
	if err := w.file.SetReadDeadline(deadline); err != nil {
		return 0, err
	}
	w.fd, w.query, w.buf, w.n, w.err = s.fd, query, buf, 0, nil
	err := w.raw.Read(w.step)
	n := w.n
	if err == nil {
		err = w.err
	}
	w.query, w.buf, w.err = nil, nil, nil
	return n, err
}

// Close closes the socket, which takes it out of the waiter's epoll set,
// and returns the waiter.
func (s *udpSocket) Close() error {
	if s.w == nil {
		return os.ErrClosed
	}
	err := unix.Close(s.fd)
	s.d.put(s.w)
	s.w = nil
	if err != nil {
		return os.NewSyscallError("close", err)
	}
	return nil
}
