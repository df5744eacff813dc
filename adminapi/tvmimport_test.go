package adminapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
	"github.com/openatp/openatp/vuln"
)

// TestAdminImportTVM: a catalog in JSON and an inventory in CSV, posted
// to a tenant's tvm/catalog and tvm/inventory, answer what they wrote, and
// the machine then has the vulnerability; a bad record is refused whole
// with 400 naming its line and column, and nothing of it is stored.
func TestAdminImportTVM(t *testing.T) {
	ctx := context.Background()
	f := apitest.NewFixture(t, nil)
	f.SetAdminKey(t)
	f.Load(t, f.Tenant, []openatp.Machine{{ID: apitest.MID(1)}, {ID: apitest.MID(2)}}, nil)
	catalog := `[{"id":"CVE-2024-3094","name":"xz backdoor","severity":"Critical","cvssV3":10,"publishedOn":"2024-03-29T00:00:00Z",
"publicExploit":true,"affected":[{"vendor":"tukaani","product":"xz","version":"5.6.0","fixedVersion":"5.6.2"}]}]`
	r := f.Admin(t, "POST", "/_openatp/tenants/"+f.Tenant.ID+"/tvm/catalog", apitest.AdminKey, "application/json", []byte(catalog))
	want := `{"tenant":"` + f.Tenant.ID + `","kind":"catalog","records":1,"vulnerabilities":1}`
	if r.Status != 200 || strings.TrimSpace(string(r.Body)) != want {
		t.Fatalf("catalog: %d %s, want 200 %s", r.Status, r.Body, want)
	}
	inv := "deviceId,softwareVendor,softwareName,softwareVersion,diskPaths\n" +
		apitest.MID(1) + ",tukaani,xz,5.6.0,/usr/bin/xz\n" + apitest.MID(2) + ",tukaani,xz,5.4.6,/usr/bin/xz\n"
	r = f.Admin(t, "POST", "/_openatp/tenants/"+f.Tenant.Name+"/tvm/inventory", apitest.AdminKey, "text/csv", []byte(inv))
	want = `{"tenant":"` + f.Tenant.ID + `","kind":"inventory","records":2,"installedSoftware":2,"machines":2}`
	if r.Status != 200 || strings.TrimSpace(string(r.Body)) != want {
		t.Fatalf("inventory: %d %s, want 200 %s", r.Status, r.Body, want)
	}
	v := f.Store.(vuln.Store)
	sel, err := v.MachineVulnerabilities(ctx, f.Tenant.ID, apitest.MID(1), vuln.All())
	vs := sel.Items()
	if err != nil || len(vs) != 1 || vs[0].ID != "CVE-2024-3094" || vs[0].ExposedMachines != 1 {
		t.Fatalf("machine 1's vulnerabilities: %+v, %v", vs, err)
	}

	bad := inv + apitest.MID(1) + ",tukaani,xz,,\n"
	r = f.Admin(t, "POST", "/_openatp/tenants/"+f.Tenant.ID+"/tvm/inventory", apitest.AdminKey, "text/csv", []byte(bad))
	apitest.CheckError(t, r, 400, "InvalidInput")
	if !strings.Contains(string(r.Body), "line 4: softwareVersion: is required") {
		t.Errorf("message does not name line 4's softwareVersion: %s", r.Body)
	}
	r = f.Admin(t, "GET", "/_openatp/tenants/"+f.Tenant.ID+"/tvm/inventory", apitest.AdminKey, "", nil)
	if r.Status != 405 {
		t.Errorf("GET: %d, want 405", r.Status)
	}
	r = f.Admin(t, "POST", "/_openatp/tenants/"+f.Tenant.ID+"/tvm/catalog", "wrong", "application/json", []byte(catalog))
	if r.Status != 401 && r.Status != 403 {
		t.Errorf("wrong admin key: %d", r.Status)
	}
}
