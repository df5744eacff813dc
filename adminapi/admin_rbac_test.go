package adminapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Device groups, roles, user groups and users managed through the admin
// API decide what a delegated caller sees, from the next request on.
func TestAdminRBAC(t *testing.T) {
	f := adminFixture(t)
	base := "/_openatp/tenants/" + f.tenant.ID
	call := func(method, path, body string, want int) map[string]any {
		t.Helper()
		r := f.admin(t, method, base+path, adminKey, "application/json", []byte(body))
		if r.status != want {
			t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
		}
		var v map[string]any
		_ = json.Unmarshal(r.body, &v)
		return v
	}
	call("POST", "/usergroups", `{"id":"g-night","name":"Night shift"}`, 201)
	call("POST", "/roles", `{"name":"Night viewer","permissions":["View Data"],"user_groups":["Night shift"]}`, 201)
	call("POST", "/users", `{"username":"owl@contoso.com","password":"correct horse","groups":["g-night"]}`, 201)
	// The documented machines' group becomes the night shift's.
	call("PATCH", "/groups/140", `{"user_groups":["g-night"]}`, 200)

	// A native app and the password grant, as a client would do it.
	app := f.delegatedApp(t, f.tenant, "Machine.Read")
	token := func() string {
		t.Helper()
		res, err := http.PostForm(f.srv.URL+"/"+f.tenant.ID+"/oauth2/token", url.Values{"grant_type": {"password"},
			"client_id": {app.ClientID}, "username": {"OWL@contoso.com"}, "password": {"correct horse"},
			"resource": {"https://api.securitycenter.microsoft.com"}})
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var tr struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.NewDecoder(res.Body).Decode(&tr); err != nil || res.StatusCode != 200 {
			t.Fatalf("password grant: %d %v", res.StatusCode, err)
		}
		return tr.AccessToken
	}
	tok := token()
	if r := f.do(t, "GET", "/api/users/user1/machines", tok); r.status != 200 || strings.Join(machineIDs(t, r.body), ",") != machine1+","+machine2 {
		t.Fatalf("owl: %d %s", r.status, r.body)
	}
	// A higher-ranked group for mymachine2 that the night shift may not see.
	call("POST", "/groups", `{"name":"Vault","rank":1,"rules":[{"property":"name","values":["mymachine2"]}],"user_groups":["g-other"]}`, 400)
	call("POST", "/usergroups", `{"id":"g-other","name":"Other"}`, 201)
	v := call("POST", "/groups", `{"name":"Vault","rank":1,"rules":[{"property":"name","values":["mymachine2"]}],"user_groups":["g-other"]}`, 201)
	if r := f.do(t, "GET", "/api/users/user1/machines", tok); r.status != 200 || strings.Join(machineIDs(t, r.body), ",") != machine1 {
		t.Errorf("after the vault group: %d %s", r.status, r.body)
	}
	// Ranked last, the vault no longer holds it.
	id := int64(v["id"].(float64))
	call("PATCH", "/groups/"+itoa(id), `{"rank":99}`, 200)
	if r := f.do(t, "GET", "/api/users/user1/machines", tok); r.status != 200 || len(machineIDs(t, r.body)) != 2 {
		t.Errorf("after re-ranking: %d %s", r.status, r.body)
	}
	// Without the role: 403.
	call("DELETE", "/roles/night%20viewer", "", 200)
	if r := f.do(t, "GET", "/api/users/user1/machines", tok); r.status != 403 {
		t.Errorf("without a role: %d %s", r.status, r.body)
	}
	groups := f.admin(t, "GET", base+"/groups", adminKey, "", nil)
	if !strings.Contains(string(groups.body), `"Ungrouped machines (default)"`) {
		t.Errorf("group list: %s", groups.body)
	}

	// Bad input: the documented error body, nothing stored.
	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{"DELETE", "/groups/0", "", 409},
		{"PATCH", "/groups/0", `{"name":"x"}`, 409},
		{"PATCH", "/groups/abc", `{}`, 400},
		{"PATCH", "/groups/12345", `{}`, 404},
		{"POST", "/groups", `{"name":"Bad","rules":[{"property":"color","values":["red"]}]}`, 400},
		{"POST", "/groups", `{"name":`, 400},
		{"POST", "/roles", `{"name":"X","permissions":["Fly"]}`, 400},
		{"PATCH", "/roles/nope", `{}`, 404},
		{"POST", "/users", `{"username":"bad name"}`, 400},
		{"POST", "/users", `{"username":"a@b","password":"short"}`, 400},
		{"POST", "/users", `{"username":"owl@contoso.com","password":"long enough"}`, 409},
		{"PATCH", "/users/nobody@x", `{}`, 404},
		{"POST", "/users", `{"username":"x@y","unknown":1}`, 400},
		{"PUT", "/groups", `{}`, 405},
	} {
		r := f.admin(t, c.method, base+c.path, adminKey, "application/json", []byte(c.body))
		checkError(t, r, c.status, errorCode(t, r))
	}
	if r := f.admin(t, "GET", base+"/roles", "", "", nil); r.status != 401 {
		t.Errorf("no admin key: %d", r.status)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// errorCode reads the code of an error body (checkError then checks the
// body's shape and target).
func errorCode(t *testing.T, r response) string {
	var v struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(r.body, &v)
	if v.Error.Code == "" {
		t.Errorf("no error code in %s", r.body)
	}
	return v.Error.Code
}
