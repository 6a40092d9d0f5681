package console

import (
	"html/template"
	"time"

	"github.com/civicdns/civicdns/internal/citytime"
	"github.com/civicdns/civicdns/internal/safetext"
)

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	// typed shows a field a person typed with its control characters escaped.
	"typed": safetext.Escape,
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format(citytime.Layout) // t in the city's zone (dashboard)
	},
}).Parse(`
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.}} — civicdns</title>
<style>
body { margin: 0; font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b; background: #f1f3f6; }
header { background: #1d2b3a; color: #fff; padding: .75rem 1.5rem; display: flex; justify-content: space-between; align-items: center; flex-wrap: wrap; gap: .5rem; }
header h1 { font-size: 1.15rem; margin: 0; }
main { max-width: 64rem; margin: 1.5rem auto; padding: 0 1rem; }
section { background: #fff; padding: 1rem 1.25rem; border-radius: .25rem; box-shadow: 0 1px 3px rgba(0,0,0,.12); margin-bottom: 1.25rem; }
h2 { font-size: 1.15rem; margin: .25rem 0 .75rem; }
table { width: 100%; border-collapse: collapse; font-size: .95rem; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid #dde1e6; vertical-align: top; }
td:first-child, td.date { white-space: nowrap; }
.name { font-family: ui-monospace, Menlo, Consolas, monospace; overflow-wrap: break-word; }
form.inline { display: inline; }
fieldset form { display: block; margin-top: .6rem; }
fieldset form label { margin-left: .5rem; }
fieldset form label:first-of-type { margin-left: 0; }
fieldset { border: 1px solid #c4c9d0; border-radius: .25rem; margin: .5rem 0; padding: .5rem .75rem; }
label { font-weight: 600; margin-right: .25rem; }
input[type=text], input[type=date], input[type=password], input:not([type]) { font: inherit; padding: .3rem .4rem; border: 1px solid #5c5c5c; border-radius: .2rem; }
button { font: inherit; font-weight: 600; border: 0; border-radius: .2rem; padding: .35rem .8rem; cursor: pointer; color: #fff; background: #1a5fb4; }
button.deny, button.revoke { background: #8a1c1c; }
button:focus, input:focus { outline: 3px solid #1a5fb4; outline-offset: 1px; }
.done { background: #e6f4ea; border-left: .3rem solid #1d6b2f; padding: .6rem 1rem; margin-bottom: 1rem; }
.readonly { background: #fdecea; border-left: .3rem solid #9b1c1c; padding: .6rem 1rem; margin-bottom: 1rem; }
.error { background: #fdecea; border-left: .3rem solid #8a1c1c; padding: .6rem 1rem; margin: .75rem 0; }
.muted { color: #555; }
.signin { max-width: 24rem; margin: 4rem auto; }
.signin label { display: block; margin-top: .75rem; }
.signin input { width: 100%; box-sizing: border-box; }
</style></head><body>{{end}}

{{define "signin"}}{{template "head" "Sign in"}}
<main class="signin"><section aria-labelledby="t">
<h2 id="t">civicdns director console</h2>
{{if .Error}}<div class="error" role="alert">{{.Error}}</div>{{end}}
<form method="post" action="/signin">
<label for="name">Name</label><input id="name" name="name" autocomplete="username" required value="{{.Name}}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<p><button type="submit">Sign in</button></p>
</form>{{if .OIDC}}<p><a href="/oidc/start">Sign in with your city account</a></p>{{end}}</section></main></body></html>{{end}}

{{define "message"}}{{template "head" .Title}}
<main><section><h2>{{.Title}}</h2><p>{{.Message}}</p><p><a href="/">Back to the console</a></p></section></main></body></html>{{end}}

{{define "dashboard"}}{{template "head" (print "Exemptions — " .Department)}}
<header><h1>Exemptions for {{typed .Department}}</h1>
<nav><a href="/devices" style="color:#fff">Roaming devices</a> <a href="/logs{{if .Admin}}?department={{.Department}}{{end}}" style="color:#fff">Lookups</a>
{{if .Admin}}<form class="inline" method="get" action="/"><label for="view-dept" style="color:#fff">Department</label><select id="view-dept" name="department">{{range .Departments}}<option{{if eq . $.Department}} selected{{end}}>{{.}}</option>{{end}}</select> <button type="submit">View</button></form>{{end}}</nav>
<form class="inline" method="post" action="/signout"><span>{{typed .Director}}{{if .Admin}} (admin){{else}} (director){{end}}</span> <input type="hidden" name="csrf" value="{{.CSRF}}"><button type="submit">Sign out</button></form></header>
<main>
{{if .ReadOnly}}<div class="readonly" role="alert">{{.ReadOnly}}</div>{{end}}
{{if .Done}}<div class="done" role="status">{{.Done}}</div>{{end}}
<section aria-labelledby="pending"><h2 id="pending">Requests waiting for you ({{len .Pending}})</h2>
{{if not .Pending}}<p class="muted">No request is waiting.</p>{{end}}
{{range .Pending}}
<fieldset><legend><strong class="name">{{typed .Name}}</strong> ({{.Category}}{{with .Service}}: {{.}}{{end}}) — {{.ID}}</legend>
<p>From <strong>{{typed .Requester}}</strong> &lt;{{typed .Email}}&gt;, device {{.Client}}, {{when .Time}}.<br>Reason: {{typed .Reason}}</p>
<form method="post" action="/requests/{{.ID}}/approve">
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<label for="exp-{{.ID}}">Expires</label><input type="date" id="exp-{{.ID}}" name="expires" value="{{$.Expires}}" min="{{$.Today}}" required>
<label for="why-{{.ID}}">Reason</label><input type="text" id="why-{{.ID}}" name="reason" required>
<label for="ref-{{.ID}}">Reference</label><input type="text" id="ref-{{.ID}}" name="reference">
<label for="scope-{{.ID}}">For</label><select id="scope-{{.ID}}" name="scope"><option value="department">the whole department</option><option value="client">this device only</option></select>
<label for="lifts-{{.ID}}">Lifts</label><select id="lifts-{{.ID}}" name="lifts"><option value="name">{{.Matched}} only</option>{{with .Service}}<option value="service">all of {{.}} (every domain of the service)</option>{{end}}<option value="category">all of {{.Category}}</option></select>
<button type="submit">Approve</button></form>
<form method="post" action="/requests/{{.ID}}/deny">
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<label for="note-{{.ID}}">Note</label><input type="text" id="note-{{.ID}}" name="note">
<button class="deny" type="submit">Deny</button></form>
</fieldset>
{{end}}</section>

<section aria-labelledby="granted"><h2 id="granted">Exemptions granted here</h2>
{{if not .Grants}}<p class="muted">None yet.</p>{{else}}
<table><thead><tr><th>ID</th><th>Lifts</th><th>For</th><th>Until</th><th>Approved by</th><th>Reason</th><th>Status</th><th></th></tr></thead><tbody>
{{range .Grants}}<tr><td>{{.ID}}</td><td class="name">{{if .Category}}all of {{.Category}}{{else}}{{range .Domains}}{{.}} {{end}}{{end}}</td>
<td>{{if .Department}}department{{else}}{{range .Clients}}{{.}} {{end}}{{end}}</td><td class="date">{{.Expires}}</td><td>{{typed .ApprovedBy}}</td><td>{{typed .Reason}}{{if .Reference}} ({{typed .Reference}}){{end}}</td><td>{{.Status}}</td>
<td>{{if eq .Status "active"}}<form class="inline" method="post" action="/exemptions/{{.ID}}/revoke"><input type="hidden" name="csrf" value="{{$.CSRF}}"><button class="revoke" type="submit">Revoke</button></form>{{end}}</td></tr>
{{end}}</tbody></table>{{end}}</section>

{{if .Config}}<section aria-labelledby="cfg"><h2 id="cfg">Exemptions in the configuration file</h2>
<p class="muted">Written in civicdns.toml by the network admins; changed there.</p>
<table><thead><tr><th>ID</th><th>Lifts</th><th>Until</th><th>Approved by</th><th>Reason</th><th>Where</th></tr></thead><tbody>
{{range .Config}}<tr><td>{{.ID}}</td><td class="name">{{.Lifts}}</td><td>{{.ExpiresOn}}</td><td>{{typed .ApprovedBy}}</td><td>{{typed .Reason}}</td><td>{{.Source}}</td></tr>{{end}}
</tbody></table></section>{{end}}

<section aria-labelledby="susp"><h2 id="susp">Suspended devices</h2>
{{range .Suspended}}<p>{{.ID}}: <span class="name">{{.Client}}</span> by {{typed .By}} on {{when .Time}}{{if not .Until.IsZero}}, through {{.Until}}{{end}}: {{typed .Reason}}
{{if .Restored}} — restored by {{typed .RestoredBy}}{{else}}<form class="inline" method="post" action="/suspensions/{{.ID}}/restore"><input type="hidden" name="csrf" value="{{$.CSRF}}"><button type="submit">Restore</button></form>{{end}}</p>
{{else}}<p class="muted">No device of the department is suspended.</p>{{end}}
<form method="post" action="/suspensions"><input type="hidden" name="csrf" value="{{.CSRF}}">
<label for="sus-client">Device (IP)</label><input type="text" id="sus-client" name="client" required>
<label for="sus-reason">Reason</label><input type="text" id="sus-reason" name="reason" required>
<label for="sus-until">Through</label><input type="date" id="sus-until" name="until" min="{{.Today}}">
<button class="deny" type="submit">Suspend access</button></form>
</section>

<section aria-labelledby="decided"><h2 id="decided">Recent decisions</h2>
{{if not .Decided}}<p class="muted">None yet.</p>{{else}}
<table><thead><tr><th>Request</th><th>Site</th><th>Requester</th><th>Status</th><th>By</th><th>When</th></tr></thead><tbody>
{{range .Decided}}<tr><td>{{.ID}}</td><td class="name">{{typed .Name}}</td><td>{{typed .Requester}}</td><td>{{.Status}}</td><td>{{typed .DecidedBy}}</td><td>{{when .DecidedAt}}</td></tr>{{end}}
</tbody></table>{{end}}</section>
</main></body></html>{{end}}
`))
