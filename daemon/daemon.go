package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civicdns/civicdns/blocklists"
	"github.com/civicdns/civicdns/blockpage"
	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/console"
	"github.com/civicdns/civicdns/devices"
	"github.com/civicdns/civicdns/export"
	"github.com/civicdns/civicdns/leases"
	"github.com/civicdns/civicdns/live"
	"github.com/civicdns/civicdns/notify"
	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/query"
	"github.com/civicdns/civicdns/querylog"
	"github.com/civicdns/civicdns/resolver"
	"github.com/civicdns/civicdns/state"
	"github.com/civicdns/civicdns/upstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Options are what the daemon is made from.
type Options struct {
	ConfigPath string               // as live.Load takes it: "" for civicdns.toml or the embedded default
	Logger     *slog.Logger         // default: discard
	Registry   *prometheus.Registry // default: a new one with the Go and process collectors
	Now        func() time.Time     // default: time.Now
	Upstream   upstream.Options     // resolv.conf path, root CAs (tests)
	Recorder   query.Recorder       // more recorders besides the metrics (the query log)
	// ListCheckEvery is how often the list updater looks for lists due
	// (default a minute).
	ListCheckEvery time.Duration
}

// Daemon is civicdns running: the live state and every component.
type Daemon struct {
	State     *live.State
	Reloader  *live.Reloader
	DNS       *resolver.Server
	Metrics   *HTTPServer      // nil when [metrics] listen is ""
	Store     *state.Store     // nil when [state] dir is ""
	Blockpage *HTTPServer      // nil when [blockpage] listen is ""
	BlockTLS  *HTTPServer      // nil when [blockpage] tls_listen is ""
	Console   *HTTPServer      // nil when [admin] listen is ""
	QueryLog  *querylog.Logger // nil when [log] dir is ""
	Retention *querylog.Retention
	Shipper   *querylog.Shipper // nil when [log] postgres is ""
	Notifier  *notify.Notifier  // nil when [state] dir is ""
	Leases    *leases.Watcher   // nil without [log] leases
	Syslog    *export.Syslog    // nil without [log] syslog
	Dnstap    *export.Dnstap    // nil without [log] dnstap

	refreshMu sync.Mutex
	stamp     string // the state store's, at the last refresh

	log        *slog.Logger
	components []Component // in start order
	started    int
	draining   atomic.Bool
}

// New loads the configuration and builds every component, binding nothing yet.
func New(opts Options) (*Daemon, error) {
	opts = withDefaults(opts)
	log := opts.Logger
	cfg, pol, err := live.Load(opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	live.LogWarnings(log, pol)
	log.Info("configuration loaded", "file", cfg.File, "names", pol.Lists().Matcher.Len())

	d := &Daemon{log: log}
	d.State, err = live.New(cfg, pol, live.Options{Logger: log, Registry: opts.Registry, Now: opts.Now, Upstream: opts.Upstream})
	if err != nil {
		return nil, err
	}
	d.Reloader = live.NewReloader(d.State, opts.ConfigPath, log)
	d.Reloader.Check = CheckFiles
	// Every step after the live state closes it when it fails.
	for _, step := range []func(*config.Config, Options) error{d.addQueryLog, d.addDNS, d.openStore, d.addComponents} {
		if err := step(cfg, opts); err != nil {
			d.State.Close()
			return nil, err
		}
	}
	return d, nil
}

// withDefaults fills in the options not given.
func withDefaults(opts Options) Options {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
		opts.Registry.MustRegister(goCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return opts
}

// goCollector is the Go runtime's metrics, with the histogram of the
// stop-the-world pauses the collector made (runtime/metrics
// /sched/pauses/total/gc:seconds as go_sched_pauses_total_gc_seconds): a
// pause is added to the latency of every query in flight, so the tail of
// DNS answers is read beside it.
func goCollector() prometheus.Collector {
	return collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
		collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/sched/pauses/total/gc:seconds$`)}))
}

// addQueryLog opens the query log and its retention ([log] dir).
func (d *Daemon) addQueryLog(cfg *config.Config, opts Options) error {
	if cfg.Log.Dir == "" {
		return nil
	}
	pol := d.State.Snapshot().Policy
	dir := cfg.Path(cfg.Log.Dir)
	d.Retention = querylog.NewRetention(dir, cfg.Log.RetentionDays, cfg.Log.BlockedRetentionDays, pol.Location(), opts.Now, d.log,
		querylog.OpenHolds(dir, cfg.State.Postgres))
	var devices func(netip.Addr, time.Time) (string, string)
	if len(cfg.Log.Leases) > 0 {
		var paths []string
		for _, l := range cfg.Log.Leases {
			paths = append(paths, cfg.Path(l))
		}
		d.Leases = leases.NewWatcher(paths, pol.Location(), d.log, opts.Registry)
		devices = d.Leases.Device
		d.log.Info("leases: the query log names the device that held each address", "files", d.Leases.String())
	}
	var err error
	d.QueryLog, err = querylog.Open(querylog.Options{Dir: dir, Instance: cfg.Log.Instance,
		Location: pol.Location(), Logger: d.log, Registry: opts.Registry, Devices: devices}, func(string) { d.Retention.Kick() })
	return err
}

// addDNS makes the DNS server, recording to the query log and opts.Recorder.
func (d *Daemon) addDNS(cfg *config.Config, opts Options) error {
	var recs query.Recorders
	if d.QueryLog != nil {
		recs = append(recs, d.QueryLog)
	}
	var err error
	if d.Syslog, err = export.NewSyslog(cfg, d.log, opts.Registry); err != nil {
		return err
	}
	if d.Dnstap, err = export.NewDnstap(cfg, d.log, opts.Registry); err != nil {
		return err
	}
	if d.Dnstap != nil {
		recs = append(recs, d.Dnstap)
	}
	if d.Syslog != nil {
		if d.Leases != nil {
			d.Syslog.Devices = d.Leases.Device
		}
		recs = append(recs, d.Syslog)
	}
	if opts.Recorder != nil {
		recs = append(recs, opts.Recorder)
	}
	var recorder query.Recorder
	switch len(recs) {
	case 0:
	case 1:
		recorder = recs[0]
	default:
		recorder = recs
	}
	d.DNS, err = resolver.New(resolver.Options{State: d.State, Logger: d.log, Registry: opts.Registry, Now: opts.Now, Recorder: recorder})
	return err
}

// openStore opens the state store ([state] dir) and makes its exemptions
// and suspensions live.
func (d *Daemon) openStore(cfg *config.Config, opts Options) error {
	if cfg.State.Dir == "" {
		return nil
	}
	var err error
	if d.Store, err = state.OpenConfig(cfg, opts.Now); err != nil {
		return err
	}
	d.addNotifier(cfg, opts)
	if d.Syslog != nil {
		d.Store.OnAudit(d.Syslog.Audit)
	}
	// A damaged record in the workflow or the audit trail stops the
	// start (never silently skipped); a torn last one is cut off.
	if err := d.Store.Check(); err != nil {
		return err
	}
	if err := d.RefreshExemptions(); err != nil {
		return err
	}
	if d.Store.Shared() {
		registerSharedState(opts.Registry, d.Store)
	}
	return nil
}

// addComponents lists every component in start order (Shutdown goes
// backwards).
func (d *Daemon) addComponents(cfg *config.Config, opts Options) error {
	registerDegraded(opts.Registry, d)
	if cfg.Metrics.Listen != "" {
		d.Metrics = NewHTTPServer("metrics", cfg.Metrics.Listen, hostGuard(d.State, cfg.Metrics.Listen, metricsHandler(opts.Registry, &d.draining, d.Degraded)), d.log)
		d.components = append(d.components, d.Metrics)
	}
	if err := d.addWorkflow(cfg, opts); err != nil {
		return err
	}
	if d.QueryLog != nil {
		d.addQueryLogParts(cfg, opts)
	}
	d.components = append(d.components, d.DNS)
	if d.Store != nil {
		d.components = append(d.components, Background("state watcher", d.watchStore), Background("notifier", d.Notifier.Run))
	}
	if d.Syslog != nil {
		d.components = append(d.components, Background("syslog", d.Syslog.Run))
	}
	if d.Dnstap != nil {
		d.components = append(d.components, Background("dnstap", d.Dnstap.Run))
	}
	if iv := cfg.Lists.Watch.D(); iv > 0 {
		d.components = append(d.components, Background("file watcher", func(ctx context.Context) { d.Reloader.Watch(ctx, iv) }))
	}
	// The updater always runs: [lists] update turned on (or off) by a
	// reload takes effect within a minute, without a restart. With it off,
	// the policy has no downloads and the updater does nothing.
	up := &blocklists.Updater{Log: d.log, OnChange: func() { d.Reload("list downloaded") }, OnResult: d.State.CountListDownload}
	d.components = append(d.components, Background("list updater", func(ctx context.Context) {
		up.Run(ctx, cmp.Or(opts.ListCheckEvery, listCheckEvery), d.Reloader.Downloads)
	}))
	if cfg.Lists.Update {
		d.log.Info("list updates on", "dir", cfg.Lists.DownloadDir)
	}
	return nil
}

// addQueryLogParts adds the query log's writer, retention and shipper:
// before the DNS server and stopped after it, so the queries it drains are
// logged too (and the shipper after the writer: the last records shipped).
func (d *Daemon) addQueryLogParts(cfg *config.Config, opts Options) {
	if cfg.Log.Postgres != "" {
		d.Shipper = querylog.NewShipper(cfg.Log.Postgres, cfg.Path(cfg.Log.Dir), cfg.Log.Instance, d.log, opts.Registry)
		d.Retention.Shipped = d.Shipper.Shipped
		d.Retention.PruneDB = func(holds []*querylog.Hold) error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			return d.Shipper.Prune(ctx, cfg.Log.RetentionDays, cfg.Log.BlockedRetentionDays, holds, opts.Now())
		}
		d.components = append(d.components, Finishing("query log shipper", d.Shipper.Run))
	}
	d.components = append(d.components, Finishing("query log", d.QueryLog.Run), Background("query log retention", d.Retention.Run))
	if d.Leases != nil {
		d.components = append(d.components, Background("lease files", d.Leases.Run))
	}
}

// addWorkflow adds the block page (HTTP, HTTPS) and the director console.
func (d *Daemon) addWorkflow(cfg *config.Config, opts Options) error {
	bp := cfg.Blockpage
	if bp.Listen != "" || bp.TLSListen != "" {
		page := blockpage.New(blockpage.Options{State: d.State, Store: d.Store, Logger: d.log, Registry: opts.Registry, Now: opts.Now})
		if bp.Listen != "" {
			d.Blockpage = NewHTTPServer("blockpage", bp.Listen, page, d.log)
			d.components = append(d.components, d.Blockpage)
		}
		if bp.TLSListen != "" {
			ca, err := blockpage.LoadCA(cfg.Path(bp.CACert), cfg.Path(bp.CAKey))
			if err != nil {
				return err
			}
			// Minted certificates outlive a restart in [state] dir.
			certDir := ""
			if cfg.State.Dir != "" {
				certDir = filepath.Join(cfg.Path(cfg.State.Dir), "blockpage-certs")
			}
			minter, err := page.NewMinter(ca, certDir)
			if err != nil {
				return err
			}
			d.BlockTLS = NewHTTPServer("blockpage-https", bp.TLSListen, page, d.log).WithTLS(minter.TLSConfig())
			d.components = append(d.components, d.BlockTLS)
		}
	}
	if cfg.Admin.Listen != "" {
		var search console.LogSearch
		if d.QueryLog != nil {
			search = d.searchLog
		}
		con := console.New(console.Options{State: d.State, Store: d.Store, Logger: d.log, Now: opts.Now, OnChange: func() { d.RefreshExemptions() },
			Status: func() any { return d.Status() }, SearchLog: search})
		d.Console = NewHTTPServer("console", cfg.Admin.Listen, con, d.log)
		tlsCfg, err := consoleTLS(cfg, opts.Now)
		if err != nil {
			return err
		}
		if tlsCfg != nil {
			d.Console.WithTLS(tlsCfg)
		}
		d.components = append(d.components, d.Console)
	}
	return nil
}

// RefreshExemptions reads the state store and makes its exemptions,
// suspensions and devices live: an approval, revocation, suspension,
// restoration, enrolment or device revocation,
// made here or by another process, is in force for the next query. Expiry needs no refresh: the policy checks the time.
func (d *Daemon) RefreshExemptions() error {
	d.refreshMu.Lock()
	defer d.refreshMu.Unlock()
	stamp := d.Store.Stamp()
	loc := d.State.Snapshot().Policy.Location()
	ex, err := d.Store.Exemptions(loc)
	var sus []*policy.Suspension
	var devs []*devices.Device
	if err == nil {
		sus, err = d.Store.PolicySuspensions(loc)
	}
	if err == nil {
		devs, err = d.Store.PolicyDevices()
	}
	if err != nil {
		d.log.Error("state store: exemptions not refreshed; the ones in force stay", "err", err)
		return err
	}
	d.State.SetStoreExemptions(ex)
	d.State.SetSuspensions(sus)
	d.State.SetDevices(devs)
	d.stamp = stamp
	return nil
}

// listCheckEvery is how often the list updater looks for lists due.
const listCheckEvery = time.Minute

// storePoll is how often the state store is checked for other processes'
// decisions (the CLI): they are live within it.
const storePoll = 500 * time.Millisecond

func (d *Daemon) watchStore(ctx context.Context) {
	t := time.NewTicker(storePoll)
	defer t.Stop()
	if d.Store.Shared() {
		// LISTEN for the other instances' decisions; deliver queued requests.
		done := make(chan struct{})
		go func() { d.Store.Run(ctx); close(done) }()
		defer func() { <-done }()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.Store.Changes():
			d.RefreshExemptions()
		case <-t.C:
			d.refreshMu.Lock()
			changed := d.Store.Stamp() != d.stamp
			d.refreshMu.Unlock()
			if changed {
				d.RefreshExemptions()
			}
		}
	}
}

// Start starts every component in order. When one fails, those already
// started are stopped again and the error names the component.
func (d *Daemon) Start(ctx context.Context) error {
	for _, c := range d.components {
		if err := c.Start(ctx); err != nil {
			stop, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			d.Shutdown(stop)
			return fmt.Errorf("%s: %w", c.Name(), err)
		}
		d.started++
	}
	return nil
}

// Reload reads the configuration and the lists again; on error the running
// ones stay (see live.Reloader).
func (d *Daemon) Reload(why string) error { return d.Reloader.Reload(why) }

// Draining reports whether Shutdown has begun.
func (d *Daemon) Draining() bool { return d.draining.Load() }

// DrainTimeout is how long Shutdown should be given for queries in flight.
func (d *Daemon) DrainTimeout() time.Duration { return d.State.Snapshot().Config.Server.Drain.D() }

// Shutdown stops the started components in reverse order, each finishing
// its work in flight until ctx ends, then releases the live state. From its
// first moment /healthz answers 503.
func (d *Daemon) Shutdown(ctx context.Context) error {
	d.draining.Store(true)
	var errs []error
	for ; d.started > 0; d.started-- {
		c := d.components[d.started-1]
		if err := c.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.Name(), err))
		}
	}
	if d.Store != nil {
		d.Store.Close() // a snapshot, so the next start reads only the journal's tail
	}
	d.State.Close()
	return errors.Join(errs...)
}

// registerSharedState exports whether the shared state database answers
// and how much waits for it ([state] postgres).
func registerSharedState(reg prometheus.Registerer, st *state.Store) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "civicdns_state_postgres_up",
			Help: "1 when the shared state database ([state] postgres) answered last time it was asked; 0 while decisions are read-only."},
			func() float64 {
				if st.Online() {
					return 1
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "civicdns_state_outbox_records",
			Help: "Requests and audit events waiting in [state] dir for the shared state database."},
			func() float64 { return float64(st.Queued()) }),
	)
}
