package tvmapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/openatp/openatp"
)

// TestCheckMSDefender replays the requests of the Nagios plugin
// check_msdefender (lduchosal/check_msdefender 1.4.10,
// check_msdefender/core/defender.py), byte for byte as Python's requests
// encodes their params, and reads the answers as its services do
// (services/products_service.py, services/vulnerabilities_service.py):
// the plugin itself needs azure-identity, which this machine lacks, and
// its hosts are fixed to Microsoft's.
func TestCheckMSDefender(t *testing.T) {
	e := newEnv(t, false)
	// The plugin's application: Machine.Read.All and the TVM permissions.
	tok := e.Token(t, e.Tenant, e.NewApp(t, e.Tenant, "check_msdefender", append(appTVM, openatp.PermMachineReadAll)...))
	send := func(path string) []byte {
		t.Helper()
		req, err := http.NewRequest("GET", e.Srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json") // the plugin sends it on GETs
		r := e.Send(t, req)
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
		}
		return r.Body
	}

	// resolve_machine: the machine by its DNS name, $select=id.
	var machines struct{ Value []struct{ ID string } }
	body := send("/api/machines?%24filter=computerDnsName+eq+%27mymachine1.contoso.com%27&%24select=id")
	if err := json.Unmarshal(body, &machines); err != nil || len(machines.Value) != 1 || machines.Value[0].ID != m1 {
		t.Fatalf("machine by DNS name: %s", body)
	}

	// The products check: every row of SoftwareVulnerabilitiesByMachine
	// (pageIndex=1, pageSize=50000), kept for the machine, grouped by
	// software, counted by severity.
	var products struct {
		Value []struct {
			DeviceID, SoftwareName, SoftwareVersion, SoftwareVendor, CveID, VulnerabilitySeverityLevel string
			CvssScore                                                                                  float64
			DiskPaths, RegistryPaths                                                                   []string
		}
	}
	body = send("/api/machines/SoftwareVulnerabilitiesByMachine?pageIndex=1&pageSize=50000")
	if err := json.Unmarshal(body, &products); err != nil {
		t.Fatal(err)
	}
	software, severities, total := map[string]int{}, map[string]int{}, 0
	for _, p := range products.Value {
		if p.DeviceID != m1 {
			continue
		}
		total++
		software[p.SoftwareVendor+"/"+p.SoftwareName+"/"+p.SoftwareVersion]++
		severities[strings.ToLower(p.VulnerabilitySeverityLevel)]++
		if p.CveID == "" || p.CvssScore == 0 || p.DiskPaths == nil || p.RegistryPaths == nil {
			t.Errorf("a row the plugin reads as Unknown: %+v", p)
		}
	}
	if total != 3 || len(software) != 2 || software["google/chrome/120.0"] != 2 ||
		severities["critical"] != 1 || severities["high"] != 1 || severities["medium"] != 1 {
		t.Errorf("products of m1: %d CVEs, software %v, severities %v", total, software, severities)
	}

	// The vulnerabilities check: the machine's vulnerabilities, by id,
	// with severity, name and description.
	var vulns struct {
		Value []struct{ ID, Severity, Name, Description string }
	}
	body = send("/api/machines/" + m1 + "/vulnerabilities")
	if err := json.Unmarshal(body, &vulns); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vulns.Value {
		got = append(got, v.ID+":"+v.Severity)
		if v.Name == "" || v.Description == "" {
			t.Errorf("vulnerability %+v lacks its name or description", v)
		}
	}
	if strings.Join(got, " ") != "CVE-2024-0001:Critical CVE-2024-0002:High CVE-2024-0003:Medium" {
		t.Errorf("vulnerabilities of m1: %v", got)
	}
}
