package responseapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
)

var investigationKeys = regexp.MustCompile(`^\{("@odata.context":"[^"]*",)?"id":"\d+","startTime":"[^"]+","endTime":(null|"[^"]+"),"state":"[A-Za-z]+",` +
	`"cancelledBy":null,"statusDetails":null,"machineId":"[0-9a-f]{40}","computerDnsName":(null|"[^"]*"),"triggeringAlertId":null\}$`)

func TestInvestigations(t *testing.T) {
	run := 400 * time.Millisecond
	f := apitest.NewFixture(t, func(c *apitest.Config) { c.InvestigationRunTime = run })
	writer := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "soar", openatp.PermAlertReadWriteAll, openatp.PermMachineReadAll))
	reader := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "siem", openatp.PermAlertReadAll))
	path := "/api/machines/" + apitest.DocMachine1 + "/startInvestigation"
	apitest.CheckError(t, f.SendJSON(t, "POST", path, writer, `{}`), http.StatusBadRequest, "MissingRequiredParameter")
	apitest.CheckError(t, f.SendJSON(t, "POST", path, reader, `{"Comment":"x"}`), http.StatusForbidden, "Forbidden")
	apitest.CheckError(t, f.SendJSON(t, "POST", "/api/machines/"+strings.Repeat("0", 40)+"/startInvestigation", writer, `{"Comment":"x"}`),
		http.StatusNotFound, "ResourceNotFound")

	r := f.SendJSON(t, "POST", path, writer, `{"Comment":"look into it"}`)
	if r.Status != http.StatusCreated || !investigationKeys.Match(r.Body) {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	var v map[string]any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatal(err)
	}
	if v["@odata.context"] != f.Srv.URL+"/api/$metadata#Investigations/$entity" || v["id"] != "1" || v["state"] != "Running" ||
		v["endTime"] != nil || v["machineId"] != apitest.DocMachine1 || !timeForm.MatchString(v["startTime"].(string)) {
		t.Errorf("new investigation %s", r.Body)
	}
	r = f.SendJSON(t, "POST", "/api/v1.0/machines/"+apitest.DocMachine1+"/startInvestigation", writer, `{"Comment":"again"}`)
	if r.Status != http.StatusCreated || !strings.Contains(string(r.Body), `"id":"2"`) {
		t.Fatalf("second: %d %s", r.Status, r.Body)
	}

	// Running, then Benign once its run time has passed, with its end.
	r = f.Do(t, "GET", "/api/investigations/1", reader)
	if r.Status != 200 || !investigationKeys.Match(r.Body) || !strings.Contains(string(r.Body), `"state":"Running"`) {
		t.Fatalf("get: %d %s", r.Status, r.Body)
	}
	for _, id := range []string{"1", "2"} { // 2 started after 1: on a loaded machine, later
		apitest.WaitFor(t, "investigation "+id+" Benign", func() bool {
			return strings.Contains(string(f.Do(t, "GET", "/api/investigations/"+id, reader).Body), `"state":"Benign"`)
		})
	}
	if err := json.Unmarshal(f.Do(t, "GET", "/api/v1.0/investigations/1", reader).Body, &v); err != nil {
		t.Fatal(err)
	}
	start, _ := time.Parse(time.RFC3339Nano, v["startTime"].(string))
	end, _ := time.Parse(time.RFC3339Nano, v["endTime"].(string))
	if end.Sub(start) != run {
		t.Errorf("ran from %v to %v, want %v", start, end, run)
	}
	apitest.CheckError(t, f.Do(t, "GET", "/api/investigations/3", reader), http.StatusNotFound, "ResourceNotFound")
	apitest.CheckError(t, f.Do(t, "GET", "/api/investigations/1", f.Token(t, f.Tenant, f.App)), http.StatusForbidden, "Forbidden")

	// The collection, with OData.
	for _, c := range []struct {
		query string
		ids   []string
		count string
	}{
		{"", []string{"1", "2"}, ""},
		{"?$filter=state eq 'Benign'&$count=true", []string{"1", "2"}, `"@odata.count":2,`},
		{"?$filter=id eq '2'", []string{"2"}, ""},
		{"?$orderby=startTime desc&$top=1", []string{"2"}, ""},
		{"?$filter=machineId eq '" + strings.Repeat("0", 40) + "'", nil, ""},
	} {
		r := f.Do(t, "GET", "/api/investigations"+strings.ReplaceAll(c.query, " ", "%20"), reader)
		var list struct {
			Context string            `json:"@odata.context"`
			Value   []json.RawMessage `json:"value"`
		}
		if r.Status != 200 || json.Unmarshal(r.Body, &list) != nil || list.Context != f.Srv.URL+"/api/$metadata#Investigations" {
			t.Fatalf("%s: %d %s", c.query, r.Status, r.Body)
		}
		var ids []string
		for _, item := range list.Value {
			var e struct{ ID string }
			_ = json.Unmarshal(item, &e)
			ids = append(ids, e.ID)
			if !investigationKeys.Match(item) {
				t.Errorf("%s: item %s", c.query, item)
			}
		}
		if strings.Join(ids, ",") != strings.Join(c.ids, ",") || !strings.Contains(string(r.Body), c.count) {
			t.Errorf("%s: ids %v, want %v: %s", c.query, ids, c.ids, r.Body)
		}
	}
	apitest.CheckError(t, f.Do(t, "GET", "/api/investigations?$filter=computerDnsName%20eq%20'x'", reader), http.StatusBadRequest, "ODataError")
	apitest.CheckError(t, f.Do(t, "DELETE", "/api/investigations/1", reader), http.StatusMethodNotAllowed, "MethodNotAllowed")
}

// A delegated caller starts and reads investigations of its device
// groups' machines only; another group's is a missing one.
func TestInvestigationDeviceGroups(t *testing.T) {
	f := apitest.RBACFixture(t, false)
	if err := f.Store.PutRole(context.Background(), f.Tenant.ID, openatp.Role{Name: "Investigator",
		Permissions: []string{openatp.PermViewData, openatp.PermAlertsInvestigation}, UserGroups: []string{"g-inv"}}); err != nil {
		t.Fatal(err)
	}
	dapp := f.DelegatedApp(t, f.Tenant, openatp.PermAlertReadWrite)
	ana := f.Delegated(t, f.Tenant, dapp, "ana@contoso.com", "g-ana", "g-inv")
	vic := f.Delegated(t, f.Tenant, dapp, "vic@contoso.com", "g-ana")
	app := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "soar", openatp.PermAlertReadWriteAll))
	apitest.CheckError(t, f.SendJSON(t, "POST", "/api/machines/"+apitest.DocMachine1+"/startInvestigation", vic, `{"Comment":"x"}`), http.StatusForbidden, "Forbidden")
	apitest.CheckError(t, f.SendJSON(t, "POST", "/api/machines/"+apitest.VaultMachine+"/startInvestigation", ana, `{"Comment":"x"}`),
		http.StatusNotFound, "ResourceNotFound")
	if r := f.SendJSON(t, "POST", "/api/machines/"+apitest.DocMachine1+"/startInvestigation", ana, `{"Comment":"mine"}`); r.Status != http.StatusCreated {
		t.Fatalf("ana: %d %s", r.Status, r.Body)
	}
	if r := f.SendJSON(t, "POST", "/api/machines/"+apitest.VaultMachine+"/startInvestigation", app, `{"Comment":"vault"}`); r.Status != http.StatusCreated {
		t.Fatalf("app: %d %s", r.Status, r.Body)
	}
	apitest.CheckError(t, f.Do(t, "GET", "/api/investigations/2", ana), http.StatusNotFound, "ResourceNotFound")
	r := f.Do(t, "GET", "/api/investigations?$count=true", ana)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"@odata.count":1,`) || !strings.Contains(string(r.Body), `"id":"1"`) {
		t.Errorf("ana's list: %d %s", r.Status, r.Body)
	}
	r = f.Do(t, "GET", "/api/investigations?$count=true", app)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"@odata.count":2,`) {
		t.Errorf("the application's list: %d %s", r.Status, r.Body)
	}
}
