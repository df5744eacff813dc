package indicatorapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
)

// polledAlert is what a SIEM reads of an alert in the poll.
type polledAlert struct {
	ID, Severity, Status, DetectionSource, Category, Title, MachineID string
	FirstEventTime, LastEventTime, LastUpdateTime                     string
	Evidence                                                          []map[string]any
}

// poll reads the alerts changed at or after since, with their evidence,
// as a SIEM does.
func poll(t *testing.T, f *apitest.Fixture, tok string, since time.Time) []polledAlert {
	t.Helper()
	r := f.Do(t, "GET", "/api/alerts?$expand=evidence&$filter="+url.QueryEscape("lastUpdateTime ge "+since.UTC().Format("2006-01-02T15:04:05.0000000Z")), tok)
	if r.Status != http.StatusOK {
		t.Fatalf("poll: %d %s", r.Status, r.Body)
	}
	var v struct{ Value []polledAlert }
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatal(err)
	}
	return v.Value
}

// TestIndicatorsRaiseAlerts: an active generateAlert indicator whose
// value a machine of its device groups reports raises one alert on it
// (CustomerTI, the indicator's title and severity, the file as evidence),
// which the lastUpdateTime poll sees; a second sighting updates the same
// alert, and once it is resolved a new one; an indicator submitted after the events raises them too (by IP
// and by domain); generateAlert false, an expired indicator and a machine
// outside the device groups raise nothing.
func TestIndicatorsRaiseAlerts(t *testing.T) {
	f := apitest.RBACFixture(t, false)
	f.SetAdminKey(t)
	tok := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "pipeline", openatp.PermTiReadWriteAll, openatp.PermAlertReadAll))
	const hash, quiet, stale = "3395856ce81f2b7382dee72602f798b642f14140", "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"
	submit(t, f, tok, `{"indicatorValue":"`+hash+`","indicatorType":"FileSha1","action":"Audit","generateAlert":true,"severity":"High",
		"title":"Invoice dropper","description":"Known dropper","rbacGroupNames":["Vault"]}`)
	submit(t, f, tok, `{"indicatorValue":"`+quiet+`","indicatorType":"FileSha1","action":"Block","generateAlert":false,"title":"q","description":"d"}`)
	submit(t, f, tok, `{"indicatorValue":"`+stale+`","indicatorType":"FileSha1","action":"Audit","generateAlert":true,"title":"s","description":"d","expirationTime":"2020-01-01T00:00:00Z"}`)

	since := time.Now()
	fileEvent := func(machine, sha1, ts string, report int) string {
		return `{"Timestamp":"` + ts + `","DeviceId":"` + machine + `","ActionType":"FileCreated","FileName":"invoice.exe","FolderPath":"C:\\Users\\ana\\Downloads","SHA1":"` + sha1 + `","ReportId":` + string(rune('0'+report)) + "}\n"
	}
	importEvents := func(kind, ctype, body string) {
		t.Helper()
		if r := f.Admin(t, "POST", "/_openatp/tenants/"+f.Tenant.ID+"/"+kind, apitest.AdminKey, ctype, []byte(body)); r.Status != 200 {
			t.Fatalf("import %s: %d %s", kind, r.Status, r.Body)
		}
	}
	importEvents("fileevents", "application/x-ndjson",
		fileEvent(apitest.VaultMachine, hash, "2024-03-01T10:00:00Z", 1)+
			fileEvent(apitest.DocMachine1, hash, "2024-03-01T10:00:00Z", 2)+ // outside Vault
			fileEvent(apitest.VaultMachine, quiet, "2024-03-01T10:00:00Z", 3)+
			fileEvent(apitest.VaultMachine, stale, "2024-03-01T10:00:00Z", 4))
	as := poll(t, f, tok, since)
	if len(as) != 1 {
		t.Fatalf("poll after the first sighting: %+v, want one alert", as)
	}
	a := as[0]
	if a.ID != "ti1_"+apitest.VaultMachine || a.Severity != "High" || a.Status != "New" || a.DetectionSource != "CustomerTI" ||
		a.Category != "SuspiciousActivity" || a.Title != "Invoice dropper" || a.MachineID != apitest.VaultMachine ||
		a.FirstEventTime != "2024-03-01T10:00:00Z" || a.LastEventTime != "2024-03-01T10:00:00Z" {
		t.Errorf("alert: %+v", a)
	}
	if len(a.Evidence) != 1 || a.Evidence[0]["entityType"] != "File" || a.Evidence[0]["sha1"] != hash || a.Evidence[0]["fileName"] != "invoice.exe" {
		t.Errorf("evidence: %+v", a.Evidence)
	}

	// A second sighting updates the same alert, seen by the next poll.
	next, _ := time.Parse(time.RFC3339Nano, a.LastUpdateTime)
	importEvents("fileevents", "application/json", "["+fileEvent(apitest.VaultMachine, hash, "2024-03-02T08:30:00Z", 5)+"]")
	as = poll(t, f, tok, next.Add(100*time.Nanosecond))
	if len(as) != 1 || as[0].ID != a.ID || as[0].LastEventTime != "2024-03-02T08:30:00Z" || as[0].FirstEventTime != "2024-03-01T10:00:00Z" {
		t.Fatalf("after the second sighting: %+v", as)
	}

	// Once resolved, a later sighting raises a new alert.
	if _, err := f.Store.UpdateAlerts(context.Background(), f.Tenant.ID, []string{a.ID}, func(a *openatp.Alert, _ time.Time) error {
		a.Status = "Resolved"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	since = time.Now()
	importEvents("fileevents", "application/x-ndjson", fileEvent(apitest.VaultMachine, hash, "2024-03-02T09:00:00Z", 6))
	if as := poll(t, f, tok, since); len(as) != 1 || as[0].ID != a.ID+"_2" || as[0].FirstEventTime != "2024-03-02T09:00:00Z" {
		t.Fatalf("after resolving: %+v", as)
	}

	// Look-back: events stored before the indicators.
	since = time.Now()
	importEvents("networkevents", "text/csv", "Timestamp,DeviceId,ActionType,RemoteIP,RemotePort,RemoteUrl,Protocol\n"+
		"2024-03-03T10:00:05Z,"+apitest.DocMachine1+",ConnectionSuccess,203.0.113.7,443,https://evil.example/a,Tcp\n"+
		"2024-03-03T10:00:06Z,"+apitest.DocMachine2+",ConnectionSuccess,198.51.100.9,443,,Tcp\n")
	if as := poll(t, f, tok, since); len(as) != 0 {
		t.Fatalf("events without indicators raised %+v", as)
	}
	ip := submit(t, f, tok, `{"indicatorValue":"198.51.100.9","indicatorType":"IpAddress","action":"Audit","generateAlert":true,"title":"C2 address","description":"d"}`)
	r := f.SendJSON(t, "POST", "/api/indicators/import", tok, `{"Indicators":[{"indicatorValue":"EVIL.example","indicatorType":"DomainName","action":"Audit","generateAlert":true,"title":"C2 domain","description":"d","severity":"Medium"}]}`)
	if r.Status != 200 {
		t.Fatalf("import: %d %s", r.Status, r.Body)
	}
	as = poll(t, f, tok, since)
	if len(as) != 2 {
		t.Fatalf("look-back: %+v, want two alerts", as)
	}
	byID := map[string]polledAlert{as[0].ID: as[0], as[1].ID: as[1]}
	if a, ok := byID["ti"+ip+"_"+apitest.DocMachine2]; !ok || a.Title != "C2 address" || a.Evidence[0]["ipAddress"] != "198.51.100.9" || a.LastEventTime != "2024-03-03T10:00:06Z" {
		t.Errorf("by IP: %+v", as)
	}
	if a, ok := byID["ti5_"+apitest.DocMachine1]; !ok || a.Severity != "Medium" || a.Evidence[0]["url"] != "https://evil.example/a" {
		t.Errorf("by domain: %+v", as)
	}
	// A Url indicator (without its scheme) matches a network event's
	// RemoteUrl; a refused import body raises nothing.
	since = time.Now()
	submit(t, f, tok, `{"indicatorValue":"evil.example/payload","indicatorType":"Url","action":"Audit","generateAlert":true,"title":"Payload URL","description":"d"}`)
	bad := "Timestamp,DeviceId,ActionType,RemoteIP,RemotePort,RemoteUrl,Protocol\n" +
		"2024-03-04T10:00:00Z," + apitest.DocMachine2 + ",ConnectionSuccess,203.0.113.8,443,http://evil.example/payload,Tcp\n"
	if r := f.Admin(t, "POST", "/_openatp/tenants/"+f.Tenant.ID+"/networkevents", apitest.AdminKey, "text/csv",
		[]byte(bad+"2024-03-04T10:00:01Z,"+apitest.DocMachine2+",ConnectionSuccess,203.0.113.8,99999,,Tcp\n")); r.Status != 400 {
		t.Fatalf("bad body: %d %s", r.Status, r.Body)
	}
	if as := poll(t, f, tok, since); len(as) != 0 {
		t.Fatalf("a refused import raised %+v", as)
	}
	importEvents("networkevents", "text/csv", bad)
	if as := poll(t, f, tok, since); len(as) != 2 || as[0].Title+as[1].Title != "C2 domainPayload URL" && as[0].Title+as[1].Title != "Payload URLC2 domain" {
		t.Fatalf("by URL: %+v, want the URL's alert and the domain's", as)
	}

	// Submitting the indicator again updates its alert, not duplicates it.
	since = time.Now()
	submit(t, f, tok, `{"indicatorValue":"198.51.100.9","indicatorType":"IpAddress","action":"Audit","generateAlert":true,"title":"C2 address","description":"d"}`)
	if as := poll(t, f, tok, since); len(as) != 1 || as[0].ID != "ti"+ip+"_"+apitest.DocMachine2 {
		t.Errorf("after resubmitting: %+v, want the IP's alert, updated", as)
	}
}
