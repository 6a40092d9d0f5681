package resolver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civicdns/civicdns/cache"
	"github.com/civicdns/civicdns/dnswire"
	"github.com/civicdns/civicdns/internal/certfile"
	"github.com/civicdns/civicdns/live"
	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/query"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/quic-go/quic-go"
)

// Options are what a Server is made from. Only State is required.
type Options struct {
	State    *live.State           // the live configuration, policy and upstreams
	Logger   *slog.Logger          // default: discard
	Registry prometheus.Registerer // default: a private registry
	Now      func() time.Time      // default: time.Now
	Recorder query.Recorder        // more recorders besides the metrics (the query log)
}

// Server is the DNS server: its sockets, the chain and the shared cache.
// Everything a query is answered with comes from the live state, loaded
// once per query.
type Server struct {
	state   *live.State
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics
	extra   query.Recorder // Options.Recorder, after the metrics (nil: none)
	cache   *cache.Store
	pool    *query.Pool
	chain   query.Handler
	stages  []query.Stage // the chain's links in order (logs, tests)

	ctx    context.Context // the server's life: upstream exchanges end with it
	cancel context.CancelFunc
	// stopDoQ ends at shutdown: DoQ connections take no new stream.
	stopDoQ       context.Context
	cancelStopDoQ context.CancelFunc

	mu        sync.Mutex
	udp       []*net.UDPConn
	tcp       []net.Listener
	tls       []net.Listener   // DNS over TLS
	https     []dohListener    // DNS over HTTPS
	quic      []*quic.Listener // DNS over QUIC
	tcpConns  map[net.Conn]struct{}
	connCount map[string]int // open connections by transport
	cert      *certfile.Cert // DoT's and DoH's certificate
	limiter   atomic.Pointer[limiterState]
	ddr       atomic.Pointer[ddr] // the designation of _dns.resolver.arpa (nil: none)
	closing   bool

	laterJobs    chan laterJob // to idle workers for queries that wait (unbuffered)
	laterWorkers atomic.Int32
	stopWorkers  sync.Once      // closes laterJobs
	workers      sync.WaitGroup // the laterWorker goroutines

	warm warmPool // DoH's workers (warm.go)

	inflight   sync.WaitGroup // queries being answered
	readers    sync.WaitGroup // socket readers and acceptors
	background sync.WaitGroup // prefetches and refreshes
}

// New makes a server on the live state. Start binds its sockets.
func New(opts Options) (*Server, error) {
	if opts.State == nil {
		return nil, errors.New("resolver: no live state")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		state:     opts.State,
		log:       opts.Logger,
		now:       opts.Now,
		cache:     cache.New(opts.State.Snapshot().Config.Cache.Size),
		pool:      query.NewPool(),
		tcpConns:  map[net.Conn]struct{}{},
		connCount: map[string]int{},
		laterJobs: make(chan laterJob),
		warm:      warmPool{jobs: make(chan *warmJob)},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.stopDoQ, s.cancelStopDoQ = context.WithCancel(context.Background())
	s.metrics = newMetrics(opts.Registry, func() float64 { return float64(s.cache.Len()) })
	s.extra = opts.Recorder
	s.chain = s.buildChain()
	return s, nil
}

// Name names the component in the daemon's logs.
func (s *Server) Name() string { return "dns" }

// Start binds every listen address on UDP (several SO_REUSEPORT sockets)
// and TCP and starts serving. On error nothing stays bound. Listen
// addresses are read once: a reload does not move them.
func (s *Server) Start(context.Context) error {
	cfg := s.state.Snapshot().Config
	n := cfg.Server.UDPSockets
	if n == 0 {
		n = runtime.GOMAXPROCS(0)
	}
	for _, addr := range cfg.Server.ListenAddrs {
		conns, ln, err := listenBoth(addr, n)
		if err != nil {
			s.closeListeners()
			return err
		}
		s.mu.Lock()
		s.udp = append(s.udp, conns...)
		s.tcp = append(s.tcp, ln)
		s.mu.Unlock()
	}
	if err := s.listenEncrypted(cfg); err != nil {
		s.closeListeners()
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.udp {
		s.readers.Add(1)
		go s.serveUDP(c)
	}
	for _, ln := range s.tcp {
		s.readers.Add(1)
		go s.serveTCP(ln, query.TransportTCP)
	}
	for _, ln := range s.tls {
		s.readers.Add(1)
		go s.serveTCP(ln, query.TransportTLS)
	}
	for _, ln := range s.quic {
		s.readers.Add(1)
		go s.serveDoQ(ln)
	}
	for _, d := range s.https {
		s.readers.Add(1)
		go func() {
			defer s.readers.Done()
			d.srv.ServeTLS(d.ln, "", "")
		}()
	}
	addrs := make([]string, len(s.tcp))
	for i, ln := range s.tcp {
		addrs[i] = ln.Addr().String()
	}
	var encrypted []string
	for _, ln := range s.tls {
		encrypted = append(encrypted, "tls://"+ln.Addr().String())
	}
	for _, d := range s.https {
		encrypted = append(encrypted, "https://"+d.ln.Addr().String()+DoHPath)
	}
	for _, ln := range s.quic {
		encrypted = append(encrypted, "quic://"+ln.Addr().String())
	}
	s.log.Info("serving DNS", "addrs", addrs, "udp_sockets_per_address", n, "encrypted", encrypted)
	return nil
}

// listenBoth binds addr on UDP (n sockets) and TCP. TCP takes the port UDP
// got, so that port 0 (tests) is one port for both; when that port is taken
// on TCP, another is tried.
func listenBoth(addr netip.AddrPort, n int) ([]*net.UDPConn, net.Listener, error) {
	tries := 1
	if addr.Port() == 0 {
		tries = 20
	}
	var err error
	for ; tries > 0; tries-- {
		var conns []*net.UDPConn
		if conns, err = listenUDP(addr, n); err != nil {
			return nil, nil, err
		}
		port := conns[0].LocalAddr().(*net.UDPAddr).Port
		var ln net.Listener
		if ln, err = net.Listen("tcp", net.JoinHostPort(addr.Addr().String(), fmt.Sprint(port))); err == nil {
			return conns, ln, nil
		}
		for _, c := range conns {
			c.Close()
		}
	}
	return nil, nil, err
}

// Addrs returns the bound addresses, one per listen entry (UDP and TCP share it).
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]net.Addr, len(s.tcp))
	for i, ln := range s.tcp {
		out[i] = ln.Addr()
	}
	return out
}

// Shutdown stops reading new queries, lets the ones in flight finish (until
// ctx ends), and releases its sockets. The upstreams belong to the live
// state, which outlives the server.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for _, ln := range append(s.tcp, s.tls...) {
		ln.Close()
	}
	// UDP sockets stay open until the queries in flight have been answered
	// on them: the readers are stopped by a read deadline instead.
	for _, c := range s.udp {
		c.SetReadDeadline(time.Now())
	}
	for c := range s.tcpConns {
		c.SetReadDeadline(time.Now()) // stop reading; answers in flight still go out
	}
	https := s.https
	s.cancelStopDoQ() // DoQ: no new connection or stream; those in flight are answered
	s.mu.Unlock()
	for _, d := range https {
		d.srv.Shutdown(ctx) // no new request; those in flight are answered
	}
	s.readers.Wait()
	s.stopWorkers.Do(func() { close(s.laterJobs) }) // no reader is left to send
	done := make(chan struct{})
	go func() {
		s.inflight.Wait()
		s.workers.Wait() // their last jobs done, they leave: laterJobs is closed
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("shutdown: queries still in flight: %w", ctx.Err())
	}
	s.cancel()
	s.warm.wg.Wait() // DoH's workers leave with the server's life
	s.background.Wait()
	s.closeListeners()
	s.cancelStopDoQ()
	s.mu.Lock()
	for c := range s.tcpConns {
		c.Close()
	}
	s.mu.Unlock()
	return err
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.udp {
		c.Close()
	}
	for _, ln := range append(s.tcp, s.tls...) {
		ln.Close()
	}
	for _, d := range s.https {
		d.srv.Close()
	}
	s.closeDoQ()
}

// answer runs a parsed query through the chain with the live snapshot and
// records it, once, answered now. It returns query.ErrWouldBlock when
// q.MayBlock is false and the chain must wait: then nothing is recorded, and
// the query is run again where it may wait.
func (s *Server) answer(q *query.Query) error {
	if err := s.resolve(q); err != nil {
		return err
	}
	s.record(s.metrics, q.FillRecord(s.now()))
	return nil
}

// record counts an answered query on m (the shared metrics, or a UDP
// reader's tally of them) and hands it to the other recorders.
func (s *Server) record(m query.Recorder, r *query.Record) {
	if r.Action == policy.Limited {
		return // counted by the limiter, never recorded one by one
	}
	m.Record(r)
	if s.extra != nil {
		s.extra.Record(r)
	}
}

// resolve is answer without the record. The query keeps the snapshot it
// was first given (handlePacket), so that a query run again where it may
// wait is answered by the same configuration and policy.
func (s *Server) resolve(q *query.Query) error {
	if q.Snap == nil {
		q.Snap = s.state.Snapshot()
	}
	q.Lookup = q.Name()
	err := s.chain.Resolve(s.ctx, q)
	if errors.Is(err, query.ErrWouldBlock) {
		return err
	}
	if err != nil || q.Answer == nil {
		s.log.Error("query failed", "name", q.Name(), "err", err)
		q.FailAnswer(err)
	}
	return nil
}

// handlePacket decodes q.Raw and answers it, or returns false when the packet
// gets no answer at all (too short, or a response rather than a query). It
// records nothing: the caller records each query it answers (reply true,
// err nil) with the time the answer leaves, one clock read for a batch.
func (s *Server) handlePacket(q *query.Query) (reply bool, err error) {
	switch perr := dnswire.ParseQuery(q.Raw, &q.Msg); perr {
	case nil:
	case dnswire.ErrShort:
		s.metrics.dropped.WithLabelValues("short").Inc()
		return false, nil
	case dnswire.ErrNotQuery:
		s.metrics.dropped.WithLabelValues("not_a_query").Inc()
		return false, nil
	default:
		q.SetAnswer(dnswire.HeaderOnlyReply(q.Out(), q.Raw, dnswire.RcodeFormErr), dnswire.RcodeFormErr)
		q.Msg.Name = q.Msg.Name[:0] // the question could not be read
		q.Decision.Action = policy.Malformed
		q.Err = perr
		return true, nil
	}
	q.Snap = s.state.Snapshot() // the one this query is answered with, on every pass
	if q.Snap.Config.Server.RateLimit.Queries > 0 {
		if limited, reply := s.overLimit(q); limited {
			return reply, nil
		}
	}
	return true, s.resolve(q)
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}
