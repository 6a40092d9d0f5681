//go:build linux

package resolver

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/civicdns/civicdns/query"
)

// batchSize is how many datagrams one recvmmsg/sendmmsg call moves at most.
const batchSize = 32

// mmsghdr is the kernel's struct mmsghdr.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// batchReader reads and answers datagrams in batches: one recvmmsg brings up
// to batchSize queries, and one sendmmsg sends every answer ready at once.
// On a busy resolver that divides the system calls per query, which are most
// of the cost of a cached answer.
type batchReader struct {
	s    *Server
	conn *net.UDPConn
	raw  syscall.RawConn

	queries  [batchSize]*query.Query
	recv     [batchSize]mmsghdr
	recvIov  [batchSize]unix.Iovec
	names    [batchSize]unix.RawSockaddrInet6 // large enough for IPv4 too
	send     [batchSize]mmsghdr
	sendIov  [batchSize]unix.Iovec
	answered [batchSize]*query.Query // the queries of send, in order
	tally    tally                   // their metrics

	// The raw connection's callbacks, bound once, and what their last call
	// did: a closure made per call escaped to the heap with the variables
	// it set (seven allocations a batch).
	recvmmsgFn, sendmmsgFn func(fd uintptr) bool
	sendFrom, sendTo       int           // sendmmsg's range of send
	done                   int           // datagrams the last call moved
	errno                  syscall.Errno // the last call's error
}

// serveUDP is one socket's reader. It answers what it can at once (cache
// hits, blocks, errors) and hands queries that must wait for an upstream to
// a goroutine of their own, so one slow upstream never stalls the socket.
func (s *Server) serveUDP(conn *net.UDPConn) {
	defer s.readers.Done()
	raw, err := conn.SyscallConn()
	if err != nil {
		s.log.Error("udp: no raw socket access", "err", err)
		return
	}
	b := &batchReader{s: s, conn: conn, raw: raw, tally: tally{m: s.metrics}}
	b.recvmmsgFn, b.sendmmsgFn = b.recvmmsg, b.sendmmsg
	for i := range b.queries {
		b.queries[i] = s.pool.Get()
	}
	defer func() {
		for _, q := range b.queries {
			s.pool.Put(q)
		}
	}()
	for {
		n, err := b.read()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.isClosing() {
				return
			}
			continue
		}
		b.answer(n)
	}
}

// read fills up to batchSize slots, waiting (in the netpoller) for the first.
func (b *batchReader) read() (int, error) {
	for i := range b.recv {
		q := b.queries[i]
		in := q.In()
		b.recvIov[i].Base = &in[0]
		b.recvIov[i].SetLen(len(in))
		h := &b.recv[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		h.Namelen = unix.SizeofSockaddrInet6
		h.Iov = &b.recvIov[i]
		h.SetIovlen(1)
		h.Flags = 0
	}
	if err := b.raw.Read(b.recvmmsgFn); err != nil {
		return 0, err
	}
	if b.errno != 0 {
		return 0, b.errno
	}
	return b.done, nil
}

// recvmmsg is read's callback. RawSyscall: the call never blocks
// (MSG_DONTWAIT; waiting is the netpoller's), so the runtime need not hand
// the P over while it runs. With Syscall, sysmon retook the P of a reader
// in a long sendmmsg and woke another thread for it: context switches on
// the reader's core.
func (b *batchReader) recvmmsg(fd uintptr) bool {
	r, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.recv[0])), batchSize, unix.MSG_DONTWAIT, 0, 0)
	if e == unix.EAGAIN || e == unix.EINTR {
		return false // wait until readable
	}
	b.done, b.errno = int(r), e
	return true
}

// answer handles n received queries and sends the immediate answers together.
func (b *batchReader) answer(n int) {
	s := b.s
	now := s.now()
	out := 0
	for i := 0; i < n; i++ {
		q := b.queries[i]
		client, ok := sockaddrToAddrPort(&b.names[i], b.recv[i].hdr.Namelen)
		if !ok {
			continue
		}
		q.Raw, q.Client, q.Received = q.In()[:b.recv[i].len], client, now
		reply, err := s.handlePacket(q)
		if errors.Is(err, query.ErrWouldBlock) {
			s.later(b.conn, q)
			b.queries[i] = s.pool.Get() // the slot gets a fresh query; q now belongs to the goroutine
			continue
		}
		if !reply {
			continue
		}
		b.answered[out] = q
		b.sendIov[out].Base = &q.Answer[0]
		b.sendIov[out].SetLen(len(q.Answer))
		h := &b.send[out].hdr
		h.Name = b.recv[i].hdr.Name
		h.Namelen = b.recv[i].hdr.Namelen
		h.Iov = &b.sendIov[out]
		h.SetIovlen(1)
		out++
	}
	if out > 0 {
		// The answers leave together: one time for their records, and the
		// metrics counted on the reader's tally, added to the shared
		// counters once for the batch.
		sent := s.now()
		for i := 0; i < out; i++ {
			s.record(&b.tally, b.answered[i].FillRecord(sent))
		}
		b.tally.flush()
	}
	b.write(out)
	for i := 0; i < n; i++ {
		if q := b.queries[i]; q.Raw != nil {
			q.Reset()
		}
	}
}

// write sends the first n prepared answers, as many per call as the kernel takes.
func (b *batchReader) write(n int) {
	for sent := 0; sent < n; {
		b.sendFrom, b.sendTo = sent, n
		if err := b.raw.Write(b.sendmmsgFn); err != nil {
			return
		}
		k := b.done
		if b.errno != 0 {
			// This datagram cannot go (e.g. the client's port is gone): skip it.
			s := b.s
			s.metrics.dropped.WithLabelValues("send_error").Inc()
			k = 1
		}
		sent += k
	}
}

// sendmmsg is write's callback (RawSyscall: as in recvmmsg, it never blocks).
func (b *batchReader) sendmmsg(fd uintptr) bool {
	r, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.send[b.sendFrom])), uintptr(b.sendTo-b.sendFrom), unix.MSG_DONTWAIT, 0, 0)
	if e == unix.EAGAIN || e == unix.EINTR {
		return false
	}
	b.done, b.errno = int(r), e
	return true
}

// sockaddrToAddrPort reads a kernel sockaddr_in or sockaddr_in6.
func sockaddrToAddrPort(sa *unix.RawSockaddrInet6, n uint32) (netip.AddrPort, bool) {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port), true
	case unix.AF_INET6:
		if n < unix.SizeofSockaddrInet6 {
			return netip.AddrPort{}, false
		}
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), port), true
	}
	return netip.AddrPort{}, false
}
