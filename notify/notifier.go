package notify

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/querylog"
	"github.com/civicdns/civicdns/state"
	"github.com/prometheus/client_golang/prometheus"
)

// Options are what a Notifier is made from.
type Options struct {
	Store    *state.Store
	Config   func() *config.Config // the live configuration
	Instance string                // who claims messages ([log] instance, or the host name)
	// Directors returns the e-mail addresses of a department's directors
	// (local entries' email, and the directory's members of its groups).
	Directors func(department string) ([]string, error)
	Logger    *slog.Logger
	Registry  prometheus.Registerer
	Now       func() time.Time
	// Every is how often the outbox is looked at when nothing wakes it (default 5 s).
	Every time.Duration
	// Reports reads the query log's per-department figures between two
	// times, for [notify] weekly_report (nil: no weekly report).
	Reports func(from, to time.Time) (querylog.Reports, error)
}

// Notifier turns the workflow's events into messages and delivers them.
type Notifier struct {
	opts Options
	box  *outbox
	wake chan struct{}

	mu     sync.Mutex
	events []state.Event // heard, not yet queued

	weeklyDone time.Time // the weekly report time whose messages are all queued (Run's own)

	rounds    atomic.Int64 // Run's rounds so far (tests wait for them)
	pending   atomic.Int64
	lastErr   atomic.Pointer[string]
	sent      *prometheus.CounterVec
	failures  *prometheus.CounterVec
	waitGauge prometheus.GaugeFunc
}

// replayAge: an event older than this when heard is history read at
// start, not news.
const replayAge = time.Hour

// New makes a notifier and has the store tell it of every request and
// decision.
func New(opts Options) *Notifier {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Every <= 0 {
		opts.Every = 5 * time.Second
	}
	n := &Notifier{opts: opts, box: newOutbox(opts.Store.Mail()), wake: make(chan struct{}, 1)}
	n.sent = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "civicdns_notify_sent_total", Help: "Notifications delivered, by channel (mail, webhook)."}, []string{"channel"})
	n.failures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "civicdns_notify_failures_total", Help: "Deliveries that failed and will be tried again, by channel."}, []string{"channel"})
	n.waitGauge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "civicdns_notify_outbox", Help: "Notifications waiting in the outbox."},
		func() float64 { return float64(n.pending.Load()) })
	if opts.Registry != nil {
		opts.Registry.MustRegister(n.sent, n.failures, n.waitGauge)
	}
	opts.Store.Observe(n.hear)
	return n
}

// hear queues an event for Run (under the store's lock: only a copy and a wake).
func (n *Notifier) hear(ev state.Event) {
	n.mu.Lock()
	n.events = append(n.events, ev)
	n.mu.Unlock()
	n.Wake()
}

// Wake makes Run look at once.
func (n *Notifier) Wake() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Status is the outbox as `civicdns status` shows it.
type Status struct {
	Waiting   int64  `json:"waiting"`
	LastError string `json:"last_error,omitempty"`
}

// Status reports the outbox.
func (n *Notifier) Status() Status {
	s := Status{Waiting: n.pending.Load()}
	if e := n.lastErr.Load(); e != nil {
		s.LastError = *e
	}
	return s
}

// Run delivers until ctx ends: the events heard become messages in the
// outbox, due messages are claimed and sent, and once an hour the
// exemptions ending within three days remind their approvers.
func (n *Notifier) Run(ctx context.Context) {
	t := time.NewTicker(n.opts.Every)
	defer t.Stop()
	var lastScan time.Time
	for {
		n.queueEvents()
		if now := n.opts.Now(); now.Sub(lastScan) >= time.Hour {
			n.remindExpiring(now)
			lastScan = now
		}
		n.weekly(n.opts.Now())
		n.deliver(ctx)
		n.rounds.Add(1)
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		case <-t.C:
		}
	}
}

// queueEvents turns the events heard into messages, durably; an event
// that cannot be queued now (the shared database away) is kept for the
// next round.
func (n *Notifier) queueEvents() {
	n.mu.Lock()
	events := n.events
	n.events = nil
	n.mu.Unlock()
	now := n.opts.Now()
	var msgs []*Message
	var kept []state.Event
	for i := range events {
		ev := &events[i]
		if now.Sub(ev.Time) > replayAge {
			continue
		}
		m, err := n.messagesFor(ev)
		if err != nil {
			n.failed("directory", err)
			kept = append(kept, *ev)
			continue
		}
		msgs = append(msgs, m...)
	}
	if len(msgs) > 0 {
		if err := n.box.enqueue(now, msgs); err != nil {
			n.failed("outbox", err)
			kept = events
		}
	}
	if len(kept) > 0 {
		n.mu.Lock()
		n.events = append(kept, n.events...)
		n.mu.Unlock()
	}
}

// messagesFor is what an event sends: mail when [notify] smtp is set,
// the webhook when it is.
func (n *Notifier) messagesFor(ev *state.Event) ([]*Message, error) {
	cfg := n.opts.Config().Notify
	var out []*Message
	if cfg.Mail() {
		switch ev.Kind {
		case "request":
			to, err := n.opts.Directors(ev.Request.Department)
			if err != nil {
				return nil, err
			}
			if len(to) > 0 {
				out = append(out, ForRequest(&ev.Request, to, cfg.ConsoleURL))
			} else {
				n.opts.Logger.Warn("notify: a new request has nobody to tell: no director of its department has an e-mail address", "request", ev.Request.ID, "department", ev.Request.Department)
			}
		case "approve", "deny":
			if ev.Request.Email != "" {
				out = append(out, ForDecision(ev))
			}
		}
	}
	if cfg.Webhook != "" {
		out = append(out, ForWebhook(ev.Kind, ev.Request.ID, ev))
	}
	return out, nil
}

// remindExpiring queues a reminder for every active exemption ending
// within three days whose approver has an address (once each: by ID).
func (n *Notifier) remindExpiring(now time.Time) {
	cfg := n.opts.Config()
	if !cfg.Notify.Mail() && cfg.Notify.Webhook == "" {
		return
	}
	grants, err := n.opts.Store.ActiveGrants()
	if err != nil {
		n.failed("outbox", err)
		return
	}
	var msgs []*Message
	for _, g := range grants {
		end := g.Expires.Start(cfg.Policy.Location).AddDate(0, 0, 1) // validation always sets Location
		if end.Before(now) || end.Sub(now) > 3*24*time.Hour {
			continue
		}
		if cfg.Notify.Mail() && g.ApproverEmail != "" {
			msgs = append(msgs, ForExpiring(g, cfg.Notify.ConsoleURL))
		}
		if cfg.Notify.Webhook != "" {
			msgs = append(msgs, ForWebhook("expiring", g.ID, g))
		}
	}
	if len(msgs) > 0 {
		if err := n.box.enqueue(now, msgs); err != nil {
			n.failed("outbox", err)
		}
	}
}

// deliver sends what is due, one message at a time, each claimed first.
func (n *Notifier) deliver(ctx context.Context) {
	now := n.opts.Now()
	due, waiting, err := n.box.due(now, n.opts.Instance)
	n.pending.Store(int64(waiting))
	if err != nil {
		n.failed("outbox", err)
	}
	cfg := n.opts.Config()
	for _, m := range due {
		if ctx.Err() != nil {
			return
		}
		if ok, err := n.box.claim(m.ID, n.opts.Instance, n.opts.Now()); !ok {
			if err != nil {
				n.failed("outbox", err)
			}
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, sendTimeout)
		if m.Channel == "webhook" {
			err = postWebhook(sctx, cfg.Notify, cfg.Path, m)
		} else {
			err = sendMail(sctx, cfg.Notify, cfg.Path, m)
		}
		cancel()
		attempt, ferr := n.box.finish(m.ID, n.opts.Now(), err)
		if err != nil {
			n.failures.WithLabelValues(m.Channel).Inc()
			n.failed(m.Channel, err)
			n.opts.Logger.Warn("notify: not delivered; it stays in the outbox and is tried again", "id", m.ID, "attempt", attempt, "err", err)
			continue
		}
		if ferr != nil {
			n.failed("outbox", ferr)
		}
		n.sent.WithLabelValues(m.Channel).Inc()
		n.pending.Add(-1)
	}
}

func (n *Notifier) failed(part string, err error) {
	msg := part + ": " + err.Error()
	n.lastErr.Store(&msg)
}

// Addresses keeps the well-formed, distinct addresses of a list.
func Addresses(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range list {
		a = strings.TrimSpace(a)
		if a != "" && strings.Contains(a, "@") && !seen[strings.ToLower(a)] {
			seen[strings.ToLower(a)] = true
			out = append(out, a)
		}
	}
	return out
}
