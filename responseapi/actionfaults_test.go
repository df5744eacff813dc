package responseapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
)

// addFault adds a fault rule through the admin API and returns it.
func (cf *controlFixture) addFault(t *testing.T, rule string) map[string]any {
	t.Helper()
	return cf.AdminObject(t, "POST", "/_openatp/faults", []byte(rule), 201)
}

// A fail-action rule: the request is answered as ever (201, Pending), and
// the action it creates ends Failed with the rule's errorHResult; the
// rule's hits, the journal and the other routes show it as a fault.
func TestFailActionFault(t *testing.T) {
	cf := newControlFixture(t)
	m1 := apitest.MID(1)
	cf.admin(t, "PUT", "/actions/timings/*", `{"pending":"0s","inProgress":"10ms","timeOut":"1h"}`, 200,
		`{"pending":"0s","inProgress":"10ms","timeOut":"1h0m0s"}`+"\n")
	cf.addFault(t, `{"id":"iso","route":"POST /api/machines/{id}/isolate","kind":"fail-action","error_hresult":2147942405}`)
	r := cf.SendJSON(t, "POST", "/api/machines/"+m1+"/isolate", cf.token, `{"Comment":"contain"}`)
	v := actionJSON(t, r, http.StatusCreated, cf.Srv.URL+"/api/$metadata#MachineActions/$entity")
	if v["status"] != "Pending" || v["errorHResult"] != float64(0) {
		t.Errorf("the answer of a faulted request: %v", v)
	}
	id := v["id"].(string)
	if v = cf.waitStatus(t, id, "Failed"); v["errorHResult"] != float64(-2147024891) {
		t.Errorf("errorHResult %v, want -2147024891 (0x80070005)", v["errorHResult"])
	}
	// Another route is not faulted; the failure is not the machine's.
	cf.waitStatus(t, cf.start(t, "/api/machines/"+m1+"/runAntiVirusScan", `{"Comment":"scan","ScanType":"Quick"}`), "Succeeded")
	// The machine's state: a failed isolation isolated nothing.
	cf.admin(t, "GET", "/machines/"+m1+"/state", "", 200, `{"machineId":"`+m1+
		`","isolated":false,"isolationType":null,"restricted":false,"offboarded":false,"lastActionId":null,"updated":null}`+"\n")

	rule := cf.AdminObject(t, "GET", "/_openatp/faults/iso", nil, 200)
	if rule["kind"] != "fail-action" || rule["error_hresult"] != float64(-2147024891) || rule["hits"] != float64(1) {
		t.Errorf("the rule as listed: %v", rule)
	}
	jr := cf.Admin(t, "GET", "/_openatp/tenants/"+cf.Tenant.ID+"/journal?fault=iso", apitest.AdminKey, "", nil)
	var entries []map[string]any
	if err := json.Unmarshal(jr.Body, &entries); err != nil || len(entries) != 1 || entries[0]["fault_kind"] != "fail-action" ||
		entries[0]["status"] != float64(201) || entries[0]["route"] != "POST /api/machines/{id}/isolate" {
		t.Errorf("journal of the faulted requests: %s", jr.Body)
	}
	metrics := string(cf.Do(t, "GET", "/metrics", "").Body)
	for _, want := range []string{`openatp_faults_applied_total{kind="fail-action",rule="iso"} 1`,
		`openatp_http_requests_total{code="201",route="POST /api/machines/{id}/isolate"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// With its default errorHResult, under /api/v1.0, by machine name;
	// a live response's first command fails and the rest are skipped.
	cf.Admin(t, "DELETE", "/_openatp/faults/iso", apitest.AdminKey, "", nil)
	cf.addFault(t, `{"id":"lr","route":"POST /api/machines/{id}/runliveresponse","kind":"fail-action"}`)
	body := `{"Comment":"x","Commands":[{"type":"PutFile","params":[{"key":"FileName","value":"a.exe"}]},{"type":"RunScript","params":[{"key":"ScriptName","value":"b.ps1"}]}]}`
	r = cf.SendJSON(t, "POST", "/api/v1.0/machines/act2.contoso.com/runliveresponse", cf.token, body)
	lr := actionJSON(t, r, http.StatusCreated, cf.Srv.URL+"/api/$metadata#MachineActions/$entity")["id"].(string)
	v = cf.waitStatus(t, lr, "Failed")
	cs := commands(t, v)
	if v["errorHResult"] != float64(-2147467259) || cs[0]["commandStatus"] != "Failed" || cs[0]["startTime"] == nil ||
		fmt.Sprint(cs[0]["errors"]) != "[The command failed with error 0x80004005]" || cs[1]["commandStatus"] != "Created" || cs[1]["startTime"] != nil {
		t.Errorf("a faulted live response: %v", v)
	}
	apitest.CheckError(t, cf.Do(t, "GET", "/api/machineactions/"+lr+"/GetLiveResponseResultDownloadLink(index=1)", cf.token), http.StatusNotFound, "ResourceNotFound")
}

// A fail-action rule with probability 0.5 fails a subset of the actions
// that its seed makes the same on every run.
func TestFailActionFaultSeeded(t *testing.T) {
	cf := newControlFixture(t)
	var ms []openatp.Machine
	for n := 10; n < 26; n++ {
		ms = append(ms, openatp.Machine{ID: apitest.MID(n)})
	}
	cf.Load(t, cf.Tenant, ms, nil)
	cf.admin(t, "PUT", "/actions/timings/*", `{"pending":"0s","inProgress":"0s","timeOut":"1h"}`, 200,
		`{"pending":"0s","inProgress":"0s","timeOut":"1h0m0s"}`+"\n")
	const rule = `{"id":"half","route":"POST /api/machines/{id}/runAntiVirusScan","kind":"fail-action","probability":0.5,"seed":42}`
	run := func() string {
		var ids []string
		for _, m := range ms {
			ids = append(ids, cf.start(t, "/api/machines/"+m.ID+"/runAntiVirusScan", `{"Comment":"scan","ScanType":"Quick"}`))
		}
		var b strings.Builder
		for _, id := range ids {
			apitest.WaitFor(t, "action "+id+" final", func() bool {
				v := actionJSON(t, cf.Do(t, "GET", "/api/machineactions/"+id, cf.token), 200, cf.Srv.URL+"/api/$metadata#MachineActions/$entity")
				switch v["status"] {
				case "Failed":
					b.WriteByte('F')
				case "Succeeded":
					b.WriteByte('S')
				default:
					return false
				}
				return true
			})
		}
		return b.String()
	}
	cf.addFault(t, rule)
	first := run()
	if !strings.Contains(first, "F") || !strings.Contains(first, "S") {
		t.Errorf("p=0.5 over %d actions: %s", len(ms), first)
	}
	hits := cf.AdminObject(t, "GET", "/_openatp/faults/half", nil, 200)["hits"]
	if hits != float64(strings.Count(first, "F")) {
		t.Errorf("%v hits for %s", hits, first)
	}
	// The same rule again (its generator from the seed): the same subset.
	if r := cf.Admin(t, "PUT", "/_openatp/faults/half", apitest.AdminKey, "application/json", []byte(rule)); r.Status != 200 {
		t.Fatalf("replace: %d %s", r.Status, r.Body)
	}
	if again := run(); again != first {
		t.Errorf("the same seed failed %s, then %s", first, again)
	}
}

// A fail-action rule scoped to an application fails that application's
// actions only.
func TestFailActionFaultByApp(t *testing.T) {
	cf := newControlFixture(t)
	cf.admin(t, "PUT", "/actions/timings/*", `{"pending":"0s","inProgress":"0s","timeOut":"1h"}`, 200,
		`{"pending":"0s","inProgress":"0s","timeOut":"1h0m0s"}`+"\n")
	other := cf.NewApp(t, cf.Tenant, "playbook", append([]string{openatp.PermMachineReadAll}, openatp.ActionPermissions...)...)
	otherToken := cf.Token(t, cf.Tenant, other)
	cf.addFault(t, `{"route":"POST /api/machines/{id}/restrictCodeExecution","kind":"fail-action","error_hresult":-1,"app":"`+other.ClientID+`"}`)
	mine := cf.start(t, "/api/machines/"+apitest.MID(1)+"/restrictCodeExecution", `{"Comment":"restrict"}`)
	r := cf.SendJSON(t, "POST", "/api/machines/"+apitest.MID(2)+"/restrictCodeExecution", otherToken, `{"Comment":"restrict"}`)
	theirs := actionJSON(t, r, http.StatusCreated, cf.Srv.URL+"/api/$metadata#MachineActions/$entity")["id"].(string)
	cf.waitStatus(t, mine, "Succeeded")
	if v := cf.waitStatus(t, theirs, "Failed"); v["errorHResult"] != float64(-1) {
		t.Errorf("errorHResult %v, want -1", v["errorHResult"])
	}
}

// A fail-action rule on a route that creates no action is refused, saying
// why; one on each route that does is taken.
func TestFailActionFaultRoutes(t *testing.T) {
	cf := newControlFixture(t)
	for _, c := range []struct{ rule, msg string }{
		{`{"kind":"fail-action","route":"GET /api/machineactions/{id}"}`, `Fault rule: route \"GET /api/machineactions/{id}\" creates no machine action, so kind fail-action could never apply`},
		{`{"kind":"fail-action"}`, `Fault rule: kind fail-action needs a route that creates a machine action`},
		{`{"kind":"fail-action","route":"POST /api/machines/{id}/{call}"}`, `which creates no machine action: kind fail-action applies only to routes that do`},
		{`{"kind":"fail-action","route":"POST /api/machines/{id}/isolate","error_hresult":"x"}`, `Fault rule: json: cannot unmarshal`},
		{`{"kind":"error","status":503,"error_hresult":5}`, `Fault rule: error_hresult is for kind fail-action`},
	} {
		r := cf.Admin(t, "POST", "/_openatp/faults", apitest.AdminKey, "application/json", []byte(c.rule))
		if r.Status != 400 || !strings.Contains(string(r.Body), c.msg) {
			t.Errorf("%s: %d %s, want 400 with %s", c.rule, r.Status, r.Body, c.msg)
		}
	}
	for _, base := range []string{"/api", "/api/v1.0"} {
		for _, seg := range []string{"isolate", "unisolate", "runAntiVirusScan", "restrictCodeExecution", "unrestrictCodeExecution",
			"collectInvestigationPackage", "StopAndQuarantineFile", "stopAndQuarantineFile", "offboard", "runliveresponse"} {
			rule := `{"kind":"fail-action","route":"POST ` + base + `/machines/{id}/` + seg + `"}`
			if r := cf.Admin(t, "POST", "/_openatp/faults", apitest.AdminKey, "application/json", []byte(rule)); r.Status != 201 {
				t.Errorf("%s: %d %s", rule, r.Status, r.Body)
			}
		}
	}
}
