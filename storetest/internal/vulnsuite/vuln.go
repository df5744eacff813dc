// Package vulnsuite holds the conformance cases of vuln.Store
// (vulnerability management), run by storetest.Run: the same small fleet,
// whose derived values are computed by hand in the comments, in every
// engine.
package vulnsuite

import (
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/storetest/internal/fixture"
	"github.com/openatp/openatp/vuln"
)

var ctx = context.Background()

// The fleet's products, vulnerabilities and machines.
var (
	chrome = vuln.Product{Vendor: "google", Name: "chrome"}
	edge   = vuln.Product{Vendor: "microsoft", Name: "edge"}
	win11  = vuln.Product{Vendor: "microsoft", Name: "windows_11"}
	zip    = vuln.Product{Vendor: "igor_pavlov", Name: "7-zip"}

	m1, m2, m3 = fixture.MachineID(1), fixture.MachineID(2), fixture.MachineID(3)
)

func ptr[T any](v T) *T { return &v }

// catalog is the fleet's catalog:
//
//	V1 CVE-2024-0001 Critical 9.8, public exploit (weight 20): chrome 119.0 and 120.0, fixed in 121.0
//	V2 CVE-2024-0002 High 7.5 (weight 6): chrome 120.0, fixed in 120.5
//	V3 CVE-2024-0003 Medium 5.0 (weight 3): windows_11 10.0.22631.1, fixed by KB 5031356
//	V4 TVM-2024-0004 Low (weight 1): edge 118.0
func catalog() *vuln.Catalog {
	aff := func(p vuln.Product, version, fixed, kb string) vuln.Affected {
		return vuln.Affected{Product: p, Version: version, FixedVersion: fixed, FixingKB: kb}
	}
	c := &vuln.Catalog{
		Products: []vuln.Product{chrome, edge, win11},
		Vulnerabilities: []vuln.Vulnerability{
			{ID: "CVE-2024-0001", Name: "Chrome use after free", Description: "A use after free in V8.", CVSSV3: ptr(9.8),
				PublishedOn: fixture.At(1), UpdatedOn: fixture.At(2), PublicExploit: true, ExploitVerified: true,
				ExploitTypes: []string{"Remote code execution"}, ExploitURIs: []string{"https://example.com/poc"},
				Affected: []vuln.Affected{aff(chrome, "119.0", "121.0", ""), aff(chrome, "120.0", "121.0", "")}},
			{ID: "CVE-2024-0002", Description: "Out of bounds read.", CVSSV3: ptr(7.5), PublishedOn: fixture.At(1),
				Affected: []vuln.Affected{aff(chrome, "120.0", "120.5", "")}},
			{ID: "CVE-2024-0003", Description: "Kernel elevation of privilege.", CVSSV3: ptr(5.0), PublishedOn: fixture.At(1),
				Affected: []vuln.Affected{aff(win11, "10.0.22631.1", "", "5031356")}},
			{ID: "TVM-2024-0004", Severity: "low", Description: "Weak default.", PublishedOn: fixture.At(1),
				Affected: []vuln.Affected{aff(edge, "118.0", "119.0", "")}},
		},
		Updates: []vuln.SecurityUpdate{
			{ID: "KB5031356", Name: "November 2023 Security Updates", ReleaseDate: fixture.At(3), OSBuild: ptr(int64(22631)),
				ProductsNames: []string{"windows_11"}, CVEs: []string{"CVE-2024-0003"}},
			{ID: "5032190", Name: "December 2023 Security Updates", ReleaseDate: fixture.At(4)},
		},
	}
	for i := range c.Vulnerabilities {
		if err := c.Vulnerabilities[i].Normalize(); err != nil {
			panic(err)
		}
	}
	for i := range c.Updates {
		if err := c.Updates[i].Normalize(); err != nil {
			panic(err)
		}
	}
	return c
}

// sw is an installed-software record.
func sw(machine string, p vuln.Product, version string, seen int, paths ...string) vuln.InventoryRecord {
	return vuln.InventoryRecord{Installed: vuln.Installed{MachineID: machine, Product: p, Version: version, DiskPaths: paths,
		FirstSeen: fixture.At(seen), LastSeen: fixture.At(seen + 1)}}
}

// kb is a missing-update record.
func kb(machine, id string) vuln.InventoryRecord {
	return vuln.InventoryRecord{Installed: vuln.Installed{MachineID: machine}, MissingKB: id}
}

// inventory is the fleet's inventory:
//
//	m1: chrome 120.0 (V1, V2: 26 points), windows_11 (V3: 3), 7-zip; missing KB 5031356 — 29 points
//	m2: chrome 119.0 (V1: 20), edge 120.0 (no vulnerability) — 20 points
//	m3: 7-zip — 0 points
//
// so the exposure score is (29+20+0)/3 = 16.33, chrome's impact
// ((29−3) + 20)/3 = 15.33, windows_11's 3/3 = 1, the configuration
// score 1000 × 2/3 = 666.
func inventory() []vuln.InventoryRecord {
	return []vuln.InventoryRecord{
		sw(m1, chrome, "120.0", 1, `C:\Program Files\Google\Chrome\Application\chrome.exe`),
		sw(m1, win11, "10.0.22631.1", 1),
		kb(m1, "KB5031356"),
		sw(m2, chrome, "119.0", 2),
		sw(m2, edge, "120.0", 2),
		sw(m1, zip, "23.01", 1), // not adjacent to m1's others: still m1's
		sw(m3, zip, "23.01", 3),
	}
}

// records returns a PutInventory reader of rs, normalizing each.
func records(rs []vuln.InventoryRecord) func() (*vuln.InventoryRecord, error) {
	i := 0
	return func() (*vuln.InventoryRecord, error) {
		if i == len(rs) {
			return nil, io.EOF
		}
		r := rs[i]
		i++
		if err := r.Normalize(); err != nil {
			return nil, err
		}
		return &r, nil
	}
}

// store returns the store's vuln.Store.
func store(t *testing.T, s openatp.Store) vuln.Store {
	t.Helper()
	v, ok := s.(vuln.Store)
	if !ok {
		t.Fatalf("%T does not implement vuln.Store", s)
	}
	return v
}

// fleet opens a store with tenant A holding the fleet.
func fleet(t *testing.T, su *fixture.Suite) (openatp.Store, vuln.Store, string) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	fixture.MustMachines(t, s, a, 1, 2, 3, 4)
	v := store(t, s)
	fixture.NoErr(t, v.PutCatalog(ctx, a, catalog(), fixture.At(10)))
	fixture.NoErr(t, v.PutInventory(ctx, a, fixture.At(10), records(inventory())))
	return s, v, a
}

var equate = cmpopts.EquateEmpty()

// vulnIDs returns the ids and exposures of vs.
func vulnIDs(vs []vuln.Vulnerability) []string {
	out := []string{}
	for _, v := range vs {
		out = append(out, v.ID+"="+itoa(v.ExposedMachines))
	}
	return out
}

// machineVulns returns a machine's vulnerabilities (copies of the items
// of the selection MachineVulnerabilities returns).
func machineVulns(v vuln.Store, tenant, machine string, sc vuln.Scope) ([]vuln.Vulnerability, error) {
	sel, err := v.MachineVulnerabilities(ctx, tenant, machine, sc)
	if err != nil {
		return nil, err
	}
	return sel.Items(), nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// Derived checks every per-machine and catalog read of the fleet against
// the values computed by hand.
func Derived(t *testing.T, su *fixture.Suite) {
	_, v, a := fleet(t, su)
	all := vuln.All()

	got, err := machineVulns(v, a, m1, all)
	fixture.NoErr(t, err)
	fixture.Diff(t, "m1's vulnerabilities", []string{"CVE-2024-0001=2", "CVE-2024-0002=1", "CVE-2024-0003=1"}, vulnIDs(got))
	want := catalog().Vulnerabilities[0]
	want.Affected, want.ExposedMachines, want.Name = nil, 2, "Chrome use after free"
	fixture.Diff(t, "CVE-2024-0001 as read", want, got[0], equate)

	soft, err := v.MachineSoftware(ctx, a, strings.ToUpper(m2), all)
	fixture.NoErr(t, err)
	fixture.Diff(t, "m2's software", []vuln.Software{
		{Product: chrome, Weaknesses: 1, PublicExploit: true, ExposedMachines: 2, InstalledMachines: 2, ImpactScore: 15.33},
		{Product: edge, InstalledMachines: 1},
	}, soft)

	recs, err := v.MachineRecommendations(ctx, a, m1, all)
	fixture.NoErr(t, err)
	fixture.Diff(t, "m1's recommendations", []vuln.Recommendation{
		{Product: chrome, RecommendedVersion: "121.0", FixingKBs: []string{}, Weaknesses: 2, PublicExploit: true, SeverityScore: 9.8,
			ExposedMachines: 2, TotalMachines: 2, ExposureImpact: 15.33},
		{Product: win11, FixingKBs: []string{"5031356"}, Weaknesses: 1, SeverityScore: 5, ExposedMachines: 1, TotalMachines: 1, ExposureImpact: 1},
	}, recs)

	kbs, err := v.MachineMissingKBs(ctx, a, m1, all)
	fixture.NoErr(t, err)
	wantKB := catalog().Updates[0]
	wantKB.MachineMissedOn = 1
	fixture.Diff(t, "m1's missing updates", []vuln.SecurityUpdate{wantKB}, kbs, equate)
	kbs, err = v.MachineMissingKBs(ctx, a, m3, all)
	fixture.NoErr(t, err)
	fixture.Diff(t, "m3's missing updates", []vuln.SecurityUpdate{}, kbs)
	// A machine without inventory has none of anything.
	got, err = machineVulns(v, a, fixture.MachineID(4), all)
	fixture.NoErr(t, err)
	fixture.Diff(t, "m4's vulnerabilities", []vuln.Vulnerability{}, got)
	_, err = v.MachineSoftware(ctx, a, fixture.MachineID(9), all)
	fixture.WantCode(t, err, openatp.NotFound, "ResourceNotFound")

	list, err := v.Software(ctx, a, vuln.SoftwareFilter{}, all)
	fixture.NoErr(t, err)
	fixture.Diff(t, "software", []vuln.Software{
		{Product: chrome, Weaknesses: 2, PublicExploit: true, ExposedMachines: 2, InstalledMachines: 2, ImpactScore: 15.33},
		{Product: zip, InstalledMachines: 2},
		{Product: edge, InstalledMachines: 1},
		{Product: win11, Weaknesses: 1, ExposedMachines: 1, InstalledMachines: 1, ImpactScore: 1},
	}, list)
	list, err = v.Software(ctx, a, vuln.SoftwareFilter{Vendors: []string{"microsoft"}, Names: []string{"edge", "chrome"}}, all)
	fixture.NoErr(t, err)
	fixture.Diff(t, "software of vendor microsoft named edge or chrome", []vuln.Software{{Product: edge, InstalledMachines: 1}}, list)
	one, err := v.SoftwareByID(ctx, a, "microsoft-_-windows_11", all)
	fixture.NoErr(t, err)
	fixture.Diff(t, "windows_11", vuln.Software{Product: win11, Weaknesses: 1, ExposedMachines: 1, InstalledMachines: 1, ImpactScore: 1}, one)
	for _, id := range []string{"microsoft-_-word", "chrome", "", "google-_-chrome-_-x"} {
		_, err = v.SoftwareByID(ctx, a, id, all)
		fixture.WantCode(t, err, openatp.NotFound, "ResourceNotFound")
	}

	dist, err := v.SoftwareDistributions(ctx, a, chrome.ID(), all)
	fixture.NoErr(t, err)
	fixture.Diff(t, "chrome's distributions", []vuln.Distribution{{Version: "119.0", Installations: 1, Vulnerabilities: 1},
		{Version: "120.0", Installations: 1, Vulnerabilities: 2}}, dist)
	refs, err := v.SoftwareMachines(ctx, a, zip.ID(), all)
	fixture.NoErr(t, err)
	fixture.Diff(t, "7-zip's machines", []vuln.MachineRef{{ID: m1, ComputerDNSName: ptr("host1.contoso.com")},
		{ID: m3, ComputerDNSName: ptr("host3.contoso.com")}}, refs)
	got, err = v.SoftwareVulnerabilities(ctx, a, chrome.ID(), all)
	fixture.NoErr(t, err)
	fixture.Diff(t, "chrome's vulnerabilities", []string{"CVE-2024-0001=2", "CVE-2024-0002=1"}, vulnIDs(got))
	kbs, err = v.SoftwareMissingKBs(ctx, a, win11.ID(), all)
	fixture.NoErr(t, err)
	fixture.Diff(t, "windows_11's updates", []vuln.SecurityUpdate{wantKB}, kbs, equate)

	got, err = v.Vulnerabilities(ctx, a, vuln.VulnerabilityFilter{}, all)
	fixture.NoErr(t, err)
	fixture.Diff(t, "vulnerabilities", []string{"CVE-2024-0001=2", "CVE-2024-0002=1", "CVE-2024-0003=1", "TVM-2024-0004=0"}, vulnIDs(got))
	got, err = v.Vulnerabilities(ctx, a, vuln.VulnerabilityFilter{Severities: []string{"Critical", "Low"}, UpdatedAfter: fixture.At(1)}, all)
	fixture.NoErr(t, err)
	fixture.Diff(t, "Critical or Low vulnerabilities updated after hour 1", []string{"CVE-2024-0001=2"}, vulnIDs(got))
	one4, err := v.VulnerabilityByID(ctx, a, "TVM-2024-0004", all)
	fixture.NoErr(t, err)
	if one4.Severity != vuln.SeverityLow || one4.ExposedMachines != 0 {
		t.Errorf("TVM-2024-0004: %+v", one4)
	}
	_, err = v.VulnerabilityByID(ctx, a, "CVE-2024-9999", all)
	fixture.WantCode(t, err, openatp.NotFound, "ResourceNotFound")
	refs, err = v.VulnerabilityMachines(ctx, a, "CVE-2024-0001", all)
	fixture.NoErr(t, err)
	if len(refs) != 2 || refs[0].ID != m1 || refs[1].ID != m2 {
		t.Errorf("CVE-2024-0001's machines: %+v", refs)
	}

	recs, err = v.Recommendations(ctx, a, all)
	fixture.NoErr(t, err)
	if len(recs) != 2 || recs[0].ID() != "va-_-google-_-chrome" || recs[0].RecommendedVersion != "121.0" || recs[1].ID() != "va-_-microsoft-_-windows_11" {
		t.Errorf("recommendations: %+v", recs)
	}
	r, err := v.RecommendationByID(ctx, a, "va-_-microsoft-_-windows_11", all)
	fixture.NoErr(t, err)
	fixture.Diff(t, "windows_11's recommendation", recs[1], r)
	_, err = v.RecommendationByID(ctx, a, "va-_-microsoft-_-edge", all) // installed, not vulnerable
	fixture.WantCode(t, err, openatp.NotFound, "ResourceNotFound")

	e, err := v.Exposure(ctx, a, all)
	fixture.NoErr(t, err)
	if s, c := e.Score(nil), e.ConfigurationScore(); s != 16.33 || c != 666 {
		t.Errorf("exposure score %v, configuration score %v; want 16.33, 666", s, c)
	}
	if e.MachineScore(m1) != 29 || e.ImpactScore(chrome.ID()) != 15.33 {
		t.Errorf("m1 %v, chrome's impact %v; want 29, 15.33", e.MachineScore(m1), e.ImpactScore(chrome.ID()))
	}
}

// Scope checks that a delegated scope counts only its machines and does
// not find the others, given as a list (vuln.Machines) or machine by
// machine (vuln.Visible, whose counts the store may keep by its key: the
// same key then a changed set is a new key, which is counted anew).
func Scope(t *testing.T, su *fixture.Suite) {
	_, v, a := fleet(t, su)
	visible := func(key string, ids ...string) vuln.Scope {
		return vuln.Visible(key, func(id string) bool { return slices.Contains(ids, id) }, func() []string { return slices.Sorted(slices.Values(ids)) })
	}
	for _, sc := range []vuln.Scope{vuln.Machines(m1, m3), visible("m1 m3", m1, m3), visible("m1 m3", m1, m3)} {
		scoped(t, v, a, sc)
	}
	got, err := machineVulns(v, a, m1, visible("m1 m2", m1, m2))
	fixture.NoErr(t, err)
	fixture.Diff(t, "m1's vulnerabilities with m2", []string{"CVE-2024-0001=2", "CVE-2024-0002=1", "CVE-2024-0003=1"}, vulnIDs(got))
}

// scoped checks the reads of scope sc, the machines m1 and m3.
func scoped(t *testing.T, v vuln.Store, a string, sc vuln.Scope) {
	t.Helper()
	_, err := v.MachineVulnerabilities(ctx, a, m2, sc)
	fixture.WantCode(t, err, openatp.NotFound, "ResourceNotFound")
	unknown, err2 := v.MachineVulnerabilities(ctx, a, fixture.MachineID(9), sc)
	if err == nil || err2 == nil || strings.Replace(err.Error(), m2, "", 1) != strings.Replace(err2.Error(), fixture.MachineID(9), "", 1) || unknown.Len() != 0 {
		t.Errorf("out of scope %q, unknown %q: want the same answer", err, err2)
	}
	got, err := machineVulns(v, a, m1, sc)
	fixture.NoErr(t, err)
	fixture.Diff(t, "m1's vulnerabilities in scope", []string{"CVE-2024-0001=1", "CVE-2024-0002=1", "CVE-2024-0003=1"}, vulnIDs(got))
	list, err := v.Software(ctx, a, vuln.SoftwareFilter{}, sc)
	fixture.NoErr(t, err)
	fixture.Diff(t, "software in scope", []vuln.Software{
		{Product: chrome, Weaknesses: 2, PublicExploit: true, ExposedMachines: 1, InstalledMachines: 1, ImpactScore: 13},
		{Product: zip, InstalledMachines: 2},
		{Product: win11, Weaknesses: 1, ExposedMachines: 1, InstalledMachines: 1, ImpactScore: 1.5},
	}, list)
	_, err = v.SoftwareByID(ctx, a, edge.ID(), sc) // only on m2
	fixture.WantCode(t, err, openatp.NotFound, "ResourceNotFound")
	refs, err := v.VulnerabilityMachines(ctx, a, "CVE-2024-0001", sc)
	fixture.NoErr(t, err)
	if len(refs) != 1 || refs[0].ID != m1 {
		t.Errorf("CVE-2024-0001's machines in scope: %+v", refs)
	}
	e, err := v.Exposure(ctx, a, sc)
	fixture.NoErr(t, err)
	if s, c := e.Score(nil), e.ConfigurationScore(); s != 14.5 || c != 500 {
		t.Errorf("exposure %v, configuration %v in scope; want (29+0)/2 = 14.5, 500", s, c)
	}
	rows, err := v.MachineVulnerabilityRows(ctx, a, vuln.RowFilter{MachineIDs: []string{m2}}, sc, 0, 0)
	fixture.NoErr(t, err)
	fixture.Diff(t, "m2's rows out of scope", []vuln.MachineVulnerabilityRow{}, rows)
	n := 0
	_, err = v.ScanSoftwareVulnerabilities(ctx, a, vuln.Machines(m2), vuln.Key{}, 0, func(r *vuln.AssetVulnerability) error {
		if r.Machine.ID != m2 {
			t.Errorf("row of %s in m2's scope", r.Machine.ID)
		}
		n++
		return nil
	})
	fixture.NoErr(t, err)
	if n != 1 {
		t.Errorf("m2's scan: %d rows, want 1", n)
	}
}

// rowIDs collects the ids of a full scan, limit rows a page, checking
// that each page resumes where the last stopped.
func scanIDs(t *testing.T, v vuln.Store, tenant string, limit int) []string {
	t.Helper()
	var ids []string
	var after vuln.Key
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("the scan does not end")
		}
		n := 0
		next, err := v.ScanSoftwareVulnerabilities(ctx, tenant, vuln.All(), after, limit, func(r *vuln.AssetVulnerability) error {
			n++
			ids = append(ids, r.Machine.ID[38:]+"/"+r.Product.Name+"/"+r.Version+"/"+r.CVEID+"/"+r.Exploitability)
			return nil
		})
		fixture.NoErr(t, err)
		if limit > 0 && n > limit {
			t.Fatalf("a page of %d rows, limit %d", n, limit)
		}
		if next.IsZero() {
			return ids
		}
		if after, err = vuln.ParseKey(next.String()); err != nil {
			t.Fatal(err)
		}
	}
}

// Scans checks the by-machine scans, their paging, and the
// machinesVulnerabilities rows with their filters.
func Scans(t *testing.T, su *fixture.Suite) {
	_, v, a := fleet(t, su)
	want := []string{"01/chrome/120.0/CVE-2024-0001/ExploitIsVerified", "01/chrome/120.0/CVE-2024-0002/NoExploit",
		"01/windows_11/10.0.22631.1/CVE-2024-0003/NoExploit", "02/chrome/119.0/CVE-2024-0001/ExploitIsVerified"}
	for _, limit := range []int{0, 1, 3, 4, 5} {
		fixture.Diff(t, "scan by "+itoa(limit), want, scanIDs(t, v, a, limit))
	}
	var first vuln.AssetVulnerability
	_, err := v.ScanSoftwareVulnerabilities(ctx, a, vuln.All(), vuln.Key{}, 1, func(r *vuln.AssetVulnerability) error {
		first = *r
		return nil
	})
	fixture.NoErr(t, err)
	if first.Machine.ComputerDNSName == nil || *first.Machine.ComputerDNSName != "host1.contoso.com" || first.FixedVersion != "121.0" ||
		!first.FirstSeen.Equal(fixture.At(1)) || !first.LastSeen.Equal(fixture.At(2)) || len(first.DiskPaths) != 1 || first.Severity != "Critical" {
		t.Errorf("first row %+v", first)
	}
	var inv []string
	_, err = v.ScanSoftwareInventory(ctx, a, vuln.All(), vuln.Key{}, 0, func(r *vuln.InventoryRow) error {
		inv = append(inv, r.Machine.ID[38:]+"/"+r.Product.Name+"/"+itoa(r.Weaknesses))
		return nil
	})
	fixture.NoErr(t, err)
	fixture.Diff(t, "inventory", []string{"01/chrome/2", "01/windows_11/1", "01/7-zip/0", "02/chrome/1", "02/edge/0", "03/7-zip/0"}, inv)
	_, err = vuln.ParseKey("not a key")
	fixture.WantKind(t, err, openatp.Invalid)

	rows, err := v.MachineVulnerabilityRows(ctx, a, vuln.RowFilter{}, vuln.All(), 0, 0)
	fixture.NoErr(t, err)
	if len(rows) != 4 || rows[0].ID() != m1+"-_-CVE-2024-0001-_-google-_-chrome-_-120.0-_-" || rows[2].ID() != m1+"-_-CVE-2024-0003-_-microsoft-_-windows_11-_-10.0.22631.1-_-5031356" {
		t.Errorf("rows %+v", rows)
	}
	if r, ok := vuln.ParseRowID(rows[2].ID()); !ok || r.Severity != "" || r.MachineID != m1 || r.FixingKB != "5031356" || r.ID() != rows[2].ID() {
		t.Errorf("ParseRowID(%s) = %+v, %v", rows[2].ID(), r, ok)
	}
	page, err := v.MachineVulnerabilityRows(ctx, a, vuln.RowFilter{}, vuln.All(), 1, 2)
	fixture.NoErr(t, err)
	fixture.Diff(t, "rows skip 1 top 2", rows[1:3], page)
	page, err = v.MachineVulnerabilityRows(ctx, a, vuln.RowFilter{CVEIDs: []string{"CVE-2024-0001"}, ProductVersions: []string{"119.0"}}, vuln.All(), 0, 0)
	fixture.NoErr(t, err)
	fixture.Diff(t, "rows of CVE-2024-0001 on 119.0", rows[3:], page)
	page, err = v.MachineVulnerabilityRows(ctx, a, vuln.RowFilter{FixingKBIDs: []string{"5031356"}, Severities: []string{"Medium"},
		MachineIDs: []string{strings.ToUpper(m1)}, ProductVendors: []string{"microsoft"}, ProductNames: []string{"windows_11"}}, vuln.All(), 0, 0)
	fixture.NoErr(t, err)
	fixture.Diff(t, "rows fixed by 5031356", rows[2:3], page)
}

// Delta checks the changes since a time: an installation reported with
// other paths (Updated), one removed (Fixed), one new (New), and a
// catalog change that makes an installation vulnerable (New).
func Delta(t *testing.T, su *fixture.Suite) {
	_, v, a := fleet(t, su)
	second := []vuln.InventoryRecord{
		sw(m1, chrome, "120.0", 1, `D:\Chrome\chrome.exe`), // Updated: V1, V2
		sw(m1, zip, "23.01", 1),                            // unchanged, no vulnerability
		kb(m1, "5031356"),                                  // windows_11 is gone: V3 Fixed
		sw(m2, chrome, "119.0", 2),                         // unchanged
		sw(m2, edge, "118.0", 2),                           // New: V4 (edge 120.0 is gone, no vulnerability)
	}
	fixture.NoErr(t, v.PutInventory(ctx, a, fixture.At(20), records(second)))
	delta := func(since time.Time) []string {
		var out []string
		_, err := v.ScanSoftwareVulnerabilityChanges(ctx, a, vuln.All(), since, vuln.Key{}, 0, func(r *vuln.AssetVulnerability) error {
			out = append(out, r.Machine.ID[38:]+"/"+r.Product.Name+"/"+r.CVEID+"/"+r.Status+"@"+r.EventTime.Sub(fixture.T0).String())
			return nil
		})
		fixture.NoErr(t, err)
		return out
	}
	fixture.Diff(t, "changes since hour 15", []string{"01/chrome/CVE-2024-0001/Updated@20h0m0s", "01/chrome/CVE-2024-0002/Updated@20h0m0s",
		"01/windows_11/CVE-2024-0003/Fixed@20h0m0s", "02/edge/TVM-2024-0004/New@20h0m0s"}, delta(fixture.At(15)))
	fixture.Diff(t, "changes since hour 20", []string(nil), delta(fixture.At(20)))
	fixture.Diff(t, "scan after the changes", []string{"01/chrome/120.0/CVE-2024-0001/ExploitIsVerified", "01/chrome/120.0/CVE-2024-0002/NoExploit",
		"02/chrome/119.0/CVE-2024-0001/ExploitIsVerified", "02/edge/118.0/TVM-2024-0004/NoExploit"}, scanIDs(t, v, a, 2))

	// The catalog learns that 7-zip 23.01 is vulnerable: m1's and m3's
	// installations are New rows.
	c := &vuln.Catalog{Vulnerabilities: []vuln.Vulnerability{{ID: "CVE-2024-0005", Severity: "High", PublishedOn: fixture.At(25),
		Affected: []vuln.Affected{{Product: zip, Version: "23.01", FixedVersion: "24.07"}}}}}
	fixture.NoErr(t, c.Vulnerabilities[0].Normalize())
	fixture.NoErr(t, v.PutCatalog(ctx, a, c, fixture.At(30)))
	fixture.Diff(t, "changes since hour 25", []string{"01/7-zip/CVE-2024-0005/New@30h0m0s", "03/7-zip/CVE-2024-0005/New@30h0m0s"}, delta(fixture.At(25)))
	got, err := v.VulnerabilityByID(ctx, a, "CVE-2024-0005", vuln.All())
	fixture.NoErr(t, err)
	if got.ExposedMachines != 2 {
		t.Errorf("CVE-2024-0005 exposes %d machines, want 2", got.ExposedMachines)
	}
	// A catalog written again keeps when each affected version was
	// first written: nothing is New again.
	fixture.NoErr(t, v.PutCatalog(ctx, a, catalog(), fixture.At(40)))
	fixture.Diff(t, "changes since hour 35", []string(nil), delta(fixture.At(35)))
}

// AllOrNothing checks that a bad record, anywhere in an import, writes
// nothing, and that tenants are apart.
func AllOrNothing(t *testing.T, su *fixture.Suite) {
	s, v, a := fleet(t, su)
	bad := append(inventory()[:2:2], sw(m1, zip, "24.07", 5), sw(fixture.MachineID(77), chrome, "1.0", 1))
	err := v.PutInventory(ctx, a, fixture.At(50), records(bad))
	fixture.WantKind(t, err, openatp.Invalid)
	fixture.Contains(t, err, "deviceId")
	twice := []vuln.InventoryRecord{sw(m3, zip, "24.07", 5), sw(m3, zip, "24.07", 6)}
	err = v.PutInventory(ctx, a, fixture.At(50), records(twice))
	fixture.WantKind(t, err, openatp.Invalid)
	fixture.Contains(t, err, "listed twice")
	boom := errors.New("the reader failed")
	err = v.PutInventory(ctx, a, fixture.At(50), func() (*vuln.InventoryRecord, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Errorf("reader's error: got %v", err)
	}
	c := catalog()
	c.Vulnerabilities = append(c.Vulnerabilities, c.Vulnerabilities[1])
	c.Vulnerabilities[0].Description = "changed"
	err = v.PutCatalog(ctx, a, c, fixture.At(50))
	fixture.WantKind(t, err, openatp.Invalid)
	fixture.Contains(t, err, "vulnerabilities[4]")
	fixture.Diff(t, "scan after the refused imports", []string{"01/chrome/120.0/CVE-2024-0001/ExploitIsVerified", "01/chrome/120.0/CVE-2024-0002/NoExploit",
		"01/windows_11/10.0.22631.1/CVE-2024-0003/NoExploit", "02/chrome/119.0/CVE-2024-0001/ExploitIsVerified"}, scanIDs(t, v, a, 0))
	one, err := v.VulnerabilityByID(ctx, a, "CVE-2024-0001", vuln.All())
	fixture.NoErr(t, err)
	if one.Description != "A use after free in V8." {
		t.Errorf("description %q after a refused catalog", one.Description)
	}

	// Tenant B has the same machine ids and nothing of A's.
	b := fixture.MustTenant(t, s, 2, "B")
	fixture.MustMachines(t, s, b, 1)
	got, err := machineVulns(v, b, m1, vuln.All())
	fixture.NoErr(t, err)
	fixture.Diff(t, "B's m1", []vuln.Vulnerability{}, got)
	list, err := v.Vulnerabilities(ctx, b, vuln.VulnerabilityFilter{}, vuln.All())
	fixture.NoErr(t, err)
	fixture.Diff(t, "B's catalog", []vuln.Vulnerability{}, list)
	_, err = v.MachineVulnerabilities(ctx, b, m2, vuln.All())
	fixture.WantCode(t, err, openatp.NotFound, "ResourceNotFound")
	_, err = v.Software(ctx, fixture.TenantID(9), vuln.SoftwareFilter{}, vuln.All())
	fixture.WantKind(t, err, openatp.NotFound)
	err = v.PutCatalog(ctx, fixture.TenantID(9), catalog(), fixture.At(1))
	fixture.WantKind(t, err, openatp.NotFound)

	// Deleting a machine, and resetting the tenant, take its inventory.
	fixture.NoErr(t, s.DeleteMachine(ctx, a, m2))
	one, err = v.VulnerabilityByID(ctx, a, "CVE-2024-0001", vuln.All())
	fixture.NoErr(t, err)
	if one.ExposedMachines != 1 {
		t.Errorf("CVE-2024-0001 exposes %d machines after m2 was deleted, want 1", one.ExposedMachines)
	}
	fixture.NoErr(t, s.ResetTenant(ctx, a))
	fixture.MustMachines(t, s, a, 1)
	got, err = machineVulns(v, a, m1, vuln.All())
	fixture.NoErr(t, err)
	fixture.Diff(t, "m1 after a reset", []vuln.Vulnerability{}, got)
}

// Replicas checks that a write through one store is read through
// another on the same data (what each keeps is not stale).
func Replicas(t *testing.T, su *fixture.Suite) {
	if su.Reopen == nil {
		t.Skip("the engine gives no second store")
	}
	s, v, a := fleet(t, su)
	other := store(t, su.Reopen(t, s))
	one, err := other.VulnerabilityByID(ctx, a, "CVE-2024-0001", vuln.All())
	fixture.NoErr(t, err)
	if one.ExposedMachines != 2 {
		t.Fatalf("exposed %d, want 2", one.ExposedMachines)
	}
	fixture.NoErr(t, v.PutInventory(ctx, a, fixture.At(20), records([]vuln.InventoryRecord{{Installed: vuln.Installed{MachineID: m2}}})))
	one, err = other.VulnerabilityByID(ctx, a, "CVE-2024-0001", vuln.All())
	fixture.NoErr(t, err)
	if one.ExposedMachines != 1 {
		t.Errorf("after m2's inventory was emptied through the first store, the second counts %d, want 1", one.ExposedMachines)
	}
}
