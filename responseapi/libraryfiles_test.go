package responseapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"regexp"
	"testing"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
)

// upload is a POST /api/libraryfiles form: the file (if name is not "")
// and the text fields, in order.
func upload(t *testing.T, f *apitest.Fixture, path, token, name string, content []byte, fields ...string) apitest.Response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for i := 0; i+1 < len(fields); i += 2 {
		if err := mw.WriteField(fields[i], fields[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if name != "" {
		w, err := mw.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(content)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", f.Srv.URL+path, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return f.Send(t, req)
}

var libraryEntity = regexp.MustCompile(`^\{"fileName":"[^"]+","sha256":"[0-9a-f]{64}","description":(null|"[^"]*"),` +
	`"creationTime":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z","createdBy":"[^"]*","hasParameters":(true|false),"parametersDescription":(null|"[^"]*")\}$`)

func TestLibraryFiles(t *testing.T) {
	f := apitest.NewFixture(t, func(c *apitest.Config) { c.MaxLibraryFile = 1000 })
	app := f.NewApp(t, f.Tenant, "lib", openatp.PermLibraryManage)
	token := f.Token(t, f.Tenant, app)
	script := []byte("Write-Output 'hello'\n")
	r := upload(t, f, "/api/libraryfiles", token, `C:\scripts\Hello.ps1`, script,
		"Description", "says hello", "HasParameters", "true", "ParametersDescription", "-Name <who>")
	if r.Status != http.StatusOK {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	apitest.CheckJSONHeaders(t, r, "application/json; odata.metadata=minimal")
	var v map[string]any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(script)
	want := map[string]any{"@odata.context": f.Srv.URL + "/api/$metadata#LibraryFiles/$entity", "fileName": "Hello.ps1",
		"sha256": hex.EncodeToString(sum[:]), "description": "says hello", "createdBy": app.ClientID, "hasParameters": true,
		"parametersDescription": "-Name <who>"}
	for k, w := range want {
		if v[k] != w {
			t.Errorf("%s = %v, want %v", k, v[k], w)
		}
	}
	if len(v) != 8 {
		t.Errorf("%d properties, want 8: %s", len(v), r.Body)
	}

	// The same name again: refused, unless OverrideIfExists.
	r = upload(t, f, "/api/libraryfiles", token, "hello.PS1", []byte("x"))
	apitest.CheckError(t, r, http.StatusBadRequest, "FileAlreadyExists")
	r = upload(t, f, "/api/v1.0/libraryfiles", token, "Other.sh", []byte("echo"), "OverrideIfExists", "False")
	if r.Status != http.StatusOK {
		t.Fatalf("second upload: %d %s", r.Status, r.Body)
	}
	r = upload(t, f, "/api/libraryfiles", token, "hello.ps1", []byte("y"), "OverrideIfExists", "true")
	if r.Status != http.StatusOK {
		t.Fatalf("override: %d %s", r.Status, r.Body)
	}

	// The list: ordered by name, each entity as documented.
	r = f.Do(t, "GET", "/api/libraryfiles", token)
	if r.Status != http.StatusOK {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	var list struct {
		Context string            `json:"@odata.context"`
		Value   []json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(r.Body, &list); err != nil {
		t.Fatal(err)
	}
	if list.Context != f.Srv.URL+"/api/$metadata#LibraryFiles" || len(list.Value) != 2 {
		t.Fatalf("list %s", r.Body)
	}
	for i, name := range []string{"hello.ps1", "Other.sh"} {
		if !libraryEntity.Match(list.Value[i]) || !bytes.Contains(list.Value[i], []byte(`"fileName":"`+name+`"`)) {
			t.Errorf("item %d: %s, want %s as documented", i, list.Value[i], name)
		}
	}
	if !bytes.Contains(list.Value[0], []byte(`"description":null,`)) || !bytes.Contains(list.Value[0], []byte(`"hasParameters":false,`)) {
		t.Errorf("the override kept the old fields: %s", list.Value[0])
	}

	// Bad uploads: 400 naming the problem, nothing written.
	for _, c := range []struct {
		name    string
		content []byte
		fields  []string
		code    string
	}{
		{"", nil, []string{"Description", "no file"}, "MissingRequiredParameter"},
		{"big.bin", bytes.Repeat([]byte("a"), 1001), nil, "InvalidRequestBody"},
		{"ok.ps1", []byte("x"), []string{"HasParameters", "maybe"}, "InvalidRequestBody"},
		{"..", []byte("x"), nil, "InvalidInput"},
	} {
		r := upload(t, f, "/api/libraryfiles", token, c.name, c.content, c.fields...)
		apitest.CheckError(t, r, http.StatusBadRequest, c.code)
	}
	r = f.SendJSON(t, "POST", "/api/libraryfiles", token, `{"file":"x"}`)
	apitest.CheckError(t, r, http.StatusBadRequest, "InvalidRequestBody")

	// Delete: 204, then 404.
	r = f.Do(t, "DELETE", "/api/libraryfiles/OTHER.sh", token)
	if r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	apitest.CheckError(t, f.Do(t, "DELETE", "/api/v1.0/libraryfiles/Other.sh", token), http.StatusNotFound, "NotFound")
	r = f.Do(t, "GET", "/api/libraryfiles", token)
	if n := bytes.Count(r.Body, []byte(`"fileName"`)); n != 1 {
		t.Errorf("after delete: %d files: %s", n, r.Body)
	}
	apitest.CheckError(t, f.Do(t, "PUT", "/api/libraryfiles/hello.ps1", token), http.StatusMethodNotAllowed, "MethodNotAllowed")
}

func TestLibraryFilesPermissions(t *testing.T) {
	f := apitest.RBACFixture(t, false)
	// An application without Library.Manage.
	reader := f.Token(t, f.Tenant, f.App)
	apitest.CheckError(t, f.Do(t, "GET", "/api/libraryfiles", reader), http.StatusForbidden, "Forbidden")
	apitest.CheckError(t, upload(t, f, "/api/libraryfiles", reader, "a.ps1", []byte("x")), http.StatusForbidden, "Forbidden")
	apitest.CheckError(t, f.Do(t, "DELETE", "/api/libraryfiles/a.ps1", reader), http.StatusForbidden, "Forbidden")

	// Delegated: listing takes a role with a live response permission
	// (and, as every delegated read, View Data), changing the library
	// "Live response advanced" (the admin role has every permission).
	native := f.DelegatedApp(t, f.Tenant, openatp.PermLibraryManage)
	viewer := f.Delegated(t, f.Tenant, native, "ana@contoso.com", "g-ana")
	role := openatp.Role{Name: "LiveResponder", Permissions: []string{openatp.PermViewData, openatp.PermLiveResponseBasic}, UserGroups: []string{"g-lr"}}
	if err := f.Store.PutRole(context.Background(), f.Tenant.ID, role); err != nil {
		t.Fatal(err)
	}
	responder := f.Delegated(t, f.Tenant, native, "rita@contoso.com", "g-lr")
	admin := f.Delegated(t, f.Tenant, native, "adam@contoso.com", "g-admin")
	apitest.CheckError(t, f.Do(t, "GET", "/api/libraryfiles", viewer), http.StatusForbidden, "Forbidden")
	if r := f.Do(t, "GET", "/api/libraryfiles", responder); r.Status != http.StatusOK {
		t.Errorf("responder list: %d %s", r.Status, r.Body)
	}
	apitest.CheckError(t, upload(t, f, "/api/libraryfiles", responder, "a.ps1", []byte("x")), http.StatusForbidden, "Forbidden")
	r := upload(t, f, "/api/libraryfiles", admin, "a.ps1", []byte("x"))
	if r.Status != http.StatusOK || !bytes.Contains(r.Body, []byte(`"createdBy":"adam@contoso.com"`)) {
		t.Fatalf("admin upload: %d %s", r.Status, r.Body)
	}
	apitest.CheckError(t, f.Do(t, "DELETE", "/api/libraryfiles/a.ps1", responder), http.StatusForbidden, "Forbidden")
	if r := f.Do(t, "DELETE", "/api/libraryfiles/a.ps1", admin); r.Status != http.StatusNoContent {
		t.Errorf("admin delete: %d %s", r.Status, r.Body)
	}
}
