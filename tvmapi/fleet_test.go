package tvmapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
	"github.com/openatp/openatp/internal/pgtest"
	"github.com/openatp/openatp/postgres"
	"github.com/openatp/openatp/vuln"
)

// TestMain fails the package's tests when a goroutine outlives them, and
// stops the shared PostgreSQL server.
func TestMain(m *testing.M) { pgtest.Main(m) }

// The fleet of the tests, on apitest's RBAC fixture: the documentation's
// two machines (group 140, The-A-Team, seen by user group g-ana), the
// vault machine (group 150, g-sec only) and the lone machine (the default
// group).
var (
	chrome = vuln.Product{Vendor: "google", Name: "chrome"}
	edge   = vuln.Product{Vendor: "microsoft", Name: "edge"}
	win11  = vuln.Product{Vendor: "microsoft", Name: "windows_11"}
	zip    = vuln.Product{Vendor: "igor_pavlov", Name: "7-zip"}

	m1    = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
	m2    = "7292e4b8cb74ff1cc3d8a495eb29dc8858b732f7"
	vault = apitest.VaultMachine
	lone  = strings.Repeat("0", 39) + "1"
)

func at(day int) time.Time { return time.Date(2024, 1, day, 12, 0, 0, 0, time.UTC) }

func ptr[T any](v T) *T { return &v }

// catalog is the fleet's catalog (weights of vuln.Weight):
//
//	CVE-2024-0001 Critical 9.8, exploit verified (20): chrome 119.0 and 120.0, fixed in 121.0
//	CVE-2024-0002 High 7.5 (6): chrome 120.0, fixed in 120.5
//	CVE-2024-0003 Medium 5.0 (3): windows_11 10.0.22631.1, fixed by KB 5031356
//	TVM-2024-0004 Low (1): edge 118.0
func catalog(t testing.TB) *vuln.Catalog {
	aff := func(p vuln.Product, version, fixed, kb string) vuln.Affected {
		return vuln.Affected{Product: p, Version: version, FixedVersion: fixed, FixingKB: kb}
	}
	c := &vuln.Catalog{
		Products: []vuln.Product{chrome, edge, win11, zip},
		Vulnerabilities: []vuln.Vulnerability{
			{ID: "CVE-2024-0001", Name: "Chrome use after free", Description: "A use after free in V8.", CVSSV3: ptr(9.8),
				PublishedOn: at(1), UpdatedOn: at(2), PublicExploit: true, ExploitVerified: true,
				ExploitTypes: []string{"Remote code execution"}, ExploitURIs: []string{"https://example.com/poc"},
				Affected: []vuln.Affected{aff(chrome, "119.0", "121.0", ""), aff(chrome, "120.0", "121.0", "")}},
			{ID: "CVE-2024-0002", Description: "Out of bounds read.", CVSSV3: ptr(7.5), PublishedOn: at(1),
				Affected: []vuln.Affected{aff(chrome, "120.0", "120.5", "")}},
			{ID: "CVE-2024-0003", Description: "Kernel elevation of privilege.", CVSSV3: ptr(5.0), PublishedOn: at(1),
				Affected: []vuln.Affected{aff(win11, "10.0.22631.1", "", "5031356")}},
			{ID: "TVM-2024-0004", Severity: "Low", Description: "Weak default.", PublishedOn: at(1),
				Affected: []vuln.Affected{aff(edge, "118.0", "119.0", "")}},
		},
		Updates: []vuln.SecurityUpdate{
			{ID: "KB5031356", Name: "November 2023 Security Updates", ReleaseDate: at(3), OSBuild: ptr(int64(22631)),
				ProductsNames: []string{"windows_11"}, CVEs: []string{"CVE-2024-0003"}},
		},
	}
	for i := range c.Vulnerabilities {
		if err := c.Vulnerabilities[i].Normalize(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range c.Updates {
		if err := c.Updates[i].Normalize(); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// inventory is the fleet's inventory; the machines' exposure points:
//
//	m1: chrome 120.0 (CVE-1, CVE-2: 26), windows_11 (CVE-3: 3); missing KB 5031356 — 29
//	m2: chrome 119.0 (CVE-1: 20), edge 120.0 (none) — 20
//	vault: chrome 120.0 (26), 7-zip — 26
//	lone: 7-zip — 0
func inventory() []vuln.InventoryRecord {
	sw := func(machine string, p vuln.Product, version string, paths ...string) vuln.InventoryRecord {
		return vuln.InventoryRecord{Installed: vuln.Installed{MachineID: machine, Product: p, Version: version, DiskPaths: paths,
			FirstSeen: at(5), LastSeen: at(6)}}
	}
	return []vuln.InventoryRecord{
		sw(m1, chrome, "120.0", `C:\Program Files\Google\Chrome\Application\chrome.exe`),
		sw(m1, win11, "10.0.22631.1"),
		{Installed: vuln.Installed{MachineID: m1}, MissingKB: "KB5031356"},
		sw(m2, chrome, "119.0"),
		sw(m2, edge, "120.0"),
		sw(vault, chrome, "120.0"),
		sw(vault, zip, "23.01"),
		sw(lone, zip, "23.01"),
	}
}

// load writes the fleet into s for tenant tn.
func load(t testing.TB, s vuln.Store, tn string) {
	t.Helper()
	ctx := context.Background()
	if err := s.PutCatalog(ctx, tn, catalog(t), time.Now()); err != nil {
		t.Fatal(err)
	}
	rs, i := inventory(), 0
	err := s.PutInventory(ctx, tn, time.Now(), func() (*vuln.InventoryRecord, error) {
		if i == len(rs) {
			return nil, io.EOF
		}
		r := &rs[i]
		i++
		return r, r.Normalize()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// tvmPerms are every TVM permission, application and delegated.
var (
	appTVM       = []string{vuln.PermVulnerabilityReadAll, vuln.PermSoftwareReadAll, vuln.PermRecommendationReadAll, vuln.PermScoreReadAll}
	delegatedTVM = []string{vuln.PermVulnerabilityRead, vuln.PermSoftwareRead, vuln.PermRecommendationRead, vuln.PermScoreRead}
)

// env is a fixture with the fleet and tokens: an application granted
// every TVM permission, one granted none, and a delegated user of g-ana
// (The-A-Team and the default group, not the vault).
type env struct {
	*apitest.Fixture
	vs             vuln.Store
	app, none, ana string
}

// newEnv starts the fixture on SQLite, its TVM reads on PostgreSQL when pg
// is set (the tenant and its machines copied there).
func newEnv(t *testing.T, pg bool, configure ...func(*apitest.Config)) *env {
	t.Helper()
	ctx := context.Background()
	var pgStore *postgres.DB
	if pg {
		var err error
		if pgStore, err = postgres.Open(ctx, pgtest.NewDatabase(t)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pgStore.Close() })
	}
	f := apitest.RBACFixture(t, false, func(c *apitest.Config) {
		for _, fn := range configure {
			fn(c)
		}
		if pgStore != nil {
			c.TVM.Vuln = pgStore
		}
	})
	var vs vuln.Store = f.Store.(vuln.Store)
	if pgStore != nil {
		if err := pgStore.CreateTenant(ctx, f.Tenant); err != nil {
			t.Fatal(err)
		}
		var ms []openatp.Machine
		for _, id := range []string{m1, m2, vault, lone} {
			m, err := f.Store.Machine(ctx, f.Tenant.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Normalize(); err != nil {
				t.Fatal(err)
			}
			ms = append(ms, m)
		}
		if err := pgStore.UpsertMachines(ctx, f.Tenant.ID, ms); err != nil {
			t.Fatal(err)
		}
		vs = pgStore
	}
	load(t, vs, f.Tenant.ID)
	e := &env{Fixture: f, vs: vs}
	e.app = f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "tvm", appTVM...))
	e.none = f.Token(t, f.Tenant, f.App)
	e.ana = f.Delegated(t, f.Tenant, f.DelegatedApp(t, f.Tenant, delegatedTVM...), "ana@contoso.com", "g-ana")
	return e
}

// get sends a GET with token and checks the status.
func (e *env) get(t testing.TB, path, token string, want int) apitest.Response {
	t.Helper()
	r := e.Do(t, "GET", path, token)
	if r.Status != want {
		t.Fatalf("GET %s: status %d, want %d: %s", path, r.Status, want, r.Body)
	}
	return r
}

// storesOf runs fn on SQLite and on PostgreSQL.
func storesOf(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		t.Run(name, func(t *testing.T) { fn(t, newEnv(t, pg)) })
	}
}

// jsonEq checks that got is the JSON of want (with URL standing for the
// server's address), values and property names alike.
func jsonEq(t testing.TB, srvURL string, got []byte, want string) {
	t.Helper()
	var g, w any
	dec := json.NewDecoder(bytes.NewReader(got))
	dec.UseNumber()
	if err := dec.Decode(&g); err != nil {
		t.Fatalf("answer %s: %v", got, err)
	}
	dec = json.NewDecoder(strings.NewReader(strings.ReplaceAll(want, "URL", srvURL)))
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		t.Fatalf("want %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		gb, _ := json.MarshalIndent(g, "", " ")
		wb, _ := json.MarshalIndent(w, "", " ")
		t.Errorf("answer:\n%s\nwant:\n%s", gb, wb)
	}
}
