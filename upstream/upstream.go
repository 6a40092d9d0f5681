package upstream

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/civicdns/civicdns/dnswire"
	"github.com/miekg/dns"
)

// Upstream answers one question. Implementations are safe for concurrent use.
type Upstream interface {
	// Exchange sends q and returns the matching answer. It sets its own
	// message ID; answers with another ID or question are ignored.
	Exchange(ctx context.Context, q *dns.Msg) (*dns.Msg, error)
	// Address names the upstream in logs and metrics.
	Address() string
	// Close releases idle connections.
	Close() error
}

// Answerer is an Upstream that also says which server answered (a Group
// tries several; a Router picks a Group).
type Answerer interface {
	ExchangeFrom(ctx context.Context, q *dns.Msg) (r *dns.Msg, from string, err error)
}

// WireAnswerer is an upstream that also asks with a query in wire form
// and hands back the answer in wire form, checked to answer the query (ID,
// question) but not unpacked: the forwarding miss path keeps an answer as
// bytes from the upstream's datagram to the cache entry. name is the
// question's name, lower case without the trailing dot (for routing); the
// query's ID is set in place.
type WireAnswerer interface {
	ExchangeWire(ctx context.Context, name string, query []byte) (answer []byte, from string, err error)
}

var (
	_ WireAnswerer = (*Group)(nil)
	_ WireAnswerer = (*Router)(nil)
	_ Answerer     = (*Group)(nil)
	_ Answerer     = (*Router)(nil)
	_ Upstream     = (*Plain)(nil)
	_ Upstream     = (*TLS)(nil)
	_ Upstream     = (*HTTPS)(nil)
	_ Upstream     = (*Group)(nil)
)

// ErrAllFailed wraps the last error when every upstream of a group failed.
var ErrAllFailed = errors.New("every upstream failed")

// New makes an upstream from a configured address: "IP:port", "IP"
// (port 53), "tls://host:port" with an optional "#server.name", or a DoH
// URL "https://host/dns-query".
func New(addr string) (Upstream, error) {
	if rest, ok := strings.CutPrefix(addr, "tls://"); ok {
		hostport, name, _ := strings.Cut(rest, "#")
		return NewTLS(hostport, name)
	}
	if strings.HasPrefix(addr, "https://") {
		return NewHTTPS(addr)
	}
	if strings.Contains(addr, "://") {
		return nil, fmt.Errorf("upstream %q: unsupported scheme", addr)
	}
	return NewPlain(addr), nil
}

// sameQuestion reports whether an answer is for the question we asked; an
// answer that is not is ignored (it may be spoofed or a late reply).
func sameQuestion(q, r *dns.Msg) bool {
	if r.Id != q.Id || !r.Response || len(r.Question) != 1 || len(q.Question) != 1 {
		return false
	}
	a, b := q.Question[0], r.Question[0]
	return a.Qtype == b.Qtype && a.Qclass == b.Qclass && strings.EqualFold(a.Name, b.Name)
}

// sameQuestionWire is sameQuestion for messages in wire form: the answer
// has the query's ID, QR set, one question, and the query's question
// (name in any letter case, type, class) byte for byte.
func sameQuestionWire(query, ans []byte) bool {
	qend, err := dnswire.QuestionEnd(query)
	if err != nil || len(ans) < qend || ans[0] != query[0] || ans[1] != query[1] ||
		binary.BigEndian.Uint16(ans[2:])&dnswire.FlagQR == 0 || binary.BigEndian.Uint16(ans[4:]) != 1 {
		return false
	}
	return dnswire.SameQuestion(query, ans, qend)
}

// newID returns an unpredictable message ID. math/rand/v2's global source is
// ChaCha8 seeded from the system's entropy, per thread: as unpredictable as
// crypto/rand for this purpose, without a system call per query (dns.Id's
// getrandom was an eighth of the miss path).
func newID() uint16 { return uint16(rand.Uint32()) }
