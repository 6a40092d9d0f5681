package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/civicdns/civicdns/config"
	"github.com/civicdns/civicdns/querylog"
	"github.com/civicdns/civicdns/state"
)

// weeklyWindow: a weekly report is sent within a day of its time (a
// server that was down longer skips that week rather than mail old news).
const weeklyWindow = 24 * time.Hour

// weeklyID is the outbox ID of a department's report of the week of t.
func weeklyID(dept string, t time.Time) string {
	return "weekly-" + config.DepartmentKey(dept) + "-" + t.Format("2006-01-02") + "-mail"
}

// weekly queues each department's report to its directors at [notify]
// weekly_report (once a week each: by ID), reading the query log of the
// seven days before, audited as a log search.
func (n *Notifier) weekly(now time.Time) {
	cfg := n.opts.Config()
	w := cfg.Notify.Weekly
	if w.Off || !cfg.Notify.Mail() || n.opts.Reports == nil {
		return
	}
	at := w.Last(now, cfg.Policy.Location) // validation always sets Location
	if now.Sub(at) > weeklyWindow || at.Equal(n.weeklyDoneAt()) {
		return
	}
	var todo []string
	for _, d := range cfg.Department {
		if !n.box.has(weeklyID(d.Name, at)) {
			todo = append(todo, d.Name)
		}
	}
	if len(todo) == 0 {
		n.setWeeklyDone(at)
		return
	}
	if err := n.opts.Store.Audit(state.AuditEvent{Who: "civicdns (weekly report)", Action: "log-report", What: "the 7 days before " + at.Format(time.RFC3339)}); err != nil {
		n.failed("audit", err) // a log search that cannot be audited does not happen
		return
	}
	reports, err := n.opts.Reports(at.AddDate(0, 0, -7), at)
	if err != nil {
		n.failed("query log", err)
		return
	}
	var msgs []*Message
	for _, dept := range todo {
		to, err := n.opts.Directors(dept)
		if err != nil {
			n.failed("directory", err)
			return
		}
		if len(to) > 0 {
			msgs = append(msgs, ForWeekly(dept, reports[dept], to, at, cfg.Notify.ConsoleURL))
		}
	}
	if err := n.box.enqueue(now, msgs); err != nil {
		n.failed("outbox", err)
		return
	}
	n.setWeeklyDone(at)
}

// ForWeekly is a department's weekly report to its directors: the figures
// of `civicdns report` for the seven days before at.
func ForWeekly(dept string, r *querylog.Report, to []string, at time.Time, consoleURL string) *Message {
	if r == nil {
		r = &querylog.Report{}
	}
	rows := [][2]string{{"Lookups", fmt.Sprint(r.Lookups)}, {"Blocked", fmt.Sprint(r.Blocked)}, {"Exempted", fmt.Sprint(r.Exempted)},
		{"Answered locally", fmt.Sprint(r.Local)}}
	for _, kv := range querylog.Top(r.ByCategory, 1<<30) {
		rows = append(rows, [2]string{"Blocked as " + kv.Key, fmt.Sprint(kv.Count)})
	}
	var names []string
	for _, kv := range querylog.Top(r.Names, 10) {
		names = append(names, fmt.Sprintf("%s (%d)", kv.Key, kv.Count))
	}
	if len(names) > 0 {
		rows = append(rows, [2]string{"Top blocked names", strings.Join(names, ", ")})
	}
	var clients []string
	for _, kv := range querylog.Top(r.Clients, 10) {
		clients = append(clients, fmt.Sprintf("%s (%d)", kv.Key, kv.Count))
	}
	if len(clients) > 0 {
		rows = append(rows, [2]string{"Addresses with most blocked lookups", strings.Join(clients, ", ")})
	}
	var devices []string
	for _, kv := range querylog.Top(r.Devices, 10) {
		devices = append(devices, fmt.Sprintf("%s (%d)", kv.Key, kv.Count))
	}
	if len(devices) > 0 {
		rows = append(rows, [2]string{"Devices with most blocked lookups", strings.Join(devices, ", ")})
	}
	b := body{Lead: fmt.Sprintf("%s's Internet use, the seven days to %s.", dept, at.Format("Monday 2 January 2006")), Rows: rows}
	if consoleURL != "" {
		b.Link, b.LinkText = strings.TrimSuffix(consoleURL, "/")+"/", "The director console"
	}
	return &Message{ID: weeklyID(dept, at), Channel: "mail", Event: "weekly", To: to,
		Subject: "Weekly report for " + oneLine(dept) + ": " + fmt.Sprint(r.Blocked) + " blocked lookups", Text: b.text(), HTML: b.html()}
}

// weeklyDoneAt is the last weekly report time fully queued (Run's; for tests).
func (n *Notifier) weeklyDoneAt() time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.weeklyDone
}

func (n *Notifier) setWeeklyDone(at time.Time) {
	n.mu.Lock()
	n.weeklyDone = at
	n.mu.Unlock()
}
