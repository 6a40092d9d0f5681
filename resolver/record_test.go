package resolver

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/civicdns/civicdns/policy"
	"github.com/civicdns/civicdns/query"
	"github.com/miekg/dns"
)

// recordLog keeps a copy of every record it is given.
type recordLog struct {
	mu   sync.Mutex
	recs []query.Record
	seen chan struct{}
}

func newRecordLog() *recordLog { return &recordLog{seen: make(chan struct{}, 1000)} }

func (l *recordLog) Record(r *query.Record) {
	c := *r
	c.Name = append([]byte(nil), r.Name...)
	c.Decision = nil
	l.mu.Lock()
	l.recs = append(l.recs, c)
	l.mu.Unlock()
	l.seen <- struct{}{}
}

// waitFor blocks until n records have arrived in all.
func (l *recordLog) waitFor(t *testing.T, n int) []query.Record {
	t.Helper()
	for {
		l.mu.Lock()
		got := len(l.recs)
		l.mu.Unlock()
		if got >= n {
			break
		}
		select {
		case <-l.seen:
		case <-time.After(5 * time.Second):
			t.Fatalf("%d records, want %d", got, n)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]query.Record(nil), l.recs...)
}

// Every query is recorded exactly once, whichever way it is answered: a
// UDP miss runs the chain twice (the reader's pass stops at the cache) and
// must still leave one record.
func TestEveryQueryIsRecordedExactlyOnce(t *testing.T) {
	t.Parallel()
	up := upstreamWithCNAMEs(t)
	log := newRecordLog()
	ts := startServerFull(t, nil, log, `["127.0.0.1:0"]`, strings.ReplaceAll(policyConfig, "%s", `"`+up.Addr+`"`))
	type sent struct {
		network, name string
		qtype         uint16
		action        string
		rcode         int
		cached        bool
	}
	cases := []sent{
		{"udp", "miss.example", dns.TypeA, policy.Allowed, dns.RcodeSuccess, false},
		{"udp", "miss.example", dns.TypeA, policy.Allowed, dns.RcodeSuccess, true},
		{"tcp", "tcpmiss.example", dns.TypeA, policy.Allowed, dns.RcodeSuccess, false},
		{"udp", "casino.example", dns.TypeA, policy.Blocked, dns.RcodeSuccess, false},
		{"udp", "alias.example", dns.TypeA, policy.Blocked, dns.RcodeSuccess, false},
		{"udp", "chat.example", dns.TypeA, policy.Exempted, dns.RcodeSuccess, false},
		{"udp", "any.example", dns.TypeANY, policy.Refused, dns.RcodeRefused, false},
	}
	for _, c := range cases {
		dnstest.Exchange(t, c.network, ts.Addr, dnstest.Query(c.name, c.qtype))
	}
	// A packet whose question cannot be read: FORMERR, recorded as malformed.
	conn, err := net.Dial("udp", ts.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte{0xAB, 0xCD, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w', 'w'})
	buf := make([]byte, 512)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(buf); err != nil {
		t.Fatal(err)
	}
	recs := log.waitFor(t, len(cases)+1)
	// Nothing more arrives: every query left one record.
	select {
	case <-log.seen:
		if n := len(log.waitFor(t, 0)); n > len(cases)+1 {
			t.Fatalf("%d records for %d queries", n, len(cases)+1)
		}
	default:
	}
	for i, c := range cases {
		r := recs[i]
		got := fmt.Sprintf("%s %s %s rcode %d cached %v", string(r.Name), dns.TypeToString[r.Type], r.Action, r.Rcode, r.Cached)
		want := fmt.Sprintf("%s %s %s rcode %d cached %v", c.name, dns.TypeToString[c.qtype], c.action, c.rcode, c.cached)
		if got != want || r.TCP != (c.network == "tcp") {
			t.Errorf("record %d: %s (tcp %v), want %s", i, got, r.TCP, want)
		}
	}
	if last := recs[len(cases)]; last.Action != policy.Malformed || last.Rcode != dns.RcodeFormatError {
		t.Errorf("malformed packet recorded as %s rcode %d", last.Action, last.Rcode)
	}
	if got := ts.counter(t, "civicdns_queries_total", map[string]string{"action": "refused", "category": "", "department": "Police"}); got != 0 {
		t.Errorf("refused counted under a department: %v", got)
	}
	if got := ts.counter(t, "civicdns_queries_total", map[string]string{"action": "refused"}); got != 1 {
		t.Errorf("refused queries counted %v, want 1", got)
	}
	if got := ts.counter(t, "civicdns_queries_total", map[string]string{"action": "malformed"}); got != 1 {
		t.Errorf("malformed queries counted %v, want 1", got)
	}
}

// The chain is assembled in its documented order, the upstream last.
func TestChainOrder(t *testing.T) {
	t.Parallel()
	up := dnstest.StartUpstream(t, dnstest.Answer("192.0.2.1", 60))
	ts := startServer(t, forwardTo, up.Addr)
	var names []string
	for _, st := range ts.stages {
		names = append(names, st.Name())
	}
	if got := strings.Join(names, " → "); got != "access → sanity → identify → local → policy → safesearch → cache → upstream" {
		t.Errorf("chain: %s", got)
	}
}
