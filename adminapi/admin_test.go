package adminapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/adminapi"
	"github.com/openatp/openatp/apitest"
	"github.com/openatp/openatp/ratelimit"
)

func logonLine(n int, user string) string {
	return fmt.Sprintf(`{"machineId":%q,"accountName":%q,"accountDomain":"contoso","accountSid":null,"logonType":"Interactive","timestamp":"2024-06-01T10:00:00Z"}`, apitest.MID(n), user)
}

func stats(t *testing.T, f *apitest.Fixture) map[string]any {
	t.Helper()
	return f.AdminObject(t, "GET", "/_openatp/tenants/"+f.Tenant.ID+"/stats", nil, 200)
}

func TestAdminAuth(t *testing.T) {
	f := apitest.AdminFixture(t)
	path := "/_openatp/tenants/" + f.Tenant.ID + "/stats"
	for _, tc := range []struct {
		name   string
		header map[string]string
		status int
	}{
		{"no key", nil, 401},
		{"wrong key", map[string]string{"X-Openatp-Admin-Key": "nope"}, 401},
		{"a longer wrong key", map[string]string{"X-Openatp-Admin-Key": apitest.AdminKey + "x"}, 401},
		{"an API token is not the admin key", map[string]string{"Authorization": "Bearer " + f.Token(t, f.Tenant, f.App)}, 401},
		{"bearer", map[string]string{"Authorization": "Bearer " + apitest.AdminKey}, 200},
		{"bearer, any case", map[string]string{"Authorization": "bearer " + apitest.AdminKey}, 200},
		{"header", map[string]string{"X-Openatp-Admin-Key": apitest.AdminKey}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", f.Srv.URL+path, nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			res, err := f.Srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			r := apitest.Answer(res, body)
			if tc.status == 401 {
				apitest.CheckError(t, r, 401, "Unauthorized")
			} else if r.Status != tc.status {
				t.Errorf("status %d, want %d: %s", r.Status, tc.status, body)
			}
		})
	}
	// Refused before anything else: wrong methods too.
	apitest.CheckError(t, f.Admin(t, "DELETE", "/_openatp/tenants/"+f.Tenant.ID+"/reset", "bad", "", nil), 401, "Unauthorized")
	apitest.CheckError(t, f.Admin(t, "GET", "/_openatp/nothing", apitest.AdminKey, "", nil), 404, "NotFound")
	apitest.CheckError(t, f.Admin(t, "DELETE", "/_openatp/tenants/"+f.Tenant.ID+"/reset", apitest.AdminKey, "", nil), 405, "MethodNotAllowed")
}

func TestAdminIngest(t *testing.T) {
	f := apitest.AdminFixture(t)
	tok := f.Token(t, f.Tenant, f.App)
	base := "/_openatp/tenants/" + f.Tenant.Name // by name as well as by id
	before := stats(t, f)
	user1 := f.Do(t, "GET", "/api/users/user1/machines", tok)
	if user1.Status != 200 {
		t.Fatal(user1.Status)
	}

	// A JSON array of machines, then NDJSON logons: visible at once.
	arr := "[" + apitest.MachineLine(1, "") + ",\n" + apitest.MachineLine(2, `,"isExcluded":false,"vmMetadata":{"vmId":"x"}`) + "]"
	r := f.Admin(t, "PUT", base+"/machines", apitest.AdminKey, "application/json", []byte(arr))
	if r.Status != 200 || !strings.Contains(string(r.Body), `"records":2`) || !strings.Contains(string(r.Body), `"isExcluded":1`) {
		t.Fatalf("PUT machines: %d %s", r.Status, r.Body)
	}
	nd := logonLine(1, "newbie") + "\n" + logonLine(2, "newbie") + "\n"
	r = f.Admin(t, "POST", base+"/logons", apitest.AdminKey, "application/x-ndjson", []byte(nd))
	if r.Status != 200 {
		t.Fatalf("POST logons: %d %s", r.Status, r.Body)
	}
	got := f.Do(t, "GET", "/api/users/newbie/machines", tok)
	if got.Status != 200 || !strings.Contains(string(got.Body), apitest.MID(1)) || !strings.Contains(string(got.Body), apitest.MID(2)) {
		t.Fatalf("newbie: %d %s", got.Status, got.Body)
	}
	// An OData envelope, as a real GET /api/machines answers.
	env := `{"@odata.context":"https://api.security.microsoft.com/api/$metadata#Machines","value":[` + apitest.MachineLine(3, `,"rbacGroupId":140,"rbacGroupName":"The-A-Team","exposureScore":"Low"`) + "]}"
	r = f.Admin(t, "POST", base+"/machines", apitest.AdminKey, "application/json; charset=utf-8", []byte(env))
	if r.Status != 200 || !strings.Contains(string(r.Body), `"exposureScore":1`) {
		t.Fatalf("envelope: %d %s", r.Status, r.Body)
	}
	// A JSON array of logons.
	r = f.Admin(t, "POST", base+"/logons", apitest.AdminKey, "application/json", []byte("["+logonLine(3, "newbie")+"]"))
	if r.Status != 200 {
		t.Fatalf("logons array: %d %s", r.Status, r.Body)
	}
	st := stats(t, f)
	if st["machines"].(float64) != before["machines"].(float64)+3 || st["users"].(float64) != before["users"].(float64)+1 {
		t.Errorf("stats %v, before %v", st, before)
	}
	mid3 := strings.Count(string(f.Do(t, "GET", "/api/users/newbie/machines", tok).Body), `"id":`)
	if mid3 != 3 {
		t.Errorf("newbie has %d machines, want 3", mid3)
	}

	t.Run("half-bad batches store nothing", func(t *testing.T) {
		st := stats(t, f)
		for _, tc := range []struct {
			name, path, ctype, body, code, msg string
			status                             int
		}{
			{"bad enum in an array", "/machines", "application/json", "[" + apitest.MachineLine(10, "") + ",\n" + apitest.MachineLine(11, "") + ",\n" + apitest.MachineLine(12, `,"riskScore":"Extreme"`) + "]", "InvalidInput", "line 3: riskScore: ", 400},
			{"bad timestamp in NDJSON", "/machines", "application/x-ndjson", apitest.MachineLine(10, "") + "\n" + apitest.MachineLine(11, `,"lastSeen":"yesterday"`), "InvalidInput", "line 2: lastSeen:", 400},
			{"truncated NDJSON", "/machines", "application/x-ndjson", apitest.MachineLine(10, "") + "\n" + `{"id":"` + apitest.MID(11), "InvalidRequestBody", "line 2: invalid JSON", 400},
			{"truncated array", "/machines", "application/json", "[" + apitest.MachineLine(10, "") + ",", "InvalidRequestBody", "unexpected end of the input", 400},
			{"empty body", "/machines", "application/json", "", "InvalidRequestBody", "the input is empty", 400},
			{"invalid UTF-8", "/machines", "application/json", "[" + apitest.MachineLine(10, `,"osPlatform":"Win`+"\xff"+`"`) + "]", "InvalidInput", "osPlatform: is not valid UTF-8", 400},
			{"a logon of an unknown machine", "/logons", "application/x-ndjson", logonLine(1, "ghost") + "\n" + logonLine(99, "ghost"), "InvalidInput", "line 2: machineId: the tenant has no machine", 400},
			{"a logon without a name", "/logons", "application/x-ndjson", logonLine(1, "ghost") + "\n" + logonLine(1, ""), "InvalidInput", "line 2: accountName: is required", 400},
			{"machines sent as logons", "/logons", "application/x-ndjson", apitest.MachineLine(10, ""), "InvalidInput", "line 1: machineId: is required", 400},
			{"unknown tenant", "/../nope/machines", "application/json", "[]", "ResourceNotFound", "", 404},
		} {
			t.Run(tc.name, func(t *testing.T) {
				path := base + tc.path
				if strings.HasPrefix(tc.path, "/../") {
					path = "/_openatp/tenants/" + strings.TrimPrefix(tc.path, "/../")
				}
				r := f.Admin(t, "POST", path, apitest.AdminKey, tc.ctype, []byte(tc.body))
				apitest.CheckError(t, r, tc.status, tc.code)
				if !strings.Contains(string(r.Body), tc.msg) {
					t.Errorf("message does not say %q: %s", tc.msg, r.Body)
				}
				if got := stats(t, f); fmt.Sprint(got) != fmt.Sprint(st) {
					t.Errorf("stats %v, want %v", got, st)
				}
				if r := f.Do(t, "GET", "/api/users/ghost/machines", tok); r.Status != 404 {
					t.Errorf("ghost: %d", r.Status)
				}
			})
		}
	})

	t.Run("body too large", func(t *testing.T) {
		big := bytes.Repeat([]byte(apitest.MachineLine(10, "")+"\n"), adminapi.MaxAdminBody/len(apitest.MachineLine(10, ""))+10)
		r := f.Admin(t, "POST", base+"/machines", apitest.AdminKey, "application/x-ndjson", big)
		apitest.CheckError(t, r, 413, "RequestEntityTooLarge")
	})

	t.Run("delete a machine", func(t *testing.T) {
		r := f.Admin(t, "DELETE", base+"/machines/"+apitest.MID(2), apitest.AdminKey, "", nil)
		if r.Status != 204 {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		body := string(f.Do(t, "GET", "/api/users/newbie/machines", tok).Body)
		if strings.Contains(body, apitest.MID(2)) || !strings.Contains(body, apitest.MID(1)) {
			t.Errorf("after delete: %s", body)
		}
		apitest.CheckError(t, f.Admin(t, "DELETE", base+"/machines/"+apitest.MID(2), apitest.AdminKey, "", nil), 404, "ResourceNotFound")
		apitest.CheckError(t, f.Admin(t, "DELETE", base+"/machines/XYZ", apitest.AdminKey, "", nil), 400, "InvalidInput")
	})

	t.Run("reset", func(t *testing.T) {
		r := f.Admin(t, "POST", base+"/reset", apitest.AdminKey, "", nil)
		if r.Status != 204 {
			t.Fatalf("reset: %d %s", r.Status, r.Body)
		}
		st := stats(t, f)
		if st["machines"].(float64) != 0 || st["users"].(float64) != 0 || st["relations"].(float64) != 0 {
			t.Errorf("stats after reset %v", st)
		}
		if r := f.Do(t, "GET", "/api/users/user1/machines", tok); r.Status != 404 {
			t.Errorf("user1 after reset: %d", r.Status)
		}
		// The tenant and its apps are kept: the token still works.
		r = f.Admin(t, "PUT", base+"/machines", apitest.AdminKey, "", []byte("["+apitest.MachineLine(1, "")+"]"))
		if r.Status != 200 {
			t.Fatalf("PUT after reset: %d %s", r.Status, r.Body)
		}
	})
}

func TestAdminTenantsAndApps(t *testing.T) {
	f := apitest.AdminFixture(t)
	r := f.Admin(t, "POST", "/_openatp/tenants", apitest.AdminKey, "application/json", []byte(`{"name":"fabrikam.example"}`))
	if r.Status != 201 {
		t.Fatalf("create tenant: %d %s", r.Status, r.Body)
	}
	var tn map[string]string
	if err := json.Unmarshal(r.Body, &tn); err != nil || tn["name"] != "fabrikam.example" || tn["tenant"] == "" || tn["created"] == "" {
		t.Fatalf("tenant %s (%v)", r.Body, err)
	}
	apitest.CheckError(t, f.Admin(t, "POST", "/_openatp/tenants", apitest.AdminKey, "", []byte(`{"name":"fabrikam.example"}`)), 409, "Conflict")
	apitest.CheckError(t, f.Admin(t, "POST", "/_openatp/tenants", apitest.AdminKey, "", []byte(`{"name":"bad name!"}`)), 400, "BadRequest")
	apitest.CheckError(t, f.Admin(t, "POST", "/_openatp/tenants", apitest.AdminKey, "", []byte(`{"nom":"x"}`)), 400, "InvalidRequestBody")

	r = f.Admin(t, "POST", "/_openatp/tenants/fabrikam.example/apps", apitest.AdminKey, "", []byte(`{"name":"reader","roles":["Machine.Read.All"]}`))
	if r.Status != 201 {
		t.Fatalf("create app: %d %s", r.Status, r.Body)
	}
	var app struct {
		Tenant, ClientID, ClientSecret string
		Roles                          []string
	}
	var raw map[string]any
	_ = json.Unmarshal(r.Body, &raw)
	app.Tenant, _ = raw["tenant"].(string)
	app.ClientID, _ = raw["client_id"].(string)
	app.ClientSecret, _ = raw["client_secret"].(string)
	if app.Tenant != tn["tenant"] || app.ClientID == "" || app.ClientSecret == "" {
		t.Fatalf("app %s", r.Body)
	}
	a, err := f.Store.App(context.Background(), tn["tenant"], app.ClientID)
	if err != nil || len(a.Roles) != 1 || a.Roles[0] != openatp.PermMachineReadAll {
		t.Errorf("stored app %+v, %v", a, err)
	}
	apitest.CheckError(t, f.Admin(t, "POST", "/_openatp/tenants/nope.example/apps", apitest.AdminKey, "", []byte(`{"name":"x"}`)), 404, "ResourceNotFound")
}

// Wrong admin keys count against the client address's budget of failures;
// an address out of budget is refused (429, Retry-After), even with the
// right key, until the budget has room again.
func TestAdminKeyFailureBudget(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	f := apitest.NewFixture(t, func(c *apitest.Config) {
		c.AuthFailures = ratelimit.NewFailures(ratelimit.Policy{{Limit: 3, Every: time.Minute}}, clock)
	})
	if err := f.Store.SetSetting(context.Background(), adminapi.AdminKeySetting, apitest.AdminKey); err != nil {
		t.Fatal(err)
	}
	if err := f.Auth.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	path := "/_openatp/tenants/" + f.Tenant.ID + "/stats"
	for _, key := range []string{"guess-1", "guess-2", "guess-3"} {
		apitest.CheckError(t, f.Admin(t, "GET", path, key, "", nil), 401, "Unauthorized")
	}
	r := f.Admin(t, "GET", path, apitest.AdminKey, "", nil)
	apitest.CheckError(t, r, 429, "TooManyRequests")
	if r.Header.Get("Retry-After") != "60" {
		t.Errorf("Retry-After %q, want 60", r.Header.Get("Retry-After"))
	}
	now = now.Add(time.Minute)
	if r := f.Admin(t, "GET", path, apitest.AdminKey, "", nil); r.Status != 200 {
		t.Errorf("once the budget has room: %d %s", r.Status, r.Body)
	}
}
