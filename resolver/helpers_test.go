package resolver

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/civicdns/civicdns/live"
	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/query"
	"github.com/civicdns/civicdns/recursive"
	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// testServer is a civicdns server on a free loopback port.
type testServer struct {
	*Server
	State *live.State
	Addr  string
	Clock *dnstest.Clock
	Reg   *prometheus.Registry
}

// newLiveState makes the live state of a configuration, as the daemon does.
func newLiveState(t testing.TB, cfg *config.Config, opts live.Options) *live.State {
	t.Helper()
	pol, err := policy.Load(cfg, nil)
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	st, err := live.New(cfg, pol, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Reload applies a new configuration and policy to the live state.
func (ts *testServer) Reload(cfg *config.Config, pol *policy.Policy) error {
	return ts.State.Apply(cfg, pol)
}

// cacheStage is the chain's cache stage.
func (ts *testServer) cacheStage() *cacheStage {
	for _, st := range ts.stages {
		if c, ok := st.(*cacheStage); ok {
			return c
		}
	}
	panic("no cache stage")
}

// startServer runs a server whose config is the given TOML, with the listen
// address set to 127.0.0.1:0 and %s in the text replaced by upstreams.
func startServer(t testing.TB, tomlText string, upstreams ...string) *testServer {
	t.Helper()
	return startServerClock(t, nil, tomlText, upstreams...)
}

// startServerClock is startServer with the server's clock given.
func startServerClock(t testing.TB, now func() time.Time, tomlText string, upstreams ...string) *testServer {
	t.Helper()
	quoted := make([]string, len(upstreams))
	for i, u := range upstreams {
		quoted[i] = fmt.Sprintf("%q", u)
	}
	return startServerFull(t, now, nil, `["127.0.0.1:0"]`, strings.ReplaceAll(tomlText, "%s", strings.Join(quoted, ", ")))
}

// startServerListen runs a server on the given listen array (TOML).
func startServerListen(t testing.TB, listen, tomlText string) *testServer {
	t.Helper()
	return startServerFull(t, nil, nil, listen, tomlText)
}

func startServerFull(t testing.TB, now func() time.Time, rec query.Recorder, listen, tomlText string) *testServer {
	t.Helper()
	return startServerRecursion(t, now, rec, listen, tomlText, nil)
}

// startServerRecursion is startServerFull with the recursive resolver's
// options adjusted (tests point it at a hierarchy on another port).
func startServerRecursion(t testing.TB, now func() time.Time, rec query.Recorder, listen, tomlText string, recursion func(*recursive.Options)) *testServer {
	t.Helper()
	text := "[server]\nlisten = " + listen + "\n" + tomlText
	cfg, err := config.Parse("test.toml", []byte(text))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	ts := &testServer{Clock: dnstest.NewClock(), Reg: prometheus.NewRegistry()}
	if now == nil {
		now = ts.Clock.Now
	}
	ts.State = newLiveState(t, cfg, live.Options{Now: now, Registry: ts.Reg, Recursion: recursion})
	ts.Server, err = New(Options{State: ts.State, Now: now, Registry: ts.Reg, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts.Addr = ts.Addrs()[0].String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ts.Shutdown(ctx)
	})
	return ts
}

// counter reads a counter's value from the registry: the sum of the series
// with those labels (0 when absent).
func (ts *testServer) counter(t testing.TB, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := ts.Reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0 // over the series the labels leave open (the transport, say)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if matchLabels(m, labels) {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// hasSeries reports whether the registry has a series of name with labels.
func (ts *testServer) hasSeries(t testing.TB, name string, labels map[string]string) bool {
	t.Helper()
	mfs, err := ts.Reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if mf.GetName() == name && matchLabels(m, labels) {
				return true
			}
		}
	}
	return false
}

func matchLabels(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := want[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

const forwardTo = `
[upstream]
servers = [%s]
timeout = "500ms"
[metrics]
listen = ""
`

// heldUpstream answers A questions with ip only once release is closed, so a
// test can hold queries in flight.
func heldUpstream(t testing.TB, ip string) (*dnstest.Upstream, chan struct{}) {
	release := make(chan struct{})
	up := dnstest.StartUpstream(t, func(w dns.ResponseWriter, r *dns.Msg) {
		<-release
		dnstest.Answer(ip, 60)(w, r)
	})
	return up, release
}
