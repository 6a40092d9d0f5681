package console

import "html/template"

// The roaming devices page, in the console's one template set.
var _ = template.Must(pages.Parse(`
{{define "devices"}}{{template "head" "Roaming devices"}}
<header><h1>Roaming devices{{if not .Admin}} of {{typed .Department}}{{end}}</h1>
<nav><a href="/" style="color:#fff">Exemptions</a>
<form class="inline" method="post" action="/signout"><span>{{typed .Director}}{{if .Admin}} (admin){{end}}</span> <input type="hidden" name="csrf" value="{{.CSRF}}"><button type="submit">Sign out</button></form></nav></header>
<main>
{{if .ReadOnly}}<div class="readonly" role="alert">{{.ReadOnly}}</div>{{end}}
{{if .Done}}<div class="done" role="status">{{.Done}}</div>{{end}}
{{with .Enrolled}}<section aria-labelledby="new"><h2 id="new">“{{typed .Name}}” of {{typed .Department}} is enrolled: {{.ID}}</h2>
<p><strong>Set the device up now: its token is shown only on this page.</strong> civicdns keeps only a hash of it; a lost token is revoked and the device enrolled again.</p>
<table><tbody>
{{if .DoH}}<tr><th>DNS over HTTPS (Windows, Android, Apple, browsers)</th><td class="name">{{.DoH}}</td></tr>{{end}}
{{if .DoT}}<tr><th>DNS over TLS (Android “Private DNS”)</th><td class="name">{{.TLSName}}{{if ne .DoTPort 853}} (port {{.DoTPort}}){{end}}</td></tr>{{end}}
{{if .DoQ}}<tr><th>DNS over QUIC</th><td class="name">{{.TLSName}}{{if ne .DoQPort 853}} (port {{.DoQPort}}){{end}}</td></tr>{{end}}
</tbody></table>
{{if .QR}}<figure>{{.QR}}<figcaption class="muted">The DoH URL, for a tablet's camera.</figcaption></figure>{{end}}
</section>{{end}}

<section aria-labelledby="list"><h2 id="list">{{if .Admin}}Every department's devices{{else}}The department's devices{{end}}</h2>
{{if not .Devices}}<p class="muted">No device is enrolled.</p>{{else}}
<table><thead><tr><th>ID</th><th>Name</th><th>Department</th><th>Enrolled by</th><th>When</th><th>Status</th>{{if .Admin}}<th></th>{{end}}</tr></thead><tbody>
{{range .Devices}}<tr><td>{{.ID}}</td><td class="name">{{typed .Name}}</td><td>{{typed .Department}}</td><td>{{typed .By}}</td><td>{{when .Time}}</td>
<td>{{if .Revoked}}revoked by {{typed .RevokedBy}} {{when .RevokedAt}}{{else}}active{{end}}</td>
{{if $.Admin}}<td>{{if not .Revoked}}<form class="inline" method="post" action="/devices/{{.ID}}/revoke"><input type="hidden" name="csrf" value="{{$.CSRF}}"><button class="revoke" type="submit">Revoke</button></form>{{end}}</td>{{end}}</tr>
{{end}}</tbody></table>{{end}}
{{if not .Admin}}<p class="muted">The network admins enroll and revoke devices.</p>{{end}}</section>

{{if .Admin}}<section aria-labelledby="add"><h2 id="add">Enroll a device</h2>
<form method="post" action="/devices"><input type="hidden" name="csrf" value="{{.CSRF}}">
<label for="dev-dept">Department</label><select id="dev-dept" name="department">{{range .Departments}}<option>{{.}}</option>{{end}}</select>
<label for="dev-name">Name</label><input type="text" id="dev-name" name="name" maxlength="100" required placeholder="Patrol car 12">
<button type="submit">Enroll</button></form>
<p class="muted">The device gets its department's policy from anywhere (LTE, home networks); the query log names it.</p></section>{{end}}
</main></body></html>{{end}}
`))
