package storetest

import (
	"cmp"
	"slices"
	"testing"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/storetest/internal/fixture"
)

// ScanTenant gives what Snapshot gives, in any order of machines, each
// user once with its machines by their positions in the scan.
func testScanTenant(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	tenant := fixture.MustTenant(t, s, 1, "a.example")
	other := fixture.MustTenant(t, s, 2, "b.example")
	var ls []openatp.Logon
	for n := range 40 {
		fixture.MustMachines(t, s, tenant, 97*n%40+1) // written out of id order
		ls = append(ls, fixture.Logon([]string{"contoso", "CONTOSO", "fabrikam"}[n%3], []string{"ann", "bob", "Ann", "cy"}[n%4], 97*n%40+1, n, "Network"))
	}
	// Values a packed read could take apart wrongly: separators and
	// control characters, empty strings beside NULLs, a leading "=".
	odd := []openatp.Machine{
		{ID: fixture.MachineID(41), ComputerDNSName: openatp.Ptr("odd\x1fname\x1e"), OSPlatform: openatp.Ptr(""), Version: openatp.Ptr("=1"),
			OSVersion: openatp.Ptr("\x1f"), MachineTags: []string{"a\x1fb"}},
		{ID: fixture.MachineID(42), ComputerDNSName: openatp.Ptr(""), AgentVersion: openatp.Ptr("\x1e"), HealthStatus: openatp.Ptr("Active")},
		{ID: fixture.MachineID(43)},
	}
	fixture.MustUpsert(t, s, tenant, odd...)
	fixture.MustMachines(t, s, other, 100)
	fixture.MustLogons(t, s, other, fixture.Logon("contoso", "ann", 100, 1, ""))
	fixture.MustLogons(t, s, tenant, ls...)
	fixture.NoErr(t, s.CreateGroup(ctx, tenant, openatp.DeviceGroup{ID: 3, Name: "Some", Rank: 1, Rules: []openatp.RuleRow{{Property: openatp.RuleName, Values: []string{"host7", "host9"}}}}))
	wantMs, wantRels := fixture.Snapshot(t, s, tenant)
	var ms []openatp.Machine
	var users []openatp.ScannedUser
	fixture.NoErr(t, s.ScanTenant(ctx, tenant, func(m openatp.Machine) error { ms = append(ms, m); return nil },
		func(u openatp.ScannedUser) error { users = append(users, u); return nil }))
	// Each user once, each of its machines once, by its position in the
	// scan; the relations that makes are Snapshot's, without their times
	// and logon types.
	type rel struct{ name, domain, sid, machine string }
	var rels, want []rel
	seen := map[[2]string]bool{}
	for _, u := range users {
		k := [2]string{openatp.NameKey(u.AccountName), openatp.NameKey(u.AccountDomain)}
		if seen[k] {
			t.Fatalf("user %v came twice", k)
		}
		seen[k] = true
		if len(u.Machines) == 0 {
			t.Errorf("user %v came with no machines", k)
		}
		for _, p := range u.Machines {
			if int(p) >= len(ms) {
				t.Fatalf("user %v names machine %d of a scan of %d", k, p, len(ms))
			}
			rels = append(rels, rel{u.AccountName, u.AccountDomain, u.AccountSID, ms[p].ID})
		}
	}
	for _, r := range wantRels {
		want = append(want, rel{r.AccountName, r.AccountDomain, r.AccountSID, r.MachineID})
	}
	byRel := func(a, b rel) int {
		return cmp.Or(cmp.Compare(openatp.NameKey(a.name), openatp.NameKey(b.name)),
			cmp.Compare(openatp.NameKey(a.domain), openatp.NameKey(b.domain)), cmp.Compare(a.machine, b.machine))
	}
	slices.SortFunc(rels, byRel)
	slices.SortFunc(want, byRel)
	if len(want) == 0 {
		t.Fatal("the snapshot has no relations to compare with")
	}
	if !slices.Equal(rels, want) {
		t.Errorf("relations:\n got %v\nwant %v", rels, want)
	}
	slices.SortFunc(ms, func(a, b openatp.Machine) int { return cmp.Compare(a.ID, b.ID) })
	fixture.Diff(t, "machines", wantMs, ms)
	err := s.ScanTenant(ctx, fixture.TenantID(99), func(openatp.Machine) error { return nil }, func(openatp.ScannedUser) error { return nil })
	fixture.WantKind(t, err, openatp.NotFound)
}
