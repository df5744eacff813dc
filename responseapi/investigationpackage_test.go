package responseapi_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
)

func TestInvestigationPackage(t *testing.T) {
	af := newLiveFixture(t, openatp.ActionTiming{Pending: 20 * time.Millisecond, InProgress: 20 * time.Millisecond, TimeOut: time.Hour}, 1, nil)
	m := openatp.Machine{ID: apitest.MID(1), ComputerDNSName: openatp.Ptr("lr1.contoso.com"), OSPlatform: openatp.Ptr("Windows11"),
		LastIPAddress: openatp.Ptr("10.0.0.7"), IPAddresses: []openatp.IPAddress{{IPAddress: "10.0.0.7", MACAddress: openatp.Ptr("001122334455")}}}
	af.Load(t, af.Tenant, []openatp.Machine{m}, []openatp.Logon{{MachineID: m.ID, AccountName: "alice", AccountDomain: "contoso",
		LogonType: "Interactive", Timestamp: time.Now().Add(-time.Hour)}})
	// A scan is no collection: 404, before and after it ends.
	scan := actionJSON(t, af.SendJSON(t, "POST", "/api/machines/"+m.ID+"/runAntiVirusScan", af.token, `{"Comment":"s","ScanType":"Quick"}`), 201,
		af.Srv.URL+"/api/$metadata#MachineActions/$entity")
	apitest.CheckError(t, af.Do(t, "GET", "/api/machineactions/"+scan["id"].(string)+"/getPackageUri", af.token), http.StatusNotFound, "ResourceNotFound")

	af.timings.Set("", "", openatp.ActionTiming{Pending: 300 * time.Millisecond, InProgress: 20 * time.Millisecond, TimeOut: time.Hour})
	v := actionJSON(t, af.SendJSON(t, "POST", "/api/machines/"+m.ID+"/collectInvestigationPackage", af.token, `{"Comment":"collect"}`), 201,
		af.Srv.URL+"/api/$metadata#MachineActions/$entity")
	id := v["id"].(string)
	// 404 until the collection has succeeded.
	apitest.CheckError(t, af.Do(t, "GET", "/api/machineactions/"+id+"/getPackageUri", af.token), http.StatusNotFound, "ResourceNotFound")
	af.waitStatus(t, id, "Succeeded")
	r := af.Do(t, "GET", "/api/v1.0/machineactions/"+id+"/GetPackageUri", af.token)
	if r.Status != 200 {
		t.Fatalf("getPackageUri: %d %s", r.Status, r.Body)
	}
	var link struct {
		Context string `json:"@odata.context"`
		Value   string `json:"value"`
	}
	if err := json.Unmarshal(r.Body, &link); err != nil {
		t.Fatal(err)
	}
	if link.Context != af.Srv.URL+"/api/$metadata#Edm.String" || !strings.HasPrefix(link.Value, af.Srv.URL+"/api/investigationpackages/"+af.Tenant.ID+"/"+id+"/package.zip?se=") ||
		!strings.Contains(link.Value, "&sig=") {
		t.Fatalf("link %s", r.Body)
	}
	res, err := http.Get(link.Value)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("package: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		c, _ := io.ReadAll(rc)
		rc.Close()
		files[f.Name] = string(c)
	}
	sort.Strings(names)
	want := []string{"Autoruns/", "CollectionSummaryReport.xls", "Installed programs/InstalledPrograms.csv", "Network connections/Ipconfig.txt",
		"Prefetch files/", "Processes/", "Scheduled tasks/", "Security event log/", "Services/", "System Information/SystemInformation.txt",
		"Temp Directories/", "Users and Groups/LoggedOnUsers.txt", "WdSupportLogs/", "Windows Server Message Block (SMB) sessions/"}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Errorf("entries %q, want %q", names, want)
	}
	for name, part := range map[string]string{
		"System Information/SystemInformation.txt": "Host Name: lr1.contoso.com\r\nMachine Id: " + m.ID + "\r\nOS Name: Windows11\r\n",
		"Network connections/Ipconfig.txt":         "Physical Address. . . . . . . . . : 001122334455\r\n   IP Address. . . . . . . . . . . . : 10.0.0.7\r\n",
		"Users and Groups/LoggedOnUsers.txt":       "\r\ncontoso\talice\t",
		"CollectionSummaryReport.xls":              "System Information\tCollected\r\n",
	} {
		if !strings.Contains(files[name], part) {
			t.Errorf("%s = %q, want it to hold %q", name, files[name], part)
		}
	}
	// The same link again gives the same bytes; a bad signature 403; a POST 404.
	res, err = http.Get(link.Value)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !bytes.Equal(again, b) {
		t.Error("the package changed between two downloads")
	}
	req, _ := http.NewRequest("GET", strings.Replace(link.Value, "&sig=", "&sig=f", 1), nil)
	apitest.CheckError(t, af.Send(t, req), http.StatusForbidden, "AuthenticationFailed")
	apitest.CheckError(t, af.SendJSON(t, "POST", "/api/machineactions/"+id+"/getPackageUri", af.token, `{}`), http.StatusNotFound, "NotFound")
	// An application without Machine.Read.All(ReadWrite.All): 403.
	other := af.Fixture.Token(t, af.Tenant, af.NewApp(t, af.Tenant, "collector", openatp.PermMachineCollectForensics))
	apitest.CheckError(t, af.Do(t, "GET", "/api/machineactions/"+id+"/getPackageUri", other), http.StatusForbidden, "Forbidden")
}
