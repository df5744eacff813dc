package demotenant_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/demotenant"
	"github.com/openatp/openatp/sqlite"
	"github.com/openatp/openatp/vuln"
)

// TestDemoSoftware: the demo tenant's machines have software and
// vulnerabilities as soon as it exists: most machines have some, a few
// with public exploits, Windows machines miss updates, and the demo app
// may read them.
func TestDemoSoftware(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "o.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := demotenant.Ensure(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	app, err := db.App(ctx, c.Tenant, c.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{vuln.PermVulnerabilityReadAll, vuln.PermSoftwareReadAll, vuln.PermRecommendationReadAll, vuln.PermScoreReadAll} {
		if !slices.Contains(app.Roles, p) {
			t.Errorf("the demo app lacks %s", p)
		}
	}
	var ms []openatp.Machine
	if err := db.Snapshot(ctx, c.Tenant, func(m openatp.Machine) error { ms = append(ms, m); return nil }, func(openatp.UserMachine) error { return nil }); err != nil {
		t.Fatal(err)
	}
	vulnerable, missing := 0, 0
	for _, m := range ms {
		sw, err := db.MachineSoftware(ctx, c.Tenant, m.ID, vuln.All())
		if err != nil {
			t.Fatal(err)
		}
		if len(sw) != 14 {
			t.Fatalf("machine %s has %d products, want 14", m.ID, len(sw))
		}
		vs, err := db.MachineVulnerabilities(ctx, c.Tenant, m.ID, vuln.All())
		if err != nil {
			t.Fatal(err)
		}
		if vs.Len() > 0 {
			vulnerable++
		}
		kbs, err := db.MachineMissingKBs(ctx, c.Tenant, m.ID, vuln.All())
		if err != nil {
			t.Fatal(err)
		}
		if len(kbs) > 0 {
			missing++
		}
	}
	if vulnerable < len(ms)*3/4 || missing == 0 {
		t.Errorf("%d of %d machines vulnerable, %d missing updates", vulnerable, len(ms), missing)
	}
	recs, err := db.Recommendations(ctx, c.Tenant, vuln.All())
	if err != nil || len(recs) < 20 {
		t.Fatalf("%d recommendations, %v", len(recs), err)
	}
	all, err := db.Vulnerabilities(ctx, c.Tenant, vuln.VulnerabilityFilter{}, vuln.All())
	if err != nil {
		t.Fatal(err)
	}
	exploited := 0
	for _, v := range all {
		if v.PublicExploit && v.ExposedMachines > 0 {
			exploited++
		}
	}
	if len(all) != 800 || exploited == 0 {
		t.Errorf("%d vulnerabilities, %d with public exploits on machines", len(all), exploited)
	}
	e, err := db.Exposure(ctx, c.Tenant, vuln.All())
	if err != nil || e.Score(nil) <= 0 || e.Score(nil) >= 100 {
		t.Errorf("exposure score %v, %v", e.Score(nil), err)
	}
	t.Logf("%d machines, %d vulnerable, %d missing updates, %d recommendations, exposure %v, configuration %d",
		len(ms), vulnerable, missing, len(recs), e.Score(nil), e.ConfigurationScore())
}
