package storetest

import (
	"testing"
	"time"

	"github.com/openatp/openatp"
)

// testInvestigations checks investigations: numbering per tenant, the
// machine's name, reads by id or triggering alert id, tenant isolation,
// reset.
func testInvestigations(t *testing.T, su *suite) {
	s := su.open(t)
	a := mustTenant(t, s, 1, "A")
	b := mustTenant(t, s, 2, "B")
	mustMachines(t, s, a, 1, 2)
	mustMachines(t, s, b, 1)
	before := time.Now().Add(-time.Minute)
	first, err := s.StartInvestigation(ctx, a, openatp.Investigation{MachineID: machineID(1), Requestor: "app-1", Comment: "look",
		State: "Benign", TriggeringAlertID: openatp.Ptr("da1_2")})
	noErr(t, err)
	if first.ID != "1" || first.State != "Running" || first.EndTime != nil || !first.StartTime.After(before) ||
		first.ComputerDNSName == nil || *first.ComputerDNSName != "host1.contoso.com" {
		t.Errorf("first investigation %+v", first)
	}
	second, err := s.StartInvestigation(ctx, a, openatp.Investigation{MachineID: machineID(2), Requestor: "app-1", Comment: "again"})
	noErr(t, err)
	other, err := s.StartInvestigation(ctx, b, openatp.Investigation{MachineID: machineID(1), Requestor: "app-2", Comment: "b"})
	noErr(t, err)
	if second.ID != "2" || other.ID != "1" {
		t.Errorf("ids %s %s, want 2 and 1 (numbered per tenant)", second.ID, other.ID)
	}
	_, err = s.StartInvestigation(ctx, a, openatp.Investigation{MachineID: machineID(9), Requestor: "app-1", Comment: "x"})
	wantCode(t, err, openatp.NotFound, "ResourceNotFound")
	_, err = s.StartInvestigation(ctx, a, openatp.Investigation{MachineID: "nope", Requestor: "app-1", Comment: "x"})
	wantKind(t, err, openatp.Invalid)

	got, err := s.Investigation(ctx, a, "1")
	noErr(t, err)
	diff(t, "investigation 1", first, got)
	got, err = s.Investigation(ctx, a, "da1_2")
	noErr(t, err)
	diff(t, "investigation by alert id", first, got)
	for _, id := range []string{"3", "0", "x", "da1_3"} {
		_, err = s.Investigation(ctx, a, id)
		wantCode(t, err, openatp.NotFound, "ResourceNotFound")
	}
	list, err := s.Investigations(ctx, a)
	noErr(t, err)
	diff(t, "investigations", []openatp.Investigation{first, second}, list)
	list, err = s.Investigations(ctx, b)
	noErr(t, err)
	diff(t, "tenant B's investigations", []openatp.Investigation{other}, list)
	_, err = s.Investigations(ctx, tenantID(99))
	wantKind(t, err, openatp.NotFound)

	noErr(t, s.ResetTenant(ctx, a))
	list, err = s.Investigations(ctx, a)
	noErr(t, err)
	if len(list) != 0 {
		t.Errorf("after reset: %d investigations", len(list))
	}
}
