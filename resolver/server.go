package resolver

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civicdns/civicdns/blocklists"
	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/dnswire"
	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/upstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Options are what a Server is made from. Only Config is required.
type Options struct {
	Config     *config.Config
	Logger     *slog.Logger          // default: discard
	Registry   prometheus.Registerer // default: a private registry
	Now        func() time.Time      // default: time.Now
	Recorder   Recorder              // more recorders besides the metrics
	ResolvConf string                // default: /etc/resolv.conf
	RootCAs    *x509.CertPool        // for tls:// upstreams; default: the system's
	// Policy is the compiled policy for Config; nil loads it from Config.
	Policy *policy.Policy
}

// snapshot is everything the query path reads that a reload may replace.
// It is immutable; the server swaps it whole through an atomic pointer.
type snapshot struct {
	cfg      *config.Config
	policy   *policy.Policy
	upstream upstream.Upstream
	ttl      ttlLimits
}

// Server is the DNS server: its sockets, the chain and the shared cache.
type Server struct {
	opts     Options
	log      *slog.Logger
	now      func() time.Time
	metrics  *metrics
	recorder Recorder
	cache    *cacheStore
	pool     *queryPool
	chain    Handler
	snap     atomic.Pointer[snapshot]

	cacheStage *cacheStage // also asked by the policy stage (safe search)

	ctx    context.Context // the server's life: upstream exchanges end with it
	cancel context.CancelFunc

	mu       sync.Mutex
	udp      []*net.UDPConn
	tcp      []net.Listener
	tcpConns map[net.Conn]struct{}
	closing  bool

	laterJobs    chan laterJob // to idle workers for queries that wait (unbuffered)
	laterWorkers atomic.Int32

	inflight   sync.WaitGroup // queries being answered
	readers    sync.WaitGroup // socket readers and acceptors
	background sync.WaitGroup // prefetches
}

// New makes a server from a validated configuration. Start binds its sockets.
func New(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ResolvConf == "" {
		opts.ResolvConf = "/etc/resolv.conf"
	}
	s := &Server{
		opts:      opts,
		log:       opts.Logger,
		now:       opts.Now,
		cache:     newCacheStore(opts.Config.Cache.Size),
		pool:      newQueryPool(),
		tcpConns:  map[net.Conn]struct{}{},
		laterJobs: make(chan laterJob),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.metrics = newMetrics(opts.Registry, func() float64 { return float64(s.cache.len()) },
		func() float64 { return float64(s.snapshot().policy.ActiveExemptions(s.now())) })
	s.recorder = s.metrics
	if opts.Recorder != nil {
		s.recorder = Recorders{s.metrics, opts.Recorder}
	}
	pol := opts.Policy
	if pol == nil {
		var err error
		if pol, err = policy.Load(opts.Config, nil); err != nil {
			return nil, err
		}
	}
	snap, err := s.newSnapshot(opts.Config, pol)
	if err != nil {
		return nil, err
	}
	s.snap.Store(snap)
	s.metrics.setPolicy(pol)
	// The snapshot holds them from now on: keeping them here too would keep
	// the first policy (its matcher may be 100 MB) alive after every reload.
	s.opts.Config, s.opts.Policy = nil, nil
	s.chain = buildChain(s)
	return s, nil
}

func (s *Server) snapshot() *snapshot { return s.snap.Load() }

// newSnapshot builds what a configuration needs on the query path.
func (s *Server) newSnapshot(cfg *config.Config, pol *policy.Policy) (*snapshot, error) {
	up, err := s.buildUpstream(cfg)
	if err != nil {
		return nil, err
	}
	return &snapshot{
		cfg:      cfg,
		policy:   pol,
		upstream: up,
		ttl:      ttlLimits{min: cfg.Cache.MinTTL.D(), max: cfg.Cache.MaxTTL.D(), negMax: cfg.Cache.NegMaxTTL.D()},
	}, nil
}

func (s *Server) buildUpstream(cfg *config.Config) (upstream.Upstream, error) {
	group := func(addrs []string) (*upstream.Group, error) {
		var ups []upstream.Upstream
		for _, a := range addrs {
			u, err := upstream.New(a)
			if err != nil {
				return nil, err
			}
			if t, ok := u.(*upstream.TLS); ok && s.opts.RootCAs != nil {
				t.WithRootCAs(s.opts.RootCAs)
			}
			ups = append(ups, u)
		}
		return upstream.NewGroup(ups, cfg.Upstream.Timeout.D(), s.metrics, s.now), nil
	}
	servers := cfg.Upstream.Servers
	if len(servers) == 0 {
		var err error
		if servers, err = upstream.SystemServers(s.opts.ResolvConf); err != nil {
			return nil, err
		}
	}
	def, err := group(servers)
	if err != nil {
		return nil, err
	}
	zones := map[string]upstream.Upstream{}
	for _, z := range cfg.Upstream.Zone {
		g, err := group(z.Servers)
		if err != nil {
			return nil, err
		}
		zones[z.Name] = g
	}
	return upstream.NewRouter(def, zones), nil
}

// Start binds every listen address on UDP (several SO_REUSEPORT sockets)
// and TCP and starts serving. On error nothing stays bound.
func (s *Server) Start() error {
	cfg := s.snapshot().cfg
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
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.udp {
		s.readers.Add(1)
		go s.serveUDP(c)
	}
	for _, ln := range s.tcp {
		s.readers.Add(1)
		go s.serveTCP(ln)
	}
	addrs := make([]string, len(s.tcp))
	for i, ln := range s.tcp {
		addrs[i] = ln.Addr().String()
	}
	s.log.Info("serving DNS", "addrs", addrs, "udp_sockets_per_address", n)
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

// Reload swaps in a new validated configuration and its compiled policy in
// one atomic step: a query is answered wholly by the old or wholly by the
// new. The running one stays when the new one cannot be used. Listen
// addresses and the cache size take effect at the next start.
func (s *Server) Reload(cfg *config.Config, pol *policy.Policy) error {
	snap, err := s.newSnapshot(cfg, pol)
	if err != nil {
		s.metrics.reloads.WithLabelValues("failure").Inc()
		return err
	}
	old := s.snap.Swap(snap)
	s.metrics.reloads.WithLabelValues("success").Inc()
	s.metrics.setPolicy(pol)
	if fmt.Sprint(old.cfg.Server.Listen) != fmt.Sprint(cfg.Server.Listen) || old.cfg.Cache.Size != cfg.Cache.Size {
		s.log.Warn("server.listen and cache.size changes take effect at the next restart")
	}
	// Exchanges in flight may still use the old upstreams; they only lose idle connections.
	old.upstream.Close()
	return nil
}

// CountListDownload counts a list download attempt (blocklists.Updater.OnResult).
func (s *Server) CountListDownload(d blocklists.Download, err error) {
	result := "success"
	switch {
	case errors.Is(err, blocklists.ErrNotModified):
		result = "not_modified"
	case err != nil:
		result = "failure"
	}
	s.metrics.downloads.WithLabelValues(d.Category, result).Inc()
}

// CountReloadFailure counts a reload that failed before reaching the server
// (a configuration or list file that does not validate).
func (s *Server) CountReloadFailure() { s.metrics.reloads.WithLabelValues("failure").Inc() }

// Shutdown stops reading new queries, lets the ones in flight finish (until
// ctx ends), and releases everything.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for _, ln := range s.tcp {
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
	s.mu.Unlock()
	s.readers.Wait()
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("shutdown: queries still in flight: %w", ctx.Err())
	}
	s.cancel()
	s.background.Wait()
	s.closeListeners()
	s.mu.Lock()
	for c := range s.tcpConns {
		c.Close()
	}
	s.mu.Unlock()
	s.snapshot().upstream.Close()
	return err
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.udp {
		c.Close()
	}
	for _, ln := range s.tcp {
		ln.Close()
	}
}

// answer runs a parsed query through the chain and records it. It returns
// errWouldBlock when q.MayBlock is false and the chain must wait.
func (s *Server) answer(q *Query) error {
	q.snap = s.snapshot()
	err := s.chain.Resolve(s.ctx, q)
	if errors.Is(err, errWouldBlock) {
		return err
	}
	if err != nil || q.Answer == nil {
		s.log.Error("query failed", "name", string(q.Msg.Name), "err", err)
		q.errorAnswer(dnswire.RcodeServFail, -1, "")
	}
	s.recorder.Record(q.fillRecord(s.now()))
	return nil
}

// handlePacket decodes raw and answers it, or returns false when the packet
// gets no answer at all (too short, or a response rather than a query).
func (s *Server) handlePacket(q *Query) (reply bool, err error) {
	switch perr := dnswire.ParseQuery(q.Raw, &q.Msg); perr {
	case nil:
	case dnswire.ErrShort:
		s.metrics.dropped.WithLabelValues("short").Inc()
		return false, nil
	case dnswire.ErrNotQuery:
		s.metrics.dropped.WithLabelValues("not_a_query").Inc()
		return false, nil
	default:
		q.Rcode = dnswire.RcodeFormErr
		q.Answer = dnswire.HeaderOnlyReply(q.out, q.Raw, dnswire.RcodeFormErr)
		q.Msg.Name = q.Msg.Name[:0] // the question could not be read
		s.recorder.Record(q.fillRecord(s.now()))
		return true, nil
	}
	return true, s.answer(q)
}

// DrainTimeout is how long shutdown waits for queries in flight.
func (s *Server) DrainTimeout() time.Duration { return s.snapshot().cfg.Server.Drain.D() }

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}
