package resolver

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// listenUDP binds n sockets to addr with SO_REUSEPORT, so that the kernel
// spreads packets over n readers. The first socket fixes the port when addr
// asks for port 0.
func listenUDP(addr netip.AddrPort, n int) ([]*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		})
		return errors.Join(err, serr)
	}}
	var conns []*net.UDPConn
	for i := 0; i < n; i++ {
		if i == 1 {
			addr = netip.AddrPortFrom(addr.Addr(), uint16(conns[0].LocalAddr().(*net.UDPAddr).Port))
		}
		pc, err := lc.ListenPacket(context.Background(), "udp", addr.String())
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return nil, err
		}
		c := pc.(*net.UDPConn)
		c.SetReadBuffer(4 << 20) // absorb bursts; the kernel caps it at rmem_max
		conns = append(conns, c)
	}
	return conns, nil
}

// serveUDP is one socket's reader. It answers what it can at once (cache
// hits, blocks, errors) and hands queries that must wait for an upstream to
// a goroutine of their own, so one slow upstream never stalls the socket.
func (s *Server) serveUDP(conn *net.UDPConn) {
	defer s.readers.Done()
	for {
		q := s.pool.get()
		n, client, err := conn.ReadFromUDPAddrPort(q.in)
		if err != nil {
			s.pool.put(q)
			if errors.Is(err, net.ErrClosed) || s.isClosing() {
				return
			}
			continue
		}
		q.Raw, q.Client, q.Received = q.in[:n], client, s.now()
		reply, err := s.handlePacket(q)
		if errors.Is(err, errWouldBlock) {
			s.inflight.Add(1)
			go s.answerLater(conn, q)
			continue
		}
		if reply {
			conn.WriteToUDPAddrPort(q.Answer, q.Client)
		}
		s.pool.put(q)
	}
}

func (s *Server) answerLater(conn *net.UDPConn, q *Query) {
	defer s.inflight.Done()
	q.MayBlock = true
	s.answer(q)
	conn.WriteToUDPAddrPort(q.Answer, q.Client)
	s.pool.put(q)
}
