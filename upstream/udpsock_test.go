package upstream

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"
)

// udpPeer is a UDP server on loopback that hands each datagram to reply,
// with a function that sends a datagram back to its sender.
func udpPeer(t *testing.T, reply func(pkt []byte, send func([]byte))) netip.AddrPort {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			reply(buf[:n], func(b []byte) { c.WriteToUDPAddrPort(b, from) })
		}
	}()
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

func echo(pkt []byte, send func([]byte)) { send(pkt) }

// dial opens a socket to addr from a dialer of its own; both are closed
// when the test ends.
func dial(t *testing.T, addr netip.AddrPort) UDPSocket {
	t.Helper()
	d := new(UDPDialer)
	t.Cleanup(func() { d.Close() })
	s, err := d.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// An answer that comes at once (before the asker has gone to sleep) still
// ends the wait: the query is sent only once the wait has begun. Were the
// wake-up lost, an exchange would last until its deadline.
func TestUDPSocketTakesAnAnswerThatComesAtOnce(t *testing.T) {
	t.Parallel()
	addr := udpPeer(t, echo)
	var d UDPDialer
	defer d.Close()
	buf := make([]byte, 512)
	start := time.Now()
	const rounds = 2000
	for i := 0; i < rounds; i++ {
		s, err := d.Dial(addr)
		if err != nil {
			t.Fatal(err)
		}
		q := []byte{byte(i >> 8), byte(i), 'q'}
		n, err := s.Exchange(q, buf, time.Now().Add(2*time.Second))
		if err != nil {
			t.Fatalf("exchange %d: %v", i, err)
		}
		if string(buf[:n]) != string(q) {
			t.Fatalf("exchange %d: got %x, want %x", i, buf[:n], q)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took > rounds*time.Second/100 {
		t.Errorf("%d exchanges took %v: answers waited for their deadlines", rounds, took)
	}
}

// After a datagram that is not the answer, Exchange(nil) waits for the
// next one without sending the query again.
func TestUDPSocketWaitsOnWithoutResending(t *testing.T) {
	t.Parallel()
	got := make(chan string, 4)
	addr := udpPeer(t, func(pkt []byte, send func([]byte)) {
		got <- string(pkt)
		send([]byte("junk"))
		send([]byte("answer"))
	})
	s := dial(t, addr)
	buf := make([]byte, 512)
	deadline := time.Now().Add(5 * time.Second)
	n, err := s.Exchange([]byte("query"), buf, deadline)
	if err != nil || string(buf[:n]) != "junk" {
		t.Fatalf("first datagram %q, %v", buf[:n], err)
	}
	n, err = s.Exchange(nil, buf, deadline)
	if err != nil || string(buf[:n]) != "answer" {
		t.Fatalf("second datagram %q, %v", buf[:n], err)
	}
	if len(got) != 1 {
		t.Errorf("the peer got %d queries, want 1", len(got))
	}
}

// Past its deadline a wait ends with os.ErrDeadlineExceeded; the same
// socket then sends the query again (a retransmission) and takes its answer.
func TestUDPSocketDeadlineThenRetransmission(t *testing.T) {
	t.Parallel()
	seen := 0
	addr := udpPeer(t, func(pkt []byte, send func([]byte)) {
		seen++
		if seen > 1 { // the first copy is "lost"
			send(pkt)
		}
	})
	s := dial(t, addr)
	buf := make([]byte, 512)
	_, err := s.Exchange([]byte("q"), buf, time.Now().Add(50*time.Millisecond))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("got %v, want a deadline error", err)
	}
	n, err := s.Exchange([]byte("q"), buf, time.Now().Add(5*time.Second))
	if err != nil || string(buf[:n]) != "q" {
		t.Fatalf("retransmission: %q, %v", buf[:n], err)
	}
}

// A closed port answers with ICMP: the wait ends with ECONNREFUSED at once,
// not at its deadline.
func TestUDPSocketRefused(t *testing.T) {
	t.Parallel()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().(*net.UDPAddr).AddrPort()
	c.Close()
	s := dial(t, addr)
	start := time.Now()
	_, err = s.Exchange([]byte("q"), make([]byte, 512), time.Now().Add(10*time.Second))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("got %v, want connection refused", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %v", took)
	}
}

func TestUDPSocketClosed(t *testing.T) {
	t.Parallel()
	addr := udpPeer(t, echo)
	s := dial(t, addr)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Exchange([]byte("q"), make([]byte, 8), time.Time{}); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Exchange after Close: %v", err)
	}
}

// Many exchanges at once, each on its own socket and waiter, each get
// their own answer.
func TestUDPSocketsConcurrent(t *testing.T) {
	t.Parallel()
	addr := udpPeer(t, echo)
	var d UDPDialer
	defer d.Close()
	errs := make(chan error, 64)
	for g := 0; g < 64; g++ {
		go func() {
			buf := make([]byte, 64)
			for i := 0; i < 50; i++ {
				s, err := d.Dial(addr)
				if err != nil {
					errs <- err
					return
				}
				q := []byte{byte(g), byte(i)}
				n, err := s.Exchange(q, buf, time.Now().Add(5*time.Second))
				s.Close()
				if err != nil {
					errs <- err
					return
				}
				if string(buf[:n]) != string(q) {
					errs <- fmt.Errorf("asked %x, got %x", q, buf[:n])
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 64; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
