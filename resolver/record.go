package resolver

import (
	"github.com/civicdns/civicdns/policy"
	"net/netip"
	"time"
)

// Record is what is known about one answered query: the one place every
// answer passes, for metrics now and the query log later. A Recorder must
// copy what it keeps: the Record is reused after Record returns.
type Record struct {
	Time       time.Time
	Client     netip.Addr
	Department string
	Name       []byte // lower case, no trailing dot; valid only during Record
	Type       uint16
	Action     string // "allowed", "blocked", "exempted"
	Category   string
	Rcode      int
	Cached     bool
	Stale      bool
	TCP        bool
	Elapsed    time.Duration
	// Decision carries the list file:line and the exemption of a blocked or
	// exempted query; valid only during Record.
	Decision *policy.Decision
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

// fillRecord sets q.Record from the finished query.
func (q *Query) fillRecord(now time.Time) *Record {
	r := &q.Record
	r.Time = q.Received
	r.Client = q.Client.Addr().Unmap()
	r.Department = q.Department
	r.Name = q.Msg.Name
	r.Type = q.Msg.QType
	r.Action = q.Action
	if r.Action == "" {
		r.Action = ActionAllowed
	}
	r.Category = q.Category
	r.Rcode = q.Rcode
	r.Cached = q.Cached
	r.Stale = q.Stale
	r.TCP = q.TCP
	r.Elapsed = now.Sub(q.Received)
	r.Decision = &q.Decision
	return r
}

// The actions a query can end with.
const (
	ActionAllowed  = "allowed"
	ActionBlocked  = "blocked"
	ActionExempted = "exempted"
)
