package tvmapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/openatp/openatp/apitest"
)

const (
	t1 = "2024-01-01T12:00:00.0000000Z"
	t2 = "2024-01-02T12:00:00.0000000Z"
)

// The vulnerabilities of the fleet as the application sees them: %d is
// exposedMachines, %s the status that follows from it (n).
const (
	cve1 = `{"id":"CVE-2024-0001","name":"Chrome use after free","description":"A use after free in V8.","severity":"Critical",
		"cvssV3":9.8,"cvssVector":null,"exposedMachines":%d,"publishedOn":"` + t1 + `","updatedOn":"` + t2 + `","firstDetected":null,"patchFirstAvailable":null,"publicExploit":true,
		"exploitVerified":true,"exploitInKit":false,"exploitTypes":["Remote code execution"],"exploitUris":["https://example.com/poc"],
		"cveSupportability":null,"tags":[],"epss":0,"status":"%s"}`
	cve2 = `{"id":"CVE-2024-0002","name":"CVE-2024-0002","description":"Out of bounds read.","severity":"High","cvssV3":7.5,"cvssVector":null,
		"exposedMachines":%d,"publishedOn":"` + t1 + `","updatedOn":"` + t1 + `","firstDetected":null,"patchFirstAvailable":null,"publicExploit":false,"exploitVerified":false,
		"exploitInKit":false,"exploitTypes":[],"exploitUris":[],"cveSupportability":null,"tags":[],"epss":0,"status":"%s"}`
	cve3 = `{"id":"CVE-2024-0003","name":"CVE-2024-0003","description":"Kernel elevation of privilege.","severity":"Medium","cvssV3":5,"cvssVector":null,
		"exposedMachines":%d,"publishedOn":"` + t1 + `","updatedOn":"` + t1 + `","firstDetected":null,"patchFirstAvailable":null,"publicExploit":false,"exploitVerified":false,
		"exploitInKit":false,"exploitTypes":[],"exploitUris":[],"cveSupportability":null,"tags":[],"epss":0,"status":"%s"}`
	tvm4 = `{"id":"TVM-2024-0004","name":"TVM-2024-0004","description":"Weak default.","severity":"Low","cvssV3":0,"cvssVector":null,
		"exposedMachines":0,"publishedOn":"` + t1 + `","updatedOn":"` + t1 + `","firstDetected":null,"patchFirstAvailable":null,"publicExploit":false,"exploitVerified":false,
		"exploitInKit":false,"exploitTypes":[],"exploitUris":[],"cveSupportability":null,"tags":[],"epss":0,"status":"NoActionRequired"}`
)

func n(format string, v int) string {
	status := "RemediationRequired"
	if v == 0 {
		status = "NoActionRequired"
	}
	return strings.Replace(strings.Replace(format, "%d", itoa(v), 1), "%s", status, 1)
}

func itoa(v int) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestMachineRoutes checks a machine's vulnerabilities, software,
// recommendations and missing KBs against the hand-computed fleet, on
// both stores.
func TestMachineRoutes(t *testing.T) {
	storesOf(t, func(t *testing.T, e *env) {
		r := e.get(t, "/api/machines/"+m1+"/vulnerabilities", e.app, http.StatusOK)
		apitest.CheckJSONHeaders(t, r, "application/json; odata.metadata=minimal")
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#Collection(Analytics.Contracts.PublicAPI.PublicVulnerabilityDto)",
			"value":[`+n(cve1, 3)+`,`+n(cve2, 2)+`,`+n(cve3, 1)+`]}`)

		// Software of m1: chrome's impact is the fall of the mean score if
		// its vulnerabilities were fixed: m1 29→3 (26), m2 20→0, vault
		// 26→0, over 4 machines = 18; windows_11's 3/4 = 0.75.
		r = e.get(t, "/api/machines/"+m1+"/software", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#Software","value":[
			{"id":"google-_-chrome","name":"chrome","vendor":"google","weaknesses":2,"publicExploit":true,"activeAlert":false,"exposedMachines":3,
			 "installedMachines":3,"impactScore":18,"isNormalized":true,"category":"Application","distributions":null},
			{"id":"microsoft-_-windows_11","name":"windows_11","vendor":"microsoft","weaknesses":1,"publicExploit":false,"activeAlert":false,"exposedMachines":1,
			 "installedMachines":1,"impactScore":0.75,"isNormalized":true,"category":"OS","distributions":null}]}`)

		r = e.get(t, "/api/machines/"+m1+"/recommendations", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#Recommendations","value":[`+chromeRec(2, 18, 3, 3, "121.0")+`,`+winRec+`]}`)

		r = e.get(t, "/api/machines/"+m1+"/getmissingkbs", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#Collection(microsoft.windowsDefenderATP.api.PublicProductFixDto)","value":[
			{"id":"5031356","name":"November 2023 Security Updates","osBuild":22631,"productsNames":["windows_11"],
			 "url":"https://catalog.update.microsoft.com/v7/site/Search.aspx?q=KB5031356","machineMissedOn":1,"cveAddressed":1}]}`)

		// A machine without vulnerabilities: empty lists; an unknown one: 404.
		r = e.get(t, "/api/machines/"+lone+"/vulnerabilities", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#Collection(Analytics.Contracts.PublicAPI.PublicVulnerabilityDto)","value":[]}`)
		r = e.get(t, "/api/machines/"+strings.Repeat("9", 40)+"/getmissingkbs", e.app, http.StatusNotFound)
		apitest.CheckError(t, r, http.StatusNotFound, "ResourceNotFound")
		// The computer name names the machine too, and /api/v1.0 and any
		// case of the segments are the same route.
		a := e.get(t, "/api/machines/mymachine1.contoso.com/vulnerabilities", e.app, http.StatusOK)
		b := e.get(t, "/api/v1.0/Machines/"+m1+"/Vulnerabilities", e.app, http.StatusOK)
		if string(a.Body) != string(b.Body) {
			t.Errorf("by name and by id differ:\n%s\n%s", a.Body, b.Body)
		}
		// Query options are refused; a token without the permission is 403.
		apitest.CheckError(t, e.get(t, "/api/machines/"+m1+"/software?$top=1", e.app, http.StatusBadRequest), http.StatusBadRequest, "ODataError")
		apitest.CheckError(t, e.get(t, "/api/machines/"+m1+"/software", e.none, http.StatusForbidden), http.StatusForbidden, "Forbidden")
		apitest.CheckError(t, e.get(t, "/api/machines/"+m1+"/software", "", http.StatusUnauthorized), http.StatusUnauthorized, "Unauthorized")
	})
}

// chromeRec is chrome's recommendation with the given values.
func chromeRec(weaknesses int, impact float64, exposed, total int, version string) string {
	b, _ := json.Marshal(impact)
	return `{"id":"va-_-google-_-chrome","productName":"chrome","recommendationName":"Update Chrome","weaknesses":` + itoa(weaknesses) +
		`,"vendor":"google","recommendedVersion":"` + version + `","recommendedVendor":null,"recommendedProgram":null,"recommendationCategory":"Application","subCategory":"","severityScore":9.8,
		"publicExploit":true,"activeAlert":false,"associatedThreats":[],"remediationType":"Update","status":"Active","configScoreImpact":0,
		"exposureImpact":` + string(b) + `,"totalMachineCount":` + itoa(total) + `,"exposedMachinesCount":` + itoa(exposed) + `,
		"nonProductivityImpactedAssets":0,"relatedComponent":"Chrome","hasUnpatchableCve":false,"tags":[],"exposedCriticalDevices":0}`
}

// winRec is windows_11's recommendation: fixed by a KB, no version known.
const winRec = `{"id":"va-_-microsoft-_-windows_11","productName":"windows_11","recommendationName":"Update Windows 11","weaknesses":1,
	"vendor":"microsoft","recommendedVersion":"","recommendedVendor":null,"recommendedProgram":null,"recommendationCategory":"OS","subCategory":"","severityScore":5,"publicExploit":false,
	"activeAlert":false,"associatedThreats":[],"remediationType":"Update","status":"Active","configScoreImpact":0,"exposureImpact":0.75,
	"totalMachineCount":1,"exposedMachinesCount":1,"nonProductivityImpactedAssets":0,"relatedComponent":"Windows 11","hasUnpatchableCve":false,"tags":[],"exposedCriticalDevices":0}`

// machineRef is a MachineReferences item of the fixture's machines.
func machineRef(id string) string {
	switch id {
	case m1:
		return `{"id":"` + m1 + `","computerDnsName":"mymachine1.contoso.com","osPlatform":"Windows10","assetCriticalityLevel":null,
			"tags":["test tag 1","test tag 2"],"rbacGroupName":"The-A-Team","rbacGroupId":140}`
	case m2:
		return `{"id":"` + m2 + `","computerDnsName":"mymachine2.contoso.com","osPlatform":"Windows10","assetCriticalityLevel":null,
			"tags":["test tag 1"],"rbacGroupName":"The-A-Team","rbacGroupId":140}`
	case vault:
		return `{"id":"` + vault + `","computerDnsName":"vault.contoso.com","osPlatform":null,"assetCriticalityLevel":null,"tags":["vault"],
			"rbacGroupName":"Vault","rbacGroupId":150}`
	}
	return `{"id":"` + lone + `","computerDnsName":null,"osPlatform":null,"assetCriticalityLevel":null,"tags":[],
		"rbacGroupName":"Ungrouped machines (default)","rbacGroupId":0}`
}

// TestCatalogRoutes checks /Software, /vulnerabilities and
// /recommendations with their references and OData options, on both
// stores.
func TestCatalogRoutes(t *testing.T) {
	storesOf(t, func(t *testing.T, e *env) {
		chromeSW := `{"id":"google-_-chrome","name":"chrome","vendor":"google","weaknesses":2,"publicExploit":true,"activeAlert":false,"exposedMachines":3,
			"installedMachines":3,"impactScore":18,"isNormalized":true,"category":"Application","distributions":null}`
		r := e.get(t, "/api/Software?$filter=vendor+eq+'google'", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#Software","value":[`+chromeSW+`]}`)
		r = e.get(t, "/api/software/google-_-chrome", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#Software/$entity",`+chromeSW[1:])
		// Paging: $top 2, then the rest through the nextLink.
		r = e.get(t, "/api/Software?$top=2", e.app, http.StatusOK)
		var page struct {
			Value []struct{ ID string }
			Next  string `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Value) != 2 || page.Value[0].ID != "google-_-chrome" || page.Next != e.Srv.URL+"/api/Software?$top=2&$skip=2" {
			t.Errorf("first page %s", r.Body)
		}
		r = e.get(t, "/api/Software?$top=2&$skip=2", e.app, http.StatusOK)
		if ids := apitest.MachineIDs(t, r.Body); strings.Join(ids, ",") != "microsoft-_-edge,microsoft-_-windows_11" {
			t.Errorf("second page %v", ids)
		}
		apitest.CheckError(t, e.get(t, "/api/Software?$filter=weaknesses+gt+1", e.app, http.StatusBadRequest), http.StatusBadRequest, "ODataError")
		apitest.CheckError(t, e.get(t, "/api/Software?$top=10001", e.app, http.StatusBadRequest), http.StatusBadRequest, "ODataError")
		apitest.CheckError(t, e.get(t, "/api/Software/nobody-_-nothing", e.app, http.StatusNotFound), http.StatusNotFound, "ResourceNotFound")

		r = e.get(t, "/api/Software/google-_-chrome/distributions", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#Distributions","value":[
			{"version":"119.0","installations":1,"vulnerabilities":1},{"version":"120.0","installations":2,"vulnerabilities":2}]}`)
		r = e.get(t, "/api/Software/google-_-chrome/machineReferences", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#MachineReferences","value":[`+
			machineRef(m1)+`,`+machineRef(vault)+`,`+machineRef(m2)+`]}`)
		r = e.get(t, "/api/Software/google-_-chrome/vulnerabilities", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#Vulnerabilities","value":[`+n(cve1, 3)+`,`+n(cve2, 2)+`]}`)
		r = e.get(t, "/api/Software/microsoft-_-windows_11/getmissingkbs", e.app, http.StatusOK)
		if !strings.Contains(string(r.Body), `"id":"5031356"`) || !strings.Contains(string(r.Body), `"machineMissedOn":1`) {
			t.Errorf("windows_11 missing KBs %s", r.Body)
		}

		r = e.get(t, "/api/vulnerabilities", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#Vulnerabilities","value":[`+
			n(cve1, 3)+`,`+n(cve2, 2)+`,`+n(cve3, 1)+`,`+tvm4+`]}`)
		r = e.get(t, "/api/vulnerabilities?$filter=severity+eq+'High'+or+severity+eq+'Low'", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#Vulnerabilities","value":[`+n(cve2, 2)+`,`+tvm4+`]}`)
		r = e.get(t, "/api/vulnerabilities?$filter=updatedOn+gt+2024-01-01T13:00:00Z", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#Vulnerabilities","value":[`+n(cve1, 3)+`]}`)
		r = e.get(t, "/api/vulnerabilities/cve-2024-0002", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#Vulnerabilities/$entity",`+n(cve2, 2)[1:])
		r = e.get(t, "/api/vulnerabilities/CVE-2024-0002/machinereferences", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#MachineReferences","value":[`+machineRef(m1)+`,`+machineRef(vault)+`]}`)
		apitest.CheckError(t, e.get(t, "/api/vulnerabilities/CVE-2099-0001", e.app, http.StatusNotFound), http.StatusNotFound, "ResourceNotFound")

		r = e.get(t, "/api/recommendations", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#Recommendations","value":[`+chromeRec(2, 18, 3, 3, "121.0")+`,`+winRec+`]}`)
		r = e.get(t, "/api/recommendations?$filter=recommendationCategory+eq+'OS'", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#Recommendations","value":[`+winRec+`]}`)
		r = e.get(t, "/api/recommendations/va-_-google-_-chrome", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#Recommendations/$entity",`+chromeRec(2, 18, 3, 3, "121.0")[1:])
		r = e.get(t, "/api/recommendations/va-_-google-_-chrome/software", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#Software","value":[`+chromeSW+`]}`)
		r = e.get(t, "/api/recommendations/va-_-google-_-chrome/machineReferences", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#MachineReferences","value":[`+
			machineRef(m1)+`,`+machineRef(vault)+`,`+machineRef(m2)+`]}`)
		r = e.get(t, "/api/recommendations/va-_-google-_-chrome/vulnerabilities", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#Vulnerabilities","value":[`+n(cve1, 3)+`,`+n(cve2, 2)+`]}`)
		apitest.CheckError(t, e.get(t, "/api/recommendations/va-_-igor_pavlov-_-7-zip", e.app, http.StatusNotFound), http.StatusNotFound, "ResourceNotFound")
	})
}

// row is a machinesVulnerabilities row of the fleet.
func row(machine, cve, vendor, product, version, kb, severity string) string {
	kbJSON := "null"
	if kb != "" {
		kbJSON = `"` + kb + `"`
	}
	return `{"id":"` + strings.Join([]string{machine, cve, vendor, product, version, kb}, "-_-") + `","cveId":"` + cve +
		`","machineId":"` + machine + `","fixingKbId":` + kbJSON + `,"productName":"` + product + `","productVendor":"` + vendor +
		`","productVersion":"` + version + `","severity":"` + severity + `"}`
}

// TestMachinesVulnerabilities checks the rows of every machine, version
// and vulnerability, their ids, filters and paging.
func TestMachinesVulnerabilities(t *testing.T) {
	storesOf(t, func(t *testing.T, e *env) {
		const set = `"@odata.context":"URL/api/$metadata#Collection(microsoft.windowsDefenderATP.api.PublicAssetVulnerabilityDto)"`
		rows := []string{
			row(m1, "CVE-2024-0001", "google", "chrome", "120.0", "", "Critical"),
			row(m1, "CVE-2024-0002", "google", "chrome", "120.0", "", "High"),
			row(m1, "CVE-2024-0003", "microsoft", "windows_11", "10.0.22631.1", "5031356", "Medium"),
			row(vault, "CVE-2024-0001", "google", "chrome", "120.0", "", "Critical"),
			row(vault, "CVE-2024-0002", "google", "chrome", "120.0", "", "High"),
			row(m2, "CVE-2024-0001", "google", "chrome", "119.0", "", "Critical"),
		}
		r := e.get(t, "/api/vulnerabilities/machinesVulnerabilities", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{`+set+`,"value":[`+strings.Join(rows, ",")+`]}`)
		r = e.get(t, "/api/vulnerabilities/machinesVulnerabilities?$top=2&$skip=3", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{`+set+`,"value":[`+rows[3]+`,`+rows[4]+`],
			"@odata.nextLink":"URL/api/vulnerabilities/machinesVulnerabilities?$top=2&$skip=5"}`)
		r = e.get(t, "/api/vulnerabilities/machinesVulnerabilities?$filter=fixingKbId+eq+'5031356'", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{`+set+`,"value":[`+rows[2]+`]}`)
		r = e.get(t, "/api/vulnerabilities/machinesVulnerabilities?$filter=cveId+eq+'CVE-2024-0002'+and+machineId+eq+'"+vault+"'", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{`+set+`,"value":[`+rows[4]+`]}`)
		id := m2 + "-_-CVE-2024-0001-_-google-_-chrome-_-119.0-_-"
		r = e.get(t, "/api/vulnerabilities/machinesVulnerabilities?$filter=id+eq+'"+id+"'", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{`+set+`,"value":[`+rows[5]+`]}`)
		r = e.get(t, "/api/vulnerabilities/machinesVulnerabilities?$filter=productVersion+eq+'120.0'+and+severity+eq+'High'", e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{`+set+`,"value":[`+rows[1]+`,`+rows[4]+`]}`)
		// The delegated user of The-A-Team does not see the vault's rows.
		r = e.get(t, "/api/vulnerabilities/machinesVulnerabilities", e.ana, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{`+set+`,"value":[`+rows[0]+`,`+rows[1]+`,`+rows[2]+`,`+rows[5]+`]}`)
	})
}
