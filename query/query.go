package query

import (
	"net/netip"
	"sync"
	"time"
	"unsafe"

	"github.com/civicdns/civicdns/devices"
	"github.com/civicdns/civicdns/dnswire"
	"github.com/civicdns/civicdns/live"
	"github.com/civicdns/civicdns/policy"
)

// Query is one client query on its way through the chain, and the answer it
// gets. Queries are pooled: every field is reset by Reset.
type Query struct {
	Raw    []byte        // the client's message
	Msg    dnswire.Query // decoded header, question and EDNS
	Client netip.AddrPort
	TCP    bool // a stream transport (TCP, DoT, DoH, DoQ): answers up to 64 KiB
	// Transport is how the query came (TransportUDP … TransportQUIC): the
	// query log and the metrics name it. "" is UDP.
	Transport string
	// Token is the key of the device token the query came with (a DoH
	// path, a DoT/DoQ server name); zero: none, the client is known by
	// its address.
	Token    devices.Key
	Received time.Time
	// MayBlock is false on the UDP reader's first pass: a stage that would
	// have to wait (an upstream exchange) returns ErrWouldBlock instead, and
	// the query is run again from the top on a goroutine (see Stage).
	MayBlock bool
	// Snap is the live state this query is answered with, loaded once.
	Snap *live.Snapshot

	// Filled in by the stages.
	Device *devices.Device // the enrolled device the token names (set by the access stage)
	// Served is true when the rate limit, which asks first, found the
	// client's address served: the access stage need not ask again.
	Served   bool
	Dept     *policy.Department // the client's department (nil: none)
	Decision policy.Decision    // allowed, blocked or exempted, and why; Action refused/malformed before the policy
	// Lookup is the name the cache and the upstream are asked for: the
	// question's (lower case, no trailing dot), or the safe-search host
	// it was rewritten to.
	Lookup   string
	Answer   []byte   // the reply on the wire
	Rcode    int      // the reply's rcode
	Cached   bool     // answered from the cache
	Stale    bool     // answered from an expired cache entry
	CNAMEs   []string // CNAME targets in the answer, for the policy's chain check
	Summary  string   // what the answer says (addresses, CNAME targets), for the query log
	Upstream string   // the server that gave the answer (cached or not)
	Err      error    // why an answer is an error, for the logs

	Record Record // what the recorder is given once the answer is out

	in  []byte // receive buffer (UDP)
	out []byte // answer buffer
}

const (
	udpReadSize = 4096 // a UDP query larger than this is not a query we serve
	answerSize  = 1500
)

// The transports a query comes by.
const (
	TransportUDP   = "udp"
	TransportTCP   = "tcp"
	TransportTLS   = "tls"   // DNS over TLS (RFC 7858)
	TransportHTTPS = "https" // DNS over HTTPS (RFC 8484)
	TransportQUIC  = "quic"  // DNS over QUIC (RFC 9250)
)

// TransportName is how the query came, UDP when the reader left it unset.
func (q *Query) TransportName() string {
	if q.Transport == "" {
		return TransportUDP
	}
	return q.Transport
}

// AdvertisedUDPSize is the EDNS buffer size civicdns offers (DNS flag day 2020).
const AdvertisedUDPSize = 1232

// MaxAnswer is how many bytes the answer may take: for UDP the client's EDNS
// size (512 without EDNS), capped at the AdvertisedUDPSize (no fragments).
func (q *Query) MaxAnswer() int {
	if q.TCP {
		return 65535
	}
	if !q.Msg.EDNS {
		return 512
	}
	return int(min(max(q.Msg.UDPSize, 512), AdvertisedUDPSize))
}

// In is the query's receive buffer, for a UDP reader to read into.
func (q *Query) In() []byte { return q.in }

// InN is the receive buffer cut to n bytes, grown first if it is smaller
// (a TCP message can be up to 65535 bytes).
func (q *Query) InN(n int) []byte {
	if cap(q.in) < n {
		q.in = make([]byte, n)
	}
	return q.in[:n]
}

// Out is the query's answer buffer, empty, for writing an answer into.
func (q *Query) Out() []byte { return q.out[:0] }

// SetAnswer makes b the answer, and keeps its storage for the next query.
func (q *Query) SetAnswer(b []byte, rcode int) {
	q.Answer, q.Rcode, q.out = b, rcode, b[:0]
}

// Name is the question's name (lower case, no trailing dot), viewed
// without a copy: valid only during the query.
func (q *Query) Name() string { return NameString(q.Msg.Name) }

// Pool recycles Query values (and their buffers) between queries.
type Pool struct{ p sync.Pool }

// NewPool makes an empty pool.
func NewPool() *Pool {
	return &Pool{p: sync.Pool{New: func() any {
		return &Query{in: make([]byte, udpReadSize), out: make([]byte, 0, answerSize)}
	}}}
}

// Get returns a reset query.
func (p *Pool) Get() *Query { return p.p.Get().(*Query) }

// Put resets q and keeps it for a later Get.
func (p *Pool) Put(q *Query) {
	if cap(q.out) > 16*answerSize {
		q.out = make([]byte, 0, answerSize) // do not keep a large TCP answer
	}
	q.Reset()
	p.p.Put(q)
}

// Reset clears every field but the buffers.
func (q *Query) Reset() {
	q.Raw, q.Client, q.TCP, q.MayBlock, q.Snap, q.Transport = nil, netip.AddrPort{}, false, false, nil, ""
	q.Token, q.Device, q.Served = devices.Key{}, nil, false
	q.Dept, q.Decision, q.Lookup = nil, policy.Decision{}, ""
	q.Answer, q.Rcode, q.Cached, q.Stale, q.CNAMEs, q.Summary, q.Upstream, q.Err = nil, 0, false, false, nil, "", "", nil
}

// NameString views a name buffer as a string without copying; the string
// is valid only while the buffer is (the life of the query).
func NameString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
