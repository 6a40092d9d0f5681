package console

import (
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/querylog"
	"github.com/civicdns/civicdns/state"
)

// The department's lookups, as `civicdns logs` shows them: a director
// searches their own department's (an admin any department's) by client,
// device, MAC or name over the last day or week; the newest 200 are shown,
// every field escaped, and the search is audited like the CLI's.

// listLog is how many records a search shows.
const listLog = 200

// LogSearch reads the query log (the day files, or the central copy).
type LogSearch func(f querylog.Filter, limit int, fn func(*querylog.Entry) bool) error

func (s *Server) logsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	if s.searchLog == nil {
		s.fail(w, r, http.StatusNotFound, "This server keeps no query log ([log] dir).")
		return
	}
	q := r.URL.Query()
	dept := s.viewDept(r, sess)
	f := querylog.Filter{Department: dept, Device: strings.TrimSpace(q.Get("device")), MAC: strings.ToLower(strings.TrimSpace(q.Get("mac"))),
		Name: strings.ToLower(strings.TrimSuffix(strings.TrimSpace(q.Get("name")), ".")), From: s.now().Add(-24 * time.Hour)}
	if q.Get("since") == "7d" {
		f.From = s.now().AddDate(0, 0, -7)
	}
	if c := strings.TrimSpace(q.Get("client")); c != "" {
		pfx, err := config.ParsePrefix(c)
		if err != nil {
			s.fail(w, r, http.StatusBadRequest, "client: write an IP address or a network (CIDR)")
			return
		}
		f.Client = pfx
	}
	var entries []*querylog.Entry
	searched := q.Has("client") || q.Has("device") || q.Has("mac") || q.Has("name")
	if searched {
		// A search of the log that cannot be audited does not happen.
		if err := s.store.Audit(state.AuditEvent{Who: sess.director, From: s.clientOf(r), Action: "log-search", What: "console: " + r.URL.RawQuery}); err != nil {
			s.storeError(w, r, err)
			return
		}
		loc := s.state.Snapshot().Policy.Location()
		err := s.searchLog(f, listLog, func(e *querylog.Entry) bool {
			e.Time = e.Time.In(loc)
			entries = append(entries, e)
			return len(entries) < listLog
		})
		if err != nil {
			s.log.Error("console: the query log cannot be searched", "err", err)
			s.fail(w, r, http.StatusServiceUnavailable, "The query log cannot be searched now.")
			return
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	pages.ExecuteTemplate(w, "logs", map[string]any{"Director": sess.director, "Department": dept, "CSRF": sess.csrf, "Admin": s.isAdmin(sess),
		"Entries": entries, "Searched": searched, "Q": q, "Max": listLog})
}

var _ = template.Must(pages.Parse(`
{{define "logs"}}{{template "head" "Lookups"}}
<header><h1>Lookups of {{typed .Department}}</h1><nav><a href="/" style="color:#fff">Exemptions</a></nav></header>
<main><section aria-labelledby="search"><h2 id="search">Search the last day or week</h2>
<form method="get" action="/logs">{{if .Admin}}<input type="hidden" name="department" value="{{.Department}}">{{end}}
<label for="l-client">Address</label><input id="l-client" name="client" value="{{.Q.Get "client"}}">
<label for="l-device">Device</label><input id="l-device" name="device" value="{{.Q.Get "device"}}">
<label for="l-mac">MAC</label><input id="l-mac" name="mac" value="{{.Q.Get "mac"}}">
<label for="l-name">Name</label><input id="l-name" name="name" value="{{.Q.Get "name"}}">
<label for="l-since">Over</label><select id="l-since" name="since"><option value="1d">the last day</option><option value="7d"{{if eq (.Q.Get "since") "7d"}} selected{{end}}>the last week</option></select>
<button type="submit">Search</button></form>
<p class="muted">Searches are in the audit trail. The newest {{.Max}} records are shown.</p></section>
{{if .Searched}}<section aria-labelledby="found"><h2 id="found">{{len .Entries}} records</h2>
<table><thead><tr><th>When</th><th>Address</th><th>Device</th><th>Name</th><th>Action</th><th>Category</th></tr></thead><tbody>
{{range .Entries}}<tr><td>{{when .Time}}</td><td>{{.Client}}</td><td>{{typed .Device}}{{with .MAC}} ({{.}}){{end}}</td><td class="name">{{typed .Name}}</td><td>{{.Action}}</td><td>{{.Category}}{{with .Service}}: {{.}}{{end}}</td></tr>{{end}}
</tbody></table></section>{{end}}
</main></body></html>{{end}}
`))
