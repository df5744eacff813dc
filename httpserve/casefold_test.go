package httpserve_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
	"github.com/openatp/openatp/internal/demo"
)

// foldFixture is the admin fixture with the documentation's example alert
// on its machine, and a token of an application with every application
// permission, and machines apitest.MID(1) to MID(5). It returns the
// token, the alert's machine's id and the alert's id.
func foldFixture(t *testing.T) (f *apitest.Fixture, tok, machine, alert string) {
	t.Helper()
	f = apitest.AdminFixture(t)
	m, a := demo.DocAlert()
	ms := []openatp.Machine{m}
	for n := 1; n <= 5; n++ { // for the machine actions, one each
		ms = append(ms, openatp.Machine{ID: apitest.MID(n)})
	}
	f.Load(t, f.Tenant, ms, nil)
	if err := f.Store.UpsertAlerts(context.Background(), f.Tenant.ID, []openatp.Alert{a}); err != nil {
		t.Fatal(err)
	}
	app := f.NewApp(t, f.Tenant, "soar", openatp.ApplicationPermissions...)
	return f, f.Token(t, f.Tenant, app), m.ID, a.ID
}

// send sends a request as is (no redirect followed: a folded path is
// answered, never redirected) with a JSON body if body is not "".
func send(t *testing.T, f *apitest.Fixture, method, path, tok, body string) apitest.Response {
	t.Helper()
	req, err := http.NewRequest(method, f.Srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	c := *f.Srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return apitest.Answer(res, b)
}

// A path of every MDE route family in another case, under /api/v1.0/,
// with a trailing slash, is answered exactly as the route's own spelling
// is; a {name} keeps its value as sent; a literal route wins over a
// {name} that would take its segment.
func TestPathCaseAndTrailingSlash(t *testing.T) {
	f, tok, mid, aid := foldFixture(t)
	same := func(method, canonical, body string, variants ...string) apitest.Response {
		t.Helper()
		want := send(t, f, method, canonical, tok, body)
		if want.Status >= 300 && want.Status < 400 || want.Status == 404 && strings.Contains(string(want.Body), `"NotFound"`) {
			t.Fatalf("%s %s: %d %s", method, canonical, want.Status, want.Body)
		}
		for _, v := range variants {
			got := send(t, f, method, v, tok, body)
			if got.Status != want.Status || string(f.Normalized(t, got)) != string(f.Normalized(t, want)) ||
				got.Header.Get("Content-Type") != want.Header.Get("Content-Type") || got.Header.Get("Location") != "" {
				t.Errorf("%s %s: %d %s\nwant (as %s) %d %s", method, v, got.Status, got.Body, canonical, want.Status, want.Body)
			}
		}
		return want
	}

	// Users and machines.
	same("GET", "/api/users/user1/machines", "", "/api/Users/user1/Machines", "/api/USERS/user1/MACHINES/",
		"/api/V1.0/users/user1/machines", "/api/v1.0/Users/user1/machines/")
	same("GET", "/api/users/user1/alerts", "", "/api/users/user1/Alerts", "/api/v1.0/USERS/user1/alerts/")
	same("GET", "/api/machines", "", "/api/Machines", "/api/machines/", "/api/V1.0/MACHINES/")
	same("GET", "/api/machines?$top=1", "", "/api/MACHINES/?$top=1")
	same("GET", "/api/machines/findbytag?tag=x", "", "/api/machines/findByTag?tag=x", "/api/Machines/FINDBYTAG/?tag=x",
		"/api/v1.0/machines/FindByTag?tag=x")
	same("GET", "/api/machines/"+mid, "", "/api/Machines/"+mid, "/api/machines/"+mid+"/", "/api/v1.0/MACHINES/"+mid+"/")
	same("GET", "/api/machines/"+mid+"/logonusers", "", "/api/machines/"+mid+"/LogonUsers", "/api/MACHINES/"+mid+"/logonUsers/")
	same("GET", "/api/machines/"+mid+"/alerts/$count", "", "/api/Machines/"+mid+"/Alerts/$COUNT", "/api/machines/"+mid+"/alerts/%24Count/")
	same("POST", "/api/machines/"+mid+"/tags", `{"Value":"t1","Action":"Add"}`, "/api/machines/"+mid+"/Tags", "/api/Machines/"+mid+"/TAGS/")
	same("POST", "/api/machines/AddOrRemoveTagForMultipleMachines", `{"Value":"t2","Action":"Add","MachineIds":["`+mid+`"]}`,
		"/api/machines/addOrRemoveTagForMultipleMachines", "/api/Machines/ADDORREMOVETAGFORMULTIPLEMACHINES/")
	// A {name} keeps its case: the answer names the machine as sent.
	r := send(t, f, "GET", "/api/Machines/NoSuchMachine/", tok, "")
	apitest.CheckError(t, r, 404, "ResourceNotFound")
	if !strings.Contains(string(r.Body), "Machine NoSuchMachine was not found") {
		t.Errorf("GET /api/Machines/NoSuchMachine/: %s", r.Body)
	}

	// A literal route that does not lead on gives way to the {name}.
	r = send(t, f, "GET", "/api/Machines/FindByTag/Alerts", tok, "")
	apitest.CheckError(t, r, 404, "ResourceNotFound")
	if !strings.Contains(string(r.Body), "Machine FindByTag was not found") {
		t.Errorf("GET /api/Machines/FindByTag/Alerts: %s", r.Body)
	}

	// Alerts.
	same("GET", "/api/alerts", "", "/api/Alerts", "/api/ALERTS/", "/api/v1.0/Alerts")
	same("GET", "/api/alerts/"+aid, "", "/api/alerts/"+aid+"/", "/api/Alerts/"+aid, "/api/V1.0/alerts/"+aid+"/") // Sekoia's trailing slash
	same("GET", "/api/alerts/"+aid+"/machine", "", "/api/alerts/"+aid+"/Machine", "/api/ALERTS/"+aid+"/machine/")
	same("GET", "/api/alerts/"+aid+"/user", "", "/api/alerts/"+aid+"/User/")
	same("POST", "/api/alerts/batchUpdate", `{"alertIds":["`+aid+`"],"status":"InProgress"}`, "/api/alerts/BatchUpdate",
		"/api/Alerts/batchupdate/")

	// Machine actions.
	ctx := f.Srv.URL + "/api/$metadata#MachineActions/$entity"
	var ids []string
	for _, p := range []struct{ path, body, typ string }{
		{"/api/machines/" + apitest.MID(1) + "/Isolate", `{"Comment":"c","IsolationType":"Full"}`, "Isolate"},
		{"/api/Machines/" + apitest.MID(2) + "/UNISOLATE/", `{"Comment":"c"}`, "Unisolate"},
		{"/api/v1.0/machines/" + apitest.MID(3) + "/stopAndQuarantineFile", `{"Comment":"c","Sha1":"` + strings.Repeat("ab", 20) + `"}`, "StopAndQuarantineFile"}, // XSOAR's
		{"/api/machines/" + apitest.MID(4) + "/StopAndQuarantineFile/", `{"Comment":"c","Sha1":"` + strings.Repeat("cd", 20) + `"}`, "StopAndQuarantineFile"},     // Rapid7's
		{"/api/machines/" + apitest.MID(5) + "/CollectInvestigationPackage", `{"Comment":"c"}`, "CollectInvestigationPackage"},
	} {
		r := send(t, f, "POST", p.path, tok, p.body)
		var v map[string]any
		if err := json.Unmarshal(r.Body, &v); r.Status != 201 || err != nil || v["type"] != p.typ || v["@odata.context"] != ctx {
			t.Fatalf("POST %s: %d %s", p.path, r.Status, r.Body)
		}
		ids = append(ids, v["id"].(string))
	}
	same("GET", "/api/machineactions", "", "/api/MachineActions", "/api/machineActions/")
	same("GET", "/api/machineactions/"+ids[0], "", "/api/MachineActions/"+ids[0], "/api/machineactions/"+ids[0]+"/")
	pkg := ids[len(ids)-1]
	same("GET", "/api/machineactions/"+pkg+"/getPackageUri", "", "/api/MachineActions/"+pkg+"/GetPackageUri",
		"/api/machineactions/"+pkg+"/GetPackageUri/", "/api/V1.0/machineactions/"+pkg+"/getpackageuri")
	// cancel, beside {call} (which the mux gives Cancel): the literal wins.
	for _, p := range []string{"/api/machineactions/" + ids[0] + "/Cancel", "/api/MachineActions/" + ids[1] + "/CANCEL/"} {
		r = send(t, f, "POST", p, tok, `{"Comment":"stop"}`)
		if v := actionOf(r); r.Status != 200 || v["status"] != "Cancelled" {
			t.Errorf("POST %s: %d %s", p, r.Status, r.Body)
		}
	}
	same("GET", "/api/libraryfiles", "", "/api/LibraryFiles/")
	same("GET", "/api/investigations", "", "/api/Investigations", "/api/v1.0/investigations/")
}

func actionOf(r apitest.Response) map[string]any {
	var v map[string]any
	_ = json.Unmarshal(r.Body, &v)
	return v
}

// The wrong method on a path in another case is a 405 with Allow and the
// MDE body, as on the route's own spelling; a path that names no route,
// in any case, stays a 404.
func TestPathCaseMethodAndNotFound(t *testing.T) {
	f, tok, mid, _ := foldFixture(t)
	for _, c := range []struct{ method, canonical, variant, allow string }{
		{"DELETE", "/api/machines/" + mid + "/isolate", "/api/Machines/" + mid + "/ISOLATE", "POST"},
		{"PUT", "/api/users/user1/machines", "/api/users/user1/Machines/", "GET"},
		{"POST", "/api/alerts", "/api/v1.0/Alerts/", "GET"},
		{"GET", "/api/machineactions/x/cancel", "/api/MachineActions/x/CANCEL", "POST"},
	} {
		want := send(t, f, c.method, c.canonical, tok, "")
		got := send(t, f, c.method, c.variant, tok, "")
		apitest.CheckError(t, got, 405, "MethodNotAllowed")
		if got.Header.Get("Allow") != c.allow || string(f.Normalized(t, got)) != string(f.Normalized(t, want)) {
			t.Errorf("%s %s: Allow %q %s\nwant (as %s) Allow %q %s", c.method, c.variant, got.Header.Get("Allow"), got.Body,
				c.canonical, want.Header.Get("Allow"), want.Body)
		}
	}
	for _, p := range []string{"/api/Machines/" + mid + "/nosuch", "/API/machines", "/api/machinesx", "/api/", "/api/users/user1/machines/x"} {
		r := send(t, f, "GET", p, tok, "")
		apitest.CheckError(t, r, 404, "NotFound")
		if want := `"message":"No resource matches the path ` + p + `."`; !strings.Contains(string(r.Body), want) {
			t.Errorf("GET %s: %s, want %s", p, r.Body, want)
		}
	}
}

// A fault rule on a route applies to the route's path in any case, and
// not to a literal route beside its {name}; the journal names the route
// that answered, keeping the path as sent, and a query by route finds it.
func TestPathCaseFaultsAndJournal(t *testing.T) {
	f, tok, mid, _ := foldFixture(t)
	addFault(t, f, `{"id":"iso","route":"POST /api/machines/{id}/isolate","kind":"error","status":503}`)
	addFault(t, f, `{"id":"one","route":"GET /api/machines/{id}","kind":"error","status":500}`)
	r := send(t, f, "POST", "/api/Machines/"+mid+"/ISOLATE/", tok, `{"Comment":"c","IsolationType":"Full"}`)
	apitest.CheckError(t, r, 503, "ServiceUnavailable")
	apitest.CheckError(t, send(t, f, "GET", "/api/Machines/"+mid, tok, ""), 500, "InternalServerError")
	if r := send(t, f, "GET", "/api/machines/FindByTag?tag=x", tok, ""); r.Status != 200 {
		t.Errorf("GET /api/machines/FindByTag: %d %s (the rule on /api/machines/{id} applied)", r.Status, r.Body)
	}
	if r := send(t, f, "GET", "/api/Users/user1/Machines/", tok, ""); r.Status != 200 {
		t.Fatalf("GET /api/Users/user1/Machines/: %d %s", r.Status, r.Body)
	}

	type entry struct{ path, route, fault string }
	var got []entry
	for _, e := range journal(t, f, f.Tenant.ID, "") {
		got = append(got, entry{e.Path, str(e.Route), str(e.Fault)})
	}
	want := []entry{
		{"/api/Machines/" + mid + "/ISOLATE/", "POST /api/machines/{id}/isolate", "iso"},
		{"/api/Machines/" + mid, "GET /api/machines/{id}", "one"},
		{"/api/machines/FindByTag", "GET /api/machines/findbytag", "<null>"},
		{"/api/Users/user1/Machines/", "GET /api/users/{id}/machines", "<null>"},
	}
	if len(got) != len(want) {
		t.Fatalf("journal %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("journal entry %d: %v, want %v", i, got[i], want[i])
		}
	}
	for q, n := range map[string]int{
		"GET /api/users/{id}/machines":    1,
		"POST /api/machines/{id}/isolate": 1,
		"GET /api/machines/{id}":          1, // not FindByTag: findbytag answered it
		"GET /api/machines/findbytag":     1,
	} {
		if c := journalCount(t, f, f.Tenant.ID, "route="+url.QueryEscape(q)); c != n {
			t.Errorf("journal route=%s: %d entries, want %d", q, c, n)
		}
	}
}
