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
	"github.com/openatp/openatp/internal/apitest"
	"github.com/openatp/openatp/ratelimit"
)

func logonLine(n int, user string) string {
	return fmt.Sprintf(`{"machineId":%q,"accountName":%q,"accountDomain":"contoso","accountSid":null,"logonType":"Interactive","timestamp":"2024-06-01T10:00:00Z"}`, mid(n), user)
}

func (f *fixture) stats(t *testing.T) map[string]any {
	t.Helper()
	r := f.admin(t, "GET", "/_openatp/tenants/"+f.tenant.ID+"/stats", adminKey, "", nil)
	if r.status != 200 {
		t.Fatalf("stats: %d %s", r.status, r.body)
	}
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAdminAuth(t *testing.T) {
	f := adminFixture(t)
	path := "/_openatp/tenants/" + f.tenant.ID + "/stats"
	for _, tc := range []struct {
		name   string
		header map[string]string
		status int
	}{
		{"no key", nil, 401},
		{"wrong key", map[string]string{"X-Openatp-Admin-Key": "nope"}, 401},
		{"a longer wrong key", map[string]string{"X-Openatp-Admin-Key": adminKey + "x"}, 401},
		{"an API token is not the admin key", map[string]string{"Authorization": "Bearer " + f.token(t, f.tenant, f.app)}, 401},
		{"bearer", map[string]string{"Authorization": "Bearer " + adminKey}, 200},
		{"bearer, any case", map[string]string{"Authorization": "bearer " + adminKey}, 200},
		{"header", map[string]string{"X-Openatp-Admin-Key": adminKey}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			res, err := f.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			r := response{res.StatusCode, res.Header, body, res.Proto}
			if tc.status == 401 {
				checkError(t, r, 401, "Unauthorized")
			} else if r.status != tc.status {
				t.Errorf("status %d, want %d: %s", r.status, tc.status, body)
			}
		})
	}
	// Refused before anything else: wrong methods too.
	checkError(t, f.admin(t, "DELETE", "/_openatp/tenants/"+f.tenant.ID+"/reset", "bad", "", nil), 401, "Unauthorized")
	checkError(t, f.admin(t, "GET", "/_openatp/nothing", adminKey, "", nil), 404, "NotFound")
	checkError(t, f.admin(t, "DELETE", "/_openatp/tenants/"+f.tenant.ID+"/reset", adminKey, "", nil), 405, "MethodNotAllowed")
}

func TestAdminIngest(t *testing.T) {
	f := adminFixture(t)
	tok := f.token(t, f.tenant, f.app)
	base := "/_openatp/tenants/" + f.tenant.Name // by name as well as by id
	before := f.stats(t)
	user1 := f.do(t, "GET", "/api/users/user1/machines", tok)
	if user1.status != 200 {
		t.Fatal(user1.status)
	}

	// A JSON array of machines, then NDJSON logons: visible at once.
	arr := "[" + machineLine(1, "") + ",\n" + machineLine(2, `,"isExcluded":false,"vmMetadata":{"vmId":"x"}`) + "]"
	r := f.admin(t, "PUT", base+"/machines", adminKey, "application/json", []byte(arr))
	if r.status != 200 || !strings.Contains(string(r.body), `"records":2`) || !strings.Contains(string(r.body), `"isExcluded":1`) {
		t.Fatalf("PUT machines: %d %s", r.status, r.body)
	}
	nd := logonLine(1, "newbie") + "\n" + logonLine(2, "newbie") + "\n"
	r = f.admin(t, "POST", base+"/logons", adminKey, "application/x-ndjson", []byte(nd))
	if r.status != 200 {
		t.Fatalf("POST logons: %d %s", r.status, r.body)
	}
	got := f.do(t, "GET", "/api/users/newbie/machines", tok)
	if got.status != 200 || !strings.Contains(string(got.body), mid(1)) || !strings.Contains(string(got.body), mid(2)) {
		t.Fatalf("newbie: %d %s", got.status, got.body)
	}
	// An OData envelope, as a real GET /api/machines answers.
	env := `{"@odata.context":"https://api.security.microsoft.com/api/$metadata#Machines","value":[` + machineLine(3, `,"rbacGroupId":140,"rbacGroupName":"The-A-Team","exposureScore":"Low"`) + "]}"
	r = f.admin(t, "POST", base+"/machines", adminKey, "application/json; charset=utf-8", []byte(env))
	if r.status != 200 || !strings.Contains(string(r.body), `"exposureScore":1`) {
		t.Fatalf("envelope: %d %s", r.status, r.body)
	}
	// A JSON array of logons.
	r = f.admin(t, "POST", base+"/logons", adminKey, "application/json", []byte("["+logonLine(3, "newbie")+"]"))
	if r.status != 200 {
		t.Fatalf("logons array: %d %s", r.status, r.body)
	}
	st := f.stats(t)
	if st["machines"].(float64) != before["machines"].(float64)+3 || st["users"].(float64) != before["users"].(float64)+1 {
		t.Errorf("stats %v, before %v", st, before)
	}
	mid3 := strings.Count(string(f.do(t, "GET", "/api/users/newbie/machines", tok).body), `"id":`)
	if mid3 != 3 {
		t.Errorf("newbie has %d machines, want 3", mid3)
	}

	t.Run("half-bad batches store nothing", func(t *testing.T) {
		st := f.stats(t)
		for _, tc := range []struct {
			name, path, ctype, body, code, msg string
			status                             int
		}{
			{"bad enum in an array", "/machines", "application/json", "[" + machineLine(10, "") + ",\n" + machineLine(11, "") + ",\n" + machineLine(12, `,"riskScore":"Extreme"`) + "]", "InvalidInput", "line 3: riskScore: ", 400},
			{"bad timestamp in NDJSON", "/machines", "application/x-ndjson", machineLine(10, "") + "\n" + machineLine(11, `,"lastSeen":"yesterday"`), "InvalidInput", "line 2: lastSeen:", 400},
			{"truncated NDJSON", "/machines", "application/x-ndjson", machineLine(10, "") + "\n" + `{"id":"` + mid(11), "InvalidRequestBody", "line 2: invalid JSON", 400},
			{"truncated array", "/machines", "application/json", "[" + machineLine(10, "") + ",", "InvalidRequestBody", "unexpected end of the input", 400},
			{"empty body", "/machines", "application/json", "", "InvalidRequestBody", "the input is empty", 400},
			{"invalid UTF-8", "/machines", "application/json", "[" + machineLine(10, `,"osPlatform":"Win`+"\xff"+`"`) + "]", "InvalidInput", "osPlatform: is not valid UTF-8", 400},
			{"a logon of an unknown machine", "/logons", "application/x-ndjson", logonLine(1, "ghost") + "\n" + logonLine(99, "ghost"), "InvalidInput", "line 2: machineId: the tenant has no machine", 400},
			{"a logon without a name", "/logons", "application/x-ndjson", logonLine(1, "ghost") + "\n" + logonLine(1, ""), "InvalidInput", "line 2: accountName: is required", 400},
			{"machines sent as logons", "/logons", "application/x-ndjson", machineLine(10, ""), "InvalidInput", "line 1: machineId: is required", 400},
			{"unknown tenant", "/../nope/machines", "application/json", "[]", "ResourceNotFound", "", 404},
		} {
			t.Run(tc.name, func(t *testing.T) {
				path := base + tc.path
				if strings.HasPrefix(tc.path, "/../") {
					path = "/_openatp/tenants/" + strings.TrimPrefix(tc.path, "/../")
				}
				r := f.admin(t, "POST", path, adminKey, tc.ctype, []byte(tc.body))
				checkError(t, r, tc.status, tc.code)
				if !strings.Contains(string(r.body), tc.msg) {
					t.Errorf("message does not say %q: %s", tc.msg, r.body)
				}
				if got := f.stats(t); fmt.Sprint(got) != fmt.Sprint(st) {
					t.Errorf("stats %v, want %v", got, st)
				}
				if r := f.do(t, "GET", "/api/users/ghost/machines", tok); r.status != 404 {
					t.Errorf("ghost: %d", r.status)
				}
			})
		}
	})

	t.Run("body too large", func(t *testing.T) {
		big := bytes.Repeat([]byte(machineLine(10, "")+"\n"), adminapi.MaxAdminBody/len(machineLine(10, ""))+10)
		r := f.admin(t, "POST", base+"/machines", adminKey, "application/x-ndjson", big)
		checkError(t, r, 413, "RequestEntityTooLarge")
	})

	t.Run("delete a machine", func(t *testing.T) {
		r := f.admin(t, "DELETE", base+"/machines/"+mid(2), adminKey, "", nil)
		if r.status != 204 {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		body := string(f.do(t, "GET", "/api/users/newbie/machines", tok).body)
		if strings.Contains(body, mid(2)) || !strings.Contains(body, mid(1)) {
			t.Errorf("after delete: %s", body)
		}
		checkError(t, f.admin(t, "DELETE", base+"/machines/"+mid(2), adminKey, "", nil), 404, "ResourceNotFound")
		checkError(t, f.admin(t, "DELETE", base+"/machines/XYZ", adminKey, "", nil), 400, "InvalidInput")
	})

	t.Run("reset", func(t *testing.T) {
		r := f.admin(t, "POST", base+"/reset", adminKey, "", nil)
		if r.status != 204 {
			t.Fatalf("reset: %d %s", r.status, r.body)
		}
		st := f.stats(t)
		if st["machines"].(float64) != 0 || st["users"].(float64) != 0 || st["relations"].(float64) != 0 {
			t.Errorf("stats after reset %v", st)
		}
		if r := f.do(t, "GET", "/api/users/user1/machines", tok); r.status != 404 {
			t.Errorf("user1 after reset: %d", r.status)
		}
		// The tenant and its apps are kept: the token still works.
		r = f.admin(t, "PUT", base+"/machines", adminKey, "", []byte("["+machineLine(1, "")+"]"))
		if r.status != 200 {
			t.Fatalf("PUT after reset: %d %s", r.status, r.body)
		}
	})
}

func TestAdminTenantsAndApps(t *testing.T) {
	f := adminFixture(t)
	r := f.admin(t, "POST", "/_openatp/tenants", adminKey, "application/json", []byte(`{"name":"fabrikam.example"}`))
	if r.status != 201 {
		t.Fatalf("create tenant: %d %s", r.status, r.body)
	}
	var tn map[string]string
	if err := json.Unmarshal(r.body, &tn); err != nil || tn["name"] != "fabrikam.example" || tn["tenant"] == "" || tn["created"] == "" {
		t.Fatalf("tenant %s (%v)", r.body, err)
	}
	checkError(t, f.admin(t, "POST", "/_openatp/tenants", adminKey, "", []byte(`{"name":"fabrikam.example"}`)), 409, "Conflict")
	checkError(t, f.admin(t, "POST", "/_openatp/tenants", adminKey, "", []byte(`{"name":"bad name!"}`)), 400, "BadRequest")
	checkError(t, f.admin(t, "POST", "/_openatp/tenants", adminKey, "", []byte(`{"nom":"x"}`)), 400, "InvalidRequestBody")

	r = f.admin(t, "POST", "/_openatp/tenants/fabrikam.example/apps", adminKey, "", []byte(`{"name":"reader","roles":["Machine.Read.All"]}`))
	if r.status != 201 {
		t.Fatalf("create app: %d %s", r.status, r.body)
	}
	var app struct {
		Tenant, ClientID, ClientSecret string
		Roles                          []string
	}
	var raw map[string]any
	_ = json.Unmarshal(r.body, &raw)
	app.Tenant, _ = raw["tenant"].(string)
	app.ClientID, _ = raw["client_id"].(string)
	app.ClientSecret, _ = raw["client_secret"].(string)
	if app.Tenant != tn["tenant"] || app.ClientID == "" || app.ClientSecret == "" {
		t.Fatalf("app %s", r.body)
	}
	a, err := f.store.App(context.Background(), tn["tenant"], app.ClientID)
	if err != nil || len(a.Roles) != 1 || a.Roles[0] != openatp.PermMachineReadAll {
		t.Errorf("stored app %+v, %v", a, err)
	}
	checkError(t, f.admin(t, "POST", "/_openatp/tenants/nope.example/apps", adminKey, "", []byte(`{"name":"x"}`)), 404, "ResourceNotFound")
}

// Wrong admin keys count against the client address's budget of failures;
// an address out of budget is refused (429, Retry-After), even with the
// right key, until the budget has room again.
func TestAdminKeyFailureBudget(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	f := newFixture(t, func(c *apitest.Config) {
		c.AuthFailures = ratelimit.NewFailures(ratelimit.Policy{{Limit: 3, Every: time.Minute}}, clock)
	})
	if err := f.store.SetSetting(context.Background(), adminapi.AdminKeySetting, adminKey); err != nil {
		t.Fatal(err)
	}
	if err := f.auth.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	path := "/_openatp/tenants/" + f.tenant.ID + "/stats"
	for _, key := range []string{"guess-1", "guess-2", "guess-3"} {
		checkError(t, f.admin(t, "GET", path, key, "", nil), 401, "Unauthorized")
	}
	r := f.admin(t, "GET", path, adminKey, "", nil)
	checkError(t, r, 429, "TooManyRequests")
	if r.header.Get("Retry-After") != "60" {
		t.Errorf("Retry-After %q, want 60", r.header.Get("Retry-After"))
	}
	now = now.Add(time.Minute)
	if r := f.admin(t, "GET", path, adminKey, "", nil); r.status != 200 {
		t.Errorf("once the budget has room: %d %s", r.status, r.body)
	}
}
