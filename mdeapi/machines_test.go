package mdeapi_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
	"github.com/openatp/openatp/wire"
)

// machineFixture is the API fixture with an app of every Machine API
// permission and a recent IP report of mymachine1.
func machineFixture(t *testing.T) (*apitest.Fixture, string, time.Time) {
	t.Helper()
	f := apitest.NewFixture(t, nil)
	app := f.NewApp(t, f.Tenant, "writer", openatp.PermMachineReadWriteAll, openatp.PermUserReadAll)
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	if _, err := f.Store.UpdateMachine(context.Background(), f.Tenant.ID, machine2, func(m *openatp.Machine) error {
		m.LastSeen = &at
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return f, f.Token(t, f.Tenant, app), at
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
func machineGolden(t *testing.T, f *apitest.Fixture, at time.Time, cases []goldenCase) {
	t.Helper()
	for _, c := range cases {
		r := f.SendJSON(t, c.method, c.path, c.token, c.body)
		if r.Status != c.status {
			t.Fatalf("%s: status %d, want %d: %s", c.name, r.Status, c.status, r.Body)
		}
		want := odataCT
		if c.status != 200 {
			want = apitest.ErrorCT
		}
		apitest.CheckJSONHeaders(t, r, want)
		// mymachine2's last report is recent, so that findbyip finds it.
		apitest.Golden(t, c.golden, bytes.ReplaceAll(f.Normalized(t, r), []byte(at.Format(wire.TimeLayout)), []byte("<an hour ago>")))
	}
}

// Every read route of the Machine API, answered as golden files pin it
// (the writes: TestMachineWriteGolden).
func TestMachineAPIGolden(t *testing.T) {
	f, tok, at := machineFixture(t)
	reader := f.Token(t, f.Tenant, f.App)
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

// A machine outside a delegated Caller's device groups is answered exactly
// like one that does not exist, by every route, reads and writes alike.
func TestMachineAPIHidesOtherGroups(t *testing.T) {
	f := apitest.RBACFixture(t, false)
	ctx := context.Background()
	if err := f.Store.PutRole(ctx, f.Tenant.ID, openatp.Role{Name: "Tagger",
		Permissions: []string{openatp.PermViewData, openatp.PermManageSecuritySettings, openatp.PermAlertsInvestigation}, UserGroups: []string{"g-ana"}}); err != nil {
		t.Fatal(err)
	}
	dapp := f.DelegatedApp(t, f.Tenant, openatp.PermMachineReadWrite, openatp.PermUserReadAll)
	ana := f.Delegated(t, f.Tenant, dapp, "ana@contoso.com", "g-ana")
	unknown := strings.Repeat("4", 40)
	same := func(route string, hidden, missing apitest.Response) {
		t.Helper()
		h := bytes.ReplaceAll(f.Normalized(t, hidden), []byte(apitest.VaultMachine), []byte("<id>"))
		m := bytes.ReplaceAll(f.Normalized(t, missing), []byte(unknown), []byte("<id>"))
		if hidden.Status != 404 || hidden.Status != missing.Status || !bytes.Equal(h, m) {
			t.Errorf("%s: hidden machine %d %s\nunknown machine %d %s", route, hidden.Status, h, missing.Status, m)
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
		hidden := f.SendJSON(t, c.method, strings.ReplaceAll(path, "%s", apitest.VaultMachine), ana, strings.ReplaceAll(body, "%s", apitest.VaultMachine))
		missing := f.SendJSON(t, c.method, strings.ReplaceAll(path, "%s", unknown), ana, strings.ReplaceAll(body, "%s", unknown))
		same(c.method+" "+c.path, hidden, missing)
	}
	// Lists, counts and searches leave it out; the application sees it.
	for _, path := range []string{"/api/machines?$count=true&$select=id", "/api/machines/findbytag?tag=vault",
		"/api/machines?$filter=id+eq+'" + apitest.VaultMachine + "'&$count=true"} {
		if r := f.Do(t, "GET", path, ana); r.Status != 200 || bytes.Contains(r.Body, []byte(apitest.VaultMachine)) {
			t.Errorf("%s as ana: %d %s", path, r.Status, r.Body)
		}
		if r := f.Do(t, "GET", path, f.Token(t, f.Tenant, f.App)); r.Status != 200 || !bytes.Contains(r.Body, []byte(apitest.VaultMachine)) {
			t.Errorf("%s as the application: %d %s", path, r.Status, r.Body)
		}
	}
	r := f.Do(t, "GET", "/api/machines?$filter=id+eq+'"+apitest.VaultMachine+"'&$count=true", ana)
	if !bytes.Contains(r.Body, []byte(`"@odata.count":0`)) {
		t.Errorf("count of the hidden machine: %s", r.Body)
	}
	// The writes changed nothing.
	m, err := f.Store.Machine(ctx, f.Tenant.ID, apitest.VaultMachine)
	if err != nil || len(m.MachineTags) != 1 || m.DeviceValue != nil {
		t.Errorf("hidden machine after refused writes: %+v, %v", m, err)
	}
}
