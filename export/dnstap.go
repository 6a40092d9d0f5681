package export

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/query"
	dnstap "github.com/dnstap/golang-dnstap"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/encoding/protowire"
)

// Dnstap is the [log] dnstap sink: every query and its answer as dnstap
// CLIENT_QUERY and CLIENT_RESPONSE messages (the wire bytes, addresses,
// ports, times), over Frame Streams to a unix or TCP socket
// (github.com/dnstap/golang-dnstap, which reconnects), so dnstap-read,
// Vector or any collector reads them. The query path only copies what the
// messages need into a batch made once (no allocation); the writer
// encodes them off the query path. A slow or absent collector fills the
// batch, and what does not fit is dropped and counted.
type Dnstap struct {
	out      *dnstap.FrameStreamSockOutput
	identity []byte
	mu       sync.Mutex
	cur      *tapBatch     // the batch Record fills
	spare    *tapBatch     // the writer's, empty between its turns
	wake     chan struct{} // a batch is no longer empty
	dropped  atomic.Uint64
}

// tapBatch holds records for the writer: what their messages need, and
// their query and answer bytes in one arena.
type tapBatch struct {
	recs  []tapRecord
	arena []byte
}

// tapRecord is one query and its answer: the query is arena[start:mid],
// the answer arena[mid:end].
type tapRecord struct {
	at              time.Time
	elapsed         time.Duration
	client          netip.Addr
	port            uint16
	protocol        dnstap.SocketProtocol
	start, mid, end int
}

// The size of a batch: two of them are made, ~10 MB in all.
const (
	tapBatchRecords = 8192
	tapBatchBytes   = 4 << 20
)

func newTapBatch() *tapBatch {
	return &tapBatch{recs: make([]tapRecord, 0, tapBatchRecords), arena: make([]byte, 0, tapBatchBytes)}
}

// NewDnstap makes the sink of cfg's [log] dnstap (nil when it is off).
func NewDnstap(cfg *config.Config, log *slog.Logger, reg prometheus.Registerer) (*Dnstap, error) {
	spec := cfg.Log.Dnstap
	if spec == "" {
		return nil, nil
	}
	var addr net.Addr
	if path, ok := strings.CutPrefix(spec, "unix:"); ok {
		addr = &net.UnixAddr{Name: cfg.Path(path), Net: "unix"}
	} else {
		a, err := net.ResolveTCPAddr("tcp", strings.TrimPrefix(spec, "tcp:"))
		if err != nil {
			return nil, fmt.Errorf("log.dnstap: %w", err)
		}
		addr = a
	}
	out, err := dnstap.NewFrameStreamSockOutput(addr)
	if err != nil {
		return nil, err
	}
	out.SetRetryInterval(time.Second)
	out.SetTimeout(5 * time.Second)
	out.SetFlushTimeout(500 * time.Millisecond) // a collector sees a query within half a second
	host, _ := os.Hostname()
	d := &Dnstap{out: out, identity: []byte(host), cur: newTapBatch(), spare: newTapBatch(), wake: make(chan struct{}, 1)}
	if reg != nil {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "civicdns_dnstap_dropped_total",
			Help: "dnstap messages dropped: the queue to the collector was full."}, func() float64 { return float64(d.dropped.Load()) }))
	}
	return d, nil
}

var protocols = map[string]dnstap.SocketProtocol{"udp": dnstap.SocketProtocol_UDP, "tcp": dnstap.SocketProtocol_TCP,
	"tls": dnstap.SocketProtocol_DOT, "https": dnstap.SocketProtocol_DOH}

// Record copies the query and its answer into the batch, or counts their
// two messages dropped when it is full.
func (d *Dnstap) Record(r *query.Record) {
	protocol := protocols[r.Transport]
	if protocol == 0 {
		protocol = dnstap.SocketProtocol_UDP // DoQ has no value in golang-dnstap's schema yet
	}
	d.mu.Lock()
	b := d.cur
	if len(b.recs) == cap(b.recs) || len(b.arena)+len(r.Query)+len(r.Response) > cap(b.arena) {
		d.mu.Unlock()
		d.dropped.Add(2)
		return
	}
	start := len(b.arena)
	b.arena = append(b.arena, r.Query...)
	mid := len(b.arena)
	b.arena = append(b.arena, r.Response...)
	b.recs = append(b.recs, tapRecord{at: r.Time, elapsed: r.Elapsed, client: r.Client, port: r.ClientPort, protocol: protocol,
		start: start, mid: mid, end: len(b.arena)})
	first := len(b.recs) == 1
	d.mu.Unlock()
	if first {
		select {
		case d.wake <- struct{}{}:
		default: // the writer has been woken already
		}
	}
}

// frame encodes one message of a record as a dnstap frame, written
// straight into its protobuf encoding (protowire: a reflection-based
// marshal cost three times the cached answer itself); the test reads them
// back with the generated decoder.
func (d *Dnstap) frame(r *tapRecord, arena []byte, t dnstap.Message_Type) []byte {
	family := dnstap.SocketFamily_INET
	a16 := r.client.As16()
	addr := a16[12:]
	if r.client.Is6() {
		family, addr = dnstap.SocketFamily_INET6, a16[:]
	}
	m := make([]byte, 0, 64+r.end-r.start)
	m = appendVarintField(m, 1, uint64(t))
	m = appendVarintField(m, 2, uint64(family))
	m = appendVarintField(m, 3, uint64(r.protocol))
	m = protowire.AppendTag(m, 4, protowire.BytesType)
	m = protowire.AppendBytes(m, addr)
	m = appendVarintField(m, 6, uint64(r.port))
	m = appendVarintField(m, 8, uint64(r.at.Unix()))
	m = protowire.AppendTag(m, 9, protowire.Fixed32Type)
	m = protowire.AppendFixed32(m, uint32(r.at.Nanosecond()))
	if t == dnstap.Message_CLIENT_QUERY {
		m = protowire.AppendTag(m, 10, protowire.BytesType)
		m = protowire.AppendBytes(m, arena[r.start:r.mid])
	} else {
		answered := r.at.Add(r.elapsed)
		m = appendVarintField(m, 12, uint64(answered.Unix()))
		m = protowire.AppendTag(m, 13, protowire.Fixed32Type)
		m = protowire.AppendFixed32(m, uint32(answered.Nanosecond()))
		m = protowire.AppendTag(m, 14, protowire.BytesType)
		m = protowire.AppendBytes(m, arena[r.mid:r.end])
	}
	f := make([]byte, 0, len(m)+len(d.identity)+16)
	f = protowire.AppendTag(f, 1, protowire.BytesType)
	f = protowire.AppendBytes(f, d.identity)
	f = protowire.AppendTag(f, 14, protowire.BytesType)
	f = protowire.AppendBytes(f, m)
	return appendVarintField(f, 15, uint64(dnstap.Dnstap_MESSAGE))
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), v)
}

// Run encodes the records of each batch and hands the frames to the Frame
// Streams output until ctx ends, then flushes it and closes the connection.
func (d *Dnstap) Run(ctx context.Context) {
	go d.out.RunOutputLoop()
	defer d.out.Close()
	out := d.out.GetOutputChannel()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		}
		d.mu.Lock()
		b := d.cur
		d.cur, d.spare = d.spare, b
		d.mu.Unlock()
		for i := range b.recs {
			for _, t := range []dnstap.Message_Type{dnstap.Message_CLIENT_QUERY, dnstap.Message_CLIENT_RESPONSE} {
				select {
				case out <- d.frame(&b.recs[i], b.arena, t):
				case <-ctx.Done():
					return
				}
			}
		}
		b.recs, b.arena = b.recs[:0], b.arena[:0]
	}
}

// Dropped counts the messages dropped.
func (d *Dnstap) Dropped() uint64 { return d.dropped.Load() }
