package adminapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
)

// TestAdminImportIndicators: a GET /api/indicators page posted to a
// tenant's indicators is stored (the same values again update in place),
// JSON Lines too; a body with a bad record is refused whole with 400
// naming its line and property; GET is 405.
func TestAdminImportIndicators(t *testing.T) {
	ctx := context.Background()
	f := apitest.NewFixture(t, nil)
	f.SetAdminKey(t)
	page := `{"@odata.context":"https://api.securitycenter.microsoft.com/api/$metadata#Indicators","value":[
{"id":"7","indicatorValue":"evil.example","indicatorType":"DomainName","action":"Block","title":"t","description":"d","createdBy":"feed"},
{"id":"8","indicatorValue":"203.0.113.7","indicatorType":"IpAddress","action":"Warn","title":"t","description":"d","rbacGroupNames":"ungrouped machines (default)"}]}`
	for i := range 2 {
		r := f.Admin(t, "POST", "/_openatp/tenants/"+f.Tenant.ID+"/indicators", apitest.AdminKey, "application/json", []byte(page))
		if want := `{"kind":"indicators","records":2,"tenant":"` + f.Tenant.ID + `"}`; r.Status != 200 || strings.TrimSpace(string(r.Body)) != want {
			t.Fatalf("import %d: %d %s, want %s", i, r.Status, r.Body, want)
		}
	}
	lines := `{"indicatorValue":"evil.example","indicatorType":"DomainName","action":"Allowed","title":"t","description":"d"}` + "\n"
	if r := f.Admin(t, "POST", "/_openatp/tenants/"+f.Tenant.Name+"/indicators", apitest.AdminKey, "application/x-ndjson", []byte(lines)); r.Status != 200 {
		t.Fatalf("JSON Lines: %d %s", r.Status, r.Body)
	}
	all, err := f.Store.Indicators(ctx, f.Tenant.ID)
	if err != nil || len(all) != 2 || all[0].Action != "Allowed" || all[0].CreatedBy != "feed" || all[1].RBACGroupNames[0] != "ungrouped machines (default)" || all[1].RBACGroupIDs[0] != openatp.DefaultGroupID {
		t.Fatalf("stored %+v, %v", all, err)
	}
	bad := lines + `{"indicatorValue":"8.8.8.8/8","indicatorType":"IpAddress","action":"Block","title":"t","description":"d"}` + "\n"
	r := f.Admin(t, "POST", "/_openatp/tenants/"+f.Tenant.ID+"/indicators", apitest.AdminKey, "application/x-ndjson", []byte(bad))
	apitest.CheckError(t, r, 400, "InvalidInput")
	if !strings.Contains(string(r.Body), "line 2: indicatorValue: CIDR ranges are not supported") {
		t.Errorf("bad record: %s", r.Body)
	}
	if all, _ := f.Store.Indicators(ctx, f.Tenant.ID); len(all) != 2 {
		t.Errorf("after the refused import: %d indicators", len(all))
	}
	if r := f.Admin(t, "GET", "/_openatp/tenants/"+f.Tenant.ID+"/indicators", apitest.AdminKey, "", nil); r.Status != 405 {
		t.Errorf("GET: %d %s", r.Status, r.Body)
	}
}
