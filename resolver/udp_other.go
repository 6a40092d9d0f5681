//go:build !linux

package resolver

import (
	"errors"
	"net"

	"github.com/civicdns/civicdns/query"
)

// serveUDP is one socket's reader (one datagram per system call where
// recvmmsg is not available). See udp_batch_linux.go.
func (s *Server) serveUDP(conn *net.UDPConn) {
	defer s.readers.Done()
	for {
		q := s.pool.Get()
		n, client, err := conn.ReadFromUDPAddrPort(q.In())
		if err != nil {
			s.pool.Put(q)
			if errors.Is(err, net.ErrClosed) || s.isClosing() {
				return
			}
			continue
		}
		q.Raw, q.Client, q.Received = q.In()[:n], client, s.now()
		reply, err := s.handlePacket(q)
		if errors.Is(err, query.ErrWouldBlock) {
			s.later(conn, q)
			continue
		}
		if reply {
			s.record(s.metrics, q.FillRecord(s.now()))
			conn.WriteToUDPAddrPort(q.Answer, q.Client)
		}
		s.pool.Put(q)
	}
}
