package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/civicdns/civicdns/internal/pgtest"
	"github.com/civicdns/civicdns/state"
)

// Two civicdns processes share one workflow through a real PostgreSQL: an
// approval made from a shell against one is live on the other; with the
// database killed both go on answering with the exemptions they knew, and
// a block-page request made meanwhile on one arrives when it returns.
// twoInstances is PostgreSQL and two civicdns processes sharing it
// ([state] postgres), whose Police department (127.0.0.1) has every name
// under example. blocked, and a store on a's folder.
type twoInstances struct {
	pg         *pgtest.Cluster
	a, b       *process
	cfgA, cfgB string
	storeA     *state.Store
}

func startTwoInstances(tb testing.TB) *twoInstances {
	tb.Helper()
	return startTwoInstancesWith(tb, "")
}

// startTwoInstancesWith is startTwoInstances with more [server] keys.
func startTwoInstancesWith(tb testing.TB, serverKeys string) *twoInstances {
	tb.Helper()
	w := &twoInstances{pg: pgtest.Start(tb)}
	up := dnstest.StartUpstream(tb, dnstest.Answer("192.0.2.20", 300))
	start := func(name string) (*process, string, string) {
		dir := filepath.Join(tb.TempDir(), name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		cfg := writeFile(tb, dir, "civicdns.toml", fmt.Sprintf(`[server]
listen = ["127.0.0.1:0"]
%s
[metrics]
listen = ""
[upstream]
servers = [%q]
[state]
dir = "state"
postgres = %q
[block]
answer = "blockpage"
blockpage_ipv4 = "10.0.0.53"
[[department]]
name = "Police"
networks = ["127.0.0.1/32"]
block_domains = ["example"]
[[director]]
name = "Chief of Police"
department = "Police"
password_hash = "$2a$10$PP9k2wp7rIAu5QMVyCErxuy1fPXUEzX9SDRudRlr6HueqaZkN7Z5a"
`, serverKeys, up.Addr, w.pg.DSN()))
		return startDaemon(tb, cfg), cfg, dir
	}
	var dirA string
	w.a, w.cfgA, dirA = start("a")
	w.b, w.cfgB, _ = start("b")
	var err error
	if w.storeA, err = state.OpenShared(filepath.Join(dirA, "state"), w.pg.DSN(), nil); err != nil {
		tb.Fatal(err)
	}
	return w
}

func TestTwoInstancesShareTheWorkflow(t *testing.T) {
	w := startTwoInstances(t)
	c, a, b, cfgA, cfgB, storeA := w.pg, w.a, w.b, w.cfgA, w.cfgB, w.storeA
	request := func(s *state.Store, reason string) state.Request {
		t.Helper()
		q, err := s.Submit(state.Request{Client: netip.MustParseAddr("127.0.0.1"), Department: "Police", Name: "www.pokerstars.com",
			Category: "gambling", Matched: "pokerstars.com", Requester: "Pat", Email: "pat@city.example", Reason: reason})
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	q := request(storeA, "fraud case")
	answer := func(d *process) string {
		return strings.TrimSpace(dnstest.Dig(t, d.addr, "+short", "www.pokerstars.com", "A"))
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10 s", what)
			}
			time.Sleep(20 * time.Millisecond) // polling what a client sees
		}
	}
	if answer(a) != "10.0.0.53" || answer(b) != "10.0.0.53" {
		t.Fatal("blocked before the approval")
	}
	var out, errb bytes.Buffer
	if code := run([]string{"exemptions", "-config", cfgA, "approve", q.ID, "-by", "Chief of Police", "-expires", time.Now().AddDate(0, 1, 0).Format("2006-01-02")}, &out, &errb); code != 0 {
		t.Fatalf("approve on a: %d %s", code, errb.String())
	}
	start := time.Now()
	waitFor("the approval made on a, live on b", func() bool { return answer(b) == "192.0.2.20" })
	t.Logf("approved against a, live on b after %v", time.Since(start).Round(time.Millisecond))
	waitFor("the approval live on a", func() bool { return answer(a) == "192.0.2.20" })

	// The database goes away: both keep the exemption; a request waits.
	c.Kill()
	if answer(a) != "192.0.2.20" || answer(b) != "192.0.2.20" {
		t.Fatal("an exemption was lost with the database")
	}
	queued := request(storeA, "queued while the database was away")
	out.Reset()
	errb.Reset()
	if code := run([]string{"exemptions", "-config", cfgB, "approve", queued.ID, "-by", "Chief of Police", "-expires", time.Now().AddDate(0, 1, 0).Format("2006-01-02"), "-reason", "r"}, &out, &errb); code == 0 ||
		!strings.Contains(errb.String(), "unreachable") {
		t.Fatalf("a decision without the database: %d %s %s", code, out.String(), errb.String())
	}
	c.Restart(t)
	waitFor("the queued request, delivered by a, listed on b", func() bool {
		out.Reset()
		run([]string{"exemptions", "-config", cfgB, "list"}, &out, &errb)
		return strings.Contains(out.String(), queued.ID)
	})
	if answer(a) != "192.0.2.20" || answer(b) != "192.0.2.20" {
		t.Fatal("the exemption did not survive the outage")
	}
}
