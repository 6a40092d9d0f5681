package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/civicdns/civicdns/blocklists"
	"github.com/civicdns/civicdns/live"
	"github.com/civicdns/civicdns/query"
	"github.com/civicdns/civicdns/resolver"
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
}

// Daemon is civicdns running: the live state and every component.
type Daemon struct {
	State    *live.State
	Reloader *live.Reloader
	DNS      *resolver.Server
	Metrics  *HTTPServer // nil when [metrics] listen is ""

	log        *slog.Logger
	components []Component // in start order
	started    int
	draining   atomic.Bool
}

// New loads the configuration and builds every component, binding nothing yet.
func New(opts Options) (*Daemon, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
		opts.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
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
	d.DNS, err = resolver.New(resolver.Options{State: d.State, Logger: log, Registry: opts.Registry, Now: opts.Now, Recorder: opts.Recorder})
	if err != nil {
		d.State.Close()
		return nil, err
	}

	// The start order; Shutdown goes backwards.
	if cfg.Metrics.Listen != "" {
		d.Metrics = NewHTTPServer("metrics", cfg.Metrics.Listen, metricsHandler(opts.Registry, &d.draining), log)
		d.components = append(d.components, d.Metrics)
	}
	d.components = append(d.components, d.DNS)
	if iv := cfg.Lists.Watch.D(); iv > 0 {
		d.components = append(d.components, Background("file watcher", func(ctx context.Context) { d.Reloader.Watch(ctx, iv) }))
	}
	if cfg.Lists.Update {
		up := &blocklists.Updater{Log: log, OnChange: func() { d.Reload("list downloaded") }, OnResult: d.State.CountListDownload}
		d.components = append(d.components, Background("list updater", func(ctx context.Context) {
			up.Run(ctx, time.Minute, d.Reloader.Downloads)
		}))
		log.Info("list updates on", "dir", cfg.Lists.DownloadDir)
	}
	return d, nil
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
	d.State.Close()
	return errors.Join(errs...)
}
