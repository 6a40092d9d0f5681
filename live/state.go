package live

import (
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/devices"
	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/recursive"
	"github.com/civicdns/civicdns/upstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Snapshot is everything a query is answered with. It is immutable: a
// change makes a new one.
type Snapshot struct {
	Config     *config.Config
	Policy     *policy.Policy
	Exemptions *policy.Exemptions // the configuration's and the state store's, for Policy
	// Suspended are the devices whose access is suspended (the state store's).
	Suspended *policy.Suspensions
	// Devices are the roaming devices enrolled by token (the state store's).
	Devices  *devices.Table
	Upstream upstream.Upstream
	// UpstreamWorstCase is the longest an upstream exchange can take (every
	// server tried for its whole timeout); the cache needs a client deadline
	// only when it exceeds [upstream] answer_timeout.
	UpstreamWorstCase time.Duration
}

// Decide is the policy's decision with this snapshot's exemptions and
// suspensions: a suspended device gets every name blocked as "suspended"
// but the [policy] allow names.
func (s *Snapshot) Decide(d *policy.Department, client netip.Addr, name string, now time.Time) policy.Decision {
	if sus := s.Suspended.Covering(client, now); sus != nil && !s.Policy.AllowedCitywide(name) {
		return policy.SuspendedDecision(d, sus)
	}
	return s.Policy.Decide(s.Exemptions, d, client, name, now)
}

// Options are what a State needs beside the first configuration.
type Options struct {
	Logger   *slog.Logger          // default: discard
	Registry prometheus.Registerer // default: a private registry
	Now      func() time.Time      // default: time.Now
	Upstream upstream.Options      // how upstreams are built (Observer is set by New)
	// Recursion adjusts the recursive resolver's options before it is built
	// (tests point it at a hierarchy served on another port than 53).
	Recursion func(*recursive.Options)
}

// State holds the live Snapshot and swaps it.
type State struct {
	log     *slog.Logger
	now     func() time.Time
	upOpts  upstream.Options
	metrics *metrics

	cur atomic.Pointer[Snapshot]

	mu        sync.Mutex // one writer at a time; the fields below are its
	plan      upstream.Plan
	store     []*policy.Exemption
	suspended *policy.Suspensions
	devices   *devices.Table

	downloadsMu sync.Mutex
	downloads   map[string]ListStatus // by URL: each list's last refresh
}

// New makes the state from a validated configuration and its compiled
// policy, building its upstreams.
func New(cfg *config.Config, pol *policy.Policy, opts Options) (*State, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &State{log: opts.Logger, now: opts.Now, upOpts: opts.Upstream}
	upMetrics := upstream.NewMetrics(opts.Registry, opts.Logger, opts.Now)
	if s.upOpts.Observer == nil {
		s.upOpts.Observer = upMetrics
	}
	if s.upOpts.Now == nil {
		s.upOpts.Now = opts.Now
	}
	recMetrics := recursive.NewMetrics(opts.Registry)
	if s.upOpts.Validations == nil {
		s.upOpts.Validations = recMetrics.Validation
	}
	if s.upOpts.Recursive == nil {
		s.upOpts.Recursive = func(p upstream.Plan) (upstream.Upstream, error) {
			o := RecursiveOptions(p, recMetrics, opts.Now)
			if opts.Recursion != nil {
				opts.Recursion(&o)
			}
			return recursive.New(o)
		}
	}
	s.metrics = newMetrics(opts.Registry, s)
	plan, err := s.planFor(cfg)
	if err != nil {
		return nil, err
	}
	up, err := upstream.FromConfig(plan, s.upOpts)
	if err != nil {
		return nil, err
	}
	upMetrics.Known(plan)
	s.plan = plan
	s.cur.Store(&Snapshot{Config: cfg, Policy: pol, Exemptions: s.exemptions(pol), Upstream: up, UpstreamWorstCase: plan.WorstCase()})
	s.metrics.setPolicy(cfg, pol)
	if plan.Recursive {
		s.log.Info("upstream: recursive from the root", "root_hints", nameOr(plan.RootHints.Path, "built-in"), "dnssec", plan.DNSSEC,
			"trust_anchor", nameOr(plan.TrustAnchor.Path, "built-in root KSKs"), "zones", len(plan.Zones), "timeout", plan.Timeout)
	} else {
		s.log.Info("upstreams", "servers", plan.Servers, "from_resolv_conf", plan.System, "zones", len(plan.Zones), "timeout", plan.Timeout)
	}
	return s, nil
}

// Snapshot returns the live snapshot: one atomic load, no lock.
func (s *State) Snapshot() *Snapshot { return s.cur.Load() }

// RecursiveOptions are the recursive resolver's options for a plan.
func RecursiveOptions(p upstream.Plan, m *recursive.Metrics, now func() time.Time) recursive.Options {
	return recursive.Options{
		RootHints: p.RootHints.Path, RootHintsText: p.RootHints.Text,
		DNSSEC:      p.DNSSEC,
		TrustAnchor: p.TrustAnchor.Path, TrustAnchorText: p.TrustAnchor.Text,
		Timeout: p.Timeout, Metrics: m, Now: now,
	}
}

func nameOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (s *State) planFor(cfg *config.Config) (upstream.Plan, error) {
	opts := s.upOpts
	opts.Paths = cfg.Path
	plan, err := upstream.PlanFor(cfg.Upstream, opts)
	if err != nil {
		return upstream.Plan{}, err
	}
	if err := plan.Loops(cfg.Server.ListenAddrs); err != nil {
		return upstream.Plan{}, err
	}
	return plan, nil
}

// exemptions compiles the configuration's and the store's exemptions for
// pol. Store exemptions that no longer fit (their department was removed)
// are logged and lift nothing.
func (s *State) exemptions(pol *policy.Policy) *policy.Exemptions {
	ex, err := pol.WithExemptions(s.store)
	if err != nil {
		s.log.Warn("exemptions", "err", err)
	}
	return ex
}

// Apply swaps in a new validated configuration and its compiled policy in
// one atomic step: a query is answered wholly by the old or wholly by the
// new. The upstreams are kept when [upstream] resolves to the same servers;
// otherwise new ones are built, and the old ones closed once swapped out.
// On error the running snapshot stays.
func (s *State) Apply(cfg *config.Config, pol *policy.Policy) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.Snapshot()
	plan, err := s.planFor(cfg)
	if err != nil {
		s.metrics.reloads.WithLabelValues("failure").Inc()
		return err
	}
	up := old.Upstream
	if !plan.Equal(s.plan) {
		if up, err = upstream.FromConfig(plan, s.upOpts); err != nil {
			s.metrics.reloads.WithLabelValues("failure").Inc()
			return err
		}
		s.log.Info("upstreams changed", "servers", plan.Servers, "from_resolv_conf", plan.System, "zones", len(plan.Zones))
	}
	s.cur.Store(&Snapshot{Config: cfg, Policy: pol, Exemptions: s.exemptions(pol), Suspended: s.suspended, Devices: s.devices, Upstream: up, UpstreamWorstCase: plan.WorstCase()})
	s.plan = plan
	s.metrics.reloads.WithLabelValues("success").Inc()
	s.metrics.setPolicy(cfg, pol)
	if up != old.Upstream {
		// Exchanges in flight may still use the old upstreams; they only lose idle connections.
		old.Upstream.Close()
	}
	return nil
}

// SetStoreExemptions replaces the exemptions approved through the state
// store. The change is live for the next query, without a reload and
// without rebuilding the policy.
func (s *State) SetStoreExemptions(list []*policy.Exemption) {
	s.swap(func(next *Snapshot) {
		s.store = append([]*policy.Exemption(nil), list...)
		next.Exemptions = s.exemptions(next.Policy)
	})
}

// swap stores a copy of the live snapshot that change has changed, under
// the writers' lock: one change a time, each seen whole by a query.
func (s *State) swap(change func(next *Snapshot)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := *s.Snapshot()
	change(&next)
	s.cur.Store(&next)
}

// SetSuspensions replaces the suspended devices (the state store's): live
// for the next query, without a reload.
func (s *State) SetSuspensions(list []*policy.Suspension) {
	s.swap(func(next *Snapshot) {
		s.suspended = policy.NewSuspensions(list)
		next.Suspended = s.suspended
	})
}

// SetDevices replaces the enrolled devices (the state store's): an
// enrolment or a revocation is live for the next query, without a reload.
func (s *State) SetDevices(list []*devices.Device) {
	s.swap(func(next *Snapshot) {
		s.devices = devices.NewTable(list)
		next.Devices = s.devices
	})
}

// CountReloadFailure counts a reload that failed before reaching Apply (a
// configuration or list file that does not validate).
func (s *State) CountReloadFailure() { s.metrics.reloads.WithLabelValues("failure").Inc() }

// Close releases the live upstreams' connections.
func (s *State) Close() error { return s.Snapshot().Upstream.Close() }
