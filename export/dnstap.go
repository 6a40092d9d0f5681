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
	"google.golang.org/protobuf/proto"
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
	sent     atomic.Uint64
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

// Record queues the query and its answer (marshalled here: the record's
// bytes are valid only during the call).
func (d *Dnstap) Record(r *query.Record) {
	family, addr := dnstap.SocketFamily_INET, r.Client.AsSlice()
	if r.Client.Is6() {
		family = dnstap.SocketFamily_INET6
	}
	proto_, ok := protocols[r.Transport]
	if !ok {
		proto_ = dnstap.SocketProtocol_UDP // DoQ has no value in golang-dnstap's schema yet
	}
	port := uint32(r.ClientPort)
	qs, qns := uint64(r.Time.Unix()), uint32(r.Time.Nanosecond())
	at := r.Time.Add(r.Elapsed)
	rs, rns := uint64(at.Unix()), uint32(at.Nanosecond())
	for _, m := range []*dnstap.Message{
		{Type: dnstap.Message_CLIENT_QUERY.Enum(), SocketFamily: family.Enum(), SocketProtocol: proto_.Enum(), QueryAddress: addr, QueryPort: &port,
			QueryTimeSec: &qs, QueryTimeNsec: &qns, QueryMessage: r.Query},
		{Type: dnstap.Message_CLIENT_RESPONSE.Enum(), SocketFamily: family.Enum(), SocketProtocol: proto_.Enum(), QueryAddress: addr, QueryPort: &port,
			QueryTimeSec: &qs, QueryTimeNsec: &qns, ResponseTimeSec: &rs, ResponseTimeNsec: &rns, ResponseMessage: r.Response},
	} {
		b, err := proto.Marshal(&dnstap.Dnstap{Type: dnstap.Dnstap_MESSAGE.Enum(), Identity: d.identity, Message: m})
		if err != nil {
			continue
		}
		select {
		case d.queue <- b:
		default:
			d.dropped.Add(1)
		}
	}
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
				d.sent.Add(1)
			case <-ctx.Done():
				return
			}
		}
	}
}

// Dropped counts the messages dropped.
func (d *Dnstap) Dropped() uint64 { return d.dropped.Load() }
