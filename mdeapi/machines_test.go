package mdeapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/wire"
)

// send makes a request with a body.
func (f *fixture) send(t *testing.T, method, path, token, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, b, res.Proto}
}

// machineFixture is the API fixture with an app of every Machine API
// permission and a recent IP report of mymachine1.
func machineFixture(t *testing.T) (*fixture, string, time.Time) {
	t.Helper()
	f := newFixture(t, nil)
	app := f.newApp(t, f.tenant, "writer", openatp.PermMachineReadWriteAll, openatp.PermUserReadAll)
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	if _, err := f.store.UpdateMachine(context.Background(), f.tenant.ID, machine2, func(m *openatp.Machine) error {
		m.LastSeen = &at
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return f, f.token(t, f.tenant, app), at
}

// goldenCase is a request and the answer a golden file pins.
type goldenCase struct {
	name, method, path, body string
	token                    string
	status                   int
	golden                   string
}

// machineGolden sends the cases in order and compares each answer with its
// golden file; at is machineFixture's time of mymachine2's last report.
func machineGolden(t *testing.T, f *fixture, at time.Time, cases []goldenCase) {
	t.Helper()
	for _, c := range cases {
		r := f.send(t, c.method, c.path, c.token, c.body)
		if r.status != c.status {
			t.Fatalf("%s: status %d, want %d: %s", c.name, r.status, c.status, r.body)
		}
		want := odataCT
		if c.status != 200 {
			want = errorCT
		}
		checkJSONHeaders(t, r, want)
		// mymachine2's last report is recent, so that findbyip finds it.
		golden(t, c.golden, bytes.ReplaceAll(f.normalized(t, r), []byte(at.Format(wire.TimeLayout)), []byte("<an hour ago>")))
	}
}

// Every read route of the Machine API, answered as golden files pin it
// (the writes: TestMachineWriteGolden).
func TestMachineAPIGolden(t *testing.T) {
	f, tok, at := machineFixture(t)
	reader := f.token(t, f.tenant, f.app)
	ip := "findbyip(ip='192.168.12.225',timestamp=" + at.Add(5*time.Minute).Format(time.RFC3339) + ")"
	old := "findbyip(ip='192.168.12.225',timestamp=" + time.Now().Add(-31*24*time.Hour).UTC().Format(time.RFC3339) + ")"
	cases := []goldenCase{
		{"first page", "GET", "/api/machines?$top=2", "", tok, 200, "machines-page-next"},
		{"next page", "GET", "/api/machines?$top=2&$skiptoken=" + machine1, "", tok, 200, "machines-page-last"},
		{"v1.0 path", "GET", "/api/v1.0/machines?$top=2&$skiptoken=" + machine1, "", tok, 200, "machines-page-last"},
		{"select", "GET", "/api/machines?$filter=computerDnsName+eq+'mymachine1.contoso.com'&$select=id,computerDnsName", "", tok, 200, "machines-select"},
		{"count and filter", "GET", "/api/machines?$filter=healthStatus+eq+'Active'&$count=true&$select=id", "", tok, 200, "machines-count"},
		{"orderby", "GET", "/api/machines?$orderby=computerDnsName+desc&$select=computerDnsName&pageSize=2", "", tok, 200, "machines-orderby"},
		{"tag lambda", "GET", "/api/machines?$filter=machineTags/any(t:+t+eq+'test+tag+2')&$select=id,machineTags", "", tok, 200, "machines-tag"},
		{"bad filter", "GET", "/api/machines?$filter=foo+eq+1", "", tok, 400, "machines-400-filter"},
		{"top too large", "GET", "/api/machines?$top=10001", "", tok, 400, "machines-400-top"},
		{"by id", "GET", "/api/machines/" + machine1, "", tok, 200, "machine-by-id"},
		{"by name", "GET", "/api/machines/MYMACHINE1.contoso.com", "", tok, 200, "machine-by-id"},
		{"unknown machine", "GET", "/api/machines/nosuchmachine", "", tok, 404, "machine-404"},
		{"logon users", "GET", "/api/machines/" + machine1 + "/logonusers", "", tok, 200, "machine-logonusers"},
		{"logon users without User.Read.All", "GET", "/api/machines/" + machine1 + "/logonusers", "", reader, 403, "machine-logonusers-403"},
		{"findbytag exact", "GET", "/api/machines/findbytag?tag=test+tag+1", "", tok, 200, "machines-findbytag-exact"},
		{"findbytag prefix", "GET", "/api/machines/findbytag?tag=TEST+TAG+2&useStartsWithFilter=true", "", tok, 200, "machines-findbytag-prefix"},
		{"findbytag without tag", "GET", "/api/machines/findbytag", "", tok, 400, "machines-findbytag-400"},
		{"findbyip", "GET", "/api/machines/" + ip, "", tok, 200, "machines-findbyip"},
		{"findbyip too old", "GET", "/api/machines/" + old, "", tok, 400, "machines-findbyip-400"},
	}
	machineGolden(t, f, at, cases)
}

// A machine outside a delegated caller's device groups is answered exactly
// like one that does not exist, by every route, reads and writes alike.
func TestMachineAPIHidesOtherGroups(t *testing.T) {
	f := rbacFixture(t, false)
	ctx := context.Background()
	if err := f.store.PutRole(ctx, f.tenant.ID, openatp.Role{Name: "Tagger",
		Permissions: []string{openatp.PermViewData, openatp.PermManageSecuritySettings, openatp.PermAlertsInvestigation}, UserGroups: []string{"g-ana"}}); err != nil {
		t.Fatal(err)
	}
	dapp := f.delegatedApp(t, f.tenant, openatp.PermMachineReadWrite, openatp.PermUserReadAll)
	ana := f.delegated(t, f.tenant, dapp, "ana@contoso.com", "g-ana")
	unknown := strings.Repeat("4", 40)
	same := func(route string, hidden, missing response) {
		t.Helper()
		h := bytes.ReplaceAll(f.normalized(t, hidden), []byte(vaultMachine), []byte("<id>"))
		m := bytes.ReplaceAll(f.normalized(t, missing), []byte(unknown), []byte("<id>"))
		if hidden.status != 404 || hidden.status != missing.status || !bytes.Equal(h, m) {
			t.Errorf("%s: hidden machine %d %s\nunknown machine %d %s", route, hidden.status, h, missing.status, m)
		}
	}
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/machines/%s", ""},
		{"GET", "/api/machines/%s/logonusers", ""},
		{"POST", "/api/machines/%s/tags", `{"Value":"x","Action":"Add"}`},
		{"POST", "/api/machines/%s/setDeviceValue", `{"DeviceValue":"High"}`},
		{"PATCH", "/api/machines/%s", `{"deviceValue":"Low"}`},
		{"POST", "/api/machines/AddOrRemoveTagForMultipleMachines", `{"Value":"x","Action":"Add","MachineIds":["%s"]}`},
	} {
		path, body := c.path, c.body
		hidden := f.send(t, c.method, strings.ReplaceAll(path, "%s", vaultMachine), ana, strings.ReplaceAll(body, "%s", vaultMachine))
		missing := f.send(t, c.method, strings.ReplaceAll(path, "%s", unknown), ana, strings.ReplaceAll(body, "%s", unknown))
		same(c.method+" "+c.path, hidden, missing)
	}
	// Lists, counts and searches leave it out; the application sees it.
	for _, path := range []string{"/api/machines?$count=true&$select=id", "/api/machines/findbytag?tag=vault",
		"/api/machines?$filter=id+eq+'" + vaultMachine + "'&$count=true"} {
		if r := f.do(t, "GET", path, ana); r.status != 200 || bytes.Contains(r.body, []byte(vaultMachine)) {
			t.Errorf("%s as ana: %d %s", path, r.status, r.body)
		}
		if r := f.do(t, "GET", path, f.token(t, f.tenant, f.app)); r.status != 200 || !bytes.Contains(r.body, []byte(vaultMachine)) {
			t.Errorf("%s as the application: %d %s", path, r.status, r.body)
		}
	}
	r := f.do(t, "GET", "/api/machines?$filter=id+eq+'"+vaultMachine+"'&$count=true", ana)
	if !bytes.Contains(r.body, []byte(`"@odata.count":0`)) {
		t.Errorf("count of the hidden machine: %s", r.body)
	}
	// The writes changed nothing.
	m, err := f.store.Machine(ctx, f.tenant.ID, vaultMachine)
	if err != nil || len(m.MachineTags) != 1 || m.DeviceValue != nil {
		t.Errorf("hidden machine after refused writes: %+v, %v", m, err)
	}
}
