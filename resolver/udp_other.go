//go:build !linux

package resolver

import (
	"errors"
	"net"
)

// serveUDP is one socket's reader (one datagram per system call where
// recvmmsg is not available). See udp_batch_linux.go.
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
			s.later(conn, q)
			continue
		}
		if reply {
			conn.WriteToUDPAddrPort(q.Answer, q.Client)
		}
		s.pool.put(q)
	}
}
