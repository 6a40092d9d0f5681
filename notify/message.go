package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/civicdns/civicdns/internal/safetext"
	"github.com/civicdns/civicdns/state"
)

// Message is one notification: an e-mail to some people, or one webhook
// POST. Its ID is made from the event, so that the same event seen by
// several instances (or twice) is queued once.
type Message struct {
	ID      string          `json:"id"`
	Channel string          `json:"channel"` // mail, webhook
	Event   string          `json:"event"`   // request, approve, deny, expiring
	To      []string        `json:"to,omitempty"`
	Subject string          `json:"subject,omitempty"`
	Text    string          `json:"text,omitempty"`
	HTML    string          `json:"html,omitempty"`
	JSON    json.RawMessage `json:"json,omitempty"` // the webhook's body
	Created time.Time       `json:"created"`
}

// plain escapes what a person typed for a plain-text mail: control and
// format characters shown, never acted on (a line break cannot forge a
// header or a paragraph).
func plain(s string) string { return safetext.Escape(s) }

var htmlMail = template.Must(template.New("mail").Funcs(template.FuncMap{"typed": safetext.Escape}).Parse(
	`<!doctype html><html><body style="font-family:system-ui,sans-serif">` +
		`<p>{{.Lead}}</p><table>{{range .Rows}}<tr><th align="left">{{index . 0}}</th><td>{{typed (index . 1)}}</td></tr>{{end}}</table>` +
		`{{if .Link}}<p><a href="{{.Link}}">{{.LinkText}}</a></p>{{end}}<p style="color:#555">civicdns, the city's DNS resolver</p></body></html>`))

// body is a message's content: a lead sentence, labelled fields (what a
// person typed among them) and a link.
type body struct {
	Lead, Link, LinkText string
	Rows                 [][2]string
}

func (b body) text() string {
	var s strings.Builder
	s.WriteString(b.Lead + "\n\n")
	for _, r := range b.Rows {
		fmt.Fprintf(&s, "%s: %s\n", r[0], plain(r[1]))
	}
	if b.Link != "" {
		fmt.Fprintf(&s, "\n%s: %s\n", b.LinkText, b.Link)
	}
	s.WriteString("\n-- \ncivicdns, the city's DNS resolver\n")
	return s.String()
}

func (b body) html() string {
	var s bytes.Buffer
	htmlMail.Execute(&s, b)
	return s.String()
}

// requestBody describes a request.
func requestRows(q *state.RequestState) [][2]string {
	rows := [][2]string{{"Request", q.ID}, {"Site", q.Name}, {"Category", q.Category}}
	if q.Service != "" {
		rows = append(rows, [2]string{"Service", q.Service})
	}
	return append(rows, [2]string{"Department", q.Department}, [2]string{"From", q.Requester + " <" + q.Email + ">"},
		[2]string{"Device", q.Client.String()}, [2]string{"Reason", q.Reason})
}

// ForRequest is the mail to the department's directors about a new request.
func ForRequest(q *state.RequestState, to []string, consoleURL string) *Message {
	b := body{Lead: "Someone in " + q.Department + " asks for an exemption from the Internet-use policy.", Rows: requestRows(q)}
	if consoleURL != "" {
		b.Link, b.LinkText = strings.TrimSuffix(consoleURL, "/")+"/", "Decide in the director console"
	}
	return &Message{ID: "request-" + q.ID + "-mail", Channel: "mail", Event: "request", To: to,
		Subject: "Exemption request " + q.ID + ": " + oneLine(q.Name), Text: b.text(), HTML: b.html()}
}

// ForDecision is the mail to the requester about the decision.
func ForDecision(ev *state.Event) *Message {
	q := &ev.Request
	lead := "Your exemption request was denied."
	rows := [][2]string{{"Request", q.ID}, {"Site", q.Name}, {"Decided by", q.DecidedBy}}
	if ev.Kind == "approve" {
		lead = "Your exemption request was approved: the site is reachable now."
		if ev.Grant != nil {
			rows = append(rows, [2]string{"Until", ev.Grant.Expires.String()}, [2]string{"Reason", ev.Grant.Reason})
		}
	} else if q.Note != "" {
		rows = append(rows, [2]string{"Note", q.Note})
	}
	b := body{Lead: lead, Rows: rows}
	return &Message{ID: ev.Kind + "-" + q.ID + "-mail", Channel: "mail", Event: ev.Kind, To: []string{q.Email},
		Subject: "Your exemption request " + q.ID + ": " + map[string]string{"approve": "approved", "deny": "denied"}[ev.Kind], Text: b.text(), HTML: b.html()}
}

// ForExpiring is the mail to the approver of an exemption that ends soon.
func ForExpiring(g *state.GrantState, consoleURL string) *Message {
	what := strings.Join(g.Domains, ", ")
	if g.Category != "" {
		what = "all of " + g.Category
	}
	b := body{Lead: "An exemption you approved ends in three days or less.", Rows: [][2]string{{"Exemption", g.ID}, {"Lifts", what},
		{"Department", g.Owner}, {"Last day", g.Expires.String()}, {"Reason", g.Reason}}}
	if consoleURL != "" {
		b.Link, b.LinkText = strings.TrimSuffix(consoleURL, "/")+"/", "The director console"
	}
	return &Message{ID: "expiring-" + g.ID + "-mail", Channel: "mail", Event: "expiring", To: []string{g.ApproverEmail},
		Subject: "Exemption " + g.ID + " ends on " + g.Expires.String(), Text: b.text(), HTML: b.html()}
}

// ForWebhook is an event as the webhook's JSON.
func ForWebhook(event, id string, v any) *Message {
	data, _ := json.Marshal(map[string]any{"event": event, "id": id, "data": v})
	return &Message{ID: event + "-" + id + "-webhook", Channel: "webhook", Event: event, JSON: data}
}

// oneLine keeps a subject on one line whatever was typed.
func oneLine(s string) string {
	s = plain(s)
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}
