package responseapi_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/actions"
	"github.com/openatp/openatp/apitest"
)

// The admin API sets the state investigations end in, per investigation
// or machine; those that ended before keep theirs.
func TestInvestigationOutcomeControl(t *testing.T) {
	const run = 300 * time.Millisecond
	controls := &actions.Controls{}
	f := apitest.NewFixture(t, func(c *apitest.Config) {
		clock, err := actions.Start(context.Background(), actions.Config{Store: c.Store, Investigations: controls.InvestigationAt})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { clock.Close() })
		c.Actions, c.ActionControls, c.InvestigationRunTime = clock, controls, run
	})
	f.SetAdminKey(t)
	m1, m2 := apitest.MID(1), apitest.MID(2)
	f.Load(t, f.Tenant, []openatp.Machine{{ID: m1}, {ID: m2}}, nil)
	token := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "soar", openatp.PermAlertReadWriteAll, openatp.PermMachineReadAll))
	admin := func(method, body string, status int, want string) {
		t.Helper()
		var b []byte
		if body != "" {
			b = []byte(body)
		}
		r := f.Admin(t, method, "/_openatp/tenants/"+f.Tenant.ID+"/investigations/outcomes", apitest.AdminKey, "application/json", b)
		if r.Status != status || string(r.Body) != want {
			t.Fatalf("%s %s: %d %s, want %d %s", method, body, r.Status, r.Body, status, want)
		}
	}
	start := func(m string) string {
		t.Helper()
		r := f.SendJSON(t, "POST", "/api/machines/"+m+"/startInvestigation", token, `{"Comment":"look"}`)
		var v map[string]any
		if r.Status != 201 || json.Unmarshal(r.Body, &v) != nil {
			t.Fatalf("start: %d %s", r.Status, r.Body)
		}
		return v["id"].(string)
	}
	get := func(id string) map[string]any {
		t.Helper()
		var v map[string]any
		if r := f.Do(t, "GET", "/api/investigations/"+id, token); r.Status != 200 || json.Unmarshal(r.Body, &v) != nil {
			t.Fatalf("get %s: %d %s", id, r.Status, r.Body)
		}
		return v
	}
	ended := func(id string) map[string]any {
		t.Helper()
		var v map[string]any
		apitest.WaitFor(t, "investigation "+id+" over its run time", func() bool {
			v = get(id)
			start, _ := time.Parse(time.RFC3339Nano, v["startTime"].(string))
			return time.Since(start) > run+50*time.Millisecond
		})
		return get(id)
	}

	admin("POST", `{"machineId":"`+strings.ToUpper(m1)+`","state":"successfullyremediated"}`, 201, `{"machineId":"`+m1+`","state":"SuccessfullyRemediated"}`+"\n")
	one := start(m1)
	two := start(m2)
	admin("POST", `{"investigationId":"`+two+`","state":"Running"}`, 201, `{"investigationId":"`+two+`","state":"Running"}`+"\n")
	if v := get(one); v["state"] != "Running" {
		t.Errorf("before its run time: %v", v)
	}
	if v := ended(one); v["state"] != "SuccessfullyRemediated" || v["endTime"] == nil {
		t.Errorf("with its machine's outcome: %v", v)
	}
	if v := ended(two); v["state"] != "Running" || v["endTime"] != nil {
		t.Errorf("with its own outcome, Running: %v", v)
	}
	r := f.Do(t, "GET", "/api/investigations?$filter="+url.QueryEscape("state eq 'SuccessfullyRemediated'"), token)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"id":"`+one+`"`) || strings.Contains(string(r.Body), `"id":"`+two+`"`) {
		t.Errorf("filtered by state: %d %s", r.Status, r.Body)
	}
	admin("GET", "", 200, `[{"investigationId":"`+two+`","state":"Running"},{"machineId":"`+m1+`","state":"SuccessfullyRemediated"}]`+"\n")

	// Cleared: Benign again; an outcome set after an investigation ended
	// does not change it.
	admin("DELETE", "", 204, "")
	admin("GET", "", 200, "[]\n")
	if v := get(one); v["state"] != "Benign" {
		t.Errorf("after clearing: %v", v)
	}
	three := start(m2)
	if v := ended(three); v["state"] != "Benign" {
		t.Errorf("without an outcome: %v", v)
	}
	admin("POST", `{"machineId":"`+m2+`","state":"Failed"}`, 201, `{"machineId":"`+m2+`","state":"Failed"}`+"\n")
	if v := get(three); v["state"] != "Benign" {
		t.Errorf("ended before its machine's outcome was set: %v", v)
	}
	if v := ended(start(m2)); v["state"] != "Failed" || v["endTime"] == nil {
		t.Errorf("started after: %v", v)
	}

	for _, c := range []struct{ method, body, code, msg string }{
		{"POST", `{"state":"Failed"}`, "InvalidInput", "investigationId: an outcome names exactly one of investigationId and machineId"},
		{"POST", `{"investigationId":"1","machineId":"` + m1 + `","state":"Failed"}`, "InvalidInput", "exactly one"},
		{"POST", `{"investigationId":"x1","state":"Failed"}`, "InvalidInput", "investigationId: must be an investigation's id"},
		{"POST", `{"machineId":"act1","state":"Failed"}`, "InvalidInput", "machineId: must be 40 hexadecimal characters"},
		{"POST", `{"investigationId":"1","state":"Done"}`, "InvalidInput", `state: \"Done\" is not an investigation state`},
		{"POST", `{"investigationId":"1","state":"Failed","x":1}`, "InvalidRequestBody", "x"},
		{"PUT", `{}`, "MethodNotAllowed", ""},
	} {
		r := f.Admin(t, c.method, "/_openatp/tenants/"+f.Tenant.ID+"/investigations/outcomes", apitest.AdminKey, "application/json", []byte(c.body))
		status := 400
		if c.code == "MethodNotAllowed" {
			status = 405
		}
		apitest.CheckError(t, r, status, c.code)
		if !strings.Contains(string(r.Body), c.msg) {
			t.Errorf("%s: %s, want a message with %s", c.body, r.Body, c.msg)
		}
	}
}
