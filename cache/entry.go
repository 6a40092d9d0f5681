package cache

import (
	"encoding/binary"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/civicdns/civicdns/dnswire"
	"github.com/civicdns/civicdns/query"
	"github.com/miekg/dns"
)

// Entry is one upstream answer kept in wire form, ready to be copied out
// (query.Query.WritePacked) with its ID, question case and TTLs patched.
type Entry struct {
	// What a hit reads first, together at the front (Store.Get).
	key     uint64       // its Store key, set by Put
	touched atomic.Int64 // unix ns it was last moved to its shard's front
	gone    atomic.Bool  // evicted or replaced: Store.recent must not answer with it
	Qtype   uint16
	Qclass  uint16
	Bits    uint8 // DO and CD of the question
	query.Packed

	TTL      time.Duration // how long it is fresh
	Negative bool

	Hits        atomic.Uint32 // asked for in its lifetime (prefetch)
	Prefetching atomic.Bool
}

// The question bits that make answers differ.
const (
	BitDO uint8 = 1 << iota
	BitCD
)

// Bits returns the DO and CD bits of a query, part of its cache key.
func Bits(m *dnswire.Query) uint8 {
	var b uint8
	if m.DO {
		b |= BitDO
	}
	if m.CD() {
		b |= BitCD
	}
	return b
}

// NewEntry is NewEntryWire for an answer as a message (a validated or
// resolved one): packed with compression, without its OPT, and then read
// exactly as an upstream's bytes are.
func NewEntry(name string, qtype, qclass uint16, bits uint8, r *dns.Msg, lim Limits, now time.Time) (*Entry, error) {
	scrub(name, r) // only the records about the name: see scrub.go
	extra := r.Extra[:0:0]
	for _, rr := range r.Extra {
		if rr.Header().Rrtype != dns.TypeOPT {
			extra = append(extra, rr)
		}
	}
	out := &dns.Msg{MsgHdr: r.MsgHdr, Compress: true, Question: r.Question, Answer: r.Answer, Ns: r.Ns, Extra: extra}
	wire, err := out.Pack()
	if err != nil {
		return nil, err
	}
	return readWire(name, qtype, qclass, bits, wire, lim, now, true)
}

// keep lays the entry's name, answer and TTL offsets out in buf (from
// newEntry), in that order: a cache hit reads all three (Store.Get compares
// the name, WritePacked copies the answer and patches its TTLs), and in one
// place they share cache lines instead of costing a miss each. The name is
// a string over the first bytes, which nothing writes again.
func (e *Entry) keep(buf []byte, name string, wire []byte, offs []uint16) {
	buf = append(buf[:0], name...)
	buf = append(buf, wire...)
	for _, off := range offs {
		buf = binary.BigEndian.AppendUint16(buf, off)
	}
	n, w := len(name), len(name)+len(wire)
	e.Name = unsafe.String(unsafe.SliceData(buf), n)
	e.Wire = buf[n:w:w]
	e.TTLOffs = buf[w:]
}

// newEntry allocates an entry and the n bytes keep lays out, together when
// n is small (most answers): the entry's fields and its answer then sit in
// consecutive cache lines, which a hit reads in order and the CPU fetches
// ahead, rather than in two places of the heap.
func newEntry(n int) (*Entry, []byte) {
	switch {
	case n <= 96:
		return entryWith[[96]byte](n)
	case n <= 160:
		return entryWith[[160]byte](n)
	case n <= 288:
		return entryWith[[288]byte](n)
	}
	return new(Entry), make([]byte, 0, n)
}

// entryWith allocates an entry followed by the byte array B, and returns
// the first n bytes of B to fill.
func entryWith[B [96]byte | [160]byte | [288]byte](n int) (*Entry, []byte) {
	b := new(struct {
		e   Entry
		buf B
	})
	return &b.e, unsafe.Slice((*byte)(unsafe.Pointer(&b.buf)), len(b.buf))[:0:n]
}

// is reports whether e answers the question.
func (e *Entry) is(name string, qtype, qclass uint16, bits uint8) bool {
	return e.Qtype == qtype && e.Qclass == qclass && e.Bits == bits && e.Name == name
}

// Cacheable reports whether the entry may be kept: answers and negative
// answers with a lifetime; never SERVFAIL, REFUSED and the like.
func (e *Entry) Cacheable() bool {
	return e.TTL > 0 && (e.Rcode == dns.RcodeSuccess || e.Rcode == dns.RcodeNameError)
}

// Fresh reports whether the entry is still within its TTL at now.
func (e *Entry) Fresh(now time.Time) bool { return now.Sub(e.Stored) < e.TTL }
