package live

import (
	"os"
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

// A reload can switch between forwarding and recursion; the trust anchor
// file is read at each load, so a changed file rebuilds the resolver, and a
// bad one keeps the running upstream.
func TestReloadSwitchesToRecursionAndBack(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	anchor := dir + "/root.ds"
	writeAnchor := func(text string) {
		if err := os.WriteFile(anchor, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeAnchor(". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n")
	recursiveText := "[server]\nlisten = [\"127.0.0.1:5399\"]\n[upstream]\nmode = \"recursive\"\ntrust_anchor = \"" + anchor + "\"\n"
	cfg, pol := load(t, base)
	s, err := New(cfg, pol, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rc, rpol := load(t, recursiveText)
	if err := s.Apply(rc, rpol); err != nil {
		t.Fatal(err)
	}
	rec := s.Snapshot().Upstream
	if rec.Address() != "recursive" {
		t.Fatalf("after the reload: %s", rec.Address())
	}
	rc2, rpol2 := load(t, recursiveText)
	if err := s.Apply(rc2, rpol2); err != nil || s.Snapshot().Upstream != rec {
		t.Fatalf("the same configuration rebuilt the resolver (%v)", err)
	}
	writeAnchor(". IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16\n")
	if err := s.Apply(rc2, rpol2); err != nil || s.Snapshot().Upstream == rec {
		t.Fatalf("a changed trust anchor file did not rebuild the resolver (%v)", err)
	}
	rec = s.Snapshot().Upstream
	writeAnchor("not a DS record\n")
	if err := s.Apply(rc2, rpol2); err == nil || s.Snapshot().Upstream != rec {
		t.Fatalf("a bad trust anchor file: %v, upstream replaced: %v", err, s.Snapshot().Upstream != rec)
	}
	if err := s.Apply(cfg, pol); err != nil || s.Snapshot().Upstream.Address() != "192.0.2.1:53" {
		t.Fatalf("back to forwarding: %v", err)
	}
}
