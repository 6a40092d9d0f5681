package live

import (
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/policy"
	"github.com/prometheus/client_golang/prometheus"
)

func load(t *testing.T, text string) (*config.Config, *policy.Policy) {
	t.Helper()
	cfg, err := config.Parse("civicdns.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Load(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, pol
}

const base = "[server]\nlisten = [\"127.0.0.1:5399\"]\n[upstream]\nservers = [\"192.0.2.1:53\"]\n"

func TestUpstreamsAreRebuiltOnlyWhenTheyChange(t *testing.T) {
	t.Parallel()
	cfg, pol := load(t, base)
	s, err := New(cfg, pol, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first := s.Snapshot().Upstream
	// Another policy, the same upstreams: kept (their health and sockets too).
	cfg2, pol2 := load(t, base+"[policy]\nblock = [\"gambling\"]\n")
	if err := s.Apply(cfg2, pol2); err != nil {
		t.Fatal(err)
	}
	if s.Snapshot().Upstream != first || s.Snapshot().Policy != pol2 {
		t.Error("the upstream was rebuilt although [upstream] did not change")
	}
	cfg3, pol3 := load(t, strings.Replace(base, "192.0.2.1:53", "192.0.2.2:53", 1))
	if err := s.Apply(cfg3, pol3); err != nil {
		t.Fatal(err)
	}
	if s.Snapshot().Upstream == first || s.Snapshot().Upstream.Address() != "192.0.2.2:53" {
		t.Errorf("new servers not applied: %s", s.Snapshot().Upstream.Address())
	}
}

func TestForwardingToItselfIsRefused(t *testing.T) {
	t.Parallel()
	cfg, pol := load(t, strings.Replace(base, "192.0.2.1:53", "127.0.0.1:5399", 1))
	if _, err := New(cfg, pol, Options{}); err == nil || !strings.Contains(err.Error(), "own listen address") {
		t.Fatalf("err = %v", err)
	}
	// And a reload to such a configuration keeps the running one.
	good, gpol := load(t, base)
	s, err := New(good, gpol, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Apply(cfg, pol); err == nil {
		t.Fatal("applied a configuration that forwards to itself")
	}
	if s.Snapshot().Config != good {
		t.Error("the running configuration was replaced")
	}
}

func TestStoreExemptionsSurviveAReload(t *testing.T) {
	t.Parallel()
	text := base + "[[department]]\nname = \"Police\"\nnetworks = [\"10.20.0.0/16\"]\n"
	cfg, pol := load(t, text)
	s, err := New(cfg, pol, Options{Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := &policy.Exemption{ID: "r-1", Department: "Police", Category: "gambling", Expires: time.Now().Add(time.Hour), Source: policy.SourceStore}
	s.SetStoreExemptions([]*policy.Exemption{e})
	if s.Snapshot().Exemptions.Find("r-1") != e {
		t.Fatal("store exemption not in the live set")
	}
	cfg2, pol2 := load(t, text+"[policy]\nallow = [\"city.example\"]\n")
	if err := s.Apply(cfg2, pol2); err != nil {
		t.Fatal(err)
	}
	if s.Snapshot().Exemptions.Find("r-1") != e {
		t.Error("a reload dropped the store's exemptions")
	}
	if n := s.Snapshot().Exemptions.Active(time.Now()); n != 1 {
		t.Errorf("%d active", n)
	}
}
