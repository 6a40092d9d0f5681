package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"runtime/trace"
	"syscall"
	"time"

	"github.com/civicdns/civicdns/daemon"
	"github.com/civicdns/civicdns/internal/sdnotify"
	"github.com/miekg/dns"
)

func cmdServe(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("serve", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgPath := configFlag(fl)
	level := fl.String("log-level", "info", "debug, info, warn or error")
	logJSON := fl.Bool("log-json", false, "log JSON lines instead of text")
	cpuProfile := fl.String("cpuprofile", "", "write a CPU profile to this file until shutdown (for pprof)")
	execTrace := fl.String("trace", "", "write a runtime execution trace to this file until shutdown (for go tool trace)")
	if err := parseWithConfig(fl, cfgPath, args); err != nil {
		return usageError(fl, err)
	}
	for _, d := range []struct {
		path  string
		start func(io.Writer) error
		stop  func()
	}{{*execTrace, trace.Start, trace.Stop}, {*cpuProfile, pprof.StartCPUProfile, pprof.StopCPUProfile}} {
		stop, err := record(d.path, d.start, d.stop)
		if err != nil {
			fmt.Fprintf(stderr, "civicdns: %v\n", err)
			return 1
		}
		defer stop()
	}
	log, err := newLogger(stderr, *level, *logJSON)
	if err != nil {
		fmt.Fprintf(stderr, "civicdns: -log-level: %v\n", err)
		return 2
	}

	d, err := daemon.New(daemon.Options{ConfigPath: *cfgPath, Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "civicdns: %v\n", err)
		return 1
	}
	// SIGHUP and SIGTERM have channels of their own: a burst of SIGHUPs
	// during a long reload must never crowd out the SIGTERM (os/signal drops
	// what a full channel cannot take). SIGHUPs that arrive during a reload
	// are coalesced into one more reload. Both stay registered until the
	// process exits: a late SIGHUP must not take its default action
	// (terminate) in the middle of the drain. They are registered before
	// the sockets open: a SIGTERM the moment DNS is served (systemd stopping
	// a unit just started) drains instead of killing the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, syscall.SIGINT)
	if err := d.Start(context.Background()); err != nil {
		fmt.Fprintf(stderr, "civicdns: %v\n", err)
		return 1
	}
	// systemd (Type=notify): ready now; the watchdog is fed while the DNS
	// server answers its own probe.
	notify := sdnotify.New()
	notify.Send("READY=1\nSTATUS=serving DNS on " + d.DNS.Addrs()[0].String())
	stopWatchdog := make(chan struct{})
	if iv := sdnotify.WatchdogInterval(); iv > 0 {
		go feedWatchdog(notify, d, iv, stopWatchdog)
	}

	stopHUP := make(chan struct{})
	go reloadOnHUP(d, notify, hup, stopHUP)
	sig := <-term
	close(stopHUP)
	close(stopWatchdog)
	notify.Send("STOPPING=1")
	drain(d, log, sig)
	return 0
}

// reloadOnHUP reloads on every SIGHUP (coalesced while one runs) until stop.
func reloadOnHUP(d *daemon.Daemon, notify *sdnotify.Notifier, hup <-chan os.Signal, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-hup:
			notify.Send("RELOADING=1")
			d.Reload("SIGHUP")
			notify.Send("READY=1")
		}
	}
}

// drain shuts the daemon down within its drain timeout, answering the
// queries in flight.
func drain(d *daemon.Daemon, log *slog.Logger, sig os.Signal) {
	log.Info("shutting down: draining queries in flight", "signal", sig.String())
	ctx, cancel := context.WithTimeout(context.Background(), d.DrainTimeout())
	defer cancel()
	if err := d.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
		log.Warn("shutdown: drain timeout reached", "err", err)
	} else if err != nil {
		log.Error("shutdown", "err", err)
	}
	log.Info("stopped")
}

// feedWatchdog sends WATCHDOG=1 every interval while the DNS server
// answers a probe query on its first address: a server whose readers are
// stuck is restarted by systemd.
func feedWatchdog(n *sdnotify.Notifier, d *daemon.Daemon, iv time.Duration, stop chan struct{}) {
	t := time.NewTicker(iv)
	defer t.Stop()
	addr := d.DNS.Addrs()[0].String()
	// A CHAOS-class question: the UDP reader answers it itself (REFUSED),
	// so the probe proves the sockets and the chain run, and asks no upstream.
	probe := new(dns.Msg)
	probe.SetQuestion("civicdns.watchdog.", dns.TypeTXT)
	probe.Question[0].Qclass = dns.ClassCHAOS
	c := &dns.Client{Net: "udp", Timeout: iv / 2}
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if _, _, err := c.Exchange(probe, addr); err == nil {
				n.Send("WATCHDOG=1")
			}
		}
	}
}

func newLogger(w io.Writer, level string, asJSON bool) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, err
	}
	hopts := &slog.HandlerOptions{Level: lvl}
	if asJSON {
		return slog.New(slog.NewJSONHandler(w, hopts)), nil
	}
	return slog.New(slog.NewTextHandler(w, hopts)), nil
}

// record starts a diagnostic (a trace or a CPU profile) writing to path
// until the returned stop is called; an empty path records nothing.
func record(path string, start func(io.Writer) error, stop func()) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := start(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { stop(); f.Close() }, nil
}
