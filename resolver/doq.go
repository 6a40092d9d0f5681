package resolver

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/devices"
	"github.com/civicdns/civicdns/query"
	"github.com/quic-go/quic-go"
)

// DNS over QUIC (RFC 9250): one query a bidirectional stream, each message
// with a 2-byte length, the stream closed after the answer. Connections
// are idle-timed and bounded per address like TCP's, streams per
// connection by maxPipelined.

// doqCodeNoError and doqCodeInternal are RFC 9250's error codes.
const (
	doqCodeNoError  = 0x0
	doqCodeInternal = 0x1
)

// listenDoQ binds [server] quic_listen.
func (s *Server) listenDoQ(cfg *config.Config) error {
	for _, addr := range cfg.Server.QUICAddrs {
		idle := cfg.Server.TCPIdleTimeout.D()
		ln, err := quic.ListenAddr(addr.String(), &tls.Config{GetCertificate: s.cert.GetCertificate, MinVersion: tls.VersionTLS13, NextProtos: []string{"doq"}},
			&quic.Config{MaxIdleTimeout: idle, HandshakeIdleTimeout: idle, MaxIncomingStreams: maxPipelined, MaxIncomingUniStreams: -1})
		if err != nil {
			return fmt.Errorf("quic_listen %s: %w", addr, err)
		}
		s.mu.Lock()
		s.quic = append(s.quic, ln)
		s.mu.Unlock()
	}
	return nil
}

// serveDoQ accepts QUIC connections up to tcp_max_connections.
func (s *Server) serveDoQ(ln *quic.Listener) {
	defer s.readers.Done()
	for {
		c, err := ln.Accept(s.stopDoQ)
		if err != nil {
			return // closed, or the server's life ended
		}
		s.mu.Lock()
		full := s.connCount[query.TransportQUIC] >= s.state.Snapshot().Config.Server.TCPMaxConnections
		if !full && !s.closing {
			s.connCount[query.TransportQUIC]++
		}
		closing := s.closing
		s.mu.Unlock()
		if full || closing {
			s.metrics.dropped.WithLabelValues("quic_connection_limit").Inc()
			c.CloseWithError(doqCodeNoError, "")
			continue
		}
		s.readers.Add(1)
		go s.serveDoQConn(c)
	}
}

// serveDoQConn answers the streams of one connection until it ends, or
// the server shuts down: then it takes no new stream, answers those it
// has, and closes the connection.
func (s *Server) serveDoQConn(c *quic.Conn) {
	defer s.readers.Done()
	var streams sync.WaitGroup
	defer func() {
		streams.Wait()
		c.CloseWithError(doqCodeNoError, "")
		s.mu.Lock()
		s.connCount[query.TransportQUIC]--
		s.mu.Unlock()
	}()
	client, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	token := s.sniToken(c.ConnectionState().TLS.ServerName)
	for {
		st, err := c.AcceptStream(s.stopDoQ)
		if err != nil {
			return
		}
		s.inflight.Add(1)
		streams.Add(1)
		go func() {
			defer func() { streams.Done(); s.inflight.Done() }()
			s.serveDoQStream(st, client, token)
		}()
	}
}

// serveDoQStream reads the stream's one query and answers it.
func (s *Server) serveDoQStream(st *quic.Stream, client netip.AddrPort, token devices.Key) {
	st.SetDeadline(time.Now().Add(s.state.Snapshot().Config.Server.TCPIdleTimeout.D()))
	var lenBuf [2]byte
	if _, err := io.ReadFull(st, lenBuf[:]); err != nil {
		st.CancelRead(doqCodeInternal)
		st.Close()
		return
	}
	q := s.pool.Get()
	defer s.pool.Put(q)
	in := q.InN(int(binary.BigEndian.Uint16(lenBuf[:])))
	if _, err := io.ReadFull(st, in); err != nil {
		st.CancelRead(doqCodeInternal)
		st.Close()
		return
	}
	q.Raw, q.Client, q.TCP, q.MayBlock, q.Received, q.Transport = in, client, true, true, s.now(), query.TransportQUIC
	q.Token = token
	if reply, _ := s.handlePacket(q); reply {
		s.record(s.metrics, q.FillRecord(s.now()))
		msg := make([]byte, 2, 2+len(q.Answer))
		binary.BigEndian.PutUint16(msg, uint16(len(q.Answer)))
		st.Write(append(msg, q.Answer...))
	}
	st.Close()
}

// QUICAddrs are the DNS-over-QUIC addresses served.
func (s *Server) QUICAddrs() []netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	return addrPorts(s.quic)
}

// closeDoQ closes the QUIC listeners (their connections end with them).
func (s *Server) closeDoQ() {
	for _, ln := range s.quic {
		if err := ln.Close(); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Debug("closing a QUIC listener", "err", err)
		}
	}
}
