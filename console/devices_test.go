package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/civicdns/civicdns/devices"
	"github.com/civicdns/civicdns/internal/dnstest"
	"github.com/civicdns/civicdns/state"
)

// An admin enrolls a device in a form: the page shows its DoH URL, its
// DoT name and a QR code once, the name escaped; the device is live at
// once and the token is nowhere else. A department's director sees their
// own department's devices only and may neither enroll nor revoke; the
// admin revokes, audited.
func TestAdminsEnrollAndRevokeDevices(t *testing.T) {
	t.Parallel()
	certPath, keyPath, _ := dnstest.CertFiles(t, "dns.city.example")
	f := newFixtureWith(t, false, `name = "dns.city.example"
https_listen = ["127.0.0.1:8443"]
tls_listen = ["127.0.0.1:853"]
tls_cert = "`+certPath+`"
tls_key = "`+keyPath+`"
---
[[director]]
name = "Network Admin"
department = "Police"
role = "admin"
password_hash = "`+hash(t, "admin all the things")+`"
`)
	admin, csrf := f.client(t, "Network Admin", "admin all the things")
	admin.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	form := func(c *http.Client, path string, v url.Values) (int, string) {
		return do(t, c, "POST", f.srv.URL+path, strings.NewReader(v.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": f.srv.URL})
	}
	code, page := form(admin, "/devices", url.Values{"csrf": {csrf}, "department": {"Parks"}, "name": {`Inspector <b>tablet</b>`}})
	m := regexp.MustCompile(`https://dns\.city\.example:8443/dns-query/([a-z2-7]{26})`).FindStringSubmatch(page)
	if code != http.StatusCreated || m == nil {
		t.Fatalf("enroll: %d\n%s", code, page)
	}
	token := m[1]
	for _, want := range []string{token + ".dns.city.example", "<svg", "Inspector &lt;b&gt;tablet&lt;/b&gt;", "shown only on this page"} {
		if !strings.Contains(page, want) {
			t.Errorf("the enrolment page lacks %q", want)
		}
	}
	if strings.Contains(page, "<b>tablet") {
		t.Error("the device's name is not escaped")
	}
	dev := f.state.Snapshot().Devices.Lookup(devices.KeyOf(token))
	if dev == nil || dev.Department != "Parks" {
		t.Fatalf("the device is not live: %+v", dev)
	}
	// The list shows it, never the token again.
	if code, list := do(t, admin, "GET", f.srv.URL+"/devices", nil, nil); code != 200 || !strings.Contains(list, dev.ID) || strings.Contains(list, token) {
		t.Fatalf("the admin's list: %d", code)
	}
	parks, parksCSRF := f.client(t, "Parks Director", "green fields forever")
	chief, chiefCSRF := f.client(t, "Chief of Police", "correct horse battery")
	if _, list := do(t, parks, "GET", f.srv.URL+"/devices", nil, nil); !strings.Contains(list, dev.ID) || strings.Contains(list, `action="/devices"`) {
		t.Error("Parks does not see its device, or is offered to enroll")
	}
	if _, list := do(t, chief, "GET", f.srv.URL+"/api/v1/devices", nil, nil); strings.Contains(list, dev.ID) {
		t.Error("the Chief of Police sees a Parks device")
	}
	if code, _ := form(parks, "/devices", url.Values{"csrf": {parksCSRF}, "department": {"Parks"}, "name": {"mine"}}); code != http.StatusForbidden {
		t.Errorf("a director enrolling: %d", code)
	}
	if code, _ := form(chief, "/devices/"+dev.ID+"/revoke", url.Values{"csrf": {chiefCSRF}}); code != http.StatusForbidden {
		t.Errorf("a director revoking: %d", code)
	}
	// The API: enroll with JSON, then revoke both.
	code, body := do(t, admin, "POST", f.srv.URL+"/api/v1/devices", strings.NewReader(`{"department":"police","name":"Patrol car 12"}`),
		map[string]string{"Content-Type": "application/json", "X-CSRF-Token": csrf})
	var created struct {
		Device *state.Device `json:"device"`
		Token  string        `json:"token"`
		DoH    string        `json:"doh"`
	}
	if json.Unmarshal([]byte(body), &created); code != http.StatusCreated || created.Device.Department != "Police" || !strings.HasSuffix(created.DoH, "/dns-query/"+created.Token) {
		t.Fatalf("API enroll: %d %s", code, body)
	}
	for _, id := range []string{dev.ID, created.Device.ID} {
		if code, _ := form(admin, "/devices/"+id+"/revoke", url.Values{"csrf": {csrf}}); code != http.StatusSeeOther {
			t.Fatalf("revoke %s: %d", id, code)
		}
	}
	if f.state.Snapshot().Devices.Len() != 0 {
		t.Fatal("revoked devices are still live")
	}
	if code, _ := form(admin, "/devices/D-NOSUCH/revoke", url.Values{"csrf": {csrf}}); code != http.StatusNotFound {
		t.Errorf("revoking an unknown device: %d", code)
	}
	audit, _ := f.store.AuditSince(f.clock.Now().AddDate(-1, 0, 0))
	n := 0
	for _, ev := range audit {
		if strings.HasPrefix(ev.Action, "device-") && ev.Who == "Network Admin" && ev.From != "" {
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d device actions audited with who and from, want 4", n)
	}
}
