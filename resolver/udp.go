package resolver

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/civicdns/civicdns/query"
)

// listenUDP binds n sockets to addr with SO_REUSEPORT, so that the kernel
// spreads packets over n readers, and sends their answers unfragmented
// (dontFragment). The first socket fixes the port when addr asks for port 0.
func listenUDP(addr netip.AddrPort, n int) ([]*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = errors.Join(unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1),
				dontFragment(network, int(fd)))
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

// maxLaterWorkers bounds the goroutines kept to answer queries that wait
// for an upstream; past it each such query gets a goroutine of its own.
const maxLaterWorkers = 512

type laterJob struct {
	conn *net.UDPConn
	q    *query.Query
}

// later hands a query that must wait for an upstream to an idle worker, or
// starts one. Workers stay for the next query: a new goroutine per miss
// spent an eighth of the miss path growing its stack.
func (s *Server) later(conn *net.UDPConn, q *query.Query) {
	s.inflight.Add(1)
	select {
	case s.laterJobs <- laterJob{conn, q}:
		return
	default:
	}
	if s.laterWorkers.Add(1) <= maxLaterWorkers {
		s.workers.Add(1)
		go s.laterWorker(laterJob{conn, q})
		return
	}
	s.laterWorkers.Add(-1)
	go s.answerLater(conn, q)
}

// laterWorker answers j and then each job handed to it, until Shutdown
// closes laterJobs once the readers (the only senders) have stopped. A
// plain receive: a select that also watched the server's context cost
// 3% of a miss's CPU.
func (s *Server) laterWorker(j laterJob) {
	defer func() {
		s.laterWorkers.Add(-1)
		s.workers.Done()
	}()
	s.answerLater(j.conn, j.q)
	for j := range s.laterJobs {
		s.answerLater(j.conn, j.q)
	}
}

func (s *Server) answerLater(conn *net.UDPConn, q *query.Query) {
	defer s.inflight.Done()
	q.MayBlock = true
	s.answer(q)
	conn.WriteToUDPAddrPort(q.Answer, q.Client)
	s.pool.Put(q)
}
