package mdeapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/apitest"
	"github.com/openatp/openatp/internal/demo"
	"github.com/openatp/openatp/sqlite"
)

// alertClock is the store's clock in the alert tests: every stamp of the
// alert clock is then known (the clock's time, then 100 ns more for each
// write).
var alertClock = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// The alerts of the alert fixture, besides the documentation's.
const (
	alertA1    = "da638500000000000001_1000000001" // machine1, High, New, user1
	alertA2    = "da638500000000000002_1000000002" // machine2, Medium, InProgress, contoso\user1
	alertA3    = "da638500000000000003_1000000003" // machine1, Informational, Resolved
	alertA4    = "ar638500000000000004_1000000004" // the lone machine, UnSpecified, Unknown, no related user
	docAlertID = "da637472900382838869_1364969609"
)

// alertFixture is the API fixture with the documentation's example alert
// on its own machine (in device group A), four alerts on the other
// machines, a store clock that stands still at alertClock, and a token of
// an application with Alert.ReadWrite.All, Machine.Read.All and
// User.Read.All.
func alertFixture(t *testing.T, configure func(*apitest.Config)) (*fixture, string) {
	t.Helper()
	f := newFixture(t, configure)
	f.store.(*sqlite.DB).Now = func() time.Time { return alertClock }
	ctx := context.Background()
	m, doc := demo.DocAlert()
	f.load(t, f.tenant, []openatp.Machine{m}, nil)
	if err := f.store.CreateGroup(ctx, f.tenant.ID, openatp.DeviceGroup{ID: 7, Name: "A", Rank: 2,
		Rules: []openatp.RuleRow{{Property: openatp.RuleName, Values: []string{"temp123"}}}}); err != nil {
		t.Fatal(err)
	}
	at := func(day int) *time.Time { v := time.Date(2024, 5, day, 10, 0, 0, 0, time.UTC); return &v }
	p := openatp.Ptr[string]
	user1 := &openatp.AlertAccount{Name: "user1", Domain: p("CONTOSO")}
	as := []openatp.Alert{doc,
		{ID: alertA1, Severity: "High", Status: "New", MachineID: machine1, Title: p("Suspicious PowerShell command line"),
			Category: p("Execution"), DetectionSource: p("WindowsDefenderAtp"), AlertCreationTime: at(1), LastUpdateTime: at(1),
			IncidentID: openatp.Ptr(int64(7)), RelatedUser: user1,
			Evidence: []openatp.Evidence{{EntityType: p("File"), FileName: p("invoice.docm"), DetectionStatus: p("Detected")}}},
		{ID: alertA2, Severity: "Medium", Status: "InProgress", MachineID: machine2, Title: p("Suspicious scheduled task"),
			Category: p("Persistence"), AssignedTo: p("secop1@contoso.com"), AlertCreationTime: at(1), LastUpdateTime: at(2),
			IncidentID: openatp.Ptr(int64(7)), RelatedUser: user1},
		{ID: alertA3, Severity: "Informational", Status: "Resolved", MachineID: machine1, Title: p("Unwanted software was detected"),
			Category: p("UnwantedSoftware"), Classification: p("TruePositive"), Determination: p("UnwantedSoftware"),
			AlertCreationTime: at(2), LastUpdateTime: at(3), ResolvedTime: at(3)},
		{ID: alertA4, Severity: "UnSpecified", Status: "Unknown", MachineID: strings.Repeat("0", 39) + "1", AlertCreationTime: at(3), LastUpdateTime: at(4)},
	}
	if err := f.store.UpsertAlerts(ctx, f.tenant.ID, as); err != nil {
		t.Fatal(err)
	}
	app := f.newApp(t, f.tenant, "soc", openatp.PermAlertReadWriteAll, openatp.PermMachineReadAll, openatp.PermUserReadAll)
	f.socApp = app.ClientID
	return f, f.token(t, f.tenant, app)
}

// nextLinkOf returns the path and query of a collection's @odata.nextLink.
func nextLinkOf(t *testing.T, body []byte) string {
	t.Helper()
	var v struct {
		Next string `json:"@odata.nextLink"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Next == "" {
		t.Fatalf("no @odata.nextLink in %s (%v)", body, err)
	}
	u, err := url.Parse(v.Next)
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}

var newAlertRE = regexp.MustCompile(`da\d{18}_\d+`)

// Every route of the Alert API and its errors, answered as golden files
// pin them.
func TestAlertAPIGolden(t *testing.T) {
	f, tok := alertFixture(t, nil)
	reader := f.token(t, f.tenant, f.app)                                                        // Machine.Read.All only
	alertReader := f.token(t, f.tenant, f.newApp(t, f.tenant, "siem", openatp.PermAlertReadAll)) // may read alerts, not change them
	eventTime := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	createBody := func(machine, eventTime, title string) string {
		return fmt.Sprintf(`{"eventTime":%q,"reportId":"20776","machineId":%q,"severity":"High","title":%q,`+
			`"description":"Reported by a custom detection rule.","recommendedAction":"Isolate the machine.","category":"Exploit"}`,
			eventTime, machine, title)
	}
	created := ""
	normalize := func(b []byte) []byte {
		b = bytes.ReplaceAll(b, []byte(eventTime.Format(time.RFC3339)), []byte("<an hour ago>"))
		if created != "" {
			b = bytes.ReplaceAll(b, []byte(created), []byte("<new alert id>"))
		}
		b = bytes.ReplaceAll(b, []byte(f.tenant.ID), []byte("<tenant id>"))
		return bytes.ReplaceAll(b, []byte(f.socApp), []byte("<client id>"))
	}
	cases := []struct {
		name, method, path, body string
		token                    string
		status                   int
		golden                   string
	}{
		{"first page", "GET", "/api/alerts?$top=2", "", tok, 200, "alerts-page-1"},
		{"v1.0 path", "GET", "/api/v1.0/alerts?$top=2", "", tok, 200, "alerts-v1-page-1"},
		{"second page", "GET", "next", "", tok, 200, "alerts-page-2"},
		{"last page", "GET", "next", "", tok, 200, "alerts-page-3"},
		{"expand evidence", "GET", "/api/alerts?$filter=id+eq+'" + docAlertID + "'&$expand=evidence", "", tok, 200, "alerts-expand"},
		{"poll", "GET", "/api/alerts?$filter=lastUpdateTime+ge+2024-05-02T00:00:00Z", "", tok, 200, "alerts-poll"},
		{"filter, select, count", "GET", "/api/alerts?$filter=status+eq+'Resolved'+or+severity+ge+'high'&$select=id,severity,status&$count=true", "", tok, 200, "alerts-filter"},
		{"orderby", "GET", "/api/alerts?$orderby=severity+desc,id&$select=id,severity&$top=3", "", tok, 200, "alerts-orderby"},
		{"bad filter", "GET", "/api/alerts?$filter=machineName+eq+'x'", "", tok, 400, "alerts-400-filter"},
		{"top too large", "GET", "/api/alerts?$top=10001", "", tok, 400, "alerts-400-top"},
		{"bad expand", "GET", "/api/alerts?$expand=files", "", tok, 400, "alerts-400-expand"},
		{"bad skiptoken", "GET", "/api/alerts?$skiptoken=bogus", "", tok, 400, "alerts-400-skiptoken"},
		{"no permission", "GET", "/api/alerts", "", reader, 403, "alerts-403"},
		{"by id", "GET", "/api/alerts/" + docAlertID, "", tok, 200, "alert-by-id"},
		{"unknown alert", "GET", "/api/alerts/nosuchalert", "", tok, 404, "alert-404"},
		{"machine", "GET", "/api/alerts/" + docAlertID + "/machine", "", tok, 200, "alert-machine"},
		{"machine without Machine.Read", "GET", "/api/alerts/" + docAlertID + "/machine", "", alertReader, 403, "alert-machine-403"},
		{"user", "GET", "/api/alerts/" + alertA1 + "/user", "", tok, 200, "alert-user"},
		{"no related user", "GET", "/api/alerts/" + alertA4 + "/user", "", tok, 404, "alert-user-404"},
		{"machine's alerts", "GET", "/api/machines/" + machine1 + "/alerts", "", tok, 200, "machine-alerts"},
		{"machine's alerts by name", "GET", "/api/machines/MYMACHINE1.contoso.com/alerts", "", tok, 200, "machine-alerts"},
		{"machine's alert count", "GET", "/api/machines/" + machine1 + "/alerts/$count?$filter=status+ne+'Resolved'", "", tok, 200, "machine-alerts-count"},
		{"unknown machine's alerts", "GET", "/api/machines/nosuchmachine/alerts", "", tok, 404, "machine-alerts-404"},
		{"user's alerts", "GET", "/api/users/user1/alerts", "", tok, 200, "user-alerts"},
		{"unknown user's alerts", "GET", "/api/users/nobody/alerts", "", tok, 404, "user-alerts-404"},
		{"patch", "PATCH", "/api/alerts/" + alertA1, `{"status":"Resolved","assignedTo":"secop2@contoso.com","classification":"FalsePositive","determination":"NotMalicious","comment":"Resolve my alert and assign to secop2"}`, tok, 200, "alert-patched"},
		{"patch, the 2018 enums", "PATCH", "/api/alerts/" + alertA1, `{"status":"inProgress","classification":"truePositive","determination":"Apt"}`, tok, 200, "alert-patched-2018"},
		{"patch a property that cannot change", "PATCH", "/api/alerts/" + alertA1, `{"severity":"Low"}`, tok, 400, "alert-patch-400-property"},
		{"patch a bad value", "PATCH", "/api/alerts/" + alertA1, `{"status":"Closed"}`, tok, 400, "alert-patch-400-value"},
		{"patch without write permission", "PATCH", "/api/alerts/" + alertA1, `{"status":"Resolved"}`, alertReader, 403, "alert-patch-403"},
		{"patch an unknown alert", "PATCH", "/api/alerts/nosuchalert", `{"status":"Resolved"}`, tok, 404, "alert-404-patch"},
		{"batch", "POST", "/api/alerts/batchUpdate", `{"alertIds":["` + alertA2 + `","` + alertA3 + `"],"status":"New","assignedTo":null,"comment":"Reopened"}`, tok, 200, ""},
		{"after the batch", "GET", "/api/alerts?$filter=id+in+('" + alertA2 + "','" + alertA3 + "')", "", tok, 200, "alerts-after-batch"},
		{"batch with an unknown alert", "POST", "/api/alerts/batchUpdate", `{"alertIds":["` + alertA2 + `","nosuchalert"],"status":"Resolved"}`, tok, 404, "alerts-batch-404"},
		{"batch too large", "POST", "/api/alerts/batchUpdate", `{"alertIds":[` + strings.Repeat(`"a",`, 500) + `"a"],"status":"Resolved"}`, tok, 400, "alerts-batch-400-size"},
		{"batch without ids", "POST", "/api/alerts/batchUpdate", `{"status":"Resolved"}`, tok, 400, "alerts-batch-400-missing"},
		{"create by reference", "POST", "/api/alerts/CreateAlertByReference", createBody(machine2, eventTime.Format(time.RFC3339), "Custom detection: suspicious service"), tok, 200, "alert-created"},
		{"the same again", "POST", "/api/alerts/CreateAlertByReference", createBody(machine2, eventTime.Format(time.RFC3339), "CUSTOM detection: suspicious service"), tok, 200, "alert-created-absorbed"},
		{"an event older than 30 days", "POST", "/api/alerts/CreateAlertByReference", createBody(machine2, "2020-01-01T00:00:00Z", "x"), tok, 404, "alert-create-404-event"},
		{"an unknown machine", "POST", "/api/CreateAlertByReference", createBody(strings.Repeat("9", 40), eventTime.Format(time.RFC3339), "x"), tok, 404, "alert-create-404-machine"},
		{"a missing parameter", "POST", "/api/alerts/CreateAlertByReference", `{"eventTime":"2024-01-01T00:00:00Z","reportId":"1","machineId":"` + machine2 + `","severity":"High","title":"x","description":"y","category":"Exploit"}`, tok, 400, "alert-create-400-missing"},
		{"a bad category", "POST", "/api/alerts/CreateAlertByReference", strings.Replace(createBody(machine2, eventTime.Format(time.RFC3339), "x"), `"Exploit"`, `"Hacking"`, 1), tok, 400, "alert-create-400-category"},
	}
	next := ""
	for _, c := range cases {
		path := c.path
		if path == "next" {
			path = next
		}
		r := f.send(t, c.method, path, c.token, c.body)
		if r.status != c.status {
			t.Fatalf("%s: status %d, want %d: %s", c.name, r.status, c.status, r.body)
		}
		if c.golden == "" {
			if len(r.body) != 0 || r.header.Get("Content-Length") != "0" {
				t.Errorf("%s: body %q, want none", c.name, r.body)
			}
			continue
		}
		want := odataCT
		switch {
		case c.status != 200:
			want = errorCT
		case strings.Contains(path, "/$count"):
			want = "text/plain; charset=utf-8"
		}
		if got := r.header.Get("Content-Type"); got != want {
			t.Errorf("%s: Content-Type %q, want %q", c.name, got, want)
		}
		if c.name == "create by reference" {
			var v struct{ ID string }
			_ = json.Unmarshal(r.body, &v)
			if created = v.ID; !newAlertRE.MatchString(created) {
				t.Fatalf("created alert id %q", created)
			}
		}
		if strings.HasPrefix(c.golden, "alerts-page") || c.golden == "alerts-v1-page-1" {
			if strings.Contains(string(r.body), "nextLink") {
				next = nextLinkOf(t, r.body)
			}
		}
		golden(t, c.golden, normalize(f.normalized(t, r)))
	}
	// The refused writes stored nothing: alert 1 is as the last accepted
	// PATCH left it.
	a, err := f.store.Alert(context.Background(), f.tenant.ID, alertA1)
	if err != nil || a.Status != "InProgress" || *a.Determination != "Apt" || len(a.Comments) != 1 {
		t.Errorf("alert 1 after the writes: %+v, %v", a, err)
	}
}
