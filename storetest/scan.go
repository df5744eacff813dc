package storetest

import (
	"cmp"
	"slices"
	"testing"

	"github.com/openatp/openatp"
)

// ScanTenant gives what Snapshot gives, in any order of machines, with the
// relations of one user together.
func testScanTenant(t *testing.T, su *suite) {
	s := su.open(t)
	tenant := mustTenant(t, s, 1, "a.example")
	other := mustTenant(t, s, 2, "b.example")
	var ls []openatp.Logon
	for n := range 40 {
		mustMachines(t, s, tenant, 97*n%40+1) // written out of id order
		ls = append(ls, logon([]string{"contoso", "CONTOSO", "fabrikam"}[n%3], []string{"ann", "bob", "Ann", "cy"}[n%4], 97*n%40+1, n, "Network"))
	}
	mustMachines(t, s, other, 100)
	mustLogons(t, s, other, logon("contoso", "ann", 100, 1, ""))
	mustLogons(t, s, tenant, ls...)
	noErr(t, s.CreateGroup(ctx, tenant, openatp.DeviceGroup{ID: 3, Name: "Some", Rank: 1, Rules: []openatp.RuleRow{{Property: openatp.RuleName, Values: []string{"host7", "host9"}}}}))
	wantMs, wantRels := snapshot(t, s, tenant)
	var ms []openatp.Machine
	var rels []openatp.UserMachine
	noErr(t, s.ScanTenant(ctx, tenant, func(m openatp.Machine) error { ms = append(ms, m); return nil },
		func(r openatp.UserMachine) error { rels = append(rels, r); return nil }))
	// Grouped by user: once a user's relations end, none of it follows.
	done := map[[2]string]bool{}
	for i, r := range rels {
		k := [2]string{openatp.NameKey(r.AccountName), openatp.NameKey(r.AccountDomain)}
		if i > 0 && k != [2]string{openatp.NameKey(rels[i-1].AccountName), openatp.NameKey(rels[i-1].AccountDomain)} && done[k] {
			t.Fatalf("relations of %v are not together", k)
		}
		done[k] = true
	}
	slices.SortFunc(ms, func(a, b openatp.Machine) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortStableFunc(rels, func(a, b openatp.UserMachine) int {
		return cmp.Or(cmp.Compare(openatp.NameKey(a.AccountName), openatp.NameKey(b.AccountName)),
			cmp.Compare(openatp.NameKey(a.AccountDomain), openatp.NameKey(b.AccountDomain)), cmp.Compare(a.MachineID, b.MachineID))
	})
	diff(t, "machines", wantMs, ms)
	diff(t, "relations", wantRels, rels, equateEmpty)
	err := s.ScanTenant(ctx, tenantID(99), func(openatp.Machine) error { return nil }, func(openatp.UserMachine) error { return nil })
	wantKind(t, err, openatp.NotFound)
}
