package tvmapi_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp/apitest"
)

// page is a by-machine page, its rows kept as JSON.
type page struct {
	Context string            `json:"@odata.context"`
	Value   []json.RawMessage `json:"value"`
	Next    string            `json:"@odata.nextLink"`
}

func readPage(t testing.TB, r apitest.Response) page {
	t.Helper()
	var p page
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("%v: %s", err, r.Body)
	}
	return p
}

// ids are the "id" (or deviceId+software) of each row.
func ids(t testing.TB, rows []json.RawMessage) []string {
	t.Helper()
	var out []string
	for _, raw := range rows {
		var v struct {
			ID, DeviceID, SoftwareName, SoftwareVersion string
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		if v.ID == "" {
			v.ID = v.DeviceID + "/" + v.SoftwareName + "/" + v.SoftwareVersion
		}
		out = append(out, v.ID)
	}
	return out
}

// walk follows the nextLinks from path and returns every row.
func walk(t testing.TB, e *env, path, token string) []json.RawMessage {
	t.Helper()
	var rows []json.RawMessage
	for path != "" {
		p := readPage(t, e.get(t, path, token, http.StatusOK))
		rows = append(rows, p.Value...)
		path = strings.TrimPrefix(p.Next, e.Srv.URL)
		if len(rows) > 1000 {
			t.Fatal("the nextLinks do not end")
		}
	}
	return rows
}

// The rows of SoftwareVulnerabilitiesByMachine, by machine id, product and
// vulnerability.
var assetIDs = []string{
	m1 + "_chrome_120.0_CVE-2024-0001_", m1 + "_chrome_120.0_CVE-2024-0002_", m1 + "_windows_11_10.0.22631.1_CVE-2024-0003_5031356",
	vault + "_chrome_120.0_CVE-2024-0001_", vault + "_chrome_120.0_CVE-2024-0002_",
	m2 + "_chrome_119.0_CVE-2024-0001_",
}

// TestSoftwareVulnerabilitiesByMachine checks the rows, their JSON and
// every paging form: pageSize with the $skiptoken nextLinks, pageIndex,
// $top; the delegated scope; on both stores.
func TestSoftwareVulnerabilitiesByMachine(t *testing.T) {
	storesOf(t, func(t *testing.T, e *env) {
		const path = "/api/machines/SoftwareVulnerabilitiesByMachine"
		p := readPage(t, e.get(t, path, e.app, http.StatusOK))
		if p.Context != e.Srv.URL+"/api/$metadata#Collection(microsoft.windowsDefenderATP.api.AssetVulnerability)" || p.Next != "" {
			t.Errorf("context %q, nextLink %q", p.Context, p.Next)
		}
		if got := ids(t, p.Value); strings.Join(got, " ") != strings.Join(assetIDs, " ") {
			t.Fatalf("rows\n%v\nwant\n%v", got, assetIDs)
		}
		jsonEq(t, e.Srv.URL, p.Value[2], `{"id":"`+assetIDs[2]+`","deviceId":"`+m1+`","rbacGroupId":140,"rbacGroupName":"The-A-Team",
			"deviceName":"mymachine1.contoso.com","osPlatform":"Windows10","osVersion":"10.0.0.0","osArchitecture":"64-bit",
			"softwareVendor":"microsoft","softwareName":"windows_11","softwareVersion":"10.0.22631.1","cveId":"CVE-2024-0003",
			"cvssScore":5,"vulnerabilitySeverityLevel":"Medium","recommendedSecurityUpdate":"November 2023 Security Updates",
			"recommendedSecurityUpdateId":"5031356","recommendedSecurityUpdateUrl":"https://catalog.update.microsoft.com/v7/site/Search.aspx?q=KB5031356",
			"diskPaths":[],"registryPaths":[],"lastSeenTimestamp":"2024-01-06 12:00:00","firstSeenTimestamp":"2024-01-05 12:00:00",
			"endOfSupportStatus":"None","endOfSupportDate":null,"exploitabilityLevel":"NoExploit",
			"recommendationReference":"va-_-microsoft-_-windows_11","securityUpdateAvailable":true,"cveMitigationStatus":null}`)
		jsonEq(t, e.Srv.URL, p.Value[0], `{"id":"`+assetIDs[0]+`","deviceId":"`+m1+`","rbacGroupId":140,"rbacGroupName":"The-A-Team",
			"deviceName":"mymachine1.contoso.com","osPlatform":"Windows10","osVersion":"10.0.0.0","osArchitecture":"64-bit",
			"softwareVendor":"google","softwareName":"chrome","softwareVersion":"120.0","cveId":"CVE-2024-0001",
			"cvssScore":9.8,"vulnerabilitySeverityLevel":"Critical","recommendedSecurityUpdate":null,
			"recommendedSecurityUpdateId":null,"recommendedSecurityUpdateUrl":null,
			"diskPaths":["C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"],"registryPaths":[],
			"lastSeenTimestamp":"2024-01-06 12:00:00","firstSeenTimestamp":"2024-01-05 12:00:00","endOfSupportStatus":"None",
			"endOfSupportDate":null,"exploitabilityLevel":"ExploitIsVerified","recommendationReference":"va-_-google-_-chrome",
			"securityUpdateAvailable":true,"cveMitigationStatus":null}`)

		// pageSize 2: three pages through $skiptoken nextLinks, the same rows.
		first := readPage(t, e.get(t, path+"?pageSize=2", e.app, http.StatusOK))
		if !strings.HasPrefix(first.Next, e.Srv.URL+path+"?pageSize=2&$skiptoken=") {
			t.Errorf("nextLink %q", first.Next)
		}
		all := walk(t, e, path+"?pageSize=2", e.app)
		if got := ids(t, all); strings.Join(got, " ") != strings.Join(assetIDs, " ") {
			t.Errorf("walked rows %v", got)
		}
		// check_msdefender's form: pageIndex counts pages of pageSize from 1.
		p = readPage(t, e.get(t, path+"?pageIndex=2&pageSize=2", e.app, http.StatusOK))
		if got := ids(t, p.Value); strings.Join(got, " ") != strings.Join(assetIDs[2:4], " ") || p.Next == "" {
			t.Errorf("pageIndex=2: %v, next %q", got, p.Next)
		}
		p = readPage(t, e.get(t, path+"?pageIndex=9&pageSize=2", e.app, http.StatusOK))
		if len(p.Value) != 0 || p.Next != "" {
			t.Errorf("past the end: %d rows, next %q", len(p.Value), p.Next)
		}
		// $top: that many rows, no nextLink.
		p = readPage(t, e.get(t, path+"?$top=3", e.app, http.StatusOK))
		if got := ids(t, p.Value); strings.Join(got, " ") != strings.Join(assetIDs[:3], " ") || p.Next != "" {
			t.Errorf("$top=3: %v, next %q", got, p.Next)
		}
		for _, bad := range []string{"?pageIndex=0", "?$skiptoken=notatoken", "?$filter=cveId+eq+'x'", "?pageSize=abc"} {
			r := e.get(t, path+bad, e.app, http.StatusBadRequest)
			if r.Status != http.StatusBadRequest {
				t.Errorf("%s: %d", bad, r.Status)
			}
		}
		// The delegated user of The-A-Team: not the vault's rows.
		got := ids(t, walk(t, e, path+"?pageSize=1", e.ana))
		if want := []string{assetIDs[0], assetIDs[1], assetIDs[2], assetIDs[5]}; strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("delegated rows %v", got)
		}
		apitest.CheckError(t, e.get(t, path, e.none, http.StatusForbidden), http.StatusForbidden, "Forbidden")
	})
}

// TestInventoryAndChanges checks SoftwareInventoryByMachine and the delta
// SoftwareVulnerabilityChangesByMachine.
func TestInventoryAndChanges(t *testing.T) {
	storesOf(t, func(t *testing.T, e *env) {
		const path = "/api/machines/SoftwareInventoryByMachine"
		p := readPage(t, e.get(t, path, e.app, http.StatusOK))
		want := []string{lone + "/7-zip/23.01", m1 + "/chrome/120.0", m1 + "/windows_11/10.0.22631.1",
			vault + "/chrome/120.0", vault + "/7-zip/23.01", m2 + "/chrome/119.0", m2 + "/edge/120.0"}
		if got := ids(t, p.Value); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("inventory rows\n%v\nwant\n%v", got, want)
		}
		jsonEq(t, e.Srv.URL, p.Value[0], `{"deviceId":"`+lone+`","rbacGroupId":0,"rbacGroupName":"Ungrouped machines (default)","deviceName":null,
			"osPlatform":null,"softwareVendor":"igor_pavlov","softwareName":"7-zip","softwareVersion":"23.01","numberOfWeaknesses":0,
			"diskPaths":[],"registryPaths":[],"softwareFirstSeenTimestamp":"2024-01-05 12:00:00","endOfSupportStatus":"None","endOfSupportDate":null}`)
		if got := ids(t, walk(t, e, path+"?pageSize=3", e.app)); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("walked inventory %v", got)
		}

		// Everything was imported just now: every vulnerability row is New.
		const delta = "/api/machines/SoftwareVulnerabilityChangesByMachine"
		since := url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
		rows := walk(t, e, delta+"?pageSize=4&sinceTime="+since, e.app)
		if got := ids(t, rows); strings.Join(got, " ") != strings.Join(assetIDs, " ") {
			t.Errorf("delta rows %v", got)
		}
		for _, raw := range rows {
			var v struct{ Status, EventTimestamp string }
			_ = json.Unmarshal(raw, &v)
			if v.Status != "New" || len(v.EventTimestamp) != len("2024-01-05 12:00:00") {
				t.Errorf("delta row %s", raw)
			}
		}
		p = readPage(t, e.get(t, delta+"?sinceTime="+url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339)), e.app, http.StatusOK))
		if len(p.Value) != 0 {
			t.Errorf("changes after now: %d rows", len(p.Value))
		}
		// No sinceTime (mde-client's softwareVulnerabilityChangesByMachine()
		// sends none): the last 14 days, and the nextLinks leave it out.
		if got := ids(t, walk(t, e, delta+"?pageSize=4", e.app)); strings.Join(got, " ") != strings.Join(assetIDs, " ") {
			t.Errorf("delta rows without sinceTime %v", got)
		}
		if p := readPage(t, e.get(t, delta+"?pageSize=4", e.app, http.StatusOK)); !strings.HasPrefix(p.Next, e.Srv.URL+delta+"?pageSize=4&$skiptoken=") {
			t.Errorf("nextLink without sinceTime %q", p.Next)
		}
		old := url.QueryEscape(time.Now().Add(-15 * 24 * time.Hour).UTC().Format(time.RFC3339))
		apitest.CheckError(t, e.get(t, delta+"?sinceTime="+old, e.app, http.StatusBadRequest), http.StatusBadRequest, "InvalidInput")
	})
}

// exportFiles asks for an export and returns its files' URLs.
func exportFiles(t testing.TB, e *env, path, token string) []string {
	t.Helper()
	r := e.get(t, path, token, http.StatusOK)
	var v struct {
		Context       string `json:"@odata.context"`
		ExportFiles   []string
		GeneratedTime string
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatal(err)
	}
	if v.Context != e.Srv.URL+"/api/$metadata#microsoft.windowsDefenderATP.api.ExportFilesResponse" || v.GeneratedTime == "" {
		t.Errorf("export answer %s", r.Body)
	}
	return v.ExportFiles
}

// download fetches export files without a token and returns their lines.
func download(t testing.TB, urls []string) []json.RawMessage {
	t.Helper()
	var rows []json.RawMessage
	for _, u := range urls {
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/gzip" {
			t.Fatalf("GET %s: %d %s", u, res.StatusCode, res.Header.Get("Content-Type"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(zr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			rows = append(rows, json.RawMessage(bytes.Clone(sc.Bytes())))
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return rows
}

// TestExport checks that the export files hold the rows of the paged
// routes, split over several files; that their URLs are signed, expire,
// and keep a delegated caller's scope.
func TestExport(t *testing.T) {
	clock := time.Now()
	now := func() time.Time { return clock }
	e := newEnv(t, false, func(c *apitest.Config) { c.TVM.MachinesPerFile, c.TVM.Now = 1, now })
	for _, k := range []struct{ export, paged, token string }{
		{"/api/machines/SoftwareVulnerabilitiesExport", "/api/machines/SoftwareVulnerabilitiesByMachine", e.app},
		{"/api/machines/SoftwareInventoryExport?sasValidHours=6", "/api/machines/SoftwareInventoryByMachine", e.app},
		{"/api/machines/SoftwareVulnerabilitiesExport", "/api/machines/SoftwareVulnerabilitiesByMachine", e.ana},
	} {
		urls := exportFiles(t, e, k.export, k.token)
		if len(urls) != 4 { // 4 machines, 1 a file
			t.Fatalf("%s: %d files, want 4", k.export, len(urls))
		}
		got, want := download(t, urls), readPage(t, e.get(t, k.paged, k.token, http.StatusOK)).Value
		if len(got) != len(want) || len(want) == 0 {
			t.Fatalf("%s: %d rows in the files, %d in the paged answer", k.export, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Errorf("%s row %d:\n%s\nwant\n%s", k.export, i, got[i], want[i])
			}
		}
	}
	urls := exportFiles(t, e, "/api/machines/SoftwareVulnerabilitiesExport?sasValidHours=2", e.app)
	res, err := http.Get(strings.Replace(urls[0], "sig=", "sig=0", 1))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("a changed signature: %d", res.StatusCode)
	}
	clock = clock.Add(2*time.Hour + time.Second)
	res, err = http.Get(urls[0])
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("an expired URL: %d", res.StatusCode)
	}
	apitest.CheckError(t, e.get(t, "/api/machines/SoftwareVulnerabilitiesExport?sasValidHours=7", e.app, http.StatusBadRequest),
		http.StatusBadRequest, "InvalidInput")
	apitest.CheckError(t, e.get(t, "/api/machines/SoftwareInventoryExport", e.none, http.StatusForbidden), http.StatusForbidden, "Forbidden")
}

// TestNoProductCode checks the inventory of software without a product
// code: openatp has none, in every paging form, and its export has no
// file; it takes the Software permission.
func TestNoProductCode(t *testing.T) {
	e := newEnv(t, false)
	const path = "/api/machines/SoftwareInventoryNoProductCodeByMachine"
	for _, q := range []string{"", "?pageSize=2", "?pageIndex=2&pageSize=1", "?$top=3", "?sinceTime=2024-01-01"} {
		r := e.get(t, path+q, e.app, http.StatusOK)
		jsonEq(t, e.Srv.URL, r.Body, `{"@odata.context":"URL/api/$metadata#Collection(microsoft.windowsDefenderATP.api.AssetNonCpeSoftware)","value":[]}`)
	}
	apitest.CheckError(t, e.get(t, path+"?$filter=deviceId+eq+'x'", e.app, http.StatusBadRequest), http.StatusBadRequest, "ODataError")
	apitest.CheckError(t, e.get(t, path, e.none, http.StatusForbidden), http.StatusForbidden, "Forbidden")
	r := e.get(t, "/api/v1.0/machines/softwareinventorynoncpeexport?sasValidHours=2", e.app, http.StatusOK)
	var v struct {
		Files []string `json:"exportFiles"`
		Time  string   `json:"generatedTime"`
	}
	if err := json.Unmarshal(r.Body, &v); err != nil || v.Files == nil || len(v.Files) != 0 || v.Time == "" {
		t.Errorf("export %s", r.Body)
	}
}
