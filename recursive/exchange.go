package recursive

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"

	"github.com/civicdns/civicdns/upstream"
	"github.com/miekg/dns"
)

// ednsSize is the UDP payload civicdns asks authoritative servers for: the
// DNS Flag Day 2020 value, below common path MTUs, so no fragments.
const ednsSize = 1232

// exchange asks one server one question: a fresh socket (so a fresh random
// source port), a random ID, the name in random letter case (0x20), EDNS
// with DO; over TCP when the answer is truncated; once more without EDNS
// when the server rejects it. Answers that do not match are ignored.
func (r *Resolver) exchange(ctx context.Context, addr netip.Addr, name string, qtype uint16) (*dns.Msg, error) {
	st := r.infra.stat(addr)
	server := netip.AddrPortFrom(addr, uint16(r.port))
	st.mu.Lock()
	edns, echo := !st.noEDNS, st.echoCase
	st.mu.Unlock()
	timeout := st.rto(r.timeout)
	for try := 0; try < 2; try++ {
		asked := name
		if echo >= 0 {
			asked = randomCase(name)
		}
		q := new(dns.Msg)
		q.Id = uint16(rand.Uint32())
		q.Question = []dns.Question{{Name: asked, Qtype: qtype, Qclass: dns.ClassINET}}
		if edns {
			q.SetEdns0(ednsSize, true)
		}
		start := time.Now()
		resp, err := r.udp(ctx, server, q, echo, timeout)
		if err != nil {
			if upstream.KindOf(err) == upstream.KindTimeout {
				st.failed(r.now())
				r.metrics.serverFailure("timeout")
			} else {
				r.metrics.serverFailure("network")
			}
			return nil, &upstream.Error{Kind: upstream.KindOf(err), Upstream: server.String(), Err: err}
		}
		rtt := time.Since(start)
		st.observe(rtt)
		r.metrics.rtt.Observe(rtt.Seconds())
		if echo == 0 && (resp.Rcode == dns.RcodeSuccess || resp.Rcode == dns.RcodeNameError) {
			// Learnt from the server's answers (not its errors, which some
			// servers make by copying the question as it came): one that echoes the case is
			// held to it from then on; one is let off only after three that
			// do not, so that a forger racing the first answer cannot.
			st.mu.Lock()
			if resp.Question[0].Name == asked {
				st.echoCase = 1
			} else if st.caseMisses++; st.caseMisses >= 3 {
				st.echoCase = -1
			}
			st.mu.Unlock()
		}
		if resp.Truncated {
			if resp, err = r.tcp(ctx, server, q); err != nil {
				return nil, &upstream.Error{Kind: upstream.KindOf(err), Upstream: server.String(), Err: err}
			}
		}
		if edns && (resp.Rcode == dns.RcodeFormatError || resp.Rcode == dns.RcodeNotImplemented) && resp.IsEdns0() == nil {
			st.mu.Lock()
			st.noEDNS = true
			st.mu.Unlock()
			edns = false
			continue
		}
		return resp, nil
	}
	return nil, &upstream.Error{Kind: upstream.KindOther, Upstream: server.String(), Err: errors.New("no usable answer")}
}

// udp sends q from a fresh socket and waits for its answer until timeout.
func (r *Resolver) udp(ctx context.Context, server netip.AddrPort, q *dns.Msg, echo int8, timeout time.Duration) (*dns.Msg, error) {
	wire, err := q.Pack()
	if err != nil {
		return nil, err
	}
	conn, err := r.udpDialer.Dial(server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	bufp := r.bufs.Get().(*[]byte)
	defer r.bufs.Put(bufp)
	buf := *bufp
	for send := wire; ; send = nil { // nil after a datagram that was not the answer: wait on
		n, err := conn.Exchange(send, buf, deadline)
		if err != nil {
			return nil, err
		}
		resp := new(dns.Msg)
		if resp.Unpack(buf[:n]) != nil || !matches(q, resp, echo > 0) {
			continue // not ours (late, spoofed or mangled): keep waiting
		}
		return resp, nil
	}
}

// tcp asks q again over TCP (the UDP answer was truncated).
func (r *Resolver) tcp(ctx context.Context, server netip.AddrPort, q *dns.Msg) (*dns.Msg, error) {
	c := &dns.Client{Net: "tcp", Timeout: r.timeout}
	q.Id = uint16(rand.Uint32())
	resp, _, err := c.ExchangeContext(ctx, q, server.String())
	if err != nil {
		return nil, err
	}
	if !matches(q, resp, false) {
		return nil, errors.New("the TCP answer is for another question")
	}
	return resp, nil
}

// matches reports whether resp answers q: its ID and question, with the
// letter case exactly as asked when the server is known to echo it.
func matches(q, resp *dns.Msg, exactCase bool) bool {
	if resp.Id != q.Id || !resp.Response || len(resp.Question) != 1 {
		return false
	}
	a, b := q.Question[0], resp.Question[0]
	if a.Qtype != b.Qtype || a.Qclass != b.Qclass {
		return false
	}
	if exactCase {
		return a.Name == b.Name
	}
	return strings.EqualFold(a.Name, b.Name)
}

// randomCase flips the letter case of name at random: 0x20 encoding
// (draft-vixie-dnsext-dns0x20), bits of identity a spoofer must guess.
func randomCase(name string) string {
	b := []byte(name)
	bits := rand.Uint64()
	for i, c := range b {
		if i%64 == 0 && i > 0 {
			bits = rand.Uint64()
		}
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			if bits&1 == 1 {
				b[i] = c ^ 0x20
			}
			bits >>= 1
		}
	}
	return string(b)
}
