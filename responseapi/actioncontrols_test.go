package responseapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/actions"
	"github.com/openatp/openatp/apitest"
)

// controlFixture is an action fixture whose clock takes the admin API's
// controls (as serve composes it), with the admin key set.
type controlFixture struct {
	*actionFixture
	controls *actions.Controls
}

func newControlFixture(t *testing.T) *controlFixture {
	t.Helper()
	cf := &controlFixture{actionFixture: &actionFixture{}, controls: &actions.Controls{}}
	af := cf.actionFixture
	af.Fixture = apitest.NewFixture(t, func(c *apitest.Config) {
		clock, err := actions.Start(context.Background(), actions.Config{Store: c.Store, Timing: cf.controls.Timing, Outcome: cf.controls.Outcome,
			Succeeded: actions.OffboardedHealth(c.Store)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { clock.Close() })
		af.clock = clock
		c.Actions, c.ActionControls = clock, cf.controls
	})
	af.SetAdminKey(t)
	ms := []openatp.Machine{
		{ID: apitest.MID(1), ComputerDNSName: openatp.Ptr("act1.contoso.com")},
		{ID: apitest.MID(2), ComputerDNSName: openatp.Ptr("act2.contoso.com"), AADDeviceID: openatp.Ptr("5c1b06e2-7d3a-4f51-9c0e-2b8d4a6e9f13")},
	}
	af.Load(t, af.Tenant, ms, nil)
	app := af.NewApp(t, af.Tenant, "soar", append([]string{openatp.PermMachineReadAll}, openatp.ActionPermissions...)...)
	af.token = af.Fixture.Token(t, af.Tenant, app)
	return cf
}

// admin sends an admin call with a JSON body ("" for none) and checks its
// status and exact body ("" for none).
func (cf *controlFixture) admin(t *testing.T, method, path, body string, status int, want string) {
	t.Helper()
	var b []byte
	ct := ""
	if body != "" {
		b, ct = []byte(body), "application/json"
	}
	r := cf.Admin(t, method, "/_openatp/tenants/"+cf.Tenant.ID+path, apitest.AdminKey, ct, b)
	if r.Status != status || string(r.Body) != want {
		t.Fatalf("%s %s %s: %d %s, want %d %s", method, path, body, r.Status, r.Body, status, want)
	}
}

// start starts an action and returns its id.
func (cf *controlFixture) start(t *testing.T, path, body string) string {
	t.Helper()
	v := actionJSON(t, cf.SendJSON(t, "POST", path, cf.token, body), http.StatusCreated, cf.Srv.URL+"/api/$metadata#MachineActions/$entity")
	return v["id"].(string)
}

// statusFor polls an action for d and returns every status it showed.
func (cf *controlFixture) statusFor(t *testing.T, id string, d time.Duration) []string {
	t.Helper()
	var seen []string
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		v := actionJSON(t, cf.Do(t, "GET", "/api/machineactions/"+id, cf.token), 200, cf.Srv.URL+"/api/$metadata#MachineActions/$entity")
		if s := v["status"].(string); len(seen) == 0 || seen[len(seen)-1] != s {
			seen = append(seen, s)
		}
	}
	return seen
}

func TestActionControlUnreachable(t *testing.T) {
	cf := newControlFixture(t)
	m1, m2 := apitest.MID(1), apitest.MID(2)
	cf.admin(t, "PUT", "/actions/timings/*", `{"pending":"10ms","inProgress":"10ms","timeOut":"300ms"}`, 200,
		`{"pending":"10ms","inProgress":"10ms","timeOut":"300ms"}`+"\n")
	cf.admin(t, "PUT", "/machines/"+m1+"/unreachable", "", 204, "")
	// An unreachable machine's action stays Pending until it times out.
	id := cf.start(t, "/api/machines/"+m1+"/isolate", `{"Comment":"contain"}`)
	v := cf.waitStatus(t, id, "TimeOut")
	if v["errorHResult"] != float64(0) {
		t.Errorf("errorHResult %v, want 0", v["errorHResult"])
	}
	created, _ := time.Parse(time.RFC3339Nano, v["creationDateTimeUtc"].(string))
	updated, _ := time.Parse(time.RFC3339Nano, v["lastUpdateDateTimeUtc"].(string))
	if d := updated.Sub(created); d < 300*time.Millisecond {
		t.Errorf("timed out %v after its creation, want 300ms or more", d)
	}
	// Its history: Pending, then TimeOut, never InProgress.
	r := cf.Do(t, "GET", "/api/machineactions?$filter="+url.QueryEscape("status eq 'InProgress' or status eq 'Succeeded'"), cf.token)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"value":[]`) {
		t.Errorf("in progress or succeeded: %d %s", r.Status, r.Body)
	}

	// A machine that answers again moves its actions on at once.
	cf.admin(t, "PUT", "/actions/timings/RunAntiVirusScan", `{"pending":"0s","inProgress":"0s","timeOut":"1h"}`, 200,
		`{"pending":"0s","inProgress":"0s","timeOut":"1h0m0s"}`+"\n")
	cf.admin(t, "PUT", "/machines/"+m2+"/unreachable", "", 204, "")
	scan := cf.start(t, "/api/machines/"+m2+"/runAntiVirusScan", `{"Comment":"scan","ScanType":"Quick"}`)
	if seen := cf.statusFor(t, scan, 100*time.Millisecond); len(seen) != 1 || seen[0] != "Pending" {
		t.Fatalf("statuses of an unreachable machine's scan %v, want [Pending]", seen)
	}
	cf.admin(t, "GET", "/actions/controls", "", 200, `{"failures":[],"tenant":"`+cf.Tenant.ID+`","timings":{"*":{"pending":"10ms","inProgress":"10ms","timeOut":"300ms"},`+
		`"RunAntiVirusScan":{"pending":"0s","inProgress":"0s","timeOut":"1h0m0s"}},"unreachable":["`+m1+`","`+m2+`"]}`+"\n")
	cf.admin(t, "DELETE", "/machines/"+m2+"/unreachable", "", 204, "")
	cf.waitStatus(t, scan, "Succeeded")

	// Back to the defaults: an isolation takes seconds again.
	cf.admin(t, "DELETE", "/actions/timings", "", 204, "")
	cf.admin(t, "DELETE", "/machines/"+m1+"/unreachable", "", 204, "")
	cf.admin(t, "GET", "/actions/controls", "", 200, `{"failures":[],"tenant":"`+cf.Tenant.ID+`","timings":{},"unreachable":[]}`+"\n")
	slow := cf.start(t, "/api/machines/"+m1+"/unisolate", `{"Comment":"release"}`)
	if seen := cf.statusFor(t, slow, 200*time.Millisecond); len(seen) != 1 || seen[0] != "Pending" {
		t.Errorf("statuses under the default timing %v, want [Pending]", seen)
	}
}

func TestActionControlFailure(t *testing.T) {
	cf := newControlFixture(t)
	m1, m2 := apitest.MID(1), apitest.MID(2)
	cf.admin(t, "PUT", "/actions/timings/*", `{"pending":"0s","inProgress":"20ms","timeOut":"1h"}`, 200,
		`{"pending":"0s","inProgress":"20ms","timeOut":"1h0m0s"}`+"\n")
	// A type's actions fail with its errorHResult.
	cf.admin(t, "POST", "/actions/failures", `{"type":"isolate","errorHResult":-2147024891}`, 201, `{"type":"Isolate","errorHResult":-2147024891}`+"\n")
	id := cf.start(t, "/api/machines/"+m1+"/isolate", `{"Comment":"contain"}`)
	v := cf.waitStatus(t, id, "Failed")
	if v["errorHResult"] != float64(-2147024891) {
		t.Errorf("errorHResult %v, want -2147024891", v["errorHResult"])
	}
	// Other types succeed; a machine's failure fails every type on it.
	ok := cf.start(t, "/api/machines/"+m1+"/restrictCodeExecution", `{"Comment":"restrict"}`)
	cf.waitStatus(t, ok, "Succeeded")
	cf.admin(t, "POST", "/actions/failures", `{"machineId":"`+strings.ToUpper(m2)+`","errorHResult":5}`, 201, `{"machineId":"`+m2+`","errorHResult":5}`+"\n")
	scan := cf.start(t, "/api/machines/"+m2+"/runAntiVirusScan", `{"Comment":"scan","ScanType":"Full"}`)
	if v := cf.waitStatus(t, scan, "Failed"); v["errorHResult"] != float64(5) {
		t.Errorf("errorHResult %v, want 5", v["errorHResult"])
	}

	// One action, named after it started: its own failure wins over its
	// type's; the clock takes the change at once.
	cf.admin(t, "PUT", "/actions/timings/Unisolate", `{"pending":"1h","inProgress":"0s","timeOut":"2h"}`, 200,
		`{"pending":"1h0m0s","inProgress":"0s","timeOut":"2h0m0s"}`+"\n")
	un := cf.start(t, "/api/machines/"+m1+"/unisolate", `{"Comment":"release"}`)
	cf.admin(t, "POST", "/actions/failures", `{"actionId":"`+un+`","errorHResult":-1}`, 201, `{"actionId":"`+un+`","errorHResult":-1}`+"\n")
	cf.admin(t, "PUT", "/actions/timings/Unisolate", `{"pending":"0s","inProgress":"0s","timeOut":"2h"}`, 200,
		`{"pending":"0s","inProgress":"0s","timeOut":"2h0m0s"}`+"\n")
	if v := cf.waitStatus(t, un, "Failed"); v["errorHResult"] != float64(-1) {
		t.Errorf("errorHResult %v, want -1", v["errorHResult"])
	}
	cf.admin(t, "GET", "/actions/controls", "", 200, `{"failures":[{"actionId":"`+un+`","errorHResult":-1},{"machineId":"`+m2+`","errorHResult":5},`+
		`{"type":"Isolate","errorHResult":-2147024891}],"tenant":"`+cf.Tenant.ID+`","timings":{"*":{"pending":"0s","inProgress":"20ms","timeOut":"1h0m0s"},`+
		`"Unisolate":{"pending":"0s","inProgress":"0s","timeOut":"2h0m0s"}},"unreachable":[]}`+"\n")
	cf.admin(t, "DELETE", "/actions/failures", "", 204, "")
	again := cf.start(t, "/api/machines/"+m1+"/isolate", `{"Comment":"contain"}`)
	cf.waitStatus(t, again, "Succeeded")
}

func TestActionControlBadInput(t *testing.T) {
	cf := newControlFixture(t)
	key := apitest.AdminKey
	for _, c := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"POST", "/actions/failures", `{"type":"Isolate","machineId":"` + apitest.MID(1) + `","errorHResult":1}`, 400, "InvalidInput"},
		{"POST", "/actions/failures", `{"type":"Reboot","errorHResult":1}`, 400, "InvalidInput"},
		{"POST", "/actions/failures", `{"type":"Isolate","errorHResult":0}`, 400, "InvalidInput"},
		{"POST", "/actions/failures", `{"actionId":"x","errorHResult":1}`, 400, "InvalidInput"},
		{"POST", "/actions/failures", `{"type":"Isolate","errorHResult":1,"extra":1}`, 400, "InvalidRequestBody"},
		{"PUT", "/actions/timings/*", `{"pending":"-1s","inProgress":"0s","timeOut":"0s"}`, 400, "InvalidInput"},
		{"PUT", "/actions/timings/*", `{"pending":"1s","inProgress":"0s"}`, 400, "InvalidInput"},
		{"PUT", "/actions/timings/*", `{"pending":"soon","inProgress":"0s","timeOut":"0s"}`, 400, "InvalidInput"},
		{"PUT", "/actions/timings/Reboot", `{"pending":"0s","inProgress":"0s","timeOut":"0s"}`, 404, "ResourceNotFound"},
		{"PUT", "/machines/" + apitest.MID(9) + "/unreachable", "", 404, "ResourceNotFound"},
		{"PUT", "/machines/act1/unreachable", "", 400, "InvalidInput"},
		{"GET", "/actions/failures", "", 405, "MethodNotAllowed"},
	} {
		var b []byte
		if c.body != "" {
			b = []byte(c.body)
		}
		r := cf.Admin(t, c.method, "/_openatp/tenants/"+cf.Tenant.ID+c.path, key, "application/json", b)
		apitest.CheckError(t, r, c.status, c.code)
	}
	r := cf.Admin(t, "GET", "/_openatp/tenants/nosuch/actions/controls", key, "", nil)
	apitest.CheckError(t, r, 404, "ResourceNotFound")
	r = cf.Admin(t, "GET", "/_openatp/tenants/"+cf.Tenant.ID+"/actions/controls", "", "", nil)
	apitest.CheckError(t, r, 401, "Unauthorized")
	cf.admin(t, "GET", "/actions/controls", "", 200, `{"failures":[],"tenant":"`+cf.Tenant.ID+`","timings":{},"unreachable":[]}`+"\n")
}

// TestActionControlsOff: a server without controls says so.
func TestActionControlsOff(t *testing.T) {
	f := apitest.AdminFixture(t)
	r := f.Admin(t, "GET", "/_openatp/tenants/"+f.Tenant.ID+"/actions/controls", apitest.AdminKey, "", nil)
	apitest.CheckError(t, r, 409, "ActionControlsOff")
}

// TestMachineActionByAADDeviceID: the {id} of an action route may be the
// machine's aadDeviceId, in any case.
func TestMachineActionByAADDeviceID(t *testing.T) {
	cf := newControlFixture(t)
	for _, aad := range []string{"5c1b06e2-7d3a-4f51-9c0e-2b8d4a6e9f13", "5C1B06E2-7D3A-4F51-9C0E-2B8D4A6E9F13"} {
		r := cf.SendJSON(t, "POST", "/api/machines/"+aad+"/runAntiVirusScan", cf.token, `{"Comment":"scan","ScanType":"Quick"}`)
		v := actionJSON(t, r, http.StatusCreated, cf.Srv.URL+"/api/$metadata#MachineActions/$entity")
		if v["machineId"] != apitest.MID(2) || v["computerDnsName"] != "act2.contoso.com" {
			t.Errorf("machine %v %v, want %s act2.contoso.com", v["machineId"], v["computerDnsName"], apitest.MID(2))
		}
		if _, err := cf.Store.UpdateMachineAction(context.Background(), cf.Tenant.ID, v["id"].(string), func(a *openatp.MachineAction, stamp time.Time) error {
			return a.Cancel("test", "", stamp)
		}); err != nil {
			t.Fatal(err)
		}
	}
	// An aadDeviceId no machine has is a missing machine.
	r := cf.SendJSON(t, "POST", "/api/machines/00000000-2624-418e-9591-41f0491218f9/isolate", cf.token, `{"Comment":"x"}`)
	apitest.CheckError(t, r, 404, "ResourceNotFound")
}

// TestMachineActionEffects: succeeded isolations, restrictions and an
// offboarding change the machine's state, shown by the admin API; failed
// ones do not; an offboarded machine stops reporting (healthStatus
// Inactive).
func TestMachineActionEffects(t *testing.T) {
	cf := newControlFixture(t)
	m1 := apitest.MID(1)
	cf.admin(t, "PUT", "/actions/timings/*", `{"pending":"0s","inProgress":"0s","timeOut":"1h"}`, 200,
		`{"pending":"0s","inProgress":"0s","timeOut":"1h0m0s"}`+"\n")
	stateIs := func(want string) {
		t.Helper()
		cf.admin(t, "GET", "/machines/"+m1+"/state", "", 200, want+"\n")
	}
	stateIs(`{"machineId":"` + m1 + `","isolated":false,"isolationType":null,"restricted":false,"offboarded":false,"lastActionId":null,"updated":null}`)
	isolate := cf.start(t, "/api/machines/"+m1+"/isolate", `{"Comment":"contain","IsolationType":"selective"}`)
	v := cf.waitStatus(t, isolate, "Succeeded")
	stateIs(`{"machineId":"` + m1 + `","isolated":true,"isolationType":"Selective","restricted":false,"offboarded":false,"lastActionId":"` +
		isolate + `","updated":"` + rfc3339(t, v["lastUpdateDateTimeUtc"]) + `"}`)
	// A failed unisolation leaves it isolated.
	cf.admin(t, "POST", "/actions/failures", `{"type":"Unisolate","errorHResult":7}`, 201, `{"type":"Unisolate","errorHResult":7}`+"\n")
	cf.waitStatus(t, cf.start(t, "/api/machines/"+m1+"/unisolate", `{"Comment":"release"}`), "Failed")
	restrict := cf.start(t, "/api/machines/"+m1+"/restrictCodeExecution", `{"Comment":"restrict"}`)
	v = cf.waitStatus(t, restrict, "Succeeded")
	stateIs(`{"machineId":"` + m1 + `","isolated":true,"isolationType":"Selective","restricted":true,"offboarded":false,"lastActionId":"` +
		restrict + `","updated":"` + rfc3339(t, v["lastUpdateDateTimeUtc"]) + `"}`)

	health := func() any {
		r := cf.Do(t, "GET", "/api/machines/"+m1, cf.token)
		var m map[string]any
		if r.Status != 200 || json.Unmarshal(r.Body, &m) != nil {
			t.Fatalf("machine: %d %s", r.Status, r.Body)
		}
		return m["healthStatus"]
	}
	if h := health(); h == "Inactive" {
		t.Fatalf("healthStatus %v before the offboarding", h)
	}
	r := cf.SendJSON(t, "POST", "/api/machines/"+m1+"/offboard", cf.token, `{"Comment":"retire"}`)
	off := actionJSON(t, r, http.StatusOK, cf.Srv.URL+"/api/$metadata#MachineActions/$entity")["id"].(string)
	v = cf.waitStatus(t, off, "Succeeded")
	stateIs(`{"machineId":"` + m1 + `","isolated":true,"isolationType":"Selective","restricted":true,"offboarded":true,"lastActionId":"` +
		off + `","updated":"` + rfc3339(t, v["lastUpdateDateTimeUtc"]) + `"}`)
	apitest.WaitFor(t, "healthStatus Inactive", func() bool { return health() == "Inactive" })

	// Another machine, tenant or a bad id.
	cf.admin(t, "GET", "/machines/"+apitest.MID(2)+"/state", "", 200, `{"machineId":"`+apitest.MID(2)+
		`","isolated":false,"isolationType":null,"restricted":false,"offboarded":false,"lastActionId":null,"updated":null}`+"\n")
	apitest.CheckError(t, cf.Admin(t, "GET", "/_openatp/tenants/"+cf.Tenant.ID+"/machines/"+apitest.MID(9)+"/state", apitest.AdminKey, "", nil), 404, "ResourceNotFound")
	apitest.CheckError(t, cf.Admin(t, "GET", "/_openatp/tenants/"+cf.Tenant.ID+"/machines/act1/state", apitest.AdminKey, "", nil), 400, "InvalidInput")
	apitest.CheckError(t, cf.Admin(t, "POST", "/_openatp/tenants/"+cf.Tenant.ID+"/machines/"+m1+"/state", apitest.AdminKey, "", nil), 405, "MethodNotAllowed")
}

// rfc3339 is an entity's time as the admin API writes it (RFC 3339, no
// trailing zeros).
func rfc3339(t *testing.T, v any) string {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, v.(string))
	if err != nil {
		t.Fatal(err)
	}
	return tm.UTC().Format(time.RFC3339Nano)
}
