package demo

import (
	"reflect"
	"strings"
	"testing"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/vuln"
)

func generatedMachines(t *testing.T, n int) []openatp.Machine {
	t.Helper()
	var ms []openatp.Machine
	if err := Generate(Options{Seed: 7, Machines: n}, Funcs{OnMachine: func(m openatp.Machine) error { ms = append(ms, m); return nil }}); err != nil {
		t.Fatal(err)
	}
	return ms
}

// TestSoftwareCatalog: the catalog is the same for the same seed, has
// unique ids, CVE-shaped and a few TVM-shaped, some with public exploits,
// every severity, and updates that list the CVEs they fix.
func TestSoftwareCatalog(t *testing.T) {
	o := SoftwareOptions{Seed: 1, CVEs: 2000}
	c := SoftwareCatalog(o)
	if !reflect.DeepEqual(c, SoftwareCatalog(o)) {
		t.Fatal("the same options gave different catalogs")
	}
	if reflect.DeepEqual(c.Vulnerabilities[:10], SoftwareCatalog(SoftwareOptions{Seed: 2, CVEs: 2000}).Vulnerabilities[:10]) {
		t.Error("different seeds gave the same catalog")
	}
	if len(c.Vulnerabilities) != 2000 || len(c.Products) < 70 {
		t.Fatalf("%d vulnerabilities, %d products", len(c.Vulnerabilities), len(c.Products))
	}
	ids := map[string]bool{}
	sev := map[string]int{}
	exploits, tvm := 0, 0
	for _, v := range c.Vulnerabilities {
		if ids[v.ID] || !vuln.ValidVulnerabilityID(v.ID) {
			t.Fatalf("id %s repeated or malformed", v.ID)
		}
		ids[v.ID] = true
		sev[v.Severity]++
		if v.PublicExploit {
			exploits++
		}
		if strings.HasPrefix(v.ID, "TVM-") {
			tvm++
		}
		if len(v.Affected) == 0 {
			t.Fatalf("%s affects nothing", v.ID)
		}
	}
	if exploits < 80 || exploits > 250 || tvm == 0 || len(sev) != 4 {
		t.Errorf("%d public exploits, %d TVM ids, severities %v", exploits, tvm, sev)
	}
	fixes := 0
	for _, u := range c.Updates {
		if err := u.Normalize(); err != nil {
			t.Fatalf("update %s: %v", u.ID, err)
		}
		fixes += len(u.CVEs)
	}
	if len(c.Updates) != 5*(seriesLength-1) || fixes == 0 {
		t.Errorf("%d updates fixing %d CVEs", len(c.Updates), fixes)
	}
}

// TestSoftwareInventory: every machine has its OS and PerMachine−1
// applications of its platform, adjacent; the same options give the same
// records.
func TestSoftwareInventory(t *testing.T) {
	ms := generatedMachines(t, 300)
	o := SoftwareOptions{Seed: 1, PerMachine: 40}
	collect := func() []vuln.InventoryRecord {
		var out []vuln.InventoryRecord
		if err := SoftwareInventory(o, ms, func(r *vuln.InventoryRecord) error {
			if err := r.Normalize(); err != nil {
				t.Fatalf("record %+v: %v", r, err)
			}
			out = append(out, *r)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	rs := collect()
	if !reflect.DeepEqual(rs, collect()) {
		t.Fatal("the same options gave different inventories")
	}
	per := map[string]int{}
	kbs := 0
	last := ""
	done := map[string]bool{}
	for _, r := range rs {
		if r.MachineID != last {
			if done[r.MachineID] {
				t.Fatalf("machine %s's records are not adjacent", r.MachineID)
			}
			done[last], last = true, r.MachineID
		}
		if r.MissingKB != "" {
			kbs++
			continue
		}
		per[r.MachineID]++
	}
	for _, m := range ms {
		if per[m.ID] != 40 {
			t.Fatalf("machine %s (%s) has %d products, want 40", m.ID, *m.OSPlatform, per[m.ID])
		}
	}
	if kbs == 0 {
		t.Error("no Windows machine misses an update")
	}
}
