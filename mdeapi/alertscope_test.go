package mdeapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/ratelimit"
	"github.com/openatp/openatp/ratelimit/ratelimittest"
)

// An alert of a machine outside a delegated Caller's device groups is
// answered exactly like one that does not exist, by every route, reads and
// writes alike; lists, counts and a user's alerts leave it out; the
// documented permissions and roles are required.
func TestAlertAPIHidesOtherGroups(t *testing.T) {
	f := apitest.RBACFixture(t, false)
	ctx := context.Background()
	if err := f.Store.PutRole(ctx, f.Tenant.ID, openatp.Role{Name: "Investigator",
		Permissions: []string{openatp.PermViewData, openatp.PermAlertsInvestigation}, UserGroups: []string{"g-inv"}}); err != nil {
		t.Fatal(err)
	}
	p := openatp.Ptr[string]
	at := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	if err := f.Store.UpsertAlerts(ctx, f.Tenant.ID, []openatp.Alert{
		{ID: "visible-1", Severity: "Low", Status: "New", MachineID: machine1, Title: p("seen"), LastUpdateTime: &at,
			RelatedUser: &openatp.AlertAccount{Name: "user1", Domain: p("contoso")}},
		{ID: "hidden-1", Severity: "High", Status: "New", MachineID: apitest.VaultMachine, Title: p("vault"), LastUpdateTime: &at,
			RelatedUser: &openatp.AlertAccount{Name: "vaultonly", Domain: p("contoso")}},
	}); err != nil {
		t.Fatal(err)
	}
	dapp := f.DelegatedApp(t, f.Tenant, openatp.PermAlertReadWrite, openatp.PermMachineRead, openatp.PermUserReadAll)
	ana := f.Delegated(t, f.Tenant, dapp, "ana@contoso.com", "g-ana", "g-inv")
	same := func(route string, hidden, missing apitest.Response, hid, unknown string) {
		t.Helper()
		h := bytes.ReplaceAll(f.Normalized(t, hidden), []byte(hid), []byte("<id>"))
		m := bytes.ReplaceAll(f.Normalized(t, missing), []byte(unknown), []byte("<id>"))
		if hidden.Status != 404 || hidden.Status != missing.Status || !bytes.Equal(h, m) {
			t.Errorf("%s: hidden %d %s\nunknown %d %s", route, hidden.Status, h, missing.Status, m)
		}
	}
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/alerts/%s", ""},
		{"GET", "/api/alerts/%s/machine", ""},
		{"GET", "/api/alerts/%s/user", ""},
		{"PATCH", "/api/alerts/%s", `{"status":"Resolved"}`},
		{"POST", "/api/alerts/batchUpdate", `{"alertIds":["%s"],"status":"Resolved"}`},
	} {
		hidden := f.SendJSON(t, c.method, strings.ReplaceAll(c.path, "%s", "hidden-1"), ana, strings.ReplaceAll(c.body, "%s", "hidden-1"))
		missing := f.SendJSON(t, c.method, strings.ReplaceAll(c.path, "%s", "nosuchalert"), ana, strings.ReplaceAll(c.body, "%s", "nosuchalert"))
		same(c.method+" "+c.path, hidden, missing, "hidden-1", "nosuchalert")
	}
	unknown := strings.Repeat("4", 40)
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/machines/%s/alerts", ""},
		{"GET", "/api/machines/%s/alerts/$count", ""},
		{"POST", "/api/alerts/CreateAlertByReference", `{"eventTime":"` + time.Now().UTC().Format(time.RFC3339) +
			`","reportId":"1","machineId":"%s","severity":"Low","title":"t","description":"d","recommendedAction":"r","category":"General"}`},
	} {
		hidden := f.SendJSON(t, c.method, strings.ReplaceAll(c.path, "%s", apitest.VaultMachine), ana, strings.ReplaceAll(c.body, "%s", apitest.VaultMachine))
		missing := f.SendJSON(t, c.method, strings.ReplaceAll(c.path, "%s", unknown), ana, strings.ReplaceAll(c.body, "%s", unknown))
		same(c.method+" "+c.path, hidden, missing, apitest.VaultMachine, unknown)
	}
	// A user known only through hidden machines and alerts is unknown.
	same("GET /api/users/{id}/alerts", f.Do(t, "GET", "/api/users/vaultonly/alerts", ana), f.Do(t, "GET", "/api/users/nobody/alerts", ana), "vaultonly", "nobody")

	app := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "siem", openatp.PermAlertReadAll))
	for _, path := range []string{"/api/alerts?$count=true&$select=id", "/api/alerts?$filter=id+eq+'hidden-1'&$count=true",
		"/api/alerts?$filter=severity+eq+'High'", "/api/users/user1/alerts"} {
		if r := f.Do(t, "GET", path, ana); r.Status != 200 || bytes.Contains(r.Body, []byte("hidden-1")) {
			t.Errorf("%s as ana: %d %s", path, r.Status, r.Body)
		}
	}
	if r := f.Do(t, "GET", "/api/alerts?$filter=id+eq+'hidden-1'&$count=true", ana); !bytes.Contains(r.Body, []byte(`"@odata.count":0`)) {
		t.Errorf("count of the hidden alert: %s", r.Body)
	}
	if r := f.Do(t, "GET", "/api/alerts?$count=true&$select=id", app); !bytes.Contains(r.Body, []byte("hidden-1")) || !bytes.Contains(r.Body, []byte(`"@odata.count":2`)) {
		t.Errorf("the application's list: %s", r.Body)
	}
	// The writes changed nothing.
	if a, err := f.Store.Alert(ctx, f.Tenant.ID, "hidden-1"); err != nil || a.Status != "New" {
		t.Errorf("hidden alert after refused writes: %+v, %v", a, err)
	}

	// Permissions and roles.
	viewer := f.Delegated(t, f.Tenant, dapp, "vic@contoso.com", "g-ana") // View Data only
	readScope := f.Delegated(t, f.Tenant, f.DelegatedApp(t, f.Tenant, openatp.PermAlertRead), "rea@contoso.com", "g-ana", "g-inv")
	noView := f.Delegated(t, f.Tenant, dapp, "nov@contoso.com", "g-noview")
	for _, c := range []struct {
		name, method, path, body, token, golden string
		status                                  int
	}{
		{"write without the role", "PATCH", "/api/alerts/visible-1", `{"status":"Resolved"}`, viewer, "alert-patch-403-role", 403},
		{"write with a read scope", "PATCH", "/api/alerts/visible-1", `{"status":"Resolved"}`, readScope, "alert-patch-403-scope", 403},
		{"read without View Data", "GET", "/api/alerts", "", noView, "alerts-403-view-data", 403},
		{"read with a read scope", "GET", "/api/alerts/visible-1", "", readScope, "", 200},
		{"write with the role", "PATCH", "/api/alerts/visible-1", `{"comment":"mine"}`, ana, "", 200},
	} {
		r := f.SendJSON(t, c.method, c.path, c.token, c.body)
		if r.Status != c.status {
			t.Fatalf("%s: %d %s", c.name, r.Status, r.Body)
		}
		if c.golden != "" {
			apitest.Golden(t, c.golden, f.Normalized(t, r))
		}
	}
	if a, _ := f.Store.Alert(ctx, f.Tenant.ID, "visible-1"); len(a.Comments) != 1 || *a.Comments[0].CreatedBy != "ana@contoso.com" || a.Status != "New" {
		t.Errorf("visible alert after the writes: %+v", a)
	}
}

// batchUpdate and CreateAlertByReference have their documented, tighter
// limits (10 and 15 calls a minute), each its own budget; refused calls
// get 429 with Retry-After.
func TestAlertRateLimits(t *testing.T) {
	clk := ratelimittest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	f, tok := alertFixture(t, func(c *apitest.Config) {
		c.Limiter = ratelimit.NewMemory(ratelimit.Service, clk.Now)
		c.EndpointLimiters = map[string]httpserve.Limiter{}
		for endpoint, p := range ratelimit.Endpoints {
			c.EndpointLimiters[endpoint] = ratelimit.NewMemory(p, clk.Now)
		}
	})
	batch := `{"alertIds":["` + alertA1 + `"],"comment":"x"}`
	create := `{"eventTime":"` + time.Now().UTC().Format(time.RFC3339) + `","reportId":"1","machineId":"` + machine1 +
		`","severity":"Low","title":"t","description":"d","recommendedAction":"r","category":"General"}`
	for _, c := range []struct {
		path, body, golden string
		allowed            int
	}{
		{"/api/alerts/batchUpdate", batch, "alerts-batch-429", 10},
		{"/api/alerts/CreateAlertByReference", create, "alert-create-429", 15},
	} {
		for i := range c.allowed {
			if r := f.SendJSON(t, "POST", c.path, tok, c.body); r.Status != 200 {
				t.Fatalf("%s call %d: %d %s", c.path, i+1, r.Status, r.Body)
			}
		}
		r := f.SendJSON(t, "POST", c.path, tok, c.body)
		if r.Status != 429 || r.Header.Get("Retry-After") != "60" {
			t.Fatalf("%s call %d: %d, Retry-After %q: %s", c.path, c.allowed+1, r.Status, r.Header.Get("Retry-After"), r.Body)
		}
		apitest.Golden(t, c.golden, f.Normalized(t, r))
		// The 2018 path of CreateAlertByReference shares its budget.
		if strings.HasSuffix(c.path, "CreateAlertByReference") {
			if r := f.SendJSON(t, "POST", "/api/CreateAlertByReference", tok, c.body); r.Status != 429 {
				t.Errorf("the 2018 path after the limit: %d", r.Status)
			}
		}
	}
	// Reads have the service's budget, apart.
	for i := range 100 {
		if r := f.Do(t, "GET", "/api/alerts?$top=1", tok); r.Status != 200 {
			t.Fatalf("read %d: %d", i+1, r.Status)
		}
	}
	if r := f.Do(t, "GET", "/api/alerts/"+alertA1, tok); r.Status != 429 {
		t.Errorf("read 101: %d", r.Status)
	}
	if r := f.Do(t, "GET", "/api/machines/"+machine1+"/alerts", tok); r.Status != 200 {
		t.Errorf("a machine's alerts have their own budget: %d", r.Status)
	}
	clk.Set(clk.Now().Add(time.Minute))
	if r := f.SendJSON(t, "POST", "/api/alerts/batchUpdate", tok, batch); r.Status != 200 {
		t.Errorf("a minute later: %d", r.Status)
	}
}

// A real GET /api/alerts?$expand=evidence answer (the live example's
// shape), loaded through the admin API, reads back with the same values,
// byte for byte but for what openatp does not model.
func TestAlertsLiveAnswerReadsBack(t *testing.T) {
	f := apitest.AdminFixture(t)
	body, err := os.ReadFile(filepath.Join("..", "ingest", "testdata", "alerts-live.json"))
	if err != nil {
		t.Fatal(err)
	}
	r := f.Admin(t, "POST", "/_openatp/tenants/"+f.Tenant.ID+"/alerts", apitest.AdminKey, "application/json", body)
	if r.Status != 200 || !bytes.Contains(r.Body, []byte(`"domains":2`)) {
		t.Fatalf("load: %d %s", r.Status, r.Body)
	}
	if err := f.Store.CreateGroup(context.Background(), f.Tenant.ID, openatp.DeviceGroup{ID: 9, Name: "A", Rank: 2,
		Rules: []openatp.RuleRow{{Property: openatp.RuleName, Values: []string{"temp123"}}}}); err != nil {
		t.Fatal(err)
	}
	tok := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "siem", openatp.PermAlertReadAll))
	var env struct{ Value []json.RawMessage }
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	idOf := func(raw []byte) string {
		var v struct{ ID string }
		_ = json.Unmarshal(raw, &v)
		return v.ID
	}
	want := map[string]string{} // by id: the list is ordered by lastUpdateTime, the answer by id
	for _, v := range env.Value {
		var b bytes.Buffer
		_ = json.Compact(&b, v)
		want[idOf(v)] = strings.Replace(b.String(), `,"domains":[]`, "", 1)
	}
	r = f.Do(t, "GET", "/api/alerts?$expand=evidence", tok)
	var got struct{ Value []json.RawMessage }
	if err := json.Unmarshal(r.Body, &got); err != nil || len(got.Value) != len(want) {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	for _, g := range got.Value {
		id := idOf(g)
		if string(g) != want[id] {
			t.Errorf("alert %s:\n got %s\nwant %s", id, g, want[id])
		}
		one := f.Do(t, "GET", "/api/alerts/"+id, tok)
		prefix := `{"@odata.context":"` + f.Srv.URL + `/api/$metadata#Alerts/$entity",`
		if string(one.Body) != prefix+want[id][1:] {
			t.Errorf("GET /api/alerts/%s:\n got %s", id, one.Body)
		}
	}
	// Without $expand, the list's evidence is empty (documented example 1).
	r = f.Do(t, "GET", "/api/alerts", tok)
	if n := strings.Count(string(r.Body), `"evidence":[]`); n != 2 {
		t.Errorf("%d alerts with empty evidence without $expand: %s", n, r.Body)
	}
}

// An alert shows its machine's name and device group as they are now: a
// renamed or regrouped machine shows in its alerts at the next read, and
// deleting the machine deletes its alerts.
func TestAlertsFollowTheirMachine(t *testing.T) {
	f, tok := alertFixture(t, nil)
	ctx := context.Background()
	get := func() (name, group any, status int) {
		t.Helper()
		r := f.Do(t, "GET", "/api/alerts/"+alertA1, tok)
		var v map[string]any
		_ = json.Unmarshal(r.Body, &v)
		return v["computerDnsName"], v["rbacGroupName"], r.Status
	}
	if name, group, _ := get(); name != "mymachine1.contoso.com" || group != "The-A-Team" {
		t.Fatalf("before: %v, %v", name, group)
	}
	if _, err := f.Store.UpdateMachine(ctx, f.Tenant.ID, machine1, func(m *openatp.Machine) error {
		m.ComputerDNSName, m.MachineTags = openatp.Ptr(`renamed"\.contoso.com`), []string{}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if name, group, _ := get(); name != `renamed"\.contoso.com` || group != nil {
		t.Errorf("after a rename out of its group: %v, %v", name, group)
	}
	if r := f.Do(t, "GET", "/api/alerts?$filter=machineId+eq+'"+machine1+"'&$select=id,computerDnsName", tok); !strings.Contains(string(r.Body), `renamed\"\\.contoso.com`) {
		t.Errorf("the list: %s", r.Body)
	}
	if err := f.Store.DeleteMachine(ctx, f.Tenant.ID, machine1); err != nil {
		t.Fatal(err)
	}
	if _, _, status := get(); status != 404 {
		t.Errorf("an alert of a deleted machine: %d", status)
	}
}
