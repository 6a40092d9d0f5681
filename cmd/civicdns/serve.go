package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/civicdns/civicdns/blocklists"
	"github.com/civicdns/civicdns/resolver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

func cmdServe(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("serve", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgPath := configFlag(fl)
	level := fl.String("log-level", "info", "debug, info, warn or error")
	logJSON := fl.Bool("log-json", false, "log JSON lines instead of text")
	cpuProfile := fl.String("cpuprofile", "", "write a CPU profile to this file until shutdown (for pprof)")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "civicdns: %v\n", err)
			return 1
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(stderr, "civicdns: -log-level: %v\n", err)
		return 2
	}
	hopts := &slog.HandlerOptions{Level: lvl}
	var log *slog.Logger
	if *logJSON {
		log = slog.New(slog.NewJSONHandler(stderr, hopts))
	} else {
		log = slog.New(slog.NewTextHandler(stderr, hopts))
	}

	cfg, pol, err := loadPolicy(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "civicdns: %v\n", err)
		return 1
	}
	logWarnings(log, pol)
	log.Info("configuration loaded", "file", cfg.File, "names", pol.Lists().Matcher.Len())

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv, err := resolver.New(resolver.Options{Config: cfg, Policy: pol, Logger: log, Registry: reg})
	if err != nil {
		fmt.Fprintf(stderr, "civicdns: %v\n", err)
		return 1
	}
	if err := srv.Start(); err != nil {
		fmt.Fprintf(stderr, "civicdns: %v\n", err)
		return 1
	}

	var metricsSrv *http.Server
	if cfg.Metrics.Listen != "" {
		ln, err := net.Listen("tcp", cfg.Metrics.Listen)
		if err != nil {
			fmt.Fprintf(stderr, "civicdns: metrics: %v\n", err)
			srv.Shutdown(context.Background())
			return 1
		}
		metricsSrv = &http.Server{Handler: srv.MetricsHandler(reg), ReadHeaderTimeout: 5 * time.Second}
		go metricsSrv.Serve(ln)
		log.Info("serving metrics", "listen", ln.Addr().String())
	}

	rl := newReloader(srv, *cfgPath, pol, log)
	bg, stopBackground := context.WithCancel(context.Background())
	defer stopBackground()
	if iv := cfg.Lists.Watch.D(); iv > 0 {
		go rl.watch(bg, iv)
	}
	if cfg.Lists.Update {
		up := &blocklists.Updater{Log: log, OnChange: func() { rl.reload("list downloaded") }, OnResult: srv.CountListDownload}
		go up.Run(bg, time.Minute, rl.downloads)
		log.Info("list updates on", "dir", cfg.Lists.DownloadDir)
	}

	// SIGHUP and SIGTERM have channels of their own: a burst of SIGHUPs
	// during a long reload must never crowd out the SIGTERM (os/signal drops
	// what a full channel cannot take). SIGHUPs that arrive during a reload
	// are coalesced into one more reload.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		for {
			select {
			case <-bg.Done():
				return
			case <-hup:
				rl.reload("SIGHUP")
			}
		}
	}()
	sig := <-term
	log.Info("shutting down: draining queries in flight", "signal", sig.String())
	// hup and term stay registered until the process exits: a late SIGHUP
	// must not take its default action (terminate) in the middle of the drain.
	stopBackground()
	ctx, cancel := context.WithTimeout(context.Background(), srv.DrainTimeout())
	defer cancel()
	if metricsSrv != nil {
		metricsSrv.Shutdown(ctx)
	}
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Error("shutdown", "err", err)
	} else if err != nil {
		log.Warn("shutdown: drain timeout reached", "err", err)
	}
	log.Info("stopped")
	return 0
}
