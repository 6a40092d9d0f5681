package resolver

import (
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/export"
	"github.com/civicdns/civicdns/query"
)

// BenchmarkCachedAnswerWithExports is BenchmarkCachedAnswer with dnstap
// and syslog (blocked lookups and audit events, the default) on, and a
// lease table naming devices: what [log] dnstap, syslog and leases add to
// a cached answer. The collectors are absent: the sinks marshal, queue and
// (the queues full) drop, as they would with a collector down.
func BenchmarkCachedAnswerWithExports(b *testing.B) {
	cfg := &config.Config{Log: config.Log{Dnstap: "unix:" + filepath.Join(b.TempDir(), "none.sock"), Syslog: "tcp://127.0.0.1:9", SyslogEvents: []string{"blocked", "audit"}}}
	tap, err := export.NewDnstap(cfg, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	sl, err := export.NewSyslog(cfg, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	sl.Devices = func(netip.Addr, time.Time) (string, string) { return "laptop-17", "00:11:22:33:44:55" }
	benchServeRec(b, query.Recorders{tap, sl}, "www.example.com", func(q *query.Query) bool { return q.Cached })
}
