package responseapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/actions"
	"github.com/openatp/openatp/apitest"
)

// newLiveFixture is an action fixture whose clock runs live response
// commands against the library (actions.LibraryRunner), with n machines,
// an application granted the action permissions, Machine.Read.All and
// Library.Manage, and its log in logs.
func newLiveFixture(t *testing.T, timing openatp.ActionTiming, n int, logs *apitest.LockedBuffer) *actionFixture {
	t.Helper()
	af := &actionFixture{timings: &actions.Timings{}}
	af.timings.Set("", "", timing)
	af.Fixture = apitest.NewFixture(t, func(c *apitest.Config) {
		clock, err := actions.Start(context.Background(), actions.Config{Store: c.Store, Timing: af.timings.Timing, Run: actions.LibraryRunner(c.Store)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { clock.Close() })
		af.clock = clock
		c.Actions = clock
		if logs != nil {
			c.Logger = slog.New(slog.NewTextHandler(logs, nil))
		}
	})
	var ms []openatp.Machine
	for i := 1; i <= n; i++ {
		ms = append(ms, openatp.Machine{ID: apitest.MID(i), ComputerDNSName: openatp.Ptr(fmt.Sprintf("lr%d.contoso.com", i))})
	}
	af.Load(t, af.Tenant, ms, nil)
	perms := append([]string{openatp.PermMachineReadAll, openatp.PermLibraryManage}, openatp.ActionPermissions...)
	af.token = af.Fixture.Token(t, af.Tenant, af.NewApp(t, af.Tenant, "soar", perms...))
	return af
}

// commands decodes the commands of an action answer.
func commands(t *testing.T, v map[string]any) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, c := range v["commands"].([]any) {
		out = append(out, c.(map[string]any))
	}
	return out
}

func TestLiveResponse(t *testing.T) {
	var logs apitest.LockedBuffer
	af := newLiveFixture(t, openatp.ActionTiming{Pending: 20 * time.Millisecond, InProgress: 20 * time.Millisecond, TimeOut: time.Hour}, 2, &logs)
	if r := upload(t, af.Fixture, "/api/libraryfiles", af.token, "hello.ps1", []byte("Write-Output hi")); r.Status != 200 {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	entity := af.Srv.URL + "/api/$metadata#MachineActions/$entity"
	body := `{"Comment":"triage","Commands":[{"type":"runscript","params":[{"key":"scriptname","value":"hello.ps1"},{"key":"Args","value":"-Verbose"}]}]}`
	v := actionJSON(t, af.SendJSON(t, "POST", "/api/machines/"+apitest.MID(1)+"/runliveresponse", af.token, body), http.StatusCreated, entity)
	if v["type"] != "LiveResponse" || v["status"] != "Pending" || v["errorHResult"] != float64(0) || v["computerDnsName"] != "lr1.contoso.com" {
		t.Errorf("new action %v", v)
	}
	cs := commands(t, v)
	want := `{"command":{"params":[{"key":"ScriptName","value":"hello.ps1"},{"key":"Args","value":"-Verbose"}],"type":"RunScript"},` +
		`"commandStatus":"Created","endTime":null,"errors":[],"index":0,"startTime":null}`
	if got, _ := json.Marshal(cs[0]); len(cs) != 1 || string(got) != want {
		t.Errorf("commands %s, want [%s]", got, want)
	}
	id := v["id"].(string)
	v = af.waitStatus(t, id, "Succeeded")
	c := commands(t, v)[0]
	if c["commandStatus"] != "Completed" || !timeForm.MatchString(fmt.Sprint(c["startTime"])) || !timeForm.MatchString(fmt.Sprint(c["endTime"])) {
		t.Errorf("completed command %v", c)
	}

	// The result link: to openatp, signed, fetched without a token.
	r := af.Do(t, "GET", "/api/machineactions/"+id+"/GetLiveResponseResultDownloadLink(index=0)", af.token)
	if r.Status != 200 {
		t.Fatalf("link: %d %s", r.Status, r.Body)
	}
	var link struct {
		Context string `json:"@odata.context"`
		Value   string `json:"value"`
	}
	if err := json.Unmarshal(r.Body, &link); err != nil {
		t.Fatal(err)
	}
	prefix := af.Srv.URL + "/api/liveresponse/results/" + af.Tenant.ID + "/" + id + "/0?se="
	if link.Context != af.Srv.URL+"/api/$metadata#Edm.String" || !strings.HasPrefix(link.Value, prefix) || !strings.Contains(link.Value, "&sig=") {
		t.Fatalf("link answer %s", r.Body)
	}
	se := strings.TrimPrefix(strings.SplitN(link.Value, "&", 2)[0], prefix)
	var expiry int64
	fmt.Sscan(se, &expiry)
	if d := time.Until(time.Unix(expiry, 0)); d < 29*time.Minute || d > 31*time.Minute {
		t.Errorf("the link expires in %v, want 30 minutes", d)
	}
	res, err := http.Get(link.Value)
	if err != nil {
		t.Fatal(err)
	}
	var transcript map[string]any
	err = json.NewDecoder(res.Body).Decode(&transcript)
	res.Body.Close()
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("result: %d %v", res.StatusCode, err)
	}
	wantT := map[string]any{"script_name": "hello.ps1", "exit_code": float64(0), "script_output": "Ran hello.ps1 -Verbose on lr1.contoso.com\n", "script_errors": ""}
	if fmt.Sprint(transcript) != fmt.Sprint(wantT) {
		t.Errorf("transcript %v, want %v", transcript, wantT)
	}
	// A wrong signature, another index, an expired link: 403.
	sig := link.Value[strings.Index(link.Value, "&sig=")+5:]
	for _, u := range []string{
		strings.Replace(link.Value, "&sig=", "&sig=0", 1),
		strings.Replace(link.Value, "/0?se=", "/1?se=", 1),
		prefix + "1000&sig=" + sig,
		strings.SplitN(link.Value, "?", 2)[0],
	} {
		req, _ := http.NewRequest("GET", u, nil)
		apitest.CheckError(t, af.Send(t, req), http.StatusForbidden, "AuthenticationFailed")
	}
	// The log keeps no signature.
	if l := logs.String(); strings.Contains(l, sig) || !strings.Contains(l, "sig=REDACTED") {
		t.Errorf("the log holds the signature or no redacted link:\n%s", l)
	}

	// An unknown library file fails its command and skips the rest.
	body = `{"Comment":"x","Commands":[{"type":"PutFile","params":[{"key":"FileName","value":"missing.exe"}]},` +
		`{"type":"RunScript","params":[{"key":"ScriptName","value":"hello.ps1"}]}]}`
	v = actionJSON(t, af.SendJSON(t, "POST", "/api/v1.0/machines/lr2.contoso.com/runliveresponse", af.token, body), http.StatusCreated, entity)
	id2 := v["id"].(string)
	v = af.waitStatus(t, id2, "Failed")
	cs = commands(t, v)
	if v["errorHResult"] != float64(openatp.LiveResponseFailHResult) || cs[0]["commandStatus"] != "Failed" ||
		fmt.Sprint(cs[0]["errors"]) != "[File missing.exe was not found in the library]" ||
		cs[1]["commandStatus"] != "Created" || cs[1]["startTime"] != nil {
		t.Errorf("failed action %v", v)
	}
	apitest.CheckError(t, af.Do(t, "GET", "/api/machineactions/"+id2+"/GetLiveResponseResultDownloadLink(index=1)", af.token), http.StatusNotFound, "ResourceNotFound")
	apitest.CheckError(t, af.Do(t, "GET", "/api/machineactions/"+id+"/GetLiveResponseResultDownloadLink(index=7)", af.token), http.StatusNotFound, "ResourceNotFound")
	apitest.CheckError(t, af.Do(t, "GET", "/api/machineactions/"+id+"/NoSuchFunction()", af.token), http.StatusNotFound, "NotFound")
	apitest.CheckError(t, af.Do(t, "POST", "/api/machineactions/"+id+"/GetLiveResponseResultDownloadLink(index=0)", af.token), http.StatusMethodNotAllowed, "MethodNotAllowed")
}

func TestLiveResponseRequests(t *testing.T) {
	af := newLiveFixture(t, openatp.ActionTiming{Pending: time.Hour, InProgress: time.Hour, TimeOut: 2 * time.Hour}, 26, nil)
	path := "/api/machines/" + apitest.MID(1) + "/runliveresponse"
	for _, c := range []struct{ body, code string }{
		{`{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"C:\\x"}]}]}`, "MissingRequiredParameter"},
		{`{"Comment":"c"}`, "MissingRequiredParameter"},
		{`{"Comment":"c","Commands":[]}`, "MissingRequiredParameter"},
		{`{"Comment":"c","Commands":[{"type":"GetFile","params":[{"key":"Path","value":"a"}]},{"type":"RunScript","params":[{"key":"ScriptName","value":"a"}]}]}`, "InvalidRequestBody"},
		{`{"Comment":"c","Commands":[{"type":"RunScript","params":[{"key":"Args","value":"a"}]}]}`, "MissingRequiredParameter"},
		{`{"Comment":"c","Commands":[{"type":"Format","params":[]}]}`, "InvalidRequestBody"},
		{`{"Comment":"c","Commands":[{"type":"GetFile","params":[{"key":"Path","value":1}]}]}`, "InvalidRequestBody"},
		{`{"Comment":"c","Commands":[{"type":"GetFile","params":[{"key":"Colour","value":"red"}]}]}`, "InvalidRequestBody"},
	} {
		apitest.CheckError(t, af.SendJSON(t, "POST", path, af.token, c.body), http.StatusBadRequest, c.code)
	}
	if r := af.Do(t, "GET", "/api/machineactions", af.token); !strings.Contains(string(r.Body), `"value":[]`) {
		t.Fatalf("a refused request wrote an action: %s", r.Body)
	}
	apitest.CheckError(t, af.SendJSON(t, "POST", "/api/machines/"+strings.Repeat("0", 40)+"/runliveresponse", af.token, `{"Comment":"c","Commands":[{"type":"GetFile","params":[{"key":"Path","value":"a"}]}]}`),
		http.StatusNotFound, "ResourceNotFound")

	// One session per machine; at most 25 per tenant.
	get := func(n int) string {
		return `{"Comment":"c","Commands":[{"type":"GetFile","params":[{"key":"Path","value":"C:\\` + fmt.Sprint(n) + `"}]}]}`
	}
	for n := 1; n <= 25; n++ {
		r := af.SendJSON(t, "POST", "/api/machines/"+apitest.MID(n)+"/runliveresponse", af.token, get(n))
		if r.Status != http.StatusCreated {
			t.Fatalf("session %d: %d %s", n, r.Status, r.Body)
		}
		if n == 1 {
			apitest.CheckError(t, af.SendJSON(t, "POST", path, af.token, get(0)), http.StatusBadRequest, "ActiveRequestAlreadyExists")
		}
	}
	r := af.SendJSON(t, "POST", "/api/machines/"+apitest.MID(26)+"/runliveresponse", af.token, get(26))
	apitest.CheckError(t, r, http.StatusTooManyRequests, "TooManyRequests")
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
}

// A delegated caller starts live responses and reads their links on
// machines of its device groups only, with a live response role: advanced
// for RunScript, basic for GetFile alone.
func TestLiveResponseDeviceGroups(t *testing.T) {
	var timings actions.Timings
	timings.Set("", "", openatp.ActionTiming{Pending: time.Hour, InProgress: time.Hour, TimeOut: time.Hour})
	f := apitest.RBACFixture(t, false, withClock(t, &timings))
	if err := f.Store.PutRole(context.Background(), f.Tenant.ID, openatp.Role{Name: "Basic",
		Permissions: []string{openatp.PermViewData, openatp.PermLiveResponseBasic}, UserGroups: []string{"g-lr"}}); err != nil {
		t.Fatal(err)
	}
	dapp := f.DelegatedApp(t, f.Tenant, openatp.PermMachineLiveResponse, openatp.PermMachineCollectForensics)
	basic := f.Delegated(t, f.Tenant, dapp, "bea@contoso.com", "g-ana", "g-lr")
	script := `{"Comment":"c","Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"a.ps1"}]}]}`
	getFile := `{"Comment":"c","Commands":[{"type":"GetFile","params":[{"key":"Path","value":"C:\\a"}]}]}`
	apitest.CheckError(t, f.SendJSON(t, "POST", "/api/machines/"+apitest.DocMachine1+"/runliveresponse", basic, script), http.StatusForbidden, "Forbidden")
	apitest.CheckError(t, f.SendJSON(t, "POST", "/api/machines/"+apitest.VaultMachine+"/runliveresponse", basic, getFile), http.StatusNotFound, "ResourceNotFound")
	v := actionJSON(t, f.SendJSON(t, "POST", "/api/machines/"+apitest.DocMachine1+"/runliveresponse", basic, getFile), http.StatusCreated,
		f.Srv.URL+"/api/$metadata#MachineActions/$entity")
	if v["requestor"] != "bea@contoso.com" {
		t.Errorf("requestor %v", v["requestor"])
	}
	// Another group's action is a missing one; a package needs
	// "Alerts investigation".
	app := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "soar", openatp.PermMachineReadAll, openatp.PermMachineLiveResponse))
	vault := actionJSON(t, f.SendJSON(t, "POST", "/api/machines/"+apitest.VaultMachine+"/runliveresponse", app, getFile), http.StatusCreated,
		f.Srv.URL+"/api/$metadata#MachineActions/$entity")
	r := f.Do(t, "GET", "/api/machineactions/"+vault["id"].(string)+"/GetLiveResponseResultDownloadLink(index=0)", basic)
	apitest.CheckError(t, r, http.StatusNotFound, "ResourceNotFound")
	if !strings.Contains(string(r.Body), "was not found") {
		t.Errorf("another group's action: %s, want it answered as a missing one", r.Body)
	}
	apitest.CheckError(t, f.Do(t, "GET", "/api/machineactions/"+v["id"].(string)+"/getPackageUri", basic), http.StatusForbidden, "Forbidden")
	// Its own action, not completed: no result yet.
	apitest.CheckError(t, f.Do(t, "GET", "/api/machineactions/"+v["id"].(string)+"/GetLiveResponseResultDownloadLink(index=0)", basic),
		http.StatusNotFound, "ResourceNotFound")
}
