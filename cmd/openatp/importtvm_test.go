package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openatp/openatp/vuln"
)

// TestSeedAndImportTVM: `openatp seed --software` gives every machine its
// products and the catalog its vulnerabilities; `openatp import --kind
// catalog|inventory` imports files, and a bad record names its file,
// line and property and imports nothing of its file.
func TestSeedAndImportTVM(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	out := mustCLI(t, "seed", "--data", data, "--tenant", "tvm.example", "--machines", "60", "--users", "30", "--software", "10", "--cves", "300",
		"--end", "2026-03-04T05:06:07Z")
	if !strings.Contains(out, `"software": 10`) {
		t.Errorf("seed printed %s", out)
	}
	db := openStore(t, data)
	ctx := context.Background()
	tn, err := db.Tenant(ctx, "tvm.example")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	_, err = db.ScanSoftwareInventory(ctx, tn.ID, vuln.All(), vuln.Key{}, 0, func(*vuln.InventoryRow) error { n++; return nil })
	if err != nil || n != 600 {
		t.Fatalf("%d installed products after the seed, want 600 (%v)", n, err)
	}
	vs, err := db.Vulnerabilities(ctx, tn.ID, vuln.VulnerabilityFilter{}, vuln.All())
	if err != nil || len(vs) != 300 {
		t.Fatalf("%d vulnerabilities, %v", len(vs), err)
	}
	var m string
	_, err = db.ScanSoftwareInventory(ctx, tn.ID, vuln.All(), vuln.Key{}, 1, func(r *vuln.InventoryRow) error { m = r.Machine.ID; return nil })
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	catalog := filepath.Join(dir, "catalog.jsonl")
	writeTVM(t, catalog, `{"id":"CVE-2026-1111","severity":"High","publishedOn":"2026-01-01T00:00:00Z","affected":[{"vendor":"acme","product":"widget","version":"1.0","fixedVersion":"1.1"}]}`+"\n")
	inv := filepath.Join(dir, "inventory.csv")
	writeTVM(t, inv, "deviceId,softwareVendor,softwareName,softwareVersion\n"+m+",acme,widget,1.0\n")
	out = mustCLI(t, "import", "--data", data, "--tenant", "tvm.example", "--kind", "catalog", catalog)
	var sum struct {
		Records int64 `json:"records"`
		Files   []struct {
			Vulnerabilities int `json:"vulnerabilities"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil || sum.Records != 1 || sum.Files[0].Vulnerabilities != 1 {
		t.Fatalf("import printed %s (%v)", out, err)
	}
	mustCLI(t, "import", "--data", data, "--tenant", "tvm.example", "--kind", "inventory", inv)
	bad := filepath.Join(dir, "bad.csv")
	writeTVM(t, bad, "deviceId,softwareVendor,softwareName,softwareVersion\n"+m+",acme,gadget,2.0\n"+strings.Repeat("f", 40)+",acme,widget,1.0\n")
	msg, err := cli(t, "import", "--data", data, "--tenant", "tvm.example", "--kind", "inventory", bad)
	if err == nil || !strings.Contains(err.Error(), "bad.csv: line 3: deviceId: the tenant has no machine") || !strings.Contains(err.Error(), "nothing of") {
		t.Fatalf("bad import: %v\n%s", err, msg)
	}
	// --dry-run checks the records (not the machines) and writes nothing.
	out = mustCLI(t, "import", "--dry-run", "--kind", "inventory", bad)
	if !strings.Contains(out, `"records": 2`) || strings.Contains(out, `"tenant"`) {
		t.Errorf("dry run printed %s", out)
	}
	late := filepath.Join(dir, "late.csv")
	writeTVM(t, late, "deviceId,softwareVendor,softwareName,softwareVersion,lastSeenTimestamp\n"+m+",acme,gadget,2.0,soon\n")
	if _, err := cli(t, "import", "--dry-run", "--kind", "inventory", late); err == nil || !strings.Contains(err.Error(), "late.csv: line 2: lastSeenTimestamp") {
		t.Errorf("dry run of a bad file: %v", err)
	}
	db = openStore(t, data)
	sw, err := db.MachineSoftware(ctx, tn.ID, m, vuln.All())
	if err != nil || len(sw) != 1 || sw[0].Name != "widget" || sw[0].Weaknesses != 1 {
		t.Errorf("the machine's software after the imports: %+v, %v", sw, err)
	}
}

func writeTVM(t *testing.T, name, s string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}
