package export

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
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
// Vector or any collector reads them. The query path only marshals and
// queues; a slow or absent collector fills the bounded queue, and what
// does not fit is dropped and counted.
type Dnstap struct {
	out      *dnstap.FrameStreamSockOutput
	identity []byte
	queue    chan []byte
	dropped  atomic.Uint64
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
	d := &Dnstap{out: out, identity: []byte(host), queue: make(chan []byte, queueLen)}
	if reg != nil {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "civicdns_dnstap_dropped_total",
			Help: "dnstap messages dropped: the queue to the collector was full."}, func() float64 { return float64(d.dropped.Load()) }))
	}
	return d, nil
}

var protocols = map[string]dnstap.SocketProtocol{"udp": dnstap.SocketProtocol_UDP, "tcp": dnstap.SocketProtocol_TCP,
	"tls": dnstap.SocketProtocol_DOT, "https": dnstap.SocketProtocol_DOH}

// Record queues the query and its answer, each a dnstap frame written
// straight into its protobuf encoding (protowire: a reflection-based
// marshal cost three times the cached answer itself); the test reads them
// back with the generated decoder.
func (d *Dnstap) Record(r *query.Record) {
	family, protocol := dnstap.SocketFamily_INET, protocols[r.Transport]
	if protocol == 0 {
		protocol = dnstap.SocketProtocol_UDP // DoQ has no value in golang-dnstap's schema yet
	}
	a16 := r.Client.As16()
	addr := a16[12:]
	if r.Client.Is6() {
		family, addr = dnstap.SocketFamily_INET6, a16[:]
	}
	at := r.Time.Add(r.Elapsed)
	for _, t := range []dnstap.Message_Type{dnstap.Message_CLIENT_QUERY, dnstap.Message_CLIENT_RESPONSE} {
		m := make([]byte, 0, 64+len(r.Query)+len(r.Response))
		m = appendVarintField(m, 1, uint64(t))
		m = appendVarintField(m, 2, uint64(family))
		m = appendVarintField(m, 3, uint64(protocol))
		m = protowire.AppendTag(m, 4, protowire.BytesType)
		m = protowire.AppendBytes(m, addr)
		m = appendVarintField(m, 6, uint64(r.ClientPort))
		m = appendVarintField(m, 8, uint64(r.Time.Unix()))
		m = protowire.AppendTag(m, 9, protowire.Fixed32Type)
		m = protowire.AppendFixed32(m, uint32(r.Time.Nanosecond()))
		if t == dnstap.Message_CLIENT_QUERY {
			m = protowire.AppendTag(m, 10, protowire.BytesType)
			m = protowire.AppendBytes(m, r.Query)
		} else {
			m = appendVarintField(m, 12, uint64(at.Unix()))
			m = protowire.AppendTag(m, 13, protowire.Fixed32Type)
			m = protowire.AppendFixed32(m, uint32(at.Nanosecond()))
			m = protowire.AppendTag(m, 14, protowire.BytesType)
			m = protowire.AppendBytes(m, r.Response)
		}
		f := make([]byte, 0, len(m)+len(d.identity)+16)
		f = protowire.AppendTag(f, 1, protowire.BytesType)
		f = protowire.AppendBytes(f, d.identity)
		f = protowire.AppendTag(f, 14, protowire.BytesType)
		f = protowire.AppendBytes(f, m)
		f = appendVarintField(f, 15, uint64(dnstap.Dnstap_MESSAGE))
		select {
		case d.queue <- f:
		default:
			d.dropped.Add(1)
		}
	}
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), v)
}

// Run hands the queue to the Frame Streams output until ctx ends, then
// flushes it and closes the connection.
func (d *Dnstap) Run(ctx context.Context) {
	go d.out.RunOutputLoop()
	defer d.out.Close()
	out := d.out.GetOutputChannel()
	for {
		select {
		case <-ctx.Done():
			return
		case b := <-d.queue:
			select {
			case out <- b:
			case <-ctx.Done():
				return
			}
		}
	}
}

// Dropped counts the messages dropped.
func (d *Dnstap) Dropped() uint64 { return d.dropped.Load() }
