package query

import (
	"net/netip"
	"time"

	"github.com/civicdns/civicdns/policy"
)

// Record is what is known about one answered query: the one place every
// answer passes, for the metrics and the query log. A Recorder must copy
// what it keeps: the Record is reused after Record returns.
type Record struct {
	Time       time.Time
	Client     netip.Addr
	Department string
	Name       []byte // lower case, no trailing dot; valid only during Record
	Type       uint16
	Action     string // policy.Allowed, Blocked, Exempted, Refused or Malformed
	Category   string
	Answer     string // what the answer says (addresses, CNAME targets)
	Upstream   string // the server that gave it
	Rcode      int
	Cached     bool
	Stale      bool
	TCP        bool
	Transport  string // udp, tcp, tls, https, quic
	Device     string // the enrolled device's name when the query carried its token
	ClientPort uint16
	// Query and Response are the messages on the wire (dnstap); valid only
	// during Record.
	Query, Response []byte
	Elapsed         time.Duration
	// Decision carries the list file:line and the exemption of a blocked or
	// exempted query; valid only during Record.
	Decision *policy.Decision
	// Err is why the answer is an error (SERVFAIL and the like), or nil.
	Err error
}

// Recorder receives every answered query. It runs on the answering
// goroutine, so it must not block: a slow sink queues and drops, never waits.
type Recorder interface {
	Record(r *Record)
}

// Recorders sends each record to several recorders in order.
type Recorders []Recorder

// Record passes r to each recorder.
func (rs Recorders) Record(r *Record) {
	for _, x := range rs {
		x.Record(r)
	}
}

// FillRecord sets q.Record from the finished query, now being when its
// answer went out.
func (q *Query) FillRecord(now time.Time) *Record {
	r := &q.Record
	r.Time = q.Received
	r.Client = q.Client.Addr().Unmap()
	r.ClientPort = q.Client.Port()
	r.Query, r.Response = q.Raw, q.Answer
	r.Department = ""
	if q.Dept != nil {
		r.Department = q.Dept.Name
	}
	r.Name = q.Msg.Name
	r.Type = q.Msg.QType
	r.Action = q.Decision.Action
	if r.Action == "" {
		r.Action = policy.Allowed
	}
	r.Category = ""
	if r.Action == policy.Blocked || r.Action == policy.Exempted {
		r.Category = q.Decision.Category
	}
	r.Answer, r.Upstream = q.Summary, q.Upstream
	r.Rcode = q.Rcode
	r.Cached = q.Cached
	r.Stale = q.Stale
	r.TCP = q.TCP
	r.Transport = q.TransportName()
	r.Device = ""
	if q.Device != nil {
		r.Device = q.Device.Name
	}
	r.Elapsed = now.Sub(q.Received)
	r.Decision = &q.Decision
	r.Err = q.Err
	return r
}
