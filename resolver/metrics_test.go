package resolver

import (
	"fmt"
	"testing"

	"github.com/civicdns/civicdns/query"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A reader's tally adds up to what counting each query at once gives, with
// more label sets in one batch than it keeps (it flushes early) and rcodes
// out of the table (not counted, as Record).
func TestTallyCountsAsRecord(t *testing.T) {
	t.Parallel()
	direct := newMetrics(prometheus.NewRegistry(), func() float64 { return 0 })
	tallied := newMetrics(prometheus.NewRegistry(), func() float64 { return 0 })
	tl := tally{m: tallied}
	var recs []query.Record
	for i := 0; i < 300; i++ {
		r := query.Record{Action: "allowed", Rcode: i % 4, Cached: i%5 != 0, Stale: i%7 == 0, Transport: "udp"}
		if i%3 == 0 {
			r.Action, r.Category, r.Department = "blocked", fmt.Sprint("cat", i%11), fmt.Sprint("dept", i%7)
		}
		if i%50 == 0 {
			r.Rcode = 4096 // past the table
		}
		recs = append(recs, r)
	}
	for batch := 0; batch < 3; batch++ {
		for i := range recs {
			direct.Record(&recs[i])
			tl.Record(&recs[i])
		}
		tl.flush()
	}
	for _, set := range []queryLabels{{"allowed", "", "", 0}, {"blocked", "cat0", "dept0", 0}, {"blocked", "cat3", "dept3", 0}, {"blocked", "cat10", "dept3", 0}} {
		want := testutil.ToFloat64(direct.queries.WithLabelValues(set.action, set.category, set.department, "udp"))
		got := testutil.ToFloat64(tallied.queries.WithLabelValues(set.action, set.category, set.department, "udp"))
		if got != want || want == 0 && set.category == "" {
			t.Errorf("%v: tallied %v, counted %v", set, got, want)
		}
	}
	for _, rc := range []string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN"} {
		want := testutil.ToFloat64(direct.responses.WithLabelValues(rc))
		if got := testutil.ToFloat64(tallied.responses.WithLabelValues(rc)); got != want || want == 0 {
			t.Errorf("rcode %s: tallied %v, counted %v", rc, got, want)
		}
	}
	if got, want := testutil.ToFloat64(tallied.cacheHits), testutil.ToFloat64(direct.cacheHits); got != want || want == 0 {
		t.Errorf("cache hits: tallied %v, counted %v", got, want)
	}
	if n := testutil.CollectAndCount(tallied.queries); n != testutil.CollectAndCount(direct.queries) {
		t.Errorf("%d label sets tallied, %d counted", n, testutil.CollectAndCount(direct.queries))
	}
}
