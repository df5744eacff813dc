package adminapi_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAdminIngestFormat: the admin API tells CSV from JSON by the body
// when the Content-Type names no format (curl -d sends a form's), and an
// error of the body's start says which format it was read as and why; a
// trailing comma is reported as one.
func TestAdminIngestFormat(t *testing.T) {
	f := adminFixture(t)
	base := "/_openatp/tenants/" + f.tenant.ID
	csv := "id,computerDnsName,healthStatus\n" + mid(40) + ",csv40.contoso.com,Active\n" + mid(41) + ",csv41.contoso.com,Inactive\n"
	for _, ctype := range []string{"", "application/x-www-form-urlencoded", "text/plain", "text/csv"} {
		r := f.admin(t, "POST", base+"/machines", adminKey, ctype, []byte(csv))
		if r.status != 200 || !strings.Contains(string(r.body), `"records":2`) {
			t.Errorf("CSV with Content-Type %q: %d %s", ctype, r.status, r.body)
		}
	}
	r := f.admin(t, "POST", base+"/machines", adminKey, "application/x-www-form-urlencoded", []byte(machineLine(42, "")+"\n"+machineLine(43, "")))
	if r.status != 200 || !strings.Contains(string(r.body), `"records":2`) {
		t.Errorf("NDJSON as a form: %d %s", r.status, r.body)
	}
	for _, tc := range []struct{ name, ctype, body, code, msg string }{
		{"CSV sent as JSON", "application/json", csv, "InvalidRequestBody",
			"line 1: invalid JSON: expected a JSON object or array, found 'i' (the body is read as JSON as its Content-Type application/json says; send CSV as text/csv, JSON Lines as application/x-ndjson)"},
		{"trailing comma", "application/json", "[" + machineLine(44, "") + ",\n" + machineLine(45, "") + ",\n]", "InvalidRequestBody",
			"line 3: invalid JSON: a comma before ']': JSON allows no trailing comma in an array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.admin(t, "POST", base+"/machines", adminKey, tc.ctype, []byte(tc.body))
			checkError(t, r, 400, tc.code)
			var body struct{ Error struct{ Message string } }
			if err := json.Unmarshal(r.body, &body); err != nil || body.Error.Message != tc.msg {
				t.Errorf("message %q, want %q (%v)", body.Error.Message, tc.msg, err)
			}
		})
	}
}
