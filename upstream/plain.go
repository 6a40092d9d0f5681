package upstream

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/civicdns/civicdns/dnswire"
	"github.com/miekg/dns"
)

// Plain is a classic DNS server: UDP first, TCP when the answer is truncated.
// Every query gets a fresh random ID and a socket of its own on a fresh
// port the kernel picks at random, so an off-path attacker must guess both
// (about 32 bits, RFC 5452 §9); answers are matched by source address,
// port, ID and question. Sockets are never reused: a port kept for several
// queries would cut what the attacker has to guess.
type Plain struct {
	addr   string
	ap     netip.AddrPort // addr parsed, once
	dialer net.Dialer
	udp    UDPDialer
	// bufs recycles receive buffers. We advertise 1232 bytes upstream, so
	// an answer larger than 4096 bytes is not one we asked for.
	bufs sync.Pool
	rtt  RTT
	// retransmitted, when set, is called for each query sent again (metrics).
	retransmitted func()
}

// NewPlain makes a plain upstream for "IP:port" or "IP" (port 53).
func NewPlain(addr string) *Plain {
	if _, err := netip.ParseAddr(addr); err == nil {
		addr = net.JoinHostPort(addr, "53")
	}
	p := &Plain{addr: addr}
	p.ap, _ = netip.ParseAddrPort(addr) // config validation made sure it is IP:port
	p.bufs.New = func() any { b := make([]byte, 4096); return &b }
	return p
}

// Address returns the server's IP:port.
func (p *Plain) Address() string { return p.addr }

// Close closes the waiters kept for UDP exchanges: a Plain keeps no
// socket between queries.
func (p *Plain) Close() error { return p.udp.Close() }

// Exchange asks over UDP and retries over TCP when the answer has TC set.
func (p *Plain) Exchange(ctx context.Context, q *dns.Msg) (*dns.Msg, error) {
	wire, err := q.Pack()
	if err != nil {
		return nil, err
	}
	ans, err := p.exchangeWire(ctx, time.Time{}, wire)
	if err != nil {
		return nil, err
	}
	r := new(dns.Msg)
	if err := r.Unpack(ans); err != nil {
		return nil, err
	}
	q.Id = r.Id
	return r, nil
}

// exchangeWire is Exchange for a query in wire form (its ID is set here,
// in place): it returns the answer's bytes, checked to answer the query
// (sameQuestionWire) and otherwise unparsed. It ends at deadline (zero:
// none) or when ctx ends, whichever comes first: the Group passes its
// try's deadline as a value, so that a miss makes no context and timer of
// its own.
func (p *Plain) exchangeWire(ctx context.Context, deadline time.Time, query []byte) ([]byte, error) {
	if d, ok := ctx.Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
		deadline = d
	}
	binary.BigEndian.PutUint16(query, newID())
	ans, err := p.exchangeUDP(ctx, deadline, query)
	if err != nil {
		return nil, err
	}
	if binary.BigEndian.Uint16(ans[2:])&dnswire.FlagTC != 0 {
		binary.BigEndian.PutUint16(query, newID())
		if !deadline.IsZero() {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, deadline)
			defer cancel()
		}
		return exchangeStreamWire(ctx, &p.dialer, p.addr, query)
	}
	return ans, nil
}

func (p *Plain) exchangeUDP(ctx context.Context, deadline time.Time, wire []byte) ([]byte, error) {
	if !p.ap.IsValid() {
		return nil, fmt.Errorf("%q is not an IP:port", p.addr)
	}
	conn, err := p.udp.Dial(p.ap)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// No context.AfterFunc to cut the wait short when ctx ends: each wait
	// lasts at most one retransmission timeout (the try's deadline
	// included), and ctx is checked between waits, so a cancelled exchange
	// ends within one RTO. The callback's registration cost a fifth of the
	// miss path's allocations.
	hasDeadline := !deadline.IsZero()
	start := time.Now()
	bufp := p.bufs.Get().(*[]byte)
	defer p.bufs.Put(bufp)
	buf := *bufp
	rto, resent := p.rto(), false
	send := wire // nil after a datagram that was not the answer: wait on
	for {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", p.addr, ctx.Err())
		}
		if hasDeadline && !time.Now().Before(deadline) {
			return nil, fmt.Errorf("%s: %w", p.addr, os.ErrDeadlineExceeded)
		}
		wait := time.Now().Add(rto)
		if hasDeadline && wait.After(deadline) {
			wait = deadline
		}
		n, err := conn.Exchange(send, buf, wait)
		send = nil
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s: %w", p.addr, ctx.Err())
			}
			if errors.Is(err, os.ErrDeadlineExceeded) && (!hasDeadline || time.Now().Before(deadline)) {
				// No answer within the retransmission timeout: the query or
				// its answer may be lost. Send it again on the same socket
				// (the same port and ID: either answer is taken) and wait
				// twice as long, within the try's timeout.
				send = wire
				rto, resent = 2*rto, true
				if p.retransmitted != nil {
					p.retransmitted()
				}
				continue
			}
			return nil, err
		}
		if !sameQuestionWire(wire, buf[:n]) {
			continue // not our answer (garbage or spoofed): keep waiting
		}
		if !resent { // Karn: a retransmitted query's time says nothing of the path
			p.rtt.Observe(time.Since(start))
		}
		return bytes.Clone(buf[:n]), nil
	}
}

// exchangeStreamWire does one length-prefixed exchange of a query in wire
// form over a new TCP connection.
func exchangeStreamWire(ctx context.Context, d *net.Dialer, addr string, query []byte) ([]byte, error) {
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if deadline, ok := ctx.Deadline(); ok {
		c.SetDeadline(deadline)
	}
	if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(query))), query...)); err != nil {
		return nil, err
	}
	r := bufio.NewReader(c)
	for {
		var l [2]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return nil, streamErr(ctx, err)
		}
		ans := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(r, ans); err != nil {
			return nil, streamErr(ctx, err)
		}
		if sameQuestionWire(query, ans) {
			return ans, nil
		}
	}
}

func streamErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// exchangeConn writes q on a stream connection and reads until its answer.
func exchangeConn(ctx context.Context, conn *dns.Conn, q *dns.Msg) (*dns.Msg, error) {
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	} else {
		conn.SetDeadline(time.Time{})
	}
	if err := conn.WriteMsg(q); err != nil {
		return nil, err
	}
	for {
		r, err := conn.ReadMsg()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		if sameQuestion(q, r) {
			return r, nil
		}
	}
}

// OnRetransmit sets what is called each time a UDP query is sent again
// for want of an answer (the daemon counts them); call it before use.
func (p *Plain) OnRetransmit(f func()) { p.retransmitted = f }

// The retransmission timeout's bounds: the first query to a server waits
// initialRTO; a server's own times never bring it below minRTO.
const (
	initialRTO = 400 * time.Millisecond
	minRTO     = 100 * time.Millisecond
	maxRTO     = 2 * time.Second
)

func (p *Plain) rto() time.Duration { return p.rtt.RTO(initialRTO, minRTO, maxRTO) }
