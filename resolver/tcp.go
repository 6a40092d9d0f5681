package resolver

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/civicdns/civicdns/devices"
)

// maxPipelined is how many queries of one TCP connection are answered at once.
const maxPipelined = 64

// serveTCP accepts connections of a stream transport (TCP, or DNS over TLS
// on a TLS listener) up to tcp_max_connections each; past that, new
// connections are closed at once rather than left waiting.
func (s *Server) serveTCP(ln net.Listener, transport string) {
	defer s.readers.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.mu.Lock()
		full := s.connCount[transport] >= s.state.Snapshot().Config.Server.TCPMaxConnections
		if !full && !s.closing {
			s.tcpConns[c] = struct{}{}
			s.connCount[transport]++
		}
		closing := s.closing
		s.mu.Unlock()
		if full || closing {
			s.metrics.dropped.WithLabelValues(transport + "_connection_limit").Inc()
			c.Close()
			continue
		}
		s.readers.Add(1)
		go s.serveConn(c, transport)
	}
}

// serveConn reads length-prefixed queries until the client closes, stays
// idle past tcp_idle_timeout, or the server shuts down. Queries are answered
// concurrently (pipelining); answers go out in the order they are ready.
func (s *Server) serveConn(c net.Conn, transport string) {
	defer s.readers.Done()
	var (
		writeMu sync.Mutex
		pending sync.WaitGroup
		slots   = make(chan struct{}, maxPipelined)
	)
	defer func() {
		pending.Wait()
		s.mu.Lock()
		delete(s.tcpConns, c)
		s.connCount[transport]--
		s.mu.Unlock()
		c.Close()
	}()
	client, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	var (
		lenBuf [2]byte
		token  devices.Key
		first  = true
	)
	for {
		// Under the lock Shutdown takes to stop every reader, so that a new
		// idle deadline never undoes its "stop now".
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			return
		}
		c.SetReadDeadline(time.Now().Add(s.state.Snapshot().Config.Server.TCPIdleTimeout.D()))
		s.mu.Unlock()
		if _, err := io.ReadFull(c, lenBuf[:]); err != nil {
			return
		}
		if first { // DoT: the handshake is done; its server name may carry a device token
			token, first = s.tlsToken(c), false
		}
		n := int(binary.BigEndian.Uint16(lenBuf[:]))
		q := s.pool.Get()
		in := q.InN(n)
		if _, err := io.ReadFull(c, in); err != nil {
			s.pool.Put(q)
			return
		}
		q.Raw, q.Client, q.TCP, q.MayBlock, q.Received, q.Transport = in, client, true, true, s.now(), transport
		q.Token = token
		slots <- struct{}{}
		pending.Add(1)
		s.inflight.Add(1)
		go func() {
			defer func() { <-slots; pending.Done(); s.inflight.Done() }()
			if reply, _ := s.handlePacket(q); reply {
				s.record(s.metrics, q.FillRecord(s.now()))
				writeMu.Lock()
				c.SetWriteDeadline(time.Now().Add(5 * time.Second))
				msg := make([]byte, 2, 2+len(q.Answer))
				binary.BigEndian.PutUint16(msg, uint16(len(q.Answer)))
				_, err := c.Write(append(msg, q.Answer...))
				writeMu.Unlock()
				if err != nil {
					c.Close()
				}
			}
			s.pool.Put(q)
		}()
	}
}

// tlsToken is the key of the device token in a DoT connection's server
// name (TOKEN.NAME, [server] name), or zero: plain TCP, no server name, or
// the resolver's own name (the client is known by its address).
func (s *Server) tlsToken(c net.Conn) devices.Key {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return devices.Key{}
	}
	return s.sniToken(tc.ConnectionState().ServerName)
}

// sniToken is the key of the device token in a TLS server name, or zero.
func (s *Server) sniToken(serverName string) devices.Key {
	if tok, ok := devices.FromServerName(serverName, s.state.Snapshot().Config.Server.Name); ok {
		return devices.KeyOf(tok)
	}
	return devices.Key{}
}
