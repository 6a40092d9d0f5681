//go:build linux

package upstream

import (
	"testing"
	"time"
)

// Exchanges one after another share one waiter: the epoll instance is made
// once, not per query. A waiter comes back clean: the next exchange neither
// wakes for its predecessor's datagrams nor keeps its deadline.
func TestUDPDialerReusesItsWaiter(t *testing.T) {
	t.Parallel()
	addr := udpPeer(t, func(pkt []byte, send func([]byte)) {
		send(pkt)
		send(pkt) // a duplicate the exchange never reads
	})
	var d UDPDialer
	defer d.Close()
	buf := make([]byte, 64)
	var first *udpWaiter
	for i := 0; i < 50; i++ {
		s, err := d.Dial(addr)
		if err != nil {
			t.Fatal(err)
		}
		w := s.(*udpSocket).w
		if first == nil {
			first = w
		} else if w != first {
			t.Fatalf("exchange %d made a new waiter", i)
		}
		deadline := time.Now().Add(2 * time.Second)
		if i%2 == 1 {
			deadline = time.Time{} // none: a previous deadline must not linger
		}
		q := []byte{byte(i)}
		n, err := s.Exchange(q, buf, deadline)
		if err != nil || n != 1 || buf[0] != byte(i) {
			t.Fatalf("exchange %d: %x, %v", i, buf[:n], err)
		}
		s.Close()
	}
	if len(d.idle) != 1 {
		t.Errorf("%d idle waiters, want 1", len(d.idle))
	}
	if err := d.Close(); err != nil || len(d.idle) != 0 {
		t.Errorf("Close: %v, %d idle", err, len(d.idle))
	}
}

// An exchange in flight when its dialer closes (a reload replaced the
// upstream) closes its waiter when it ends instead of keeping it.
func TestUDPDialerClosedKeepsNoWaiter(t *testing.T) {
	t.Parallel()
	addr := udpPeer(t, echo)
	var d UDPDialer
	s, err := d.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	w := s.(*udpSocket).w
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if n, err := s.Exchange([]byte("q"), buf, time.Now().Add(2*time.Second)); err != nil || string(buf[:n]) != "q" {
		t.Fatalf("exchange in flight: %q, %v", buf[:n], err)
	}
	s.Close()
	if len(d.idle) != 0 {
		t.Errorf("%d waiters kept after Close", len(d.idle))
	}
	if _, err := w.file.Stat(); err == nil {
		t.Error("the waiter's epoll descriptor is still open")
	}
}
