package indicatorapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/ratelimit"
	"github.com/openatp/openatp/ratelimit/ratelimittest"
)

// docExample is the documented submit example (post-ti-indicator), with
// an expiration in the future.
const docExample = `{"indicatorValue": "220e7d15b011d7fac48f2bd61114db1022197f7f", "indicatorType": "FileSha1", "title": "test",
 "application": "demo-test", "expirationTime": "2030-12-12T00:00:00Z", "action": "AlertAndBlock",
 "severity": "Informational", "description": "test", "recommendedActions": "nothing", "rbacGroupNames": ["The-A-Team", "Vault"]}`

var times = regexp.MustCompile(`"(creationTimeDateTimeUtc|lastUpdateTime)":"[^"]+"`)

// stable replaces the server's clock in an answer.
func stable(b []byte) string { return times.ReplaceAllString(string(b), `"$1":"T"`) }

// ids returns the ids of a collection answer.
func ids(t *testing.T, r apitest.Response) []string {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	var v struct {
		Value []struct{ ID string } `json:"value"`
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, in := range v.Value {
		out = append(out, in.ID)
	}
	return out
}

func same(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

// submit posts an indicator and returns its id.
func submit(t *testing.T, f *apitest.Fixture, tok, body string) string {
	t.Helper()
	r := f.SendJSON(t, "POST", "/api/indicators", tok, body)
	if r.Status != http.StatusOK {
		t.Fatalf("submit %s: %d %s", body, r.Status, r.Body)
	}
	var v struct{ ID string }
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatal(err)
	}
	return v.ID
}

func hashBody(n int, extra string) string {
	return fmt.Sprintf(`{"indicatorValue":"%040x","indicatorType":"FileSha1","action":"Block","title":"t%d","description":"d"%s}`, n, n, extra)
}

// The documented example is stored and answered as the entity; the same
// type and value, or an id, updates it in place; an application with
// Ti.ReadWrite sees and changes only its own, one with Ti.ReadWrite.All
// every one; the routes are also under /api/v1.0.
func TestSubmitReadDelete(t *testing.T) {
	f := apitest.RBACFixture(t, false)
	appA := f.NewApp(t, f.Tenant, "soar-a", openatp.PermTiReadWrite)
	a := f.Token(t, f.Tenant, appA)
	b := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "soar-b", openatp.PermTiReadWrite))
	all := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "siem", openatp.PermTiReadWriteAll))

	r := f.SendJSON(t, "POST", "/api/indicators", a, docExample)
	want := `{"@odata.context":"` + f.Srv.URL + `/api/$metadata#Indicators/$entity","id":"1",` +
		`"indicatorValue":"220e7d15b011d7fac48f2bd61114db1022197f7f","indicatorType":"FileSha1","action":"AlertAndBlock",` +
		`"application":"demo-test","source":"soar-a","sourceType":"AadApp","createdBy":"` + appA.ClientID + `",` +
		`"createdBySource":"soar-a","createdByDisplayName":"soar-a","severity":"Informational","title":"test","description":"test",` +
		`"recommendedActions":"nothing","creationTimeDateTimeUtc":"T","expirationTime":"2030-12-12T00:00:00.0000000Z","lastUpdateTime":"T",` +
		`"lastUpdatedBy":"` + appA.ClientID + `","rbacGroupNames":["The-A-Team","Vault"],"rbacGroupIds":["140","150"],` +
		`"generateAlert":false,"educateUrl":null,"externalId":null}`
	if r.Status != http.StatusOK || stable(r.Body) != want {
		t.Fatalf("submit: %d\n got %s\nwant %s", r.Status, stable(r.Body), want)
	}
	apitest.CheckJSONHeaders(t, r, "application/json; odata.metadata=minimal")
	if g := f.Do(t, "GET", "/api/indicators/1", a); g.Status != 200 || string(g.Body) != string(r.Body) {
		t.Errorf("get: %d %s", g.Status, g.Body)
	}

	// The same type and value (in upper case): updated in place; the
	// application is kept.
	up := strings.NewReplacer("220e7d15b011d7fac48f2bd61114db1022197f7f", "220E7D15B011D7FAC48F2BD61114DB1022197F7F",
		`"title": "test"`, `"title": "renamed"`, `"application": "demo-test"`, `"application": "other"`).Replace(docExample)
	r = f.SendJSON(t, "POST", "/api/v1.0/indicators", a, up)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"id":"1","indicatorValue":"220E7D15B011D7FAC48F2BD61114DB1022197F7F"`) ||
		!strings.Contains(string(r.Body), `"application":"demo-test"`) || !strings.Contains(string(r.Body), `"title":"renamed"`) {
		t.Errorf("update by value: %d %s", r.Status, r.Body)
	}
	// By id, another value.
	r = f.SendJSON(t, "POST", "/api/indicators", a, `{"id":"1","indicatorValue":"10.0.0.1","indicatorType":"IpAddress","action":"Warn","title":"ip","description":"d"}`)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"id":"1","indicatorValue":"10.0.0.1"`) {
		t.Errorf("update by id: %d %s", r.Status, r.Body)
	}
	second := submit(t, f, all, hashBody(2, ""))
	if second != "2" {
		t.Errorf("second id %s", second)
	}

	// Per-application visibility.
	if got := ids(t, f.Do(t, "GET", "/api/indicators", a)); !same(got, []string{"1"}) {
		t.Errorf("A lists %v, want [1]", got)
	}
	if got := ids(t, f.Do(t, "GET", "/api/v1.0/indicators", b)); len(got) != 0 {
		t.Errorf("B lists %v, want none", got)
	}
	if got := ids(t, f.Do(t, "GET", "/api/indicators", all)); !same(got, []string{"1", "2"}) {
		t.Errorf("Ti.ReadWrite.All lists %v, want [1 2]", got)
	}
	apitest.CheckError(t, f.Do(t, "GET", "/api/indicators/1", b), http.StatusNotFound, "ResourceNotFound")
	apitest.CheckError(t, f.SendJSON(t, "POST", "/api/indicators", b, `{"id":"1","indicatorValue":"10.0.0.1","indicatorType":"IpAddress","action":"Warn","title":"x","description":"d"}`),
		http.StatusNotFound, "ResourceNotFound")
	apitest.CheckError(t, f.SendJSON(t, "POST", "/api/indicators", b, `{"indicatorValue":"10.0.0.1","indicatorType":"IpAddress","action":"Warn","title":"x","description":"d"}`),
		http.StatusConflict, "Conflict")
	apitest.CheckError(t, f.Do(t, "DELETE", "/api/indicators/1", b), http.StatusNotFound, "ResourceNotFound")
	apitest.CheckError(t, f.Do(t, "GET", "/api/indicators", f.Token(t, f.Tenant, f.App)), http.StatusForbidden, "Forbidden")
	apitest.CheckError(t, f.Do(t, "GET", "/api/indicators/abc", all), http.StatusNotFound, "ResourceNotFound")

	// Delete: 204 without a body, then 404.
	r = f.Do(t, "DELETE", "/api/v1.0/indicators/1", a)
	if r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	apitest.CheckError(t, f.Do(t, "DELETE", "/api/indicators/1", a), http.StatusNotFound, "ResourceNotFound")
	if got := ids(t, f.Do(t, "GET", "/api/indicators", all)); !same(got, []string{"2"}) {
		t.Errorf("after delete: %v", got)
	}

	// An expired indicator is answered but not listed nor found.
	past := submit(t, f, all, hashBody(3, `,"expirationTime":"2020-12-12T00:00:00Z"`))
	apitest.CheckError(t, f.Do(t, "GET", "/api/indicators/"+past, all), http.StatusNotFound, "ResourceNotFound")
	if got := ids(t, f.Do(t, "GET", "/api/indicators", all)); !same(got, []string{"2"}) {
		t.Errorf("with an expired one: %v", got)
	}
	soon := submit(t, f, all, hashBody(4, `,"expirationTime":"`+time.Now().Add(time.Second).UTC().Format(time.RFC3339Nano)+`"`))
	apitest.WaitFor(t, "indicator "+soon+" to expire", func() bool {
		return f.Do(t, "GET", "/api/indicators/"+soon, all).Status == http.StatusNotFound
	})
}

// Every rule of a submitted indicator: a 400 naming the field, and
// nothing written.
func TestSubmitRules(t *testing.T) {
	f := apitest.RBACFixture(t, false)
	tok := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "soar", openatp.PermTiReadWriteAll))
	base := map[string]any{"indicatorValue": "contoso.com", "indicatorType": "DomainName", "action": "Block", "title": "t", "description": "d"}
	with := func(kv ...any) string {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	for _, c := range []struct {
		body, field string
	}{
		{with("indicatorValue", nil), "indicatorValue"},
		{with("indicatorType", nil), "indicatorType"},
		{with("indicatorType", "Sha1"), "indicatorType"},
		{with("action", nil), "action"},
		{with("action", "Deny"), "action"},
		{with("title", nil), "title"},
		{with("description", ""), "description"},
		{with("severity", "Critical"), "severity"},
		{with("indicatorType", "FileSha1", "indicatorValue", strings.Repeat("a", 39)), "indicatorValue"},
		{with("indicatorType", "FileSha256", "indicatorValue", strings.Repeat("a", 40)), "indicatorValue"},
		{with("indicatorType", "FileMd5", "indicatorValue", strings.Repeat("g", 32)), "indicatorValue"},
		{with("indicatorType", "CertificateThumbprint", "indicatorValue", "xyz"), "indicatorValue"},
		{with("indicatorType", "IpAddress", "indicatorValue", "10.0.0.0/8"), "indicatorValue"},
		{with("indicatorType", "IpAddress", "indicatorValue", "10.0.0.256"), "indicatorValue"},
		{with("indicatorValue", "not a domain"), "indicatorValue"},
		{with("indicatorValue", "localhost"), "indicatorValue"},
		{with("indicatorType", "Url", "indicatorValue", "ftp://contoso.com/x"), "indicatorValue"},
		{with("action", "Audit"), "generateAlert"},
		{with("action", "Audit", "generateAlert", false), "generateAlert"},
		{with("generateAlert", "yes"), "generateAlert"},
		{with("title", 5), "title"},
		{with("rbacGroupNames", 5), "rbacGroupNames"},
		{with("rbacGroupNames", []string{"Nowhere"}), "rbacGroupNames"},
		{with("expirationTime", "tomorrow"), "expirationTime"},
		{with("educateUrl", "https://contoso.com/why"), "educateUrl"}, // a domain with Block: allowed; with Allowed:
		{with("action", "Allowed", "educateUrl", "https://contoso.com/why"), "educateUrl"},
		{with("id", "x"), "id"},
	} {
		r := f.SendJSON(t, "POST", "/api/indicators", tok, c.body)
		if c.field == "educateUrl" && strings.Contains(c.body, `"Block"`) {
			if r.Status != 200 {
				t.Errorf("%s: %d %s", c.body, r.Status, r.Body)
			}
			f.Do(t, "DELETE", "/api/indicators/"+mustID(t, r), tok)
			continue
		}
		apitest.CheckError(t, r, http.StatusBadRequest, "InvalidInput")
		if !strings.Contains(string(r.Body), `"message":"`+c.field+`: `) {
			t.Errorf("%s: %s, want the field %s named", c.body, r.Body, c.field)
		}
	}
	for _, body := range []string{`[]`, `{`, `"x"`, ``} {
		apitest.CheckError(t, f.SendJSON(t, "POST", "/api/indicators", tok, body), http.StatusBadRequest, "InvalidRequestBody")
	}
	apitest.CheckError(t, f.SendJSON(t, "POST", "/api/indicators", tok, `{"title":"`+strings.Repeat("x", 70<<10)+`"}`),
		http.StatusRequestEntityTooLarge, "RequestEntityTooLarge")
	if got := ids(t, f.Do(t, "GET", "/api/indicators", tok)); len(got) != 0 {
		t.Fatalf("written: %v", got)
	}

	// What is accepted: each type, Audit with generateAlert (also as the
	// string "True"), rbacGroupNames as a comma-separated string, a URL
	// without scheme, an IPv6 address.
	for _, body := range []string{
		with("indicatorType", "FileSha256", "indicatorValue", strings.Repeat("Ab", 32)),
		with("indicatorType", "FileMd5", "indicatorValue", strings.Repeat("0f", 16)),
		with("indicatorType", "CertificateThumbprint", "indicatorValue", strings.Repeat("1", 40)),
		with("indicatorType", "IpAddress", "indicatorValue", "2001:db8::1", "action", "Audit", "generateAlert", "True"),
		with("indicatorType", "Url", "indicatorValue", "www.contoso.com/path?q=1"),
		with("indicatorType", "Url", "indicatorValue", "https://10.1.2.3:8443/x", "action", "Warn", "educateUrl", "https://intranet.contoso.com"),
		with("indicatorValue", "fabrikam.com", "rbacGroupNames", " The-A-Team , Vault"),
	} {
		submit(t, f, tok, body)
	}
	r := f.Do(t, "GET", "/api/indicators?$filter=indicatorValue%20eq%20'fabrikam.com'", tok)
	if !strings.Contains(string(r.Body), `"rbacGroupNames":["The-A-Team","Vault"],"rbacGroupIds":["140","150"]`) {
		t.Errorf("comma-separated groups: %s", r.Body)
	}
}

func mustID(t *testing.T, r apitest.Response) string {
	t.Helper()
	var v struct{ ID string }
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatal(err)
	}
	return v.ID
}

// The collection's OData: $filter on the documented properties with in
// (…) and in […] and doubled quotes, $top (at most 10,000) with nextLink,
// $skip, $orderby, $count.
func TestListOData(t *testing.T) {
	f := apitest.NewFixture(t, nil)
	tok := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "soar", openatp.PermTiReadWriteAll))
	for i := 1; i <= 4; i++ {
		extra := ""
		if i%2 == 0 {
			extra = `,"action":"Audit","generateAlert":true,"severity":"High"`
		}
		submit(t, f, tok, strings.Replace(hashBody(i, extra), `"action":"Block",`, "", strings.Count(extra, "Audit")))
	}
	submit(t, f, tok, `{"indicatorValue":"contoso.com","indicatorType":"DomainName","action":"Allowed","title":"O'Brien's","description":"d"}`)
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"", []string{"1", "2", "3", "4", "5"}},
		{"$filter=indicatorValue in ('" + fmt.Sprintf("%040x", 1) + "','" + fmt.Sprintf("%040x", 3) + "')", []string{"1", "3"}},
		{"$filter=indicatorValue+in+['" + fmt.Sprintf("%040x", 2) + "','contoso.com']", []string{"2", "5"}},
		{"$filter=action eq 'Audit'", []string{"2", "4"}},
		{"$filter=generateAlert eq true and severity eq 'High'", []string{"2", "4"}},
		{"$filter=indicatorType eq 'DomainName'", []string{"5"}},
		{"$filter=title eq 'O''Brien''s'", []string{"5"}},
		{"$filter=createdByDisplayName eq 'soar' and creationTimeDateTimeUtc gt 2020-01-01T00:00:00Z", []string{"1", "2", "3", "4", "5"}},
		{"$filter=expirationTime eq null", []string{"1", "2", "3", "4", "5"}},
		{"$orderby=title desc&$top=2", []string{"4", "3"}}, // "O'Brien's" sorts before "t1"
		{"$skip=3", []string{"4", "5"}},
		{"$filter=indicatorValue eq '" + fmt.Sprintf("%040X", 3) + "'", []string{"3"}},
		{"$filter=indicatorValue eq 'CONTOSO.com'", []string{"5"}},
		{"$filter=indicatorValue eq 'fabrikam.com'", []string{}},
		{"$filter=indicatorValue eq '" + fmt.Sprintf("%040x", 2) + "' and action eq 'Block'", []string{}},
		{"$filter=indicatorValue eq '" + fmt.Sprintf("%040x", 2) + "' and action eq 'Audit'", []string{"2"}},
		{"$filter=indicatorValue eq '" + fmt.Sprintf("%040x", 2) + "' or indicatorType eq 'DomainName'", []string{"2", "5"}},
		{"$filter=indicatorValue in ('" + fmt.Sprintf("%040x", 4) + "','" + fmt.Sprintf("%040x", 1) + "')&$top=1", []string{"1"}},
		{"$filter=indicatorValue in ('" + fmt.Sprintf("%040x", 4) + "','" + fmt.Sprintf("%040x", 1) + "')&$orderby=id desc", []string{"4", "1"}},
	} {
		q := strings.ReplaceAll(c.query, " ", "%20")
		if got := ids(t, f.Do(t, "GET", "/api/indicators?"+q, tok)); !same(got, c.want) {
			t.Errorf("%s: %v, want %v", c.query, got, c.want)
		}
	}
	r := f.Do(t, "GET", "/api/indicators?$top=2&$count=true", tok)
	var v struct {
		Count int    `json:"@odata.count"`
		Next  string `json:"@odata.nextLink"`
	}
	if err := json.Unmarshal(r.Body, &v); err != nil || v.Count != 5 || !strings.Contains(v.Next, "$skip=2") {
		t.Fatalf("page: %s", r.Body)
	}
	next, _ := url.Parse(v.Next)
	if got := ids(t, f.Do(t, "GET", next.RequestURI(), tok)); !same(got, []string{"3", "4"}) {
		t.Errorf("next page %v", got)
	}
	apitest.CheckError(t, f.Do(t, "GET", "/api/indicators?$top=10001", tok), http.StatusBadRequest, "ODataError")
	apitest.CheckError(t, f.Do(t, "GET", "/api/indicators?$filter=nope%20eq%201", tok), http.StatusBadRequest, "ODataError")
	apitest.CheckError(t, f.Do(t, "GET", "/api/indicators?$select=id", tok), http.StatusBadRequest, "ODataError")
}

// Import: per-item results in order, each item on its own; bounds of the
// batch and bad bodies answered 400 with nothing written.
func TestImport(t *testing.T) {
	f := apitest.NewFixture(t, nil)
	tok := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "soar", openatp.PermTiReadWrite))
	body := `{"Indicators":[` + hashBody(1, "") + `,{"indicatorValue":"10.0.0.0/8","indicatorType":"IpAddress","action":"Block","title":"t","description":"d"},` +
		hashBody(1, `,"severity":"Low"`) + `,` + hashBody(2, "") + `]}`
	r := f.SendJSON(t, "POST", "/api/indicators/import", tok, body)
	want := `{"@odata.context":"` + f.Srv.URL + `/api/$metadata#Collection(microsoft.windowsDefenderATP.api.ImportIndicatorResult)","value":[` +
		`{"id":"1","indicator":"` + fmt.Sprintf("%040x", 1) + `","isFailed":false,"failureReason":null},` +
		`{"id":null,"indicator":"10.0.0.0/8","isFailed":true,"failureReason":"indicatorValue: CIDR ranges are not supported: give one IP address"},` +
		`{"id":"1","indicator":"` + fmt.Sprintf("%040x", 1) + `","isFailed":false,"failureReason":null},` +
		`{"id":"2","indicator":"` + fmt.Sprintf("%040x", 2) + `","isFailed":false,"failureReason":null}]}`
	if r.Status != 200 || string(r.Body) != want {
		t.Fatalf("import: %d\n got %s\nwant %s", r.Status, r.Body, want)
	}
	if g := f.Do(t, "GET", "/api/indicators/1", tok); !strings.Contains(string(g.Body), `"severity":"Low"`) {
		t.Errorf("the second item of the same value updated the first: %s", g.Body)
	}
	many := make([]string, 501)
	for i := range many {
		many[i] = hashBody(100+i, "")
	}
	for _, bad := range []string{`{"Indicators":[]}`, `{"Indicators":{}}`, `{}`, `[]`, `{"Indicators":[` + strings.Join(many, ",") + `]}`} {
		apitest.CheckError(t, f.SendJSON(t, "POST", "/api/v1.0/indicators/import", tok, bad), http.StatusBadRequest, "InvalidRequestBody")
	}
	if got := ids(t, f.Do(t, "GET", "/api/indicators", tok)); !same(got, []string{"1", "2"}) {
		t.Errorf("after the refused imports: %v", got)
	}
	// 500 are taken, in lower case property names.
	r = f.SendJSON(t, "POST", "/api/indicators/import", tok, `{"indicators":[`+strings.Join(many[:500], ",")+`]}`)
	if r.Status != 200 || strings.Count(string(r.Body), `"isFailed":false`) != 500 {
		t.Fatalf("500: %d %.300s", r.Status, r.Body)
	}
}

// BatchDelete is all or nothing: 404 if an id is missing or another
// application's, 403 if one is outside a delegated caller's device
// groups, 400 for an empty, too long or invalid list.
func TestBatchDelete(t *testing.T) {
	f := apitest.RBACFixture(t, false)
	ctx := context.Background()
	if err := f.Store.PutRole(ctx, f.Tenant.ID, openatp.Role{Name: "TI", Permissions: []string{openatp.PermViewData, openatp.PermManageSecuritySettings},
		UserGroups: []string{"g-ana"}}); err != nil {
		t.Fatal(err)
	}
	a := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "soar-a", openatp.PermTiReadWrite))
	b := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "soar-b", openatp.PermTiReadWrite))
	all := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "siem", openatp.PermTiReadWriteAll))
	native := f.DelegatedApp(t, f.Tenant, openatp.PermTiReadWrite)
	ana := f.Delegated(t, f.Tenant, native, "ana@contoso.com", "g-ana")
	viewer := f.Delegated(t, f.Tenant, f.DelegatedApp(t, f.Tenant, openatp.PermTiReadWrite), "vic@contoso.com", "g-noview")
	if err := f.Store.PutRole(ctx, f.Tenant.ID, openatp.Role{Name: "Sec viewer", Permissions: []string{openatp.PermViewData},
		UserGroups: []string{"g-sec"}}); err != nil {
		t.Fatal(err)
	}
	secViewer := f.Delegated(t, f.Tenant, native, "sec@contoso.com", "g-sec")
	r := f.Do(t, "GET", "/api/indicators", secViewer)
	apitest.CheckError(t, r, http.StatusForbidden, "Forbidden")
	if !strings.Contains(string(r.Body), "has no role with the 'Manage security settings' permission") {
		t.Errorf("a user without the role: %s", r.Body)
	}

	one, two := submit(t, f, a, hashBody(1, "")), submit(t, f, a, hashBody(2, ""))
	three := submit(t, f, b, hashBody(3, ""))
	vault := submit(t, f, all, hashBody(4, `,"rbacGroupNames":["Vault"]`))
	team := submit(t, f, ana, hashBody(5, `,"rbacGroupNames":"The-A-Team"`))
	del := func(tok, body string) apitest.Response {
		return f.SendJSON(t, "POST", "/api/indicators/BatchDelete", tok, body)
	}
	apitest.CheckError(t, del(b, `{"IndicatorIds":["`+one+`","`+three+`"]}`), http.StatusNotFound, "ResourceNotFound")
	apitest.CheckError(t, del(a, `{"IndicatorIds":["`+one+`","99"]}`), http.StatusNotFound, "ResourceNotFound")
	apitest.CheckError(t, del(ana, `{"IndicatorIds":["`+team+`","`+vault+`"]}`), http.StatusForbidden, "Forbidden")
	apitest.CheckError(t, del(viewer, `{"IndicatorIds":["`+team+`"]}`), http.StatusForbidden, "Forbidden")
	apitest.CheckError(t, del(a, `{"IndicatorIds":["`+one+`","x"]}`), http.StatusBadRequest, "InvalidInput")
	apitest.CheckError(t, del(a, `{"IndicatorIds":[]}`), http.StatusBadRequest, "InvalidRequestBody")
	apitest.CheckError(t, del(a, `{"IndicatorIds":[`+strings.Repeat(`"1",`, 500)+`"1"]}`), http.StatusBadRequest, "InvalidRequestBody")
	apitest.CheckError(t, del(a, `{"Ids":["1"]}`), http.StatusBadRequest, "InvalidRequestBody")
	if got := ids(t, f.Do(t, "GET", "/api/indicators", all)); !same(got, []string{one, two, three, vault, team}) {
		t.Fatalf("after the refused deletes: %v", got)
	}
	// The delegated user sees the indicators of every device and of its
	// groups, not the vault's.
	if got := ids(t, f.Do(t, "GET", "/api/indicators", ana)); !same(got, []string{one, two, three, team}) {
		t.Errorf("ana lists %v", got)
	}
	apitest.CheckError(t, f.Do(t, "GET", "/api/indicators/"+vault, ana), http.StatusNotFound, "ResourceNotFound")
	// The same through the value lookup ($filter=indicatorValue eq …):
	// another application's, or one of a group the user does not see, is
	// not listed.
	for _, c := range []struct {
		tok  string
		n    int
		want []string
	}{{a, 1, []string{one}}, {a, 3, nil}, {b, 3, []string{three}}, {all, 4, []string{vault}}, {ana, 4, nil}, {ana, 5, []string{team}}} {
		q := "/api/indicators?$filter=indicatorValue%20eq%20'" + fmt.Sprintf("%040X", c.n) + "'"
		if got := ids(t, f.Do(t, "GET", q, c.tok)); !same(got, c.want) {
			t.Errorf("lookup of %d: %v, want %v", c.n, got, c.want)
		}
	}
	apitest.CheckError(t, f.SendJSON(t, "POST", "/api/indicators", ana, hashBody(6, `,"rbacGroupNames":["Vault"]`)), http.StatusForbidden, "Forbidden")

	for _, c := range []struct{ tok, body string }{
		{a, `{"IndicatorIds":["` + one + `",` + two + `,"` + one + `"]}`},
		{ana, `{"indicatorIds":["` + team + `"]}`},
	} {
		if r := f.SendJSON(t, "POST", "/api/v1.0/indicators/batchdelete", c.tok, c.body); r.Status != http.StatusNoContent || len(r.Body) != 0 {
			t.Fatalf("%s: %d %s", c.body, r.Status, r.Body)
		}
	}
	if got := ids(t, f.Do(t, "GET", "/api/indicators", all)); !same(got, []string{three, vault}) {
		t.Errorf("after the deletes: %v", got)
	}
}

// The wrong method on an indicator route: 405 with Allow.
func TestMethods(t *testing.T) {
	f := apitest.NewFixture(t, nil)
	tok := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "soar", openatp.PermTiReadWriteAll))
	for _, c := range []struct{ method, path, allow string }{
		{"PUT", "/api/indicators", "GET, POST"},
		{"GET", "/api/indicators/import", "POST"},
		{"GET", "/api/v1.0/indicators/BatchDelete", "POST"},
		{"POST", "/api/indicators/1", "GET, DELETE"},
		{"PATCH", "/api/v1.0/indicators/1", "GET, DELETE"},
	} {
		r := f.Do(t, c.method, c.path, tok)
		apitest.CheckError(t, r, http.StatusMethodNotAllowed, "MethodNotAllowed")
		if r.Header.Get("Allow") != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, r.Header.Get("Allow"), c.allow)
		}
	}
}

// import and BatchDelete take 30 calls a minute, the other routes 100.
func TestRateLimits(t *testing.T) {
	clk := ratelimittest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	f := apitest.NewFixture(t, func(c *apitest.Config) {
		c.Limiter = ratelimit.NewMemory(ratelimit.Service, clk.Now)
		c.EndpointLimiters = map[string]httpserve.Limiter{}
		for endpoint, p := range ratelimit.Endpoints {
			c.EndpointLimiters[endpoint] = ratelimit.NewMemory(p, clk.Now)
		}
	})
	tok := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "soar", openatp.PermTiReadWriteAll))
	for _, path := range []string{"/api/indicators/import", "/api/indicators/BatchDelete"} {
		for i := range 30 {
			if r := f.SendJSON(t, "POST", path, tok, `{}`); r.Status != http.StatusBadRequest {
				t.Fatalf("%s %d: %d %s", path, i+1, r.Status, r.Body)
			}
		}
		apitest.CheckError(t, f.SendJSON(t, "POST", path, tok, `{}`), http.StatusTooManyRequests, "TooManyRequests")
	}
	for i := range 100 {
		if r := f.Do(t, "GET", "/api/indicators", tok); r.Status != http.StatusOK {
			t.Fatalf("list %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	apitest.CheckError(t, f.Do(t, "GET", "/api/indicators", tok), http.StatusTooManyRequests, "TooManyRequests")
	clk.Advance(time.Minute)
	if r := f.Do(t, "GET", "/api/indicators", tok); r.Status != http.StatusOK {
		t.Errorf("a minute later: %d", r.Status)
	}
}

// The list's lookups by value are answered from memory once the tenant's
// indicators are kept there, and every write, through the API or straight
// to the store, is seen by the next lookup.
func TestLookupSeesWrites(t *testing.T) {
	f := apitest.NewFixture(t, nil)
	tok := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "soar", openatp.PermTiReadWriteAll))
	one := submit(t, f, tok, hashBody(1, ""))
	lookup := func(n int) []string {
		return ids(t, f.Do(t, "GET", "/api/indicators?$filter=indicatorValue%20eq%20'"+fmt.Sprintf("%040x", n)+"'", tok))
	}
	for range 40 { // past the lookups a read of the tenant is worth
		if got := lookup(1); !same(got, []string{one}) {
			t.Fatalf("lookup: %v", got)
		}
	}
	two := submit(t, f, tok, hashBody(2, ""))
	if got := lookup(2); !same(got, []string{two}) {
		t.Errorf("after a submit: %v", got)
	}
	in := openatp.Indicator{IndicatorValue: fmt.Sprintf("%040x", 3), IndicatorType: openatp.IndicatorFileSha1, Action: "Block", Title: "t",
		Description: "d", Source: "x", SourceType: openatp.IndicatorSourceApp, CreatedBy: "x", LastUpdatedBy: "x"}
	out, errs, err := f.Store.PutIndicators(context.Background(), f.Tenant.ID, []openatp.Indicator{in}, time.Now(), nil)
	if err != nil || errs[0] != nil {
		t.Fatal(err, errs[0])
	}
	for range 40 {
		if got := lookup(3); !same(got, []string{out[0].ID}) {
			t.Fatalf("after a write to the store: %v", got)
		}
	}
	if r := f.Do(t, "DELETE", "/api/indicators/"+one, tok); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if got := lookup(1); len(got) != 0 {
		t.Errorf("after a delete: %v", got)
	}
	if got := ids(t, f.Do(t, "GET", "/api/indicators", tok)); !same(got, []string{two, out[0].ID}) {
		t.Errorf("the list: %v", got)
	}
}
