package adminapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/actions"
	"github.com/openatp/openatp/apitest"
)

// TestAdminImportActions: a page of GET /api/machineactions, posted to
// another tenant's machineactions, makes its GET /api/machineactions the
// same; posting it again changes nothing; a live action imported is
// driven by the server's clock at once; a body with a bad record is
// refused whole, naming its line and property.
func TestAdminImportActions(t *testing.T) {
	timings := &actions.Timings{}
	timings.Set("", "", openatp.ActionTiming{Pending: time.Hour, InProgress: time.Hour, TimeOut: 2 * time.Hour})
	f := apitest.NewFixture(t, func(c *apitest.Config) {
		clock, err := actions.Start(context.Background(), actions.Config{Store: c.Store, Timing: timings.Timing})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { clock.Close() })
		c.Actions = clock
	})
	f.SetAdminKey(t)
	ms := []openatp.Machine{{ID: apitest.MID(1), ComputerDNSName: openatp.Ptr("act1.contoso.com")}, {ID: apitest.MID(2)}}
	b, c := f.NewTenant(t, "fabrikam.onmicrosoft.com"), f.NewTenant(t, "tailspin.onmicrosoft.com")
	for _, tn := range []openatp.Tenant{f.Tenant, b, c} {
		f.Load(t, tn, ms, nil)
	}
	timings.Set(c.ID, "", openatp.ActionTiming{TimeOut: time.Hour}) // C's actions move at once
	tok := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "soar", append([]string{openatp.PermMachineReadAll}, openatp.ActionPermissions...)...))
	tokB := f.Token(t, b, f.NewApp(t, b, "reader", openatp.PermMachineReadAll))
	tokC := f.Token(t, c, f.NewApp(t, c, "reader", openatp.PermMachineReadAll))

	// Tenant A's actions, through the API: a pending isolation, a
	// cancelled scan.
	isolate := f.SendJSON(t, "POST", "/api/machines/"+apitest.MID(1)+"/isolate", tok, `{"Comment":"isolate","IsolationType":"Selective"}`)
	scan := f.SendJSON(t, "POST", "/api/machines/"+apitest.MID(2)+"/runAntiVirusScan", tok, `{"Comment":"scan","ScanType":"Quick"}`)
	if isolate.Status != 201 || scan.Status != 201 {
		t.Fatalf("actions: %d %s, %d %s", isolate.Status, isolate.Body, scan.Status, scan.Body)
	}
	var iso, sc struct{ ID string }
	if json.Unmarshal(isolate.Body, &iso) != nil || json.Unmarshal(scan.Body, &sc) != nil {
		t.Fatal("bad action answers")
	}
	if r := f.SendJSON(t, "POST", "/api/machineactions/"+sc.ID+"/cancel", tok, `{"Comment":"not now"}`); r.Status != 200 {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	page := f.Do(t, "GET", "/api/machineactions", tok)
	if page.Status != 200 || strings.Count(string(page.Body), `"requestorComment"`) != 2 {
		t.Fatalf("GET /api/machineactions: %d %s", page.Status, page.Body)
	}

	post := func(tn openatp.Tenant, ctype string, body []byte) apitest.Response {
		return f.Admin(t, "POST", "/_openatp/tenants/"+tn.ID+"/machineactions", apitest.AdminKey, ctype, body)
	}
	for i := range 2 { // again: nothing changes
		r := post(b, "application/json", page.Body)
		if r.Status != 200 || !strings.Contains(string(r.Body), `"kind":"actions"`) || !strings.Contains(string(r.Body), `"records":2`) {
			t.Fatalf("import %d: %d %s", i, r.Status, r.Body)
		}
		if got := f.Do(t, "GET", "/api/machineactions", tokB); got.Status != 200 || string(got.Body) != string(page.Body) {
			t.Fatalf("import %d: tenant B answers\n%s\nwant\n%s", i, got.Body, page.Body)
		}
	}

	// The live isolation, imported into C, is on C's clock.
	if r := post(c, "", page.Body); r.Status != 200 {
		t.Fatalf("import into C: %d %s", r.Status, r.Body)
	}
	apitest.WaitFor(t, "the imported isolation to succeed", func() bool {
		r := f.Do(t, "GET", "/api/machineactions/"+iso.ID, tokC)
		return r.Status == 200 && strings.Contains(string(r.Body), `"status":"Succeeded"`)
	})
	if r := f.Do(t, "GET", "/api/machineactions/"+iso.ID, tokB); !strings.Contains(string(r.Body), `"status":"Pending"`) {
		t.Errorf("B's isolation moved: %s", r.Body)
	}

	// Bad bodies: refused whole.
	var env struct{ Value []json.RawMessage }
	if err := json.Unmarshal(page.Body, &env); err != nil {
		t.Fatal(err)
	}
	fresh := func(i int) string { // item i under a new id
		return strings.Replace(string(env.Value[i]), sc.ID, openatp.NewGUID(), 1)
	}
	for _, tc := range []struct{ name, body, msg string }{
		{"bad status", fresh(1) + "\n" + strings.Replace(fresh(1), `"status":"Cancelled"`, `"status":"Done"`, 1), `line 2: status: \"Done\" is not one of`},
		{"unknown machine", fresh(1) + "\n" + strings.Replace(fresh(1), apitest.MID(2), apitest.MID(9), 1), "line 2: machineId: the tenant has no machine " + apitest.MID(9)},
		{"changed type", fresh(1) + "\n" + strings.Replace(string(env.Value[1]), `"RunAntiVirusScan"`, `"Offboard"`, 1), "line 2: id: the tenant's machine action " + sc.ID + " has another type"},
		{"as CSV", "id,requestor,machineId\n1,2,3\n", "line 1: actions are imported from JSON or JSON Lines, not CSV"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(env.Value[1]), sc.ID) {
				t.Fatalf("the page's second item (by lastUpdateDateTimeUtc) is not the scan: %s", env.Value[1])
			}
			r := post(b, "application/x-ndjson", []byte(tc.body))
			if tc.name == "as CSV" {
				r = post(b, "text/csv", []byte(tc.body))
			}
			apitest.CheckError(t, r, 400, "InvalidInput")
			if !strings.Contains(string(r.Body), tc.msg) {
				t.Errorf("message does not say %q: %s", tc.msg, r.Body)
			}
			if got := f.Do(t, "GET", "/api/machineactions", tokB); string(got.Body) != string(page.Body) {
				t.Errorf("tenant B changed:\n%s", got.Body)
			}
		})
	}
}
