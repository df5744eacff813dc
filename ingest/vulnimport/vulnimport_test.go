package vulnimport_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/ingest"
	"github.com/openatp/openatp/ingest/vulnimport"
	"github.com/openatp/openatp/sqlite"
	"github.com/openatp/openatp/vuln"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

const tenant = "00000001-0000-4000-8000-000000000000"

var (
	m1 = strings.Repeat("0", 39) + "1"
	m2 = strings.Repeat("0", 39) + "2"
)

// open returns a SQLite store with a tenant of two machines.
func open(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "o.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.CreateTenant(ctx, openatp.Tenant{ID: tenant, Name: "A"}); err != nil {
		t.Fatal(err)
	}
	ms := []openatp.Machine{{ID: m1}, {ID: m2}}
	for i := range ms {
		if err := ms[i].Normalize(); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.UpsertMachines(ctx, tenant, ms); err != nil {
		t.Fatal(err)
	}
	return db
}

func load(t *testing.T, db *sqlite.DB, k vulnimport.Kind, name, body string) (vulnimport.Result, error) {
	t.Helper()
	return vulnimport.Import(ctx, db, tenant, k, strings.NewReader(body), ingest.Options{Name: name}, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
}

const catalogJSON = `[
 {"id": "CVE-2024-0001", "name": "Chrome UAF", "description": "d", "cvssV3": 9.8, "publishedOn": "2024-01-02T00:00:00Z",
  "publicExploit": true, "exploitTypes": ["Remote code execution"], "exposedMachines": 12,
  "affected": [{"vendor": "Google", "product": "Chrome", "version": "120.0", "fixedVersion": "121.0"}]},
 {"type": "securityUpdate", "id": "KB5031356", "name": "November 2023 Security Updates", "releaseDate": "2023-11-14", "osBuild": 22631,
  "cves": ["CVE-2024-0003"]},
 {"vendor": "igor_pavlov", "name": "7-zip"}
]`

const catalogCSV = "id,severity,publishedOn,vendor,product,version,fixingKbId,exploitTypes\n" +
	"CVE-2024-0003,Medium,2024-01-02 00:00:00,microsoft,windows_11,10.0.22631.1,KB5031356,Local;Privilege escalation\n" +
	"CVE-2024-0003,Medium,2024-01-02 00:00:00,microsoft,windows_11,10.0.22631.2,KB5031356,\n"

func TestImport(t *testing.T) {
	db := open(t)
	res, err := load(t, db, vulnimport.Catalog, "catalog.json", catalogJSON)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 3 || res.Vulnerabilities != 1 || res.Updates != 1 || res.Products != 1 {
		t.Errorf("catalog result %+v", res)
	}
	if res, err = load(t, db, vulnimport.Catalog, "more.csv", catalogCSV); err != nil || res.Vulnerabilities != 1 || res.Records != 2 {
		t.Fatalf("CSV catalog: %+v, %v", res, err)
	}
	inv := `{"deviceId": "` + m1 + `", "softwareVendor": "google", "softwareName": "chrome", "softwareVersion": "120.0", "diskPaths": ["C:\\chrome.exe"], "firstSeenTimestamp": "2020-12-30 14:17:26", "deviceName": "ignored"}
{"deviceId": "` + m1 + `", "missingKbId": "KB5031356"}
{"deviceId": "` + strings.ToUpper(m2) + `", "softwareVendor": "microsoft", "softwareName": "windows_11", "softwareVersion": "10.0.22631.2"}
`
	res, err = load(t, db, vulnimport.Inventory, "inventory.jsonl", inv)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 3 || res.Installed != 2 || res.MissingKBs != 1 || res.Machines != 2 {
		t.Errorf("inventory result %+v", res)
	}
	vs, err := db.Vulnerabilities(ctx, tenant, vuln.VulnerabilityFilter{}, vuln.All())
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].ID != "CVE-2024-0001" || vs[0].ExposedMachines != 1 || vs[0].Severity != "Critical" || vs[1].ExposedMachines != 1 ||
		strings.Join(vs[1].ExploitTypes, ",") != "Local,Privilege escalation" {
		t.Errorf("vulnerabilities %+v", vs)
	}
	kbs, err := db.MachineMissingKBs(ctx, tenant, m1, vuln.All())
	if err != nil || len(kbs) != 1 || kbs[0].Name != "November 2023 Security Updates" || *kbs[0].OSBuild != 22631 {
		t.Errorf("m1's missing updates %+v, %v", kbs, err)
	}
	var first time.Time
	_, err = db.ScanSoftwareInventory(ctx, tenant, vuln.All(), vuln.Key{}, 1, func(r *vuln.InventoryRow) error { first = r.FirstSeen; return nil })
	if err != nil || !first.Equal(time.Date(2020, 12, 30, 14, 17, 26, 0, time.UTC)) {
		t.Errorf("first seen %v, %v", first, err)
	}
	csvInv := "deviceId,softwareVendor,softwareName,softwareVersion,diskPaths\n" + m2 + ",google,chrome,120.0,C:\\a;C:\\b\n"
	if _, err := load(t, db, vulnimport.Inventory, "inv.csv", csvInv); err != nil {
		t.Fatal(err)
	}
	sw, err := db.MachineSoftware(ctx, tenant, m2, vuln.All())
	if err != nil || len(sw) != 1 || sw[0].ID() != "google-_-chrome" || sw[0].Weaknesses != 1 {
		t.Errorf("m2's software after the CSV import %+v, %v", sw, err)
	}
}

// TestErrors checks that a bad record is named by line and property, and
// that nothing of the input is written.
func TestErrors(t *testing.T) {
	db := open(t)
	if _, err := load(t, db, vulnimport.Catalog, "catalog.json", catalogJSON); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		kind       vulnimport.Kind
		name, body string
		want       string
	}{
		{vulnimport.Inventory, "a.jsonl", `{"deviceId": "` + m1 + `", "softwareVendor": "google", "softwareName": "chrome", "softwareVersion": "1"}
{"deviceId": "` + m1 + `", "softwareVendor": "google", "softwareVersion": "2"}`, "a.jsonl: line 2: softwareName: is required"},
		{vulnimport.Inventory, "b.jsonl", `{"deviceId": "` + m1 + `", "softwareVendor": "google", "softwareName": "chrome", "softwareVersion": "1"}

{"deviceId": "ffff", "softwareVendor": "google", "softwareName": "chrome", "softwareVersion": "1"}`, "b.jsonl: line 3: deviceId: the tenant has no machine \"ffff\""},
		{vulnimport.Inventory, "c.csv", "deviceId,softwareVendor,softwareName,softwareVersion,firstSeenTimestamp\n" + m1 + ",a,b,1,yesterday\n",
			`c.csv: line 2: firstSeenTimestamp: "yesterday" is not a timestamp`},
		{vulnimport.Inventory, "d.jsonl", `{"deviceId": "` + m1 + `", "softwareVendor": "a", "softwareName": "b", "softwareVersion": "1"}
{"deviceId": "` + m1 + `", "softwareVendor": "A", "softwareName": "B", "softwareVersion": "1"}`, "d.jsonl: line 2: softwareVersion: version \"1\" of a-_-b is listed twice"},
		{vulnimport.Inventory, "e.jsonl", `{"deviceId": "` + m1 + `", "diskPaths": "C:\\x"}`, "e.jsonl: line 1: diskPaths: must be an array of strings"},
		{vulnimport.Catalog, "f.json", `[{"id": "CVE-2024-0009", "severity": "Severe", "publishedOn": "2024-01-01"}]`, "f.json: line 1: severity: \"Severe\" is not one of"},
		{vulnimport.Catalog, "g.json", "[{\"id\": \"CVE-2024-0009\", \"severity\": \"Low\", \"publishedOn\": \"2024-01-01\"},\n{\"id\": \"CVE-2024-0009\", \"severity\": \"Low\", \"publishedOn\": \"2024-01-01\"}]",
			"g.json: line 2: id: CVE-2024-0009 is listed twice"},
		{vulnimport.Catalog, "h.json", `[{"id": "CVE-2024-0009", "severity": "Low", "publishedOn": "2024-01-01", "affected": [{"vendor": "x", "version": "1"}]}]`,
			"h.json: line 1: affected[0].name: is required"},
		{vulnimport.Catalog, "i.json", `[{"id": "KBX", "name": "n", "releaseDate": "2024-01-01"}]`, `i.json: line 1: id: "KBX" is not a security update id`},
		{vulnimport.Catalog, "j.json", `[{"id": "CVE-2024-0009",]`, "j.json: line 1: "},
	} {
		_, err := load(t, db, tt.kind, tt.name, tt.body)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want %q…", tt.name, err, tt.want)
			continue
		}
		if !openatp.IsKind(err, openatp.Invalid) {
			t.Errorf("%s: %v is not Invalid", tt.name, err)
		}
	}
	// Nothing of the refused inputs was written.
	sw, err := db.MachineSoftware(ctx, tenant, m1, vuln.All())
	if err != nil || len(sw) != 0 {
		t.Errorf("m1's software after refused imports: %+v, %v", sw, err)
	}
	vs, err := db.Vulnerabilities(ctx, tenant, vuln.VulnerabilityFilter{}, vuln.All())
	if err != nil || len(vs) != 1 {
		t.Errorf("catalog after refused imports: %+v, %v", vs, err)
	}
}
