package blockpage

import (
	"html/template"
	"time"

	"github.com/civicdns/civicdns/internal/citytime"
)

// pages are the block page's HTML: self-contained (no outside assets, the
// CSP forbids them), readable on a phone, with headings, labels and
// contrast a screen reader and a low-vision reader can use.
var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"when": func(t time.Time) string { return t.Format(citytime.Layout) }, // t in the city's zone (render)
}).Parse(`
{{define "head"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.}}</title>
<style>
:root { color-scheme: light; }
body { margin: 0; font: 1.05rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b; background: #f1f3f6; }
main { max-width: 40rem; margin: 2rem auto; background: #fff; padding: 1.5rem 2rem 2rem; border-top: .5rem solid #8a1c1c; border-radius: .25rem; box-shadow: 0 1px 3px rgba(0,0,0,.15); }
main.ok { border-top-color: #1d6b2f; }
h1 { font-size: 1.6rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1rem; margin: 0; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
.name { font-family: ui-monospace, Menlo, Consolas, monospace; }
label { display: block; font-weight: 600; margin-top: 1rem; }
input, textarea { box-sizing: border-box; width: 100%; font: inherit; padding: .5rem; border: 1px solid #5c5c5c; border-radius: .25rem; }
textarea { min-height: 7rem; }
input:focus, textarea:focus, button:focus { outline: 3px solid #1a5fb4; outline-offset: 1px; }
button { margin-top: 1.25rem; font: inherit; font-weight: 600; color: #fff; background: #1a5fb4; border: 0; border-radius: .25rem; padding: .6rem 1.2rem; cursor: pointer; }
.error { background: #fdecea; border-left: .3rem solid #8a1c1c; padding: .75rem 1rem; margin: 1rem 0; }
.note { color: #4a4a4a; font-size: .95rem; }
@media (max-width: 30rem) { main { margin: 0; border-radius: 0; padding: 1rem; } dl { grid-template-columns: 1fr; } dt { margin-top: .5rem; } }
</style>
</head>
<body>{{end}}

{{define "facts"}}
<dl>
<dt>Site</dt><dd class="name">{{.Name}}</dd>
{{if .Title}}<dt>Category</dt><dd>{{.Title}}</dd>{{end}}
{{if .Service}}<dt>Service</dt><dd>{{.Service}} (not a service the city approved)</dd>{{end}}
{{if .Policy}}<dt>Policy</dt><dd>{{.Policy}}</dd>{{end}}
<dt>Your department</dt><dd>{{.Department}}</dd>
<dt>Your device</dt><dd>{{.Client}}</dd>
<dt>Time</dt><dd>{{when .Time}}</dd>
<dt>Reference</dt><dd>{{.Reference}}</dd>
</dl>
{{end}}

{{define "contact"}}{{if .Contact}}<p class="note">Questions: {{.Contact}}. Please give the reference above.</p>{{end}}{{end}}

{{define "page"}}{{template "head" (print (or .Name "civicdns") " — " (or (and .Blocked "blocked") "not blocked"))}}
{{if .Suspended}}
<main aria-labelledby="title">
<h1 id="title">Internet access from this device is suspended</h1>
<p>The city network answers no site for this device until its access is restored.{{if .Reason}} Reason given: {{.Reason}}.{{end}}</p>
{{template "facts" .}}
<p>To have it restored, contact your director or the help desk{{if .Contact}}: {{.Contact}}{{end}}. Please give the reference above.</p>
</main>
{{else if .Blocked}}
<main aria-labelledby="title">
<h1 id="title">This site is blocked by the city's Internet-use policy</h1>
<p>The city network does not open <span class="name">{{.Name}}</span>{{if .Service}} ({{.Service}}){{end}}{{if .Title}}: it is listed as <strong>{{.Title}}</strong>{{end}}.{{if .Policy}} The rule: <em>{{.Policy}}</em>.{{end}}</p>
{{if .OpensAt}}<p><strong>Personal use of this category is allowed for your department from {{.OpensAt}}.</strong></p>{{end}}
{{template "facts" .}}
{{if .CanRequest}}
<h2 id="ask">Need it for your work? Ask for an exemption</h2>
<p>Your request goes to the director of your department, who may approve it for a time.</p>
{{if .Error}}<div class="error" role="alert">{{.Error}}</div>{{end}}
<form method="post" action="/.civicdns/request" aria-labelledby="ask">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<input type="hidden" name="reference" value="{{.Reference}}">
<label for="requester">Your name</label>
<input id="requester" name="requester" autocomplete="name" required maxlength="100" value="{{index .Form "requester"}}">
<label for="email">Your work e-mail</label>
<input id="email" name="email" type="email" autocomplete="email" required maxlength="200" value="{{index .Form "email"}}">
<label for="reason">Why you need this site for your work</label>
<textarea id="reason" name="reason" required minlength="10" maxlength="2000">{{index .Form "reason"}}</textarea>
<button type="submit">Send the request</button>
</form>
{{else if .Error}}<div class="error" role="alert">{{.Error}}</div>{{end}}
{{template "contact" .}}
</main>
{{else}}
<main class="ok" aria-labelledby="title">
<h1 id="title">{{if .Name}}This site is not blocked for your device{{else}}civicdns block page{{end}}</h1>
{{if .Exempted}}<p>An exemption ({{.Exemption}}, until {{.Expires}}) lets your device reach <span class="name">{{.Name}}</span>. If the browser still shows this page, wait a minute and reload it.</p>
{{else if .Name}}<p><span class="name">{{.Name}}</span> is not blocked for your device. If the browser still shows this page, wait a minute and reload it.</p>{{end}}
{{if .Error}}<div class="error" role="alert">{{.Error}}</div>{{end}}
{{template "facts" .}}
{{template "contact" .}}
</main>
{{end}}
</body></html>{{end}}

{{define "status"}}{{template "head" "Exemption request"}}
<main class="ok" id="request-status" aria-labelledby="title">
{{with .Request}}
<h1 id="title">Exemption request {{.ID}}</h1>
{{if eq .Status "pending"}}<p>Your request was received and stored. The director of your department will decide on it. Keep the number <strong>{{.ID}}</strong>: this page, at <span class="name">/.civicdns/request/{{.ID}}</span>, shows what became of it.</p>{{end}}
{{if eq .Status "approved"}}<p>Your request was <strong>approved</strong> on {{when .DecidedAt}}{{if .Expires}}, until the end of {{.Expires}}{{end}}.</p>{{end}}
{{if eq .Status "denied"}}<p>Your request was <strong>denied</strong> on {{when .DecidedAt}}. Your department's director can tell you why.</p>{{end}}
<dl>
<dt>Request</dt><dd>{{.ID}}</dd>
<dt>Site</dt><dd class="name">{{.Name}}</dd>
<dt>Category</dt><dd>{{.Category}}</dd>
<dt>Status</dt><dd>{{.Status}}</dd>
<dt>Sent</dt><dd>{{when .Time}}</dd>
</dl>
{{else}}
<h1 id="title">Exemption request</h1>
{{if $.Error}}<div class="error" role="alert">{{$.Error}}</div>{{end}}
{{end}}
{{template "contact" .Facts}}
</main>
</body></html>{{end}}
`))
