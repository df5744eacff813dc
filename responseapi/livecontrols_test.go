package responseapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/actions"
	"github.com/openatp/openatp/apitest"
)

// newLiveControlFixture is a control fixture whose clock runs live
// response commands under the controls (Controls.Runner over
// LibraryRunner, Controls.Result), as serve composes it, with every
// duration zero and an application that may manage the library too.
func newLiveControlFixture(t *testing.T) *controlFixture {
	t.Helper()
	cf := &controlFixture{actionFixture: &actionFixture{}, controls: &actions.Controls{}}
	af := cf.actionFixture
	af.Fixture = apitest.NewFixture(t, func(c *apitest.Config) {
		clock, err := actions.Start(context.Background(), actions.Config{Store: c.Store, Timing: cf.controls.Timing, Outcome: cf.controls.Outcome,
			Run: cf.controls.Runner(actions.LibraryRunner(c.Store)), Results: cf.controls.Result})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { clock.Close() })
		af.clock = clock
		c.Actions, c.ActionControls = clock, cf.controls
	})
	af.SetAdminKey(t)
	af.Load(t, af.Tenant, []openatp.Machine{
		{ID: apitest.MID(1), ComputerDNSName: openatp.Ptr("act1.contoso.com")},
		{ID: apitest.MID(2), ComputerDNSName: openatp.Ptr("act2.contoso.com")},
	}, nil)
	perms := append([]string{openatp.PermMachineReadAll, openatp.PermLibraryManage}, openatp.ActionPermissions...)
	af.token = af.Fixture.Token(t, af.Tenant, af.NewApp(t, af.Tenant, "soar", perms...))
	cf.admin(t, "PUT", "/actions/timings/*", `{"pending":"0s","inProgress":"0s","timeOut":"1h"}`, 200,
		`{"pending":"0s","inProgress":"0s","timeOut":"1h0m0s"}`+"\n")
	return cf
}

// runLive starts a live response on a machine, waits for status and
// returns the action.
func (cf *controlFixture) runLive(t *testing.T, machine, commands, status string) map[string]any {
	t.Helper()
	r := cf.SendJSON(t, "POST", "/api/machines/"+machine+"/runliveresponse", cf.token, `{"Comment":"triage","Commands":`+commands+`}`)
	id := actionJSON(t, r, http.StatusCreated, cf.Srv.URL+"/api/$metadata#MachineActions/$entity")["id"].(string)
	return cf.waitStatus(t, id, status)
}

// result fetches the result file of command index of an action through
// its download link, without a token.
func (cf *controlFixture) result(t *testing.T, id string, index int) (int, []byte) {
	t.Helper()
	r := cf.Do(t, "GET", fmt.Sprintf("/api/machineactions/%s/GetLiveResponseResultDownloadLink(index=%d)", id, index), cf.token)
	if r.Status != 200 {
		return r.Status, r.Body
	}
	var link struct{ Value string }
	if err := json.Unmarshal(r.Body, &link); err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(link.Value)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// What a RunScript answers is set per library script; the others keep
// the deterministic transcript; a non-zero exit code still completes the
// command; a result keeps the answer of when it ran.
func TestLiveResponseScriptControl(t *testing.T) {
	cf := newLiveControlFixture(t)
	for _, name := range []string{"collect.ps1", "other.ps1"} {
		if r := upload(t, cf.Fixture, "/api/libraryfiles", cf.token, name, []byte("Write-Output hi")); r.Status != 200 {
			t.Fatalf("upload: %d %s", r.Status, r.Body)
		}
	}
	cf.admin(t, "PUT", "/actions/scripts/Collect.ps1", `{"exitCode":3,"output":"collected 2 files\n","errors":"access denied: C:\\x"}`, 200,
		`{"name":"Collect.ps1","exitCode":3,"output":"collected 2 files\n","errors":"access denied: C:\\x"}`+"\n")
	cf.admin(t, "GET", "/actions/scripts", "", 200, `[{"name":"Collect.ps1","exitCode":3,"output":"collected 2 files\n","errors":"access denied: C:\\x"}]`+"\n")
	cmds := `[{"type":"RunScript","params":[{"key":"ScriptName","value":"collect.ps1"},{"key":"Args","value":"-All"}]},` +
		`{"type":"RunScript","params":[{"key":"ScriptName","value":"other.ps1"}]}]`
	v := cf.runLive(t, apitest.MID(1), cmds, "Succeeded")
	id := v["id"].(string)
	if cs := commands(t, v); cs[0]["commandStatus"] != "Completed" || cs[1]["commandStatus"] != "Completed" || v["errorHResult"] != float64(0) {
		t.Errorf("a script with exit code 3: %v", v)
	}
	want0 := `{"script_name":"collect.ps1","exit_code":3,"script_output":"collected 2 files\n","script_errors":"access denied: C:\\x"}`
	if status, b := cf.result(t, id, 0); status != 200 || string(b) != want0 {
		t.Errorf("result 0: %d %s, want %s", status, b, want0)
	}
	want1 := `{"script_name":"other.ps1","exit_code":0,"script_output":"Ran other.ps1 on act1.contoso.com\n","script_errors":""}`
	if status, b := cf.result(t, id, 1); status != 200 || string(b) != want1 {
		t.Errorf("result 1: %d %s, want %s", status, b, want1)
	}
	// Forgotten: the next run answers the deterministic text; the result
	// of the run before keeps its answer.
	cf.admin(t, "DELETE", "/actions/scripts/COLLECT.PS1", "", 204, "")
	cf.admin(t, "GET", "/actions/scripts", "", 200, "[]\n")
	again := cf.runLive(t, apitest.MID(1), cmds, "Succeeded")["id"].(string)
	if status, b := cf.result(t, again, 0); status != 200 || !bytes.Contains(b, []byte(`"script_output":"Ran collect.ps1 -All on act1.contoso.com\n"`)) {
		t.Errorf("result after the script was forgotten: %d %s", status, b)
	}
	if status, b := cf.result(t, id, 0); status != 200 || string(b) != want0 {
		t.Errorf("the earlier result: %d %s, want %s", status, b, want0)
	}
	// A script not in the library still fails, set or not.
	cf.admin(t, "PUT", "/actions/scripts/missing.ps1", `{"exitCode":0}`, 200, `{"name":"missing.ps1","exitCode":0,"output":"","errors":""}`+"\n")
	v = cf.runLive(t, apitest.MID(2), `[{"type":"RunScript","params":[{"key":"ScriptName","value":"missing.ps1"}]}]`, "Failed")
	if cs := commands(t, v); fmt.Sprint(cs[0]["errors"]) != "[File missing.ps1 was not found in the library]" {
		t.Errorf("a set script missing from the library: %v", v)
	}
	cf.admin(t, "DELETE", "/actions/scripts", "", 204, "")
	cf.admin(t, "GET", "/actions/scripts", "", 200, "[]\n")
}

// A file placed on a machine is what GetFile fetches; a path not placed
// fails the command with the service's message.
func TestLiveResponseFileControl(t *testing.T) {
	cf := newLiveControlFixture(t)
	m1, m2 := apitest.MID(1), apitest.MID(2)
	content := []byte("line 1\r\nline 2\x00\xff")
	place := func(machine, path string, body []byte, status int, want string) {
		t.Helper()
		r := cf.Admin(t, "PUT", "/_openatp/tenants/"+cf.Tenant.ID+"/machines/"+machine+"/files?path="+url.QueryEscape(path), apitest.AdminKey, "application/octet-stream", body)
		if r.Status != status || string(r.Body) != want {
			t.Fatalf("place %s: %d %s, want %d %s", path, r.Status, r.Body, status, want)
		}
	}
	place(m1, `C:\Windows\Temp\evidence.log`, content, 201, `{"machineId":"`+m1+`","path":"C:\\Windows\\Temp\\evidence.log","size":16}`+"\n")
	place(m1, `C:\a.txt`, []byte("a"), 201, `{"machineId":"`+m1+`","path":"C:\\a.txt","size":1}`+"\n")
	cf.admin(t, "GET", "/machines/"+m1+"/files", "", 200, `[{"machineId":"`+m1+`","path":"C:\\a.txt","size":1},`+
		`{"machineId":"`+m1+`","path":"C:\\Windows\\Temp\\evidence.log","size":16}]`+"\n")
	cf.admin(t, "GET", "/machines/"+m2+"/files", "", 200, "[]\n")

	// The path matched ignoring case; the result is the bytes as placed.
	v := cf.runLive(t, m1, `[{"type":"GetFile","params":[{"key":"Path","value":"c:\\windows\\temp\\EVIDENCE.LOG"}]}]`, "Succeeded")
	id := v["id"].(string)
	if status, b := cf.result(t, id, 0); status != 200 || !bytes.Equal(b, content) {
		t.Errorf("GetFile result: %d %q, want %q", status, b, content)
	}
	// Another machine has no such file: the command fails, as before.
	v = cf.runLive(t, m2, `[{"type":"GetFile","params":[{"key":"Path","value":"C:\\Windows\\Temp\\evidence.log"}]}]`, "Failed")
	if cs := commands(t, v); cs[0]["commandStatus"] != "Failed" || fmt.Sprint(cs[0]["errors"]) != `[File C:\Windows\Temp\evidence.log was not found on the machine]` {
		t.Errorf("GetFile of a file not placed: %v", v)
	}
	// Removed: the next GetFile fails; the result fetched before stays.
	cf.admin(t, "DELETE", "/machines/"+m1+"/files?path="+url.QueryEscape(`C:\WINDOWS\Temp\evidence.log`), "", 204, "")
	cf.runLive(t, m1, `[{"type":"GetFile","params":[{"key":"Path","value":"C:\\Windows\\Temp\\evidence.log"}]}]`, "Failed")
	if status, b := cf.result(t, id, 0); status != 200 || !bytes.Equal(b, content) {
		t.Errorf("the earlier result: %d %q", status, b)
	}
	cf.admin(t, "GET", "/machines/"+m1+"/files", "", 200, `[{"machineId":"`+m1+`","path":"C:\\a.txt","size":1}]`+"\n")
	cf.admin(t, "DELETE", "/machines/"+m1+"/files", "", 204, "")
	cf.admin(t, "GET", "/machines/"+m1+"/files", "", 200, "[]\n")

	// The bounds: 10 MiB a file (and the tenant's total, 100 MiB).
	place(m2, `C:\big.bin`, make([]byte, actions.MaxPlacedFile), 201, `{"machineId":"`+m2+`","path":"C:\\big.bin","size":10485760}`+"\n")
	r := cf.Admin(t, "PUT", "/_openatp/tenants/"+cf.Tenant.ID+"/machines/"+m2+"/files?path=x", apitest.AdminKey, "", make([]byte, actions.MaxPlacedFile+1))
	apitest.CheckError(t, r, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge")
	for i := range 9 {
		place(m2, fmt.Sprintf(`C:\big%d.bin`, i), make([]byte, actions.MaxPlacedFile), 201,
			fmt.Sprintf(`{"machineId":"%s","path":"C:\\big%d.bin","size":10485760}`+"\n", m2, i))
	}
	r = cf.Admin(t, "PUT", "/_openatp/tenants/"+cf.Tenant.ID+"/machines/"+m1+"/files?path=x", apitest.AdminKey, "", []byte("1"))
	apitest.CheckError(t, r, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge")
	// Replacing a file counts its new size only.
	place(m2, `C:\BIG.bin`, []byte("small"), 201, `{"machineId":"`+m2+`","path":"C:\\BIG.bin","size":5}`+"\n")
	place(m1, `x`, []byte("1"), 201, `{"machineId":"`+m1+`","path":"x","size":1}`+"\n")
}

// The live controls' bad input: the admin API's error, naming the field.
func TestLiveControlBadInput(t *testing.T) {
	cf := newLiveControlFixture(t)
	m1 := apitest.MID(1)
	for _, c := range []struct {
		method, path, body string
		status             int
		code, msg          string
	}{
		{"PUT", "/actions/scripts/a.ps1", `{"output":"x"}`, 400, "InvalidInput", "exitCode: is missing"},
		{"PUT", "/actions/scripts/a.ps1", `{"exitCode":"1"}`, 400, "InvalidRequestBody", "exitCode"},
		{"PUT", "/actions/scripts/a.ps1", `{"exitCode":1,"stdout":"x"}`, 400, "InvalidRequestBody", "stdout"},
		{"PUT", "/actions/scripts/a.ps1", `{"exitCode":1,"output":"` + strings.Repeat("x", actions.MaxScriptText+1) + `"}`, 400, "InvalidInput", "output: is longer than"},
		{"PUT", "/actions/scripts/a.ps1", `{"exitCode":1,"errors":"` + strings.Repeat("x", actions.MaxScriptText+1) + `"}`, 400, "InvalidInput", "errors: is longer than"},
		{"PUT", "/actions/scripts/" + strings.Repeat("n", 256), `{"exitCode":1}`, 400, "InvalidInput", "name: a script's name is 1 to 255 characters"},
		{"PUT", "/actions/scripts/a%5Cb.ps1", `{"exitCode":1}`, 400, "InvalidInput", "name: "},
		{"DELETE", "/actions/scripts/none.ps1", "", 404, "ResourceNotFound", "No answer is set for script none.ps1."},
		{"POST", "/actions/scripts", "", 405, "MethodNotAllowed", ""},
		{"PUT", "/machines/" + m1 + "/files", "x", 400, "InvalidInput", "path: is missing"},
		{"PUT", "/machines/" + m1 + "/files?path=a&path=b", "x", 400, "InvalidInput", "path: is given twice"},
		{"PUT", "/machines/" + m1 + "/files?file=a", "x", 400, "InvalidInput", "file: is not a parameter of this route"},
		{"PUT", "/machines/" + m1 + "/files?path=" + strings.Repeat("p", 1025), "x", 400, "InvalidInput", "path: a path is 1 to 1024 characters"},
		{"PUT", "/machines/" + apitest.MID(9) + "/files?path=a", "x", 404, "ResourceNotFound", "Machine " + apitest.MID(9) + " was not found."},
		{"PUT", "/machines/act1.contoso.com/files?path=a", "x", 400, "InvalidInput", "is not 40 lowercase hexadecimal characters"},
		{"DELETE", "/machines/" + m1 + "/files?path=nosuch", "", 404, "ResourceNotFound", "No file nosuch is placed on machine"},
		{"POST", "/machines/" + m1 + "/files", "", 405, "MethodNotAllowed", ""},
	} {
		r := cf.Admin(t, c.method, "/_openatp/tenants/"+cf.Tenant.ID+c.path, apitest.AdminKey, "application/json", []byte(c.body))
		apitest.CheckError(t, r, c.status, c.code)
		if !strings.Contains(string(r.Body), c.msg) {
			t.Errorf("%s %s: %s, want a message with %q", c.method, c.path, r.Body, c.msg)
		}
	}
	// Without controls, the routes say so.
	f := apitest.AdminFixture(t)
	for _, p := range []string{"/actions/scripts", "/machines/" + m1 + "/files"} {
		apitest.CheckError(t, f.Admin(t, "GET", "/_openatp/tenants/"+f.Tenant.ID+p, apitest.AdminKey, "", nil), 409, "ActionControlsOff")
	}
}
