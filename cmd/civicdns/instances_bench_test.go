package main

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/state"
	"github.com/miekg/dns"
)

// BenchmarkApprovalPropagation: an approval made on one instance, live on
// the other: the time from the approval's commit to the first answer of
// the second instance that carries it, for each of b.N approvals (run with
// -benchtime 100x for the figure: median and worst of 100).
func BenchmarkApprovalPropagation(b *testing.B) {
	w := startTwoInstances(b)
	other, storeA := w.b, w.storeA
	client := &dns.Client{Timeout: time.Second}
	answer := func(name string) string {
		m := new(dns.Msg)
		m.SetQuestion(name+".", dns.TypeA)
		r, _, err := client.Exchange(m, other.addr)
		if err != nil || len(r.Answer) == 0 {
			return ""
		}
		return r.Answer[0].(*dns.A).A.String()
	}
	var took []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("n%d-%d.example", i, time.Now().UnixNano())
		q, err := storeA.Submit(state.Request{Client: netip.MustParseAddr("127.0.0.1"), Department: "Police", Name: name,
			Category: "custom", Matched: name, Requester: "Pat", Email: "pat@city.example", Reason: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if got := answer(name); got != "10.0.0.53" {
			b.Fatalf("%s before its approval: %q", name, got)
		}
		if _, err := storeA.Approve(q.ID, state.Approval{By: "Chief", Expires: config.Date{Year: 2099, Month: 1, Day: 1}, Reason: "bench"}); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for answer(name) != "192.0.2.20" {
			if time.Since(start) > 10*time.Second {
				b.Fatalf("%s: not live on the other instance in 10 s", name)
			}
		}
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "worst-ms")
}

// BenchmarkPostgresOutageUnderLoad: dnsperf loads the second instance for
// BENCH_OUTAGE_LOAD (default 40 s) while PostgreSQL is killed for
// BENCH_OUTAGE (default 30 s) and requests are made on the first; it
// reports the DNS queries lost and the requests that did not arrive
// (both must be 0). One run whatever b.N.
func BenchmarkPostgresOutageUnderLoad(b *testing.B) {
	if _, err := exec.LookPath("dnsperf"); err != nil {
		b.Fatal("dnsperf is needed (apt-get install dnsperf); make bench installs it")
	}
	outage := envDuration("BENCH_OUTAGE", 30*time.Second)
	load := envDuration("BENCH_OUTAGE_LOAD", outage+10*time.Second)
	w := startTwoInstances(b)
	c, other, storeA := w.pg, w.b, w.storeA
	names := filepath.Join(b.TempDir(), "names")
	os.WriteFile(names, []byte("www.pokerstars.com A\nwww.city.gov A\nn1.example A\n"), 0o644)
	host, port, _ := strings.Cut(other.addr, ":")
	perf := exec.Command("dnsperf", "-s", host, "-p", port, "-d", names, "-l", fmt.Sprint(int(load.Seconds())), "-Q", "5000", "-c", "4", "-t", "2")
	out := &strings.Builder{}
	perf.Stdout, perf.Stderr = out, out
	if err := perf.Start(); err != nil {
		b.Fatal(err)
	}
	time.Sleep(3 * time.Second) // the load runs before the outage (the scenario, not synchronisation)
	c.Kill()
	var queued []string
	for end := time.Now().Add(outage); time.Now().Before(end); time.Sleep(outage / 20) {
		q, err := storeA.Submit(state.Request{Client: netip.MustParseAddr("127.0.0.1"), Department: "Police", Name: "www.pokerstars.com",
			Category: "gambling", Matched: "pokerstars.com", Requester: "Pat", Email: "pat@city.example", Reason: "during the outage"})
		if err != nil {
			b.Fatalf("a request during the outage: %v", err)
		}
		queued = append(queued, q.ID)
	}
	c.Restart(b)
	perf.Wait()
	lost := -1
	if m := regexp.MustCompile(`Queries lost:\s+(\d+)`).FindStringSubmatch(out.String()); m != nil {
		fmt.Sscan(m[1], &lost)
	}
	storeB, err := state.OpenShared(b.TempDir(), c.DSN(), nil)
	if err != nil {
		b.Fatal(err)
	}
	missing := len(queued)
	for deadline := time.Now().Add(30 * time.Second); missing > 0 && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		st, err := storeB.Load()
		if err != nil || !storeB.Online() {
			continue
		}
		missing = 0
		for _, id := range queued {
			if st.Request(id) == nil {
				missing++
			}
		}
	}
	b.ReportMetric(float64(lost), "dns-lost")
	b.ReportMetric(float64(len(queued)), "requests")
	b.ReportMetric(float64(missing), "requests-lost")
	if sent := regexp.MustCompile(`Queries sent:\s+(\d+)`).FindStringSubmatch(out.String()); sent != nil {
		b.Logf("dnsperf over %v with a %v PostgreSQL outage: %s queries sent, %d lost; %d requests made during it, %d missing after", load, outage, sent[1], lost, len(queued), missing)
	}
	if lost != 0 || missing != 0 {
		b.Fatalf("lost %d DNS answers and %d requests\n%s", lost, missing, out.String())
	}
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}
