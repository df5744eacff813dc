package huntapi_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/openatp/openatp/vuln"
)

// loadTVM gives the world's tenant a catalog and an inventory:
//
//	machine1: contoso agent 1.0 (CVE-2024-1111, fixed in 1.1; TVM-2024-0003, no fix), windows_11 10.0.22631 (CVE-2024-2222, KB 5031356)
//	machine2: contoso agent 1.1 (none)
//	vault:    contoso agent 1.0 (CVE-2024-1111, TVM-2024-0003)
func (w *world) loadTVM(t *testing.T) {
	t.Helper()
	vs, ok := w.Store.(vuln.Store)
	if !ok {
		t.Fatal("the store keeps no vulnerability management")
	}
	day := func(d int) time.Time { return time.Date(2024, 1, d, 0, 0, 0, 0, time.UTC) }
	agent, win := vuln.Product{Vendor: "contoso", Name: "agent"}, vuln.Product{Vendor: "microsoft", Name: "windows_11"}
	cvss := 8.1
	c := &vuln.Catalog{
		Vulnerabilities: []vuln.Vulnerability{
			{ID: "CVE-2024-1111", Description: "Agent overflow.", CVSSV3: &cvss, PublishedOn: day(2), UpdatedOn: day(3), ExploitVerified: true,
				Affected: []vuln.Affected{{Product: agent, Version: "1.0", FixedVersion: "1.1"}}},
			{ID: "CVE-2024-2222", Severity: "Critical", Description: "Kernel elevation.", PublishedOn: day(4),
				Affected: []vuln.Affected{{Product: win, Version: "10.0.22631", FixingKB: "5031356"}}},
			{ID: "TVM-2024-0003", Severity: "Low", Description: "Weak default.", PublishedOn: day(5),
				Affected: []vuln.Affected{{Product: agent, Version: "1.0"}}},
		},
		Updates: []vuln.SecurityUpdate{{ID: "KB5031356", Name: "November 2023 Security Updates", ReleaseDate: day(6)}},
	}
	for i := range c.Vulnerabilities {
		must(t, c.Vulnerabilities[i].Normalize())
	}
	for i := range c.Updates {
		must(t, c.Updates[i].Normalize())
	}
	ctx := context.Background()
	must(t, vs.PutCatalog(ctx, w.Tenant.ID, c, w.now))
	rs := []vuln.InventoryRecord{
		{Installed: vuln.Installed{MachineID: machine1, Product: agent, Version: "1.0"}},
		{Installed: vuln.Installed{MachineID: machine1, Product: win, Version: "10.0.22631"}},
		{Installed: vuln.Installed{MachineID: machine2, Product: agent, Version: "1.1"}},
		{Installed: vuln.Installed{MachineID: vault, Product: agent, Version: "1.0"}},
	}
	i := 0
	must(t, vs.PutInventory(ctx, w.Tenant.ID, w.now, func() (*vuln.InventoryRecord, error) {
		if i == len(rs) {
			return nil, io.EOF
		}
		r := &rs[i]
		i++
		return r, r.Normalize()
	}))
}

// TestTVMTables: the DeviceTvm* tables answer from the vuln store's
// catalog and inventory, with Microsoft's columns, on both engines; a
// delegated caller reads the rows of its device groups' machines only
// (the catalog, which names no machine, whole).
func TestTVMTables(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			w := newWorld(t, e.open, nil)
			w.loadTVM(t)
			r := w.run(t, "/api/advancedqueries/run", w.mde, "DeviceTvmSoftwareInventory | where DeviceId == '"+machine1+"' | order by SoftwareName asc")
			want := `{"Schema":[{"Name":"DeviceId","Type":"String"},{"Name":"DeviceName","Type":"String"},{"Name":"OSPlatform","Type":"String"},` +
				`{"Name":"OSVersion","Type":"String"},{"Name":"OSArchitecture","Type":"String"},{"Name":"SoftwareVendor","Type":"String"},` +
				`{"Name":"SoftwareName","Type":"String"},{"Name":"SoftwareVersion","Type":"String"},{"Name":"EndOfSupportStatus","Type":"String"},` +
				`{"Name":"EndOfSupportDate","Type":"DateTime"},{"Name":"ProductCodeCpe","Type":"String"}],"Results":[` +
				`{"DeviceId":"` + machine1 + `","DeviceName":"mymachine1.contoso.com","OSPlatform":"Windows10","OSVersion":"10.0.0.0","OSArchitecture":"64-bit",` +
				`"SoftwareVendor":"contoso","SoftwareName":"agent","SoftwareVersion":"1.0","EndOfSupportStatus":"","EndOfSupportDate":null,"ProductCodeCpe":"not available"},` +
				`{"DeviceId":"` + machine1 + `","DeviceName":"mymachine1.contoso.com","OSPlatform":"Windows10","OSVersion":"10.0.0.0","OSArchitecture":"64-bit",` +
				`"SoftwareVendor":"microsoft","SoftwareName":"windows_11","SoftwareVersion":"10.0.22631","EndOfSupportStatus":"","EndOfSupportDate":null,"ProductCodeCpe":"not available"}]}`
			if r.Status != 200 || string(r.Body) != want {
				t.Errorf("inventory: %d\n got %s\nwant %s", r.Status, r.Body, want)
			}
			for _, c := range []struct{ token, query, want string }{
				{w.mde, "DeviceTvmSoftwareInventory | summarize Machines = dcount(DeviceId) by SoftwareName, SoftwareVersion | order by SoftwareName asc, SoftwareVersion asc",
					`[{"SoftwareName":"agent","SoftwareVersion":"1.0","Machines":2},{"SoftwareName":"agent","SoftwareVersion":"1.1","Machines":1},` +
						`{"SoftwareName":"windows_11","SoftwareVersion":"10.0.22631","Machines":1}]`},
				{w.mde, "DeviceTvmSoftwareVulnerabilities | project DeviceName, SoftwareName, CveId, VulnerabilitySeverityLevel, RecommendedSecurityUpdate, RecommendedSecurityUpdateId, CveTags | order by DeviceName asc, CveId asc",
					`[{"DeviceName":"mymachine1.contoso.com","SoftwareName":"agent","CveId":"CVE-2024-1111","VulnerabilitySeverityLevel":"High","RecommendedSecurityUpdate":"","RecommendedSecurityUpdateId":"","CveTags":[]},` +
						`{"DeviceName":"mymachine1.contoso.com","SoftwareName":"windows_11","CveId":"CVE-2024-2222","VulnerabilitySeverityLevel":"Critical","RecommendedSecurityUpdate":"November 2023 Security Updates","RecommendedSecurityUpdateId":"5031356","CveTags":[]},` +
						`{"DeviceName":"mymachine1.contoso.com","SoftwareName":"agent","CveId":"TVM-2024-0003","VulnerabilitySeverityLevel":"Low","RecommendedSecurityUpdate":"","RecommendedSecurityUpdateId":"","CveTags":["NoSecurityUpdate"]},` +
						`{"DeviceName":"vault.contoso.com","SoftwareName":"agent","CveId":"CVE-2024-1111","VulnerabilitySeverityLevel":"High","RecommendedSecurityUpdate":"","RecommendedSecurityUpdateId":"","CveTags":[]},` +
						`{"DeviceName":"vault.contoso.com","SoftwareName":"agent","CveId":"TVM-2024-0003","VulnerabilitySeverityLevel":"Low","RecommendedSecurityUpdate":"","RecommendedSecurityUpdateId":"","CveTags":["NoSecurityUpdate"]}]`},
				{w.mde, "DeviceTvmSoftwareVulnerabilitiesKB | order by CveId asc",
					`[{"CveId":"CVE-2024-1111","CvssScore":"8.1","IsExploitAvailable":true,"VulnerabilitySeverityLevel":"High","LastModifiedTime":"2024-01-03T00:00:00Z",` +
						`"PublishedDate":"2024-01-02T00:00:00Z","VulnerabilityDescription":"Agent overflow.","AffectedSoftware":null},` +
						`{"CveId":"CVE-2024-2222","CvssScore":"","IsExploitAvailable":false,"VulnerabilitySeverityLevel":"Critical","LastModifiedTime":"2024-01-04T00:00:00Z",` +
						`"PublishedDate":"2024-01-04T00:00:00Z","VulnerabilityDescription":"Kernel elevation.","AffectedSoftware":null},` +
						`{"CveId":"TVM-2024-0003","CvssScore":"","IsExploitAvailable":false,"VulnerabilitySeverityLevel":"Low","LastModifiedTime":"2024-01-05T00:00:00Z",` +
						`"PublishedDate":"2024-01-05T00:00:00Z","VulnerabilityDescription":"Weak default.","AffectedSoftware":null}]`},
				// A join of the machines' vulnerabilities to the catalog.
				{w.mde, "DeviceTvmSoftwareVulnerabilities | join kind=inner (DeviceTvmSoftwareVulnerabilitiesKB | where IsExploitAvailable) on CveId | summarize Machines = dcount(DeviceId) by CveId",
					`[{"CveId":"CVE-2024-1111","Machines":2}]`},
				// ana (The-A-Team): the vault's rows are not read; the catalog is whole.
				{w.ana, "DeviceTvmSoftwareInventory | summarize Ids = make_set(DeviceId)", `[{"Ids":["` + machine1 + `","` + machine2 + `"]}]`},
				{w.ana, "DeviceTvmSoftwareInventory | where DeviceId == '" + vault + "' | count", `[{"Count":0}]`},
				{w.ana, "DeviceTvmSoftwareVulnerabilities | where DeviceName has 'vault' or DeviceId == '" + vault + "' | count", `[{"Count":0}]`},
				{w.ana, "DeviceTvmSoftwareVulnerabilities | summarize count() by CveId | order by CveId asc",
					`[{"CveId":"CVE-2024-1111","count_":1},{"CveId":"CVE-2024-2222","count_":1},{"CveId":"TVM-2024-0003","count_":1}]`},
				{w.ana, "DeviceTvmSoftwareVulnerabilitiesKB | count", `[{"Count":3}]`},
				{w.admin, "DeviceTvmSoftwareVulnerabilities | where DeviceId == '" + vault + "' | count", `[{"Count":2}]`},
			} {
				if got := w.results(t, c.token, c.query); got != c.want {
					t.Errorf("%s:\n got %s\nwant %s", c.query, got, c.want)
				}
			}
		})
	}
}
