package tvmapi_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp/apitest"
	"github.com/openatp/openatp/internal/demotenant"
)

// This file replays the TVM calls of the Python library mde-client (PyPI
// mde-client 0.1.0, ProxayFox/pysec-clients at 1bcff9c, src/mde_client),
// which needs Python 3.14 and packages this machine and CI cannot
// install. What it does, read from its code:
//
//   - auth.py: MSAL's client credentials grant, scope
//     https://api.securitycenter.microsoft.com/.default, at
//     {authority}/{tenant}; each request carries only the bearer token.
//   - endpoints/base.py: httpx 0.28 sends the params percent-encoded
//     (spaces as %20, '$' as %24). A list is read by following
//     @odata.nextLink, as given, until there is none, each page's "value"
//     appended; with $top or $skip it sends one request. An answer
//     without "value" adds nothing to a list (body.get("value", [])):
//     only its "single" reads (a vulnerability by id) take the object
//     itself. An export reads {"exportFiles","generatedTime"}, then
//     GETs every URL without a token and reads gzip JSON Lines.
//   - Query models: pageSize=10000 with any query object (BaseQuery's
//     default), the by-machine routes pageSize=50000 (MachinesExportQuery),
//     $filter clauses "f eq 'v'", "f in ('a', 'b')" and "f eq <isoformat>"
//     joined by " and ".
//   - schemas/*.py: every answer goes into a pyarrow table of a fixed
//     schema (http_to_arrow's ArrowRecordContainer, unknown fields
//     dropped, a missing one null, ISO strings parsed into timestamps):
//     a value of another JSON type than its column's fails the whole
//     read, and a null in a column declared nullable=False breaks it.
//
// The tables below are our own transcription of those schemas, each
// naming the file it comes from.

// arrowKind is the JSON a pyarrow column type takes.
type arrowKind int

const (
	aString  arrowKind = iota // pa.string(): a JSON string
	aInt                      // pa.int64(): an integer literal
	aInt32                    // pa.int32()
	aFloat                    // pa.float64(), pa.float32(): any number
	aBool                     // pa.bool_()
	aTime                     // pa.timestamp: a string Python's datetime.fromisoformat reads
	aStrings                  // pa.list_(pa.string())
	aStructs                  // pa.list_(pa.struct(elem))
)

// column is one field of a client schema.
type column struct {
	name     string
	kind     arrowKind
	nullable bool
	elem     []column // aStructs
}

// opt is a nullable column (pa.field's default), req one declared
// nullable=False.
func opt(name string, k arrowKind) column { return column{name: name, kind: k, nullable: true} }
func req(name string, k arrowKind) column { return column{name: name, kind: k} }

var (
	// schemas/public_distribution_dto.py (and software.py's struct).
	distributionSchema = []column{opt("version", aString), req("installations", aInt), req("vulnerabilities", aInt)}

	// schemas/public_product_dto.py: a product, as recommendations/{id}/software answers it.
	productSchema = []column{req("id", aString), opt("name", aString), opt("vendor", aString), req("weaknesses", aInt),
		req("publicExploit", aBool), req("activeAlert", aBool), req("exposedMachines", aInt), req("installedMachines", aInt),
		req("impactScore", aFloat), req("isNormalized", aBool), opt("category", aString)}

	// schemas/software.py: SOFTWARE_SCHEMA, the product and its distributions.
	softwareSchema = append(slices.Clip(productSchema), column{name: "distributions", kind: aStructs, nullable: true, elem: distributionSchema})

	// schemas/public_asset_dto.py: a machine reference.
	assetRefSchema = []column{opt("id", aString), opt("computerDnsName", aString), opt("osPlatform", aString),
		opt("assetCriticalityLevel", aString), opt("tags", aStrings), opt("rbacGroupName", aString), opt("rbacGroupId", aInt)}

	// schemas/public_vulnerability_dto.py (vulnerability.py is the same).
	vulnerabilitySchema = []column{req("id", aString), opt("name", aString), opt("description", aString), opt("severity", aString),
		req("cvssV3", aFloat), opt("cvssVector", aString), req("exposedMachines", aInt), req("publishedOn", aTime), req("updatedOn", aTime),
		opt("firstDetected", aTime), opt("patchFirstAvailable", aTime), req("publicExploit", aBool), req("exploitVerified", aBool),
		req("exploitInKit", aBool), opt("exploitTypes", aStrings), opt("exploitUris", aStrings), opt("cveSupportability", aString),
		opt("tags", aStrings), req("epss", aFloat), req("status", aString)}

	// schemas/public_product_fix_dto.py: a missing security update.
	productFixSchema = []column{opt("id", aString), opt("name", aString), opt("osBuild", aInt), opt("productsNames", aStrings),
		opt("url", aString), req("machineMissedOn", aInt), req("cveAddressed", aInt)}

	// schemas/recommendation.py.
	recommendationSchema = []column{req("id", aString), opt("productName", aString), opt("recommendationName", aString),
		req("weaknesses", aInt), opt("vendor", aString), opt("recommendedVersion", aString), opt("recommendedVendor", aString),
		opt("recommendedProgram", aString), opt("recommendationCategory", aString), opt("subCategory", aString),
		req("severityScore", aFloat), req("publicExploit", aBool), req("activeAlert", aBool), opt("associatedThreats", aStrings),
		opt("remediationType", aString), req("status", aString), req("configScoreImpact", aFloat), req("exposureImpact", aFloat),
		req("totalMachineCount", aInt), req("exposedMachinesCount", aInt), req("nonProductivityImpactedAssets", aInt),
		opt("relatedComponent", aString), req("hasUnpatchableCve", aBool), opt("tags", aStrings), req("exposedCriticalDevices", aInt)}

	// schemas/public_asset_vulnerability_dto.py: a machinesVulnerabilities row.
	rowSchema = []column{opt("id", aString), opt("cveId", aString), opt("machineId", aString), opt("fixingKbId", aString),
		opt("productName", aString), opt("productVendor", aString), opt("productVersion", aString), opt("severity", aString)}

	// schemas/asset_vulnerability.py: a SoftwareVulnerabilitiesByMachine row.
	assetVulnSchema = []column{opt("id", aString), opt("deviceId", aString), req("rbacGroupId", aInt), opt("rbacGroupName", aString),
		opt("deviceName", aString), opt("osPlatform", aString), opt("osVersion", aString), opt("osArchitecture", aString),
		opt("softwareVendor", aString), opt("softwareName", aString), opt("softwareVersion", aString), opt("cveId", aString),
		opt("vulnerabilitySeverityLevel", aString), opt("recommendedSecurityUpdate", aString), opt("recommendedSecurityUpdateId", aString),
		opt("recommendedSecurityUpdateUrl", aString), opt("diskPaths", aStrings), opt("registryPaths", aStrings),
		opt("lastSeenTimestamp", aString), opt("firstSeenTimestamp", aString), opt("endOfSupportStatus", aString),
		opt("endOfSupportDate", aString), opt("exploitabilityLevel", aString), opt("recommendationReference", aString),
		req("cvssScore", aFloat), req("securityUpdateAvailable", aBool), opt("cveMitigationStatus", aString)}

	// schemas/delta_asset_vulnerability.py: the row and its change.
	deltaSchema = append(slices.Clip(assetVulnSchema), opt("status", aString), req("eventTimestamp", aTime))

	// schemas/asset_software.py: a SoftwareInventoryByMachine row.
	assetSoftwareSchema = []column{opt("deviceId", aString), req("rbacGroupId", aInt), opt("rbacGroupName", aString),
		opt("deviceName", aString), opt("osPlatform", aString), opt("softwareVendor", aString), opt("softwareName", aString),
		opt("softwareVersion", aString), req("numberOfWeaknesses", aInt32), opt("diskPaths", aStrings), opt("registryPaths", aStrings),
		opt("softwareFirstSeenTimestamp", aString), opt("endOfSupportStatus", aString), opt("endOfSupportDate", aString)}

	// schemas/asset_non_cpe_software.py: a SoftwareInventoryNoProductCodeByMachine row.
	nonCPESchema = []column{opt("deviceId", aString), req("rbacGroupId", aInt), opt("rbacGroupName", aString),
		opt("deviceName", aString), opt("osPlatform", aString), opt("softwareVendor", aString), opt("softwareName", aString),
		opt("softwareVersion", aString), opt("softwareLastSeenTimestamp", aString), opt("registryPath", aString)}

	// schemas/configuration_score.py: every score route's (score.py).
	scoreSchema = []column{req("time", aTime), req("score", aFloat), opt("rbacGroupName", aString), opt("rbacGroupId", aInt)}

	// schemas/export_files_response.py.
	exportSchema = []column{opt("exportFiles", aStrings), opt("generatedTime", aTime)}
)

// isoTime matches what Python 3.14's datetime.fromisoformat reads of the
// forms a server writes (http_to_arrow turns "Z" into "+00:00" first).
var isoTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:\d{2})?$`)

// checkValue says what is wrong with v as the value of c ("" if nothing).
func checkValue(v any, c column) string {
	if v == nil {
		if c.nullable {
			return ""
		}
		return "null in a column declared nullable=False"
	}
	bad := fmt.Sprintf("%T %v is not a value of the column's type", v, v)
	switch c.kind {
	case aString:
		if _, ok := v.(string); !ok {
			return bad
		}
	case aInt, aInt32:
		n, ok := v.(json.Number)
		if !ok || strings.ContainsAny(n.String(), ".eE") {
			return bad
		}
		i, err := n.Int64()
		if err != nil || c.kind == aInt32 && int64(int32(i)) != i {
			return bad
		}
	case aFloat:
		if _, ok := v.(json.Number); !ok {
			return bad
		}
	case aBool:
		if _, ok := v.(bool); !ok {
			return bad
		}
	case aTime:
		s, ok := v.(string)
		if !ok || !isoTime.MatchString(s) {
			return bad
		}
		if _, err := time.Parse("2006-01-02", s[:10]); err != nil {
			return bad
		}
	case aStrings, aStructs:
		items, ok := v.([]any)
		if !ok {
			return bad
		}
		for i, it := range items {
			if c.kind == aStrings {
				if _, ok := it.(string); !ok {
					return fmt.Sprintf("item %d: %s", i, bad)
				}
				continue
			}
			m, ok := it.(map[string]any)
			if !ok {
				return fmt.Sprintf("item %d: %s", i, bad)
			}
			if p := checkRecord(m, c.elem); len(p) > 0 {
				return fmt.Sprintf("item %d: %s", i, strings.Join(p, "; "))
			}
		}
	}
	return ""
}

// checkRecord lists what is wrong with rec under schema: a column absent
// or with a value its type does not take.
func checkRecord(rec map[string]any, schema []column) []string {
	var problems []string
	for _, c := range schema {
		v, ok := rec[c.name]
		if !ok {
			problems = append(problems, c.name+": absent")
			continue
		}
		if p := checkValue(v, c); p != "" {
			problems = append(problems, c.name+": "+p)
		}
	}
	return problems
}

// httpxQuery encodes params as httpx 0.28 does: every byte but the
// unreserved ones percent-encoded (a space is %20, '$' %24).
func httpxQuery(params [][2]string) string {
	enc := func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			c := s[i]
			if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
				b.WriteByte(c)
			} else {
				fmt.Fprintf(&b, "%%%02X", c)
			}
		}
		return b.String()
	}
	parts := make([]string, len(params))
	for i, p := range params {
		parts[i] = enc(p[0]) + "=" + enc(p[1])
	}
	return strings.Join(parts, "&")
}

// mdeClient is mde-client's HTTP side, pointed at the fixture.
type mdeClient struct {
	t     *testing.T
	base  string
	token string
	// requests counts the requests sent, pages included.
	requests int
}

// send GETs url with the client's headers (no token when token is "").
func (c *mdeClient) send(u, token string) (int, []byte) {
	c.t.Helper()
	c.requests++
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("User-Agent", "python-httpx/0.28.1")
	req.Header.Set("Accept", "*/*")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("GET %s: %v", u, err)
	}
	return res.StatusCode, body
}

// object GETs url and decodes its JSON object (numbers kept as written).
func (c *mdeClient) object(u string) map[string]any {
	c.t.Helper()
	status, body := c.send(u, c.token)
	if status != http.StatusOK {
		c.t.Fatalf("GET %s: status %d: %s", u, status, body)
	}
	return decodeObject(c.t, u, body)
}

func decodeObject(t *testing.T, what string, body []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		t.Fatalf("%s: not a JSON object (%v): %.300s", what, err, body)
	}
	return m
}

// check reports each record's problems under schema, naming the call.
func (c *mdeClient) check(call string, recs []map[string]any, schema []column) {
	c.t.Helper()
	for i, r := range recs {
		if p := checkRecord(r, schema); len(p) > 0 {
			c.t.Errorf("%s: record %d of %d: %s", call, i, len(recs), strings.Join(p, "; "))
			return // one record says it
		}
	}
}

// list is BaseResults' read of a collection: the first request with
// params, then every @odata.nextLink; one request when $top or $skip is
// given. Each page must be an OData collection; every record is checked
// against schema.
func (c *mdeClient) list(path string, params [][2]string, schema []column) []map[string]any {
	c.t.Helper()
	u := c.base + path
	if len(params) > 0 {
		u += "?" + httpxQuery(params)
	}
	onePage := slices.ContainsFunc(params, func(p [2]string) bool { return p[0] == "$top" || p[0] == "$skip" })
	var recs []map[string]any
	for pages := 0; u != ""; pages++ {
		if pages == 1000 {
			c.t.Fatalf("%s: the nextLinks do not end", path)
		}
		body := c.object(u)
		if _, ok := body["@odata.context"].(string); !ok {
			c.t.Errorf("GET %s: no @odata.context", u)
		}
		vals, ok := body["value"].([]any)
		if !ok {
			c.t.Fatalf("GET %s: no \"value\" array, so the client reads nothing: %v", u, body)
		}
		for _, v := range vals {
			m, ok := v.(map[string]any)
			if !ok {
				c.t.Fatalf("GET %s: a value that is not an object: %v", u, v)
			}
			recs = append(recs, m)
		}
		u = ""
		if next, ok := body["@odata.nextLink"]; ok && !onePage {
			if u, ok = next.(string); !ok || !strings.HasPrefix(u, c.base+"/") {
				c.t.Fatalf("GET %s: @odata.nextLink %v is not a URL of the server", path, next)
			}
		}
	}
	c.check("GET "+path+"?"+httpxQuery(params), recs, schema)
	return recs
}

// entity reads a route that answers one entity: an object with its
// @odata.context and no "value", checked against schema.
func (c *mdeClient) entity(path string, schema []column) map[string]any {
	c.t.Helper()
	body := c.object(c.base + path)
	if _, ok := body["value"]; ok {
		c.t.Fatalf("GET %s: a collection where one entity is due", path)
	}
	if ctx, _ := body["@odata.context"].(string); !strings.HasSuffix(ctx, "/$entity") {
		c.t.Errorf("GET %s: @odata.context %q is not an entity's", path, ctx)
	}
	c.check("GET "+path, []map[string]any{body}, schema)
	return body
}

// export reads an export via files: the ExportFilesResponse, then each
// file, without a token, gunzipped, a JSON object a line, checked against
// schema.
func (c *mdeClient) export(path string, schema []column) []map[string]any {
	c.t.Helper()
	body := c.object(c.base + path)
	c.check("GET "+path, []map[string]any{body}, exportSchema)
	files, _ := body["exportFiles"].([]any)
	var recs []map[string]any
	for _, f := range files {
		u := f.(string)
		status, raw := c.send(u, "")
		if status != http.StatusOK {
			c.t.Fatalf("GET %s: status %d: %s", u, status, raw)
		}
		if !bytes.HasPrefix(raw, []byte{0x1f, 0x8b}) {
			c.t.Fatalf("GET %s: not gzip", u)
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			c.t.Fatal(err)
		}
		sc := bufio.NewScanner(zr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
				recs = append(recs, decodeObject(c.t, u, line))
			}
		}
		if err := sc.Err(); err != nil {
			c.t.Fatalf("GET %s: %v", u, err)
		}
	}
	c.check("the files of "+path, recs, schema)
	return recs
}

// keys are the records' values of names joined, sorted.
func keys(recs []map[string]any, names ...string) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		parts := make([]string, len(names))
		for j, n := range names {
			parts[j] = fmt.Sprint(r[n])
		}
		out[i] = strings.Join(parts, "|")
	}
	slices.Sort(out)
	return out
}

// firstWhere is the first record keep accepts, or fails.
func firstWhere(t *testing.T, what string, recs []map[string]any, keep func(map[string]any) bool) map[string]any {
	t.Helper()
	for _, r := range recs {
		if keep(r) {
			return r
		}
	}
	t.Fatalf("no %s among %d records", what, len(recs))
	return nil
}

func num(v any) float64 {
	n, _ := v.(json.Number)
	f, _ := n.Float64()
	return f
}

// TestMDEClient replays every TVM call of mde-client (endpoints/
// software.py, vulnerabilities.py, recommendations.py, score.py, the TVM
// routes of machines.py) against the demo tenant of `openatp serve
// --demo`, signed in as its application with the client credentials grant
// MSAL sends, and checks each answer against the client's schema and its
// paging to the end.
func TestMDEClient(t *testing.T) {
	f := apitest.NewFixture(t, nil)
	creds, err := demotenant.Ensure(context.Background(), f.Store)
	if err != nil {
		t.Fatal(err)
	}
	// auth.py: MSALAuth.token, acquire_token_for_client: the authority's
	// OpenID configuration, then the client credentials grant at its
	// token endpoint.
	res, err := http.Get(f.Srv.URL + "/" + creds.Tenant + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var oidc struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	err = json.NewDecoder(res.Body).Decode(&oidc)
	res.Body.Close()
	if err != nil || oidc.TokenEndpoint == "" {
		t.Fatalf("OpenID configuration: status %d, %v", res.StatusCode, err)
	}
	form := url.Values{"client_id": {creds.ClientID}, "client_secret": {creds.ClientSecret},
		"grant_type": {"client_credentials"}, "scope": {"https://api.securitycenter.microsoft.com/.default"}}
	if res, err = http.PostForm(oidc.TokenEndpoint, form); err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("token: status %d, %v", res.StatusCode, err)
	}
	c := &mdeClient{t: t, base: f.Srv.URL, token: tok.AccessToken}
	nonEmpty := func(call string, recs []map[string]any) {
		t.Helper()
		if len(recs) == 0 {
			t.Errorf("%s: nothing in the demo, so nothing checked", call)
		}
	}

	// software.py: SoftwareEndpoint.
	software := c.list("/api/Software", nil, softwareSchema) // get_all()
	nonEmpty("software.get_all()", software)
	// get_all(SoftwareQuery(page_size=5)): pageSize=5, followed to the end.
	if paged := c.list("/api/Software", [][2]string{{"pageSize", "5"}}, softwareSchema); !slices.Equal(keys(paged, "id"), keys(software, "id")) {
		t.Errorf("software by pages of 5: %d, whole: %d", len(paged), len(software))
	}
	// get_all(SoftwareQuery(vendor=["microsoft", "google"], name="chrome")).
	got := c.list("/api/Software", [][2]string{{"pageSize", "10000"}, {"$filter", "name eq 'chrome' and vendor in ('microsoft', 'google')"}}, softwareSchema)
	if ids := keys(got, "id"); !slices.Equal(ids, []string{"google-_-chrome"}) {
		t.Errorf("software.get_all(name=chrome, vendor in …): %v", ids)
	}
	// get_all(SoftwareQuery(top=3, skip=1)): one request.
	if got := c.list("/api/Software", [][2]string{{"pageSize", "10000"}, {"$top", "3"}, {"$skip", "1"}}, softwareSchema); len(got) != 3 {
		t.Errorf("software.get_all(top=3, skip=1): %d", len(got))
	}
	win := firstWhere(t, "vulnerable Windows software", software, func(s map[string]any) bool {
		return strings.HasPrefix(s["id"].(string), "microsoft-_-windows") && num(s["weaknesses"]) > 0
	})["id"].(string)
	app := firstWhere(t, "vulnerable software", software, func(s map[string]any) bool {
		return !strings.HasPrefix(s["id"].(string), "microsoft-_-windows") && num(s["exposedMachines"]) > 0
	})["id"].(string)
	for _, id := range []string{win, app} {
		p := "/api/Software/" + url.PathEscape(id)
		// get(id): SoftwareResults, read as a list; the entity is
		// checked here, though the client's list read keeps nothing
		// of an answer without "value".
		c.entity(p, softwareSchema)
		nonEmpty("software.distributions", c.list(p+"/distributions", nil, distributionSchema))
		nonEmpty("software.machineReferences", c.list(p+"/machineReferences", nil, assetRefSchema))
		nonEmpty("software.vulnerabilities", c.list(p+"/vulnerabilities", nil, vulnerabilitySchema))
		kbs := c.list(p+"/getmissingkbs", nil, productFixSchema)
		if id == win {
			nonEmpty("software.getmissingkbs", kbs)
		}
	}

	// software.inventoryByMachine(page_size): SoftwareInventoryByMachine.
	inventory := c.list("/api/machines/SoftwareInventoryByMachine", [][2]string{{"pageSize", "50000"}}, assetSoftwareSchema)
	nonEmpty("software.inventoryByMachine()", inventory)
	before := c.requests
	paged := c.list("/api/machines/SoftwareInventoryByMachine", [][2]string{{"pageSize", "1000"}}, assetSoftwareSchema)
	invKeys := keys(inventory, "deviceId", "softwareVendor", "softwareName", "softwareVersion")
	if pages := c.requests - before; pages != (len(inventory)+999)/1000 || !slices.Equal(keys(paged, "deviceId", "softwareVendor", "softwareName", "softwareVersion"), invKeys) {
		t.Errorf("inventoryByMachine(page_size=1000): %d rows in %d pages, whole: %d", len(paged), pages, len(inventory))
	}
	// software.inventoryByMachineFiles(): the same rows.
	if files := c.export("/api/machines/SoftwareInventoryExport", assetSoftwareSchema); !slices.Equal(keys(files, "deviceId", "softwareVendor", "softwareName", "softwareVersion"), invKeys) {
		t.Errorf("inventoryByMachineFiles(): %d rows, paged: %d", len(files), len(inventory))
	}
	// software.inventoryNoProductCodeByMachine(page_size, since): the
	// since of days becomes a date (to_datetime_format). Every product
	// openatp keeps has a product code: no rows, and an export of no
	// file (the client would retry an empty one).
	noCode := c.list("/api/machines/SoftwareInventoryNoProductCodeByMachine", [][2]string{{"pageSize", "50000"}}, nonCPESchema)
	noCode = append(noCode, c.list("/api/machines/SoftwareInventoryNoProductCodeByMachine",
		[][2]string{{"pageSize", "50000"}, {"sinceTime", time.Now().UTC().AddDate(0, 0, -30).Format("2006-01-02")}}, nonCPESchema)...)
	noCode = append(noCode, c.export("/api/machines/SoftwareInventoryNonCpeExport", nonCPESchema)...) // inventoryNoProductCodeByMachineFiles()
	if len(noCode) != 0 {
		t.Errorf("software without a product code: %v", noCode)
	}

	// vulnerabilities.py: VulnerabilityEndpoint.
	vulns := c.list("/api/vulnerabilities", nil, vulnerabilitySchema) // get_all()
	nonEmpty("vulnerabilities.get_all()", vulns)
	critical := c.list("/api/vulnerabilities", [][2]string{{"pageSize", "10000"}, {"$filter", "severity in ('Critical', 'High')"}}, vulnerabilitySchema)
	if len(critical) == 0 || len(critical) >= len(vulns) || slices.ContainsFunc(critical, func(v map[string]any) bool {
		return v["severity"] != "Critical" && v["severity"] != "High"
	}) {
		t.Errorf("vulnerabilities.get_all(severity=[Critical, High]): %d of %d", len(critical), len(vulns))
	}
	exposed := firstWhere(t, "exposing vulnerability", vulns, func(v map[string]any) bool { return num(v["exposedMachines"]) > 0 })
	vid := exposed["id"].(string)
	// get_all(VulnerabilitiesQuery(id=…, publishedOn=<aware datetime>)):
	// publishedOn's isoformat, with +00:00 and no quotes.
	published, err := time.Parse(time.RFC3339Nano, exposed["publishedOn"].(string))
	if err != nil {
		t.Fatal(err)
	}
	pyISO := published.UTC().Format("2006-01-02T15:04:05") + "+00:00"
	if us := published.Nanosecond() / 1000; us != 0 {
		pyISO = published.UTC().Format("2006-01-02T15:04:05") + fmt.Sprintf(".%06d", us) + "+00:00"
	}
	got = c.list("/api/vulnerabilities", [][2]string{{"pageSize", "10000"}, {"$filter", "id eq '" + vid + "' and publishedOn eq " + pyISO}}, vulnerabilitySchema)
	if ids := keys(got, "id"); !slices.Equal(ids, []string{vid}) {
		t.Errorf("vulnerabilities.get_all(id=%s, publishedOn=%s): %v", vid, pyISO, ids)
	}
	// get(id): the one "single" read, the object itself.
	c.entity("/api/vulnerabilities/"+url.PathEscape(vid), vulnerabilitySchema)
	// machineReferences(id): sent as …/machinereferences. The client
	// types the answer as a Machine (MACHINE_SCHEMA) where the service's
	// $metadata and Learn answer PublicAssetDto references: checked as
	// those.
	nonEmpty("vulnerabilities.machineReferences", c.list("/api/vulnerabilities/"+url.PathEscape(vid)+"/machinereferences", nil, assetRefSchema))
	// machinesVulnerabilities(id): the id is not sent; every row, by nextLinks.
	rows := c.list("/api/vulnerabilities/machinesVulnerabilities", nil, rowSchema)
	nonEmpty("vulnerabilities.machinesVulnerabilities", rows)
	// softwareVulnerabilitiesByMachine(): pageSize=50000.
	assets := c.list("/api/machines/SoftwareVulnerabilitiesByMachine", [][2]string{{"pageSize", "50000"}}, assetVulnSchema)
	if len(assets) != len(rows) {
		t.Errorf("SoftwareVulnerabilitiesByMachine: %d rows, machinesVulnerabilities: %d", len(assets), len(rows))
	}
	// softwareVulnerabilitiesByMachineFiles(): the same rows.
	if files := c.export("/api/machines/SoftwareVulnerabilitiesExport", assetVulnSchema); !slices.Equal(keys(files, "id"), keys(assets, "id")) {
		t.Errorf("softwareVulnerabilitiesByMachineFiles(): %d rows, paged: %d", len(files), len(assets))
	}
	// softwareVulnerabilityChangesByMachine(): pageSize=50000 and no
	// sinceTime; the delta of the demo's import (made just now) is every
	// row, New.
	changes := c.list("/api/machines/SoftwareVulnerabilityChangesByMachine", [][2]string{{"pageSize", "50000"}}, deltaSchema)
	if !slices.Equal(keys(changes, "id"), keys(assets, "id")) {
		t.Errorf("softwareVulnerabilityChangesByMachine(): %d rows, SoftwareVulnerabilitiesByMachine: %d", len(changes), len(assets))
	}
	// _softwareVulnerabilityChangesByMachine(since=<datetime>): the
	// isoformat of an aware datetime; nothing changed since now.
	since := time.Now().UTC()
	if got := c.list("/api/machines/SoftwareVulnerabilityChangesByMachine", [][2]string{{"pageSize", "50000"},
		{"sinceTime", since.Format("2006-01-02T15:04:05") + fmt.Sprintf(".%06d", since.Nanosecond()/1000) + "+00:00"}}, deltaSchema); len(got) != 0 {
		t.Errorf("changes since now: %d", len(got))
	}

	// recommendations.py: RecommendationsEndpoint.
	recs := c.list("/api/recommendations", nil, recommendationSchema) // get_all()
	nonEmpty("recommendations.get_all()", recs)
	// get_all(RecommendationQuery(…, productName="chrome", remediationType="Update", status="Active")).
	got = c.list("/api/recommendations", [][2]string{{"pageSize", "10000"},
		{"$filter", "productName eq 'chrome' and remediationType eq 'Update' and status eq 'Active'"}}, recommendationSchema)
	if ids := keys(got, "id"); !slices.Equal(ids, []string{"va-_-google-_-chrome"}) {
		t.Errorf("recommendations.get_all(productName=chrome): %v", ids)
	}
	rid := recs[0]["id"].(string)
	rp := "/api/recommendations/" + url.PathEscape(rid)
	c.entity(rp, recommendationSchema) // get(id), read as a list, as software's
	// software(id): the client types it as PublicProductFixDto (misc.py);
	// the service's $metadata and Learn answer the PublicProductDto.
	nonEmpty("recommendations.software", c.list(rp+"/software", nil, productSchema))
	nonEmpty("recommendations.machineReferences", c.list(rp+"/machinereferences", nil, assetRefSchema))
	nonEmpty("recommendations.vulnerabilities", c.list(rp+"/vulnerabilities", nil, vulnerabilitySchema))

	// machines.py: software, vulnerabilities, recommendations,
	// getmissingkbs of a machine: one missing updates.
	var machine string
	for _, r := range inventory {
		if name, _ := r["softwareName"].(string); !strings.HasPrefix(name, "windows_") {
			continue
		}
		id := r["deviceId"].(string)
		if len(c.list("/api/machines/"+id+"/getmissingkbs", nil, productFixSchema)) > 0 {
			machine = id
			break
		}
		if c.requests > 200 {
			break
		}
	}
	if machine == "" {
		t.Fatal("no demo machine misses an update")
	}
	mp := "/api/machines/" + machine
	nonEmpty("machines.software", c.list(mp+"/software", nil, softwareSchema))
	nonEmpty("machines.vulnerabilities", c.list(mp+"/vulnerabilities", nil, vulnerabilitySchema))
	nonEmpty("machines.recommendations", c.list(mp+"/recommendations", nil, recommendationSchema))

	// score.py: get() and configurationScore() answer one entity (the
	// client's list read keeps nothing of it); byMachineGroups() a list.
	c.entity("/api/exposureScore", scoreSchema)
	nonEmpty("score.byMachineGroups()", c.list("/api/exposureScore/ByMachineGroups", nil, scoreSchema))
	c.entity("/api/configurationScore", scoreSchema)
	t.Logf("%d requests", c.requests)
}

// TestMDEClientSchemaCheck shows that the schema check fails on what
// breaks the client's pyarrow read.
func TestMDEClientSchemaCheck(t *testing.T) {
	schema := []column{req("n", aInt), opt("s", aString), req("t", aTime), opt("l", aStrings),
		{name: "d", kind: aStructs, nullable: true, elem: distributionSchema}}
	for _, tc := range []struct {
		json string
		want string
	}{
		{`{"n":1,"s":null,"t":"2024-01-05T12:00:00.0000000Z","l":[],"d":[{"version":"1","installations":2,"vulnerabilities":0}]}`, ""},
		{`{"n":1,"s":"x","t":"2020-12-30 14:17:26","l":null,"d":null}`, ""},
		{`{"n":"1","s":"x","t":"2024-01-05","l":[],"d":null}`, "n: string"},
		{`{"n":1.5,"s":"x","t":"2024-01-05","l":[],"d":null}`, "n: json.Number"},
		{`{"n":null,"s":"x","t":"2024-01-05","l":[],"d":null}`, "n: null"},
		{`{"n":1,"t":"2024-01-05","l":[],"d":null}`, "s: absent"},
		{`{"n":1,"s":3,"t":"2024-01-05","l":[],"d":null}`, "s: json.Number"},
		{`{"n":1,"s":"x","t":"yesterday","l":[],"d":null}`, "t: string"},
		{`{"n":1,"s":"x","t":"2024-13-05","l":[],"d":null}`, "t: string"},
		{`{"n":1,"s":"x","t":"2024-01-05","l":[1],"d":null}`, "l: item 0"},
		{`{"n":1,"s":"x","t":"2024-01-05","l":[],"d":[{"version":"1","installations":null,"vulnerabilities":0}]}`, "d: item 0: installations: null"},
	} {
		dec := json.NewDecoder(strings.NewReader(tc.json))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		got := strings.Join(checkRecord(m, schema), "; ")
		if tc.want == "" && got != "" || !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: %q, want %q…", tc.json, got, tc.want)
		}
	}
	if q := httpxQuery([][2]string{{"$filter", "name eq 'a b' and id in ('x', 'y')"}, {"pageSize", "10"}}); q !=
		"%24filter=name%20eq%20%27a%20b%27%20and%20id%20in%20%28%27x%27%2C%20%27y%27%29&pageSize=10" {
		t.Errorf("httpxQuery: %s", q)
	}
}
