package console

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civicdns/civicdns/querylog"
)

// A director searches their own department's lookups by device, MAC,
// address or name (whatever department they ask for), every field shown
// escaped; each search is audited; a page without a search reads nothing.
func TestDirectorsSearchTheirDepartmentsLookups(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	var mu sync.Mutex
	var asked []querylog.Filter
	con := f.srv.Config.Handler.(*Server)
	con.searchLog = func(fl querylog.Filter, limit int, fn func(*querylog.Entry) bool) error {
		mu.Lock()
		asked = append(asked, fl)
		mu.Unlock()
		fn(&querylog.Entry{Time: f.clock.Now(), Client: "10.20.3.4", Department: "Police", Name: "www.pokerstars.com", Action: "blocked",
			Category: "gambling", Device: "<b>laptop</b>", MAC: "00:11:22:33:44:55"})
		return nil
	}
	chief, _ := f.client(t, "Chief of Police", "correct horse battery")
	if code, page := do(t, chief, "GET", f.srv.URL+"/logs", nil, nil); code != 200 || len(asked) != 0 || !strings.Contains(page, `action="/logs"`) {
		t.Fatalf("the search page: %d, %d searches", code, len(asked))
	}
	code, page := do(t, chief, "GET", f.srv.URL+"/logs?device=laptop&mac=00:11:22:33:44:55&since=7d&department=Parks", nil, nil)
	if code != 200 || !strings.Contains(page, "&lt;b&gt;laptop&lt;/b&gt; (00:11:22:33:44:55)") || strings.Contains(page, "<b>laptop") || !strings.Contains(page, "www.pokerstars.com") {
		t.Fatalf("the results: %d\n%s", code, page)
	}
	mu.Lock()
	fl := asked[0]
	mu.Unlock()
	if fl.Department != "Police" || fl.Device != "laptop" || fl.MAC != "00:11:22:33:44:55" || f.clock.Now().Sub(fl.From) != 7*24*time.Hour {
		t.Errorf("the search: %+v", fl)
	}
	if code, _ := do(t, chief, "GET", f.srv.URL+"/logs?client=nonsense", nil, nil); code != http.StatusBadRequest {
		t.Errorf("a bad address: %d", code)
	}
	audit, _ := f.store.AuditSince(time.Time{})
	n := 0
	for _, ev := range audit {
		if ev.Action == "log-search" && ev.Who == "Chief of Police" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d searches audited, want 1", n)
	}
}
