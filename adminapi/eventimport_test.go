package adminapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
)

// TestAdminImportEvents: file events in JSON Lines and network events in
// CSV, posted to a tenant's fileevents and networkevents, are stored as
// the tables' rows (what the store then reads back by hash and by
// domain); posting again changes nothing; a body with a bad record is
// refused whole with 400, naming its line and column.
func TestAdminImportEvents(t *testing.T) {
	ctx := context.Background()
	f := apitest.NewFixture(t, nil)
	f.SetAdminKey(t)
	f.Load(t, f.Tenant, []openatp.Machine{{ID: apitest.MID(1)}, {ID: apitest.MID(2)}}, nil)
	sha1 := "3395856ce81f2b7382dee72602f798b642f14140"
	files := `{"Timestamp":"2024-03-01T10:00:00Z","DeviceId":"` + apitest.MID(1) + `","ActionType":"FileCreated","FileName":"invoice.exe","FolderPath":"C:\\Users\\ana\\Downloads\\invoice.exe","SHA1":"` + sha1 + `","FileSize":73802,"ReportId":1}
{"Timestamp":"2024-03-01T10:00:01Z","DeviceId":"` + apitest.MID(2) + `","ActionType":"ProcessCreated","FileName":"invoice.exe","SHA1":"` + strings.ToUpper(sha1) + `","Signer":"","ReportId":7,"MachineGroup":"x"}
`
	conns := "Timestamp,DeviceId,ActionType,RemoteIP,RemotePort,RemoteUrl,Protocol\n" +
		"2024-03-01T10:00:05Z," + apitest.MID(1) + ",ConnectionSuccess,203.0.113.7,443,https://evil.example/a,Tcp\n" +
		"2024-03-01T10:00:06Z," + apitest.MID(2) + ",ConnectionFailed,203.0.113.7,443,evil.example,Tcp\n"
	for i := range 2 {
		r := f.Admin(t, "POST", "/_openatp/tenants/"+f.Tenant.ID+"/fileevents", apitest.AdminKey, "application/x-ndjson", []byte(files))
		want := `{"ignored":{"MachineGroup":1},"kind":"fileevents","records":2,"tenant":"` + f.Tenant.ID + `"}`
		if r.Status != 200 || strings.TrimSpace(string(r.Body)) != want {
			t.Fatalf("file events %d: %d %s, want 200 %s", i, r.Status, r.Body, want)
		}
		r = f.Admin(t, "POST", "/_openatp/tenants/"+f.Tenant.Name+"/networkevents", apitest.AdminKey, "text/csv", []byte(conns))
		if r.Status != 200 || !strings.Contains(string(r.Body), `"kind":"networkevents","records":2`) {
			t.Fatalf("network events %d: %d %s", i, r.Status, r.Body)
		}
	}
	fes, err := f.Store.FileEvents(ctx, f.Tenant.ID, openatp.EventFilter{Hash: sha1})
	if err != nil || len(fes) != 2 || fes[1].ActionType != "ProcessCreated" || fes[0].DeviceId != apitest.MID(1) {
		t.Fatalf("file events by hash: %+v, %v", fes, err)
	}
	nes, err := f.Store.NetworkEvents(ctx, f.Tenant.ID, openatp.EventFilter{Domain: "evil.example"})
	if err != nil || len(nes) != 2 || nes[0].RemoteIPType != "Public" {
		t.Fatalf("network events by domain: %+v, %v", nes, err)
	}

	for _, tc := range []struct{ name, path, ctype, body, msg string }{
		{"unknown machine", "fileevents", "application/x-ndjson", files + strings.Replace(strings.SplitN(files, "\n", 2)[0], apitest.MID(1), apitest.MID(9), 1),
			"line 3: DeviceId: the tenant has no machine"},
		{"bad hash", "fileevents", "application/json", "[" + strings.Replace(strings.SplitN(files, "\n", 2)[0], sha1, "abc", 1) + "]", "line 1: SHA1: must be 40 hexadecimal characters"},
		{"bad port", "networkevents", "text/csv", conns + "2024-03-01T10:00:07Z," + apitest.MID(1) + ",ConnectionSuccess,203.0.113.8,99999,,Tcp\n", "line 4: RemotePort: must be a port number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.Admin(t, "POST", "/_openatp/tenants/"+f.Tenant.ID+"/"+tc.path, apitest.AdminKey, tc.ctype, []byte(tc.body))
			apitest.CheckError(t, r, 400, "InvalidInput")
			if !strings.Contains(string(r.Body), tc.msg) {
				t.Errorf("message does not say %q: %s", tc.msg, r.Body)
			}
		})
	}
	if n, err := f.Store.NetworkEvents(ctx, f.Tenant.ID, openatp.EventFilter{RemoteIP: "203.0.113.8"}); err != nil || len(n) != 0 {
		t.Errorf("a refused body left %d events (%v)", len(n), err)
	}
}
