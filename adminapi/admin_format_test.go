package adminapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/openatp/openatp/apitest"
)

// TestAdminIngestFormat: the admin API tells CSV from JSON by the body
// when the Content-Type names no format (curl -d sends a form's), and an
// error of the body's start says which format it was read as and why; a
// trailing comma is reported as one.
func TestAdminIngestFormat(t *testing.T) {
	f := apitest.AdminFixture(t)
	base := "/_openatp/tenants/" + f.Tenant.ID
	csv := "id,computerDnsName,healthStatus\n" + apitest.MID(40) + ",csv40.contoso.com,Active\n" + apitest.MID(41) + ",csv41.contoso.com,Inactive\n"
	for _, ctype := range []string{"", "application/x-www-form-urlencoded", "text/plain", "text/csv"} {
		r := f.Admin(t, "POST", base+"/machines", apitest.AdminKey, ctype, []byte(csv))
		if r.Status != 200 || !strings.Contains(string(r.Body), `"records":2`) {
			t.Errorf("CSV with Content-Type %q: %d %s", ctype, r.Status, r.Body)
		}
	}
	r := f.Admin(t, "POST", base+"/machines", apitest.AdminKey, "application/x-www-form-urlencoded", []byte(apitest.MachineLine(42, "")+"\n"+apitest.MachineLine(43, "")))
	if r.Status != 200 || !strings.Contains(string(r.Body), `"records":2`) {
		t.Errorf("NDJSON as a form: %d %s", r.Status, r.Body)
	}
	for _, tc := range []struct{ name, ctype, body, code, msg string }{
		{"CSV sent as JSON", "application/json", csv, "InvalidRequestBody",
			"line 1: invalid JSON: expected a JSON object or array, found 'i' (the body is read as JSON as its Content-Type application/json says; send CSV as text/csv, JSON Lines as application/x-ndjson)"},
		{"trailing comma", "application/json", "[" + apitest.MachineLine(44, "") + ",\n" + apitest.MachineLine(45, "") + ",\n]", "InvalidRequestBody",
			"line 3: invalid JSON: a comma before ']': JSON allows no trailing comma in an array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.Admin(t, "POST", base+"/machines", apitest.AdminKey, tc.ctype, []byte(tc.body))
			apitest.CheckError(t, r, 400, tc.code)
			var body struct{ Error struct{ Message string } }
			if err := json.Unmarshal(r.Body, &body); err != nil || body.Error.Message != tc.msg {
				t.Errorf("message %q, want %q (%v)", body.Error.Message, tc.msg, err)
			}
		})
	}
}
