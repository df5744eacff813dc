package actionsuite

import (
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/storetest/internal/fixture"
)

// Investigations checks investigations: numbering per tenant, the
// machine's name, reads by id or triggering alert id, tenant isolation,
// reset.
func Investigations(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	b := fixture.MustTenant(t, s, 2, "B")
	fixture.MustMachines(t, s, a, 1, 2)
	fixture.MustMachines(t, s, b, 1)
	before := time.Now().Add(-time.Minute)
	first, err := s.StartInvestigation(ctx, a, openatp.Investigation{MachineID: fixture.MachineID(1), Requestor: "app-1", Comment: "look",
		State: "Benign", TriggeringAlertID: openatp.Ptr("da1_2")})
	fixture.NoErr(t, err)
	if first.ID != "1" || first.State != "Running" || first.EndTime != nil || !first.StartTime.After(before) ||
		first.ComputerDNSName == nil || *first.ComputerDNSName != "host1.contoso.com" {
		t.Errorf("first investigation %+v", first)
	}
	second, err := s.StartInvestigation(ctx, a, openatp.Investigation{MachineID: fixture.MachineID(2), Requestor: "app-1", Comment: "again"})
	fixture.NoErr(t, err)
	other, err := s.StartInvestigation(ctx, b, openatp.Investigation{MachineID: fixture.MachineID(1), Requestor: "app-2", Comment: "b"})
	fixture.NoErr(t, err)
	if second.ID != "2" || other.ID != "1" {
		t.Errorf("ids %s %s, want 2 and 1 (numbered per tenant)", second.ID, other.ID)
	}
	_, err = s.StartInvestigation(ctx, a, openatp.Investigation{MachineID: fixture.MachineID(9), Requestor: "app-1", Comment: "x"})
	fixture.WantCode(t, err, openatp.NotFound, "ResourceNotFound")
	_, err = s.StartInvestigation(ctx, a, openatp.Investigation{MachineID: "nope", Requestor: "app-1", Comment: "x"})
	fixture.WantKind(t, err, openatp.Invalid)

	got, err := s.Investigation(ctx, a, "1")
	fixture.NoErr(t, err)
	fixture.Diff(t, "investigation 1", first, got)
	got, err = s.Investigation(ctx, a, "da1_2")
	fixture.NoErr(t, err)
	fixture.Diff(t, "investigation by alert id", first, got)
	for _, id := range []string{"3", "0", "x", "da1_3"} {
		_, err = s.Investigation(ctx, a, id)
		fixture.WantCode(t, err, openatp.NotFound, "ResourceNotFound")
	}
	list, err := s.Investigations(ctx, a)
	fixture.NoErr(t, err)
	fixture.Diff(t, "investigations", []openatp.Investigation{first, second}, list)
	list, err = s.Investigations(ctx, b)
	fixture.NoErr(t, err)
	fixture.Diff(t, "tenant B's investigations", []openatp.Investigation{other}, list)
	_, err = s.Investigations(ctx, fixture.TenantID(99))
	fixture.WantKind(t, err, openatp.NotFound)

	fixture.NoErr(t, s.ResetTenant(ctx, a))
	list, err = s.Investigations(ctx, a)
	fixture.NoErr(t, err)
	if len(list) != 0 {
		t.Errorf("after reset: %d investigations", len(list))
	}
}
