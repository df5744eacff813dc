package responseapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/actions"
	"github.com/openatp/openatp/apitest"
)

// actionFixture is a fixture whose machine actions run on a clock with
// the given timings, with machines act1 to act3 and an application
// granted every action permission and Machine.Read.All.
type actionFixture struct {
	*apitest.Fixture
	timings *actions.Timings
	clock   *actions.Clock
	token   string
}

func newActionFixture(t *testing.T, timing openatp.ActionTiming) *actionFixture {
	t.Helper()
	af := &actionFixture{timings: &actions.Timings{}}
	af.timings.Set("", "", timing)
	af.Fixture = apitest.NewFixture(t, func(c *apitest.Config) {
		clock, err := actions.Start(context.Background(), actions.Config{Store: c.Store, Timing: af.timings.Timing})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { clock.Close() })
		af.clock = clock
		c.Actions = clock
	})
	var ms []openatp.Machine
	for n := 1; n <= 3; n++ {
		ms = append(ms, openatp.Machine{ID: apitest.MID(n), ComputerDNSName: openatp.Ptr("act" + string(rune('0'+n)) + ".contoso.com")})
	}
	af.Load(t, af.Tenant, ms, nil)
	app := af.NewApp(t, af.Tenant, "soar", append([]string{openatp.PermMachineReadAll}, openatp.ActionPermissions...)...)
	af.token = af.Fixture.Token(t, af.Tenant, app)
	return af
}

// withClock is a fixture option that runs the machine actions on a
// clock of the wall time with the given timings, closed with the test.
func withClock(t *testing.T, timings *actions.Timings) func(*apitest.Config) {
	return func(c *apitest.Config) {
		clock, err := actions.Start(context.Background(), actions.Config{Store: c.Store, Timing: timings.Timing})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { clock.Close() })
		c.Actions = clock
	}
}

// actionJSON decodes a MachineAction answer, checking that it has every
// property of the live entity, in its order, and nothing else.
func actionJSON(t *testing.T, r apitest.Response, status int, context string) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	apitest.CheckJSONHeaders(t, r, "application/json; odata.metadata=minimal")
	keys := regexp.MustCompile(`^\{"@odata.context":"[^"]*","id":.*,"type":.*,"title":.*,"requestor":.*,"requestorComment":.*,"status":.*,` +
		`"machineId":.*,"computerDnsName":.*,"creationDateTimeUtc":.*,"lastUpdateDateTimeUtc":.*,"cancellationRequestor":.*,` +
		`"cancellationComment":.*,"cancellationDateTimeUtc":.*,"errorHResult":.*,"scope":.*,"externalId":.*,"requestSource":.*,` +
		`"relatedFileInfo":.*,"commands":\[.*\],"troubleshootInfo":.*\}$`)
	if !keys.Match(r.Body) {
		t.Errorf("entity properties out of order or missing: %s", r.Body)
	}
	var v map[string]any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatal(err)
	}
	if len(v) != 21 {
		t.Errorf("%d properties, want 21: %s", len(v), r.Body)
	}
	if v["@odata.context"] != context {
		t.Errorf("@odata.context %v, want %s", v["@odata.context"], context)
	}
	return v
}

// waitStatus polls GET /api/machineactions/{id} until the action has the
// status, and returns it.
func (af *actionFixture) waitStatus(t *testing.T, id, status string) map[string]any {
	t.Helper()
	var v map[string]any
	apitest.WaitFor(t, "action "+id+" "+status, func() bool {
		v = actionJSON(t, af.Do(t, "GET", "/api/machineactions/"+id, af.token), 200, af.Srv.URL+"/api/$metadata#MachineActions/$entity")
		return v["status"] == status
	})
	return v
}

var timeForm = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$`)

func TestMachineActionLifecycle(t *testing.T) {
	af := newActionFixture(t, openatp.ActionTiming{Pending: 20 * time.Millisecond, InProgress: 20 * time.Millisecond, TimeOut: time.Hour})
	for _, c := range []struct {
		path, body, typ string
		scope           any
		host            string
	}{
		{"/api/machines/" + apitest.MID(1) + "/isolate", `{"Comment":"contain","IsolationType":"Selective"}`, "Isolate", "Selective", "act1"},
		{"/api/v1.0/machines/act1.contoso.com/unisolate", `{"Comment":"release"}`, "Unisolate", nil, "act1"},
		{"/api/machines/" + apitest.MID(2) + "/runAntiVirusScan", `{"Comment":"scan","ScanType":"Full"}`, "RunAntiVirusScan", "Full", "act2"},
		{"/api/machines/" + apitest.MID(2) + "/restrictCodeExecution", `{"Comment":"restrict"}`, "RestrictCodeExecution", nil, "act2"},
		{"/api/v1.0/machines/" + apitest.MID(2) + "/unrestrictCodeExecution", `{"Comment":"lift"}`, "UnrestrictCodeExecution", nil, "act2"},
	} {
		before := time.Now().Add(-time.Second)
		r := af.SendJSON(t, "POST", c.path, af.token, c.body)
		// The @odata.context names /api under /api/v1.0 too, as for machines.
		v := actionJSON(t, r, http.StatusCreated, af.Srv.URL+"/api/$metadata#MachineActions/$entity")
		var body struct{ Comment string }
		if err := json.Unmarshal([]byte(c.body), &body); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"type": c.typ, "requestorComment": body.Comment, "title": nil, "requestor": af.app(t), "status": "Pending", "scope": c.scope,
			"computerDnsName":       c.host + ".contoso.com",
			"cancellationRequestor": nil, "cancellationComment": nil, "cancellationDateTimeUtc": nil, "errorHResult": float64(0),
			"externalId": nil, "requestSource": "PublicApi", "relatedFileInfo": nil, "troubleshootInfo": nil}
		for k, w := range want {
			if v[k] != w {
				t.Errorf("%s: %s = %v, want %v", c.typ, k, v[k], w)
			}
		}
		if cmds, ok := v["commands"].([]any); !ok || len(cmds) != 0 {
			t.Errorf("%s: commands %v, want []", c.typ, v["commands"])
		}
		created, _ := v["creationDateTimeUtc"].(string)
		ct, err := time.Parse(time.RFC3339Nano, created)
		if !timeForm.MatchString(created) || err != nil || ct.Before(before) || v["lastUpdateDateTimeUtc"] != created {
			t.Errorf("%s: creation %q, last update %v", c.typ, created, v["lastUpdateDateTimeUtc"])
		}
		id, _ := v["id"].(string)
		if !openatp.IsGUID(id) {
			t.Fatalf("%s: id %q", c.typ, id)
		}
		done := af.waitStatus(t, id, "Succeeded")
		last, _ := done["lastUpdateDateTimeUtc"].(string)
		if lt, err := time.Parse(time.RFC3339Nano, last); err != nil || !lt.After(ct) || done["creationDateTimeUtc"] != created {
			t.Errorf("%s: succeeded at %q, created %q", c.typ, last, created)
		}
	}
	if n := af.clock.Pending(); n != 0 {
		t.Errorf("the clock still tracks %d actions", n)
	}
}

// app returns the client id of the fixture's action application.
func (af *actionFixture) app(t *testing.T) string {
	t.Helper()
	apps, err := af.Store.Apps(context.Background(), af.Tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range apps {
		if a.Name == "soar" {
			return a.ClientID
		}
	}
	t.Fatal("no soar app")
	return ""
}

func TestMachineActionBusyAndCancel(t *testing.T) {
	af := newActionFixture(t, openatp.ActionTiming{Pending: time.Hour, InProgress: time.Hour, TimeOut: 2 * time.Hour})
	isolate := "/api/machines/" + apitest.MID(1) + "/isolate"
	v := actionJSON(t, af.SendJSON(t, "POST", isolate, af.token, `{"Comment":"first"}`), 201, af.Srv.URL+"/api/$metadata#MachineActions/$entity")
	id := v["id"].(string)
	if v["scope"] != "Full" {
		t.Errorf("default isolation scope %v, want Full", v["scope"])
	}
	for _, path := range []string{isolate, "/api/machines/" + apitest.MID(1) + "/unisolate"} {
		r := af.SendJSON(t, "POST", path, af.token, `{"Comment":"again"}`)
		apitest.CheckError(t, r, 400, "ActiveRequestAlreadyExists")
		if !bytes.Contains(r.Body, []byte(`"message":"Action is already in progress"`)) {
			t.Errorf("busy body %s", r.Body)
		}
	}
	// Another kind on the machine, and the same kind on another, start.
	actionJSON(t, af.SendJSON(t, "POST", "/api/machines/"+apitest.MID(1)+"/restrictCodeExecution", af.token, `{"Comment":"x"}`), 201, af.Srv.URL+"/api/$metadata#MachineActions/$entity")
	actionJSON(t, af.SendJSON(t, "POST", "/api/machines/"+apitest.MID(2)+"/isolate", af.token, `{"Comment":"x"}`), 201, af.Srv.URL+"/api/$metadata#MachineActions/$entity")

	c := actionJSON(t, af.SendJSON(t, "POST", "/api/machineactions/"+id+"/cancel", af.token, `{"Comment":"wrong host"}`), 200, af.Srv.URL+"/api/$metadata#MachineActions/$entity")
	if c["status"] != "Cancelled" || c["cancellationRequestor"] != af.app(t) || c["cancellationComment"] != "wrong host" ||
		c["cancellationDateTimeUtc"] != c["lastUpdateDateTimeUtc"] || c["lastUpdateDateTimeUtc"] == v["lastUpdateDateTimeUtc"] {
		t.Errorf("cancelled: %v", c)
	}
	r := af.SendJSON(t, "POST", "/api/machineactions/"+id+"/cancel", af.token, `{"Comment":"again"}`)
	apitest.CheckError(t, r, 400, "BadRequest")
	r = af.SendJSON(t, "POST", "/api/machineactions/"+openatp.NewGUID()+"/cancel", af.token, `{"Comment":"x"}`)
	apitest.CheckError(t, r, 404, "ResourceNotFound")
	// The machine is free again.
	actionJSON(t, af.SendJSON(t, "POST", isolate, af.token, `{"Comment":"retry"}`), 201, af.Srv.URL+"/api/$metadata#MachineActions/$entity")
	if n := af.clock.Pending(); n != 3 {
		t.Errorf("the clock tracks %d actions, want the 3 live ones", n)
	}
}

func TestMachineActionBadRequests(t *testing.T) {
	af := newActionFixture(t, openatp.ActionTiming{Pending: time.Hour, InProgress: time.Hour, TimeOut: time.Hour})
	m := "/api/machines/" + apitest.MID(3)
	for _, c := range []struct {
		path, body string
		status     int
		code, says string
	}{
		{m + "/isolate", `{}`, 400, "MissingRequiredParameter", "Parameter Comment is missing."},
		{m + "/isolate", `{"comment":"lower-case name"}`, 400, "MissingRequiredParameter", "Comment"},
		{m + "/isolate", `{"Comment":"x","IsolationType":"Partial"}`, 400, "InvalidRequestBody", "IsolationType"},
		{m + "/isolate", `{"Comment":5}`, 400, "InvalidRequestBody", "Comment"},
		{m + "/isolate", `not json`, 400, "InvalidRequestBody", ""},
		{m + "/runAntiVirusScan", `{"Comment":"x"}`, 400, "MissingRequiredParameter", "ScanType"},
		{m + "/runAntiVirusScan", `{"Comment":"x","ScanType":"Deep"}`, 400, "InvalidRequestBody", "ScanType"},
		{"/api/machines/" + strings.Repeat("9", 40) + "/isolate", `{"Comment":"x"}`, 404, "ResourceNotFound", "was not found"},
		{"/api/machines/nohost.contoso.com/unisolate", `{"Comment":"x"}`, 404, "ResourceNotFound", "nohost.contoso.com"},
	} {
		r := af.SendJSON(t, "POST", c.path, af.token, c.body)
		apitest.CheckError(t, r, c.status, c.code)
		if !bytes.Contains(r.Body, []byte(c.says)) {
			t.Errorf("%s %s: %s does not say %q", c.path, c.body, r.Body, c.says)
		}
	}
	// Nothing was written.
	r := af.Do(t, "GET", "/api/machineactions?$count=true", af.token)
	if r.Status != 200 || !bytes.Contains(r.Body, []byte(`"@odata.count":0,"value":[]`)) {
		t.Errorf("after refused requests: %d %s", r.Status, r.Body)
	}
	// The wrong method on an action route.
	r = af.Do(t, "GET", m+"/isolate", af.token)
	if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "POST" {
		t.Errorf("GET isolate: %d, Allow %q", r.Status, r.Header.Get("Allow"))
	}
}

func TestMachineActionPermissions(t *testing.T) {
	af := newActionFixture(t, openatp.ActionTiming{Pending: time.Hour, InProgress: time.Hour, TimeOut: time.Hour})
	reader := af.Fixture.Token(t, af.Tenant, af.Fixture.App) // Machine.Read.All only
	scanner := af.Fixture.Token(t, af.Tenant, af.NewApp(t, af.Tenant, "scanner", openatp.PermMachineScan))
	m := "/api/machines/" + apitest.MID(1)
	r := af.SendJSON(t, "POST", m+"/isolate", reader, `{"Comment":"x"}`)
	apitest.CheckError(t, r, 403, "Forbidden")
	if !bytes.Contains(r.Body, []byte("Machine.Isolate")) {
		t.Errorf("403 does not name the permission: %s", r.Body)
	}
	r = af.SendJSON(t, "POST", m+"/isolate", scanner, `{"Comment":"x"}`)
	apitest.CheckError(t, r, 403, "Forbidden")
	r = af.SendJSON(t, "POST", m+"/isolate", scanner, `{}`) // the permission is checked before the body
	apitest.CheckError(t, r, 403, "Forbidden")
	v := actionJSON(t, af.SendJSON(t, "POST", m+"/runAntiVirusScan", scanner, `{"Comment":"x","ScanType":"quick"}`), 201, af.Srv.URL+"/api/$metadata#MachineActions/$entity")
	if v["scope"] != "Quick" {
		t.Errorf("scope %v, want Quick", v["scope"])
	}
	// Reading takes a Machine read permission: the reader may, the
	// scanner may not; cancelling takes an action permission.
	if r := af.Do(t, "GET", "/api/machineactions/"+v["id"].(string), reader); r.Status != 200 {
		t.Errorf("reader GET: %d %s", r.Status, r.Body)
	}
	r = af.Do(t, "GET", "/api/machineactions", scanner)
	apitest.CheckError(t, r, 403, "Forbidden")
	r = af.SendJSON(t, "POST", "/api/machineactions/"+v["id"].(string)+"/cancel", reader, `{}`)
	apitest.CheckError(t, r, 403, "Forbidden")
	// Another tenant's application sees no action of this one.
	other := af.NewTenant(t, "fabrikam.onmicrosoft.com")
	otherTok := af.Fixture.Token(t, other, af.NewApp(t, other, "other", append([]string{openatp.PermMachineReadAll}, openatp.ActionPermissions...)...))
	r = af.Do(t, "GET", "/api/machineactions/"+v["id"].(string), otherTok)
	apitest.CheckError(t, r, 404, "ResourceNotFound")
}

func TestMachineActionList(t *testing.T) {
	af := newActionFixture(t, openatp.ActionTiming{Pending: time.Hour, InProgress: time.Hour, TimeOut: time.Hour})
	ids := map[string]string{}
	for _, c := range []struct{ name, path, body string }{
		{"iso1", "/api/machines/" + apitest.MID(1) + "/isolate", `{"Comment":"a"}`},
		{"scan1", "/api/machines/" + apitest.MID(1) + "/runAntiVirusScan", `{"Comment":"b","ScanType":"Quick"}`},
		{"iso2", "/api/machines/" + apitest.MID(2) + "/isolate", `{"Comment":"c"}`},
	} {
		v := actionJSON(t, af.SendJSON(t, "POST", c.path, af.token, c.body), 201, af.Srv.URL+"/api/$metadata#MachineActions/$entity")
		ids[c.name] = v["id"].(string)
	}
	c := actionJSON(t, af.SendJSON(t, "POST", "/api/machineactions/"+ids["iso1"]+"/cancel", af.token, `{}`), 200, af.Srv.URL+"/api/$metadata#MachineActions/$entity")
	list := func(query string) (map[string]any, []string) {
		t.Helper()
		r := af.Do(t, "GET", "/api/machineactions?"+strings.ReplaceAll(query, " ", "%20"), af.token)
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", query, r.Status, r.Body)
		}
		var v struct {
			Context string           `json:"@odata.context"`
			Value   []map[string]any `json:"value"`
		}
		var all map[string]any
		if err := json.Unmarshal(r.Body, &v); err != nil || json.Unmarshal(r.Body, &all) != nil {
			t.Fatalf("%s: %s", query, r.Body)
		}
		if v.Context != af.Srv.URL+"/api/$metadata#MachineActions" {
			t.Errorf("%s: context %s", query, v.Context)
		}
		var got []string
		for _, a := range v.Value {
			for name, id := range ids {
				if a["id"] == id {
					got = append(got, name)
				}
			}
		}
		return all, got
	}
	for _, c := range []struct {
		query string
		want  string
	}{
		{"", "scan1 iso2 iso1"}, // by lastUpdateDateTimeUtc: the cancel moved iso1 last
		{"$orderby=creationDateTimeUtc", "iso1 scan1 iso2"},
		{"$orderby=creationDateTimeUtc desc", "iso2 scan1 iso1"},
		{"$filter=status eq 'Pending'", "scan1 iso2"},
		{"$filter=status+eq+'cancelled'", "iso1"},
		{"$filter=type eq 'Isolate' and machineId eq '" + apitest.MID(2) + "'", "iso2"},
		{"$filter=machineId in ('" + apitest.MID(1) + "')", "scan1 iso1"},
		{"$filter=requestor eq '" + af.app(t) + "'", "scan1 iso2 iso1"},
		{"$filter=id eq '" + ids["scan1"] + "'", "scan1"},
		{"$filter=lastUpdateDateTimeUtc gt " + c["creationDateTimeUtc"].(string), "scan1 iso2 iso1"},
		{"$filter=lastUpdateDateTimeUtc ge " + c["lastUpdateDateTimeUtc"].(string), "iso1"},
		{"$filter=creationDateTimeUtc gt " + c["creationDateTimeUtc"].(string), "scan1 iso2"},
	} {
		_, got := list(c.query)
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s: %v, want %s", c.query, got, c.want)
		}
	}
	all, got := list("$top=2&$count=true")
	next, _ := all["@odata.nextLink"].(string)
	if strings.Join(got, " ") != "scan1 iso2" || all["@odata.count"] != float64(3) || !strings.HasSuffix(next, "$skip=2") {
		t.Errorf("first page %v, count %v, next %q", got, all["@odata.count"], next)
	}
	u, err := url.Parse(next)
	if err != nil {
		t.Fatal(err)
	}
	if _, got := list(u.RawQuery); strings.Join(got, " ") != "iso1" {
		t.Errorf("second page %v", got)
	}
	for _, q := range []string{"$filter=computerDnsName eq 'x'", "$filter=status eq 'Done'", "$select=id", "$stop=2"} {
		r := af.Do(t, "GET", "/api/machineactions?"+strings.ReplaceAll(q, " ", "%20"), af.token)
		apitest.CheckError(t, r, 400, "ODataError")
	}
}

// A delegated caller starts, reads, lists and cancels the actions of
// machines in its device groups only: another group's machine, and its
// actions, are answered as ones that do not exist; starting an action
// takes the role permission "Active remediation actions".
func TestMachineActionDeviceGroups(t *testing.T) {
	var timings actions.Timings
	timings.Set("", "", openatp.ActionTiming{Pending: time.Hour, InProgress: time.Hour, TimeOut: time.Hour})
	f := apitest.RBACFixture(t, false, withClock(t, &timings))
	if err := f.Store.PutRole(context.Background(), f.Tenant.ID, openatp.Role{Name: "Remediator",
		Permissions: []string{openatp.PermViewData, openatp.PermActiveRemediation}, UserGroups: []string{"g-rem"}}); err != nil {
		t.Fatal(err)
	}
	dapp := f.DelegatedApp(t, f.Tenant, openatp.PermMachineIsolate, openatp.PermMachineRead)
	ana := f.Delegated(t, f.Tenant, dapp, "ana@contoso.com", "g-ana", "g-rem")
	vic := f.Delegated(t, f.Tenant, dapp, "vic@contoso.com", "g-ana") // a viewer
	app := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "soar", openatp.PermMachineReadAll, openatp.PermMachineIsolate))
	ctx := f.Srv.URL + "/api/$metadata#MachineActions/$entity"

	mine := actionJSON(t, f.SendJSON(t, "POST", "/api/machines/"+apitest.DocMachine1+"/isolate", ana, `{"Comment":"mine"}`), 201, ctx)
	if mine["requestor"] != "ana@contoso.com" {
		t.Errorf("requestor %v, want the user's name", mine["requestor"])
	}
	r := f.SendJSON(t, "POST", "/api/machines/"+apitest.DocMachine1+"/unisolate", vic, `{"Comment":"x"}`)
	apitest.CheckError(t, r, 403, "Forbidden")

	unknown := strings.Repeat("4", 40)
	same := func(what string, hidden, missing apitest.Response, hid, unk string) {
		t.Helper()
		h := bytes.ReplaceAll(f.Normalized(t, hidden), []byte(hid), []byte("<id>"))
		m := bytes.ReplaceAll(f.Normalized(t, missing), []byte(unk), []byte("<id>"))
		if hidden.Status != 404 || missing.Status != 404 || !bytes.Equal(h, m) {
			t.Errorf("%s: hidden %d %s\nunknown %d %s", what, hidden.Status, h, missing.Status, m)
		}
	}
	same("isolate", f.SendJSON(t, "POST", "/api/machines/"+apitest.VaultMachine+"/isolate", ana, `{"Comment":"x"}`),
		f.SendJSON(t, "POST", "/api/machines/"+unknown+"/isolate", ana, `{"Comment":"x"}`), apitest.VaultMachine, unknown)

	vault := actionJSON(t, f.SendJSON(t, "POST", "/api/machines/"+apitest.VaultMachine+"/isolate", app, `{"Comment":"app"}`), 201, ctx)
	vid, nid := vault["id"].(string), openatp.NewGUID()
	same("get", f.Do(t, "GET", "/api/machineactions/"+vid, ana), f.Do(t, "GET", "/api/machineactions/"+nid, ana), vid, nid)
	same("cancel", f.SendJSON(t, "POST", "/api/machineactions/"+vid+"/cancel", ana, `{}`), f.SendJSON(t, "POST", "/api/machineactions/"+nid+"/cancel", ana, `{}`), vid, nid)
	r = f.Do(t, "GET", "/api/machineactions?$count=true", ana)
	if r.Status != 200 || !bytes.Contains(r.Body, []byte(`"@odata.count":1,`)) || !bytes.Contains(r.Body, []byte(mine["id"].(string))) {
		t.Errorf("ana's list: %d %s", r.Status, r.Body)
	}
	r = f.Do(t, "GET", "/api/machineactions?$count=true", app)
	if r.Status != 200 || !bytes.Contains(r.Body, []byte(`"@odata.count":2,`)) {
		t.Errorf("the application's list: %d %s", r.Status, r.Body)
	}
	c := actionJSON(t, f.SendJSON(t, "POST", "/api/machineactions/"+mine["id"].(string)+"/cancel", ana, `{"Comment":"done"}`), 200, ctx)
	if c["cancellationRequestor"] != "ana@contoso.com" || c["status"] != "Cancelled" {
		t.Errorf("cancelled by ana: %v", c)
	}
}

// Investigation packages, quarantines and offboarding run the same
// lifecycle; offboard answers 200, as documented.
func TestMachineActionMoreTypes(t *testing.T) {
	af := newActionFixture(t, openatp.ActionTiming{Pending: 20 * time.Millisecond, InProgress: 20 * time.Millisecond, TimeOut: time.Hour})
	ctx := af.Srv.URL + "/api/$metadata#MachineActions/$entity"
	m := "/api/machines/" + apitest.MID(3)
	sha := strings.Repeat("AB12", 10)
	r := af.SendJSON(t, "POST", m+"/StopAndQuarantineFile", af.token, `{"Comment":"x","Sha1":"abc"}`)
	apitest.CheckError(t, r, 400, "InvalidHashValue")
	r = af.SendJSON(t, "POST", m+"/StopAndQuarantineFile", af.token, `{"Comment":"x"}`)
	apitest.CheckError(t, r, 400, "MissingRequiredParameter")
	for _, c := range []struct {
		path, body, typ string
		status          int
		file            any
	}{
		{m + "/collectInvestigationPackage", `{"Comment":"collect"}`, "CollectInvestigationPackage", 201, nil},
		{m + "/StopAndQuarantineFile", `{"Comment":"stop","Sha1":"` + sha + `"}`, "StopAndQuarantineFile", 201,
			map[string]any{"fileIdentifier": strings.ToLower(sha), "fileIdentifierType": "Sha1"}},
		{"/api/v1.0/machines/" + apitest.MID(3) + "/stopAndQuarantineFile", `{"Comment":"again","Sha1":"` + sha + `"}`, "StopAndQuarantineFile", 201,
			map[string]any{"fileIdentifier": strings.ToLower(sha), "fileIdentifierType": "Sha1"}},
		{m + "/offboard", `{"Comment":"retire"}`, "Offboard", 200, nil},
	} {
		v := actionJSON(t, af.SendJSON(t, "POST", c.path, af.token, c.body), c.status, ctx)
		if v["type"] != c.typ || v["status"] != "Pending" || v["scope"] != nil {
			t.Errorf("%s: %v", c.path, v)
		}
		if got, _ := json.Marshal(v["relatedFileInfo"]); string(got) != func() string { b, _ := json.Marshal(c.file); return string(b) }() {
			t.Errorf("%s: relatedFileInfo %s", c.path, got)
		}
		af.waitStatus(t, v["id"].(string), "Succeeded")
	}
}
