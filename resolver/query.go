package resolver

import (
	"net/netip"
	"sync"
	"time"
	"unsafe"

	"github.com/civicdns/civicdns/dnswire"
	"github.com/civicdns/civicdns/policy"
)

// Query is one client query on its way through the chain, and the answer it
// gets. Queries are pooled: every field is reset by reset.
type Query struct {
	Raw      []byte        // the client's message
	Msg      dnswire.Query // decoded header, question and EDNS
	Client   netip.AddrPort
	TCP      bool
	Received time.Time
	// MayBlock is false on the UDP reader's first pass: a stage that would
	// have to wait (an upstream exchange) returns errWouldBlock instead, and
	// the query is run again on a goroutine of its own.
	MayBlock bool

	// Filled in by the stages.
	Dept       *policy.Department // the client's department (nil: none)
	Decision   policy.Decision    // why it was allowed, blocked or exempted
	Department string             // "" for the citywide policy alone
	Action     string             // "allowed", "blocked" or "exempted"
	Category   string             // the category that blocked it (or was exempted)
	Answer     []byte             // the reply on the wire
	Rcode      int                // the reply's rcode
	Cached     bool               // answered from the cache
	Stale      bool               // answered from an expired cache entry
	CNAMEs     []string           // CNAME targets in the answer, for the policy's chain check
	Err        error              // why an answer is an error, for the logs

	Record Record // what the recorder is given once the answer is out

	snap *snapshot // the configuration and policy this query is answered with

	in  []byte // receive buffer (UDP)
	out []byte // answer buffer
}

const (
	udpReadSize = 4096 // a UDP query larger than this is not a query we serve
	answerSize  = 1500
)

// maxAnswer is how many bytes the answer may take: for UDP the client's EDNS
// size (512 without EDNS), capped at the 1232 we advertise (no fragments).
func (q *Query) maxAnswer() int {
	if q.TCP {
		return 65535
	}
	if !q.Msg.EDNS {
		return 512
	}
	return int(min(max(q.Msg.UDPSize, 512), advertisedUDPSize))
}

// advertisedUDPSize is the EDNS buffer size civicdns offers (DNS flag day 2020).
const advertisedUDPSize = 1232

// queryPool recycles Query values (and their buffers) between queries.
type queryPool struct{ p sync.Pool }

func newQueryPool() *queryPool {
	return &queryPool{p: sync.Pool{New: func() any {
		return &Query{in: make([]byte, udpReadSize), out: make([]byte, 0, answerSize)}
	}}}
}

func (p *queryPool) get() *Query { return p.p.Get().(*Query) }

func (p *queryPool) put(q *Query) {
	if cap(q.out) > 16*answerSize {
		q.out = make([]byte, 0, answerSize) // do not keep a large TCP answer
	}
	q.reset()
	p.p.Put(q)
}

func (q *Query) reset() {
	q.Raw, q.Client, q.TCP, q.MayBlock = nil, netip.AddrPort{}, false, false
	q.Dept, q.Decision, q.snap = nil, policy.Decision{}, nil
	q.Department, q.Action, q.Category = "", "", ""
	q.Answer, q.Rcode, q.Cached, q.Stale, q.CNAMEs, q.Err = nil, 0, false, false, nil, nil
}

// nameString views a name buffer as a string without copying; the string
// is valid only while the buffer is (the life of the query).
func nameString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
