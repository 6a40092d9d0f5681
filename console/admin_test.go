package console

import (
	"net/http"
	"strings"
	"testing"
)

// An admin sees and decides for every department (?department=), a
// department's director their own alone, whatever they ask for.
func TestAdminsSeeEveryDepartment(t *testing.T) {
	t.Parallel()
	f := newFixtureWith(t, false, `
---
[[director]]
name = "Network Admin"
department = "Police"
role = "admin"
password_hash = "`+hash(t, "admin all the things")+`"
`)
	admin, csrf := f.client(t, "Network Admin", "admin all the things")
	if _, page := do(t, admin, "GET", f.srv.URL+"/?department=parks", nil, nil); !strings.Contains(page, "Exemptions for Parks") || !strings.Contains(page, f.parks.ID) ||
		!strings.Contains(page, `name="department"`) || strings.Contains(page, f.police.ID) {
		t.Fatal("the admin's view of Parks")
	}
	if _, list := do(t, admin, "GET", f.srv.URL+"/api/v1/requests?department=Parks", nil, nil); !strings.Contains(list, f.parks.ID) {
		t.Error("the API for an admin")
	}
	code, _ := do(t, admin, "POST", f.srv.URL+"/api/v1/requests/"+f.parks.ID+"/deny", strings.NewReader(`{"note":"no"}`),
		map[string]string{"Content-Type": "application/json", "X-CSRF-Token": csrf})
	if code != http.StatusOK {
		t.Errorf("the admin deciding for Parks: %d", code)
	}
	chief, _ := f.client(t, "Chief of Police", "correct horse battery")
	if _, page := do(t, chief, "GET", f.srv.URL+"/?department=Parks", nil, nil); strings.Contains(page, f.parks.ID) || !strings.Contains(page, "Exemptions for Police") ||
		strings.Contains(page, `name="department"`) {
		t.Error("a department's director saw another department")
	}
}
