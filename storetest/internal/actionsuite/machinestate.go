package actionsuite

import (
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/storetest/internal/fixture"
)

// MachineState checks the effects of succeeded actions on their
// machine's state: written with the success, none for a failure, a
// timeout or a cancel, per tenant, wiped by a reset.
func MachineState(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	b := fixture.MustTenant(t, s, 2, "B")
	fixture.MustMachines(t, s, a, 1, 2)
	fixture.MustMachines(t, s, b, 1)
	state := func(tenant string, n int) openatp.MachineState {
		t.Helper()
		st, err := s.MachineState(ctx, tenant, fixture.MachineID(n))
		fixture.NoErr(t, err)
		return st
	}
	fixture.Diff(t, "untouched state", openatp.MachineState{MachineID: fixture.MachineID(1)}, state(a, 1))
	_, err := s.MachineState(ctx, a, fixture.MachineID(9))
	fixture.WantCode(t, err, openatp.NotFound, "ResourceNotFound")
	_, err = s.MachineState(ctx, fixture.TenantID(7), fixture.MachineID(1))
	fixture.WantKind(t, err, openatp.NotFound)

	// run creates an action and moves it to its end: Succeeded, Failed,
	// TimeOut or Cancelled. It returns the action as stored.
	run := func(tenant string, x openatp.MachineAction, end string) openatp.MachineAction {
		t.Helper()
		x = mustCreateAction(t, s, tenant, x)
		steps := []string{openatp.ActionInProgress, end}
		if end == openatp.ActionCancelled {
			steps = []string{openatp.ActionInProgress}
		}
		for _, to := range steps {
			x, err = s.UpdateMachineAction(ctx, tenant, x.ID, func(y *openatp.MachineAction, _ time.Time) error { return y.Advance(to, 5) })
			fixture.NoErr(t, err)
		}
		if end == openatp.ActionCancelled {
			x, err = s.UpdateMachineAction(ctx, tenant, x.ID, func(y *openatp.MachineAction, stamp time.Time) error { return y.Cancel("u", "", stamp) })
			fixture.NoErr(t, err)
		}
		return x
	}
	isolate := newAction(t, openatp.ActionIsolate, 1, "app")
	isolate.Scope = openatp.Ptr("Selective")
	done := run(a, isolate, openatp.ActionSucceeded)
	want := openatp.MachineState{MachineID: fixture.MachineID(1), Isolated: true, IsolationType: openatp.Ptr("Selective"),
		LastActionID: &done.ID, Updated: &done.LastUpdateDateTimeUTC}
	fixture.Diff(t, "isolated", want, state(a, 1))
	fixture.Diff(t, "the other tenant's machine", openatp.MachineState{MachineID: fixture.MachineID(1)}, state(b, 1))
	fixture.Diff(t, "the other machine", openatp.MachineState{MachineID: fixture.MachineID(2)}, state(a, 2))

	// A failed, timed-out or cancelled action changes nothing; nor does a
	// scan.
	run(a, newAction(t, openatp.ActionUnisolate, 1, "app"), openatp.ActionFailed)
	run(a, newAction(t, openatp.ActionUnisolate, 1, "app"), openatp.ActionTimeOut)
	run(a, newAction(t, openatp.ActionUnisolate, 1, "app"), openatp.ActionCancelled)
	run(a, newAction(t, openatp.ActionRunAntiVirusScan, 1, "app"), openatp.ActionSucceeded)
	fixture.Diff(t, "isolated still", want, state(a, 1))

	// Restrict, unisolate, offboard: each changes its part only.
	r := run(a, newAction(t, openatp.ActionRestrictCodeExecution, 1, "app"), openatp.ActionSucceeded)
	want.Restricted, want.LastActionID, want.Updated = true, &r.ID, &r.LastUpdateDateTimeUTC
	fixture.Diff(t, "restricted", want, state(a, 1))
	u := run(a, newAction(t, openatp.ActionUnisolate, 1, "app"), openatp.ActionSucceeded)
	want.Isolated, want.IsolationType, want.LastActionID, want.Updated = false, nil, &u.ID, &u.LastUpdateDateTimeUTC
	fixture.Diff(t, "unisolated", want, state(a, 1))
	o := run(a, newAction(t, openatp.ActionOffboard, 1, "app"), openatp.ActionSucceeded)
	want.Offboarded, want.LastActionID, want.Updated = true, &o.ID, &o.LastUpdateDateTimeUTC
	fixture.Diff(t, "offboarded", want, state(a, 1))
	un := run(a, newAction(t, openatp.ActionUnrestrictCodeExecution, 1, "app"), openatp.ActionSucceeded)
	want.Restricted, want.LastActionID, want.Updated = false, &un.ID, &un.LastUpdateDateTimeUTC
	fixture.Diff(t, "unrestricted", want, state(a, 1))
	// An isolation without a scope is a full one.
	full := newAction(t, openatp.ActionIsolate, 2, "app")
	full.Scope = nil
	f := run(a, full, openatp.ActionSucceeded)
	fixture.Diff(t, "fully isolated", openatp.MachineState{MachineID: fixture.MachineID(2), Isolated: true, IsolationType: openatp.Ptr("Full"),
		LastActionID: &f.ID, Updated: &f.LastUpdateDateTimeUTC}, state(a, 2))

	// A reset wipes the tenant's states, not the other tenant's.
	run(b, newAction(t, openatp.ActionRestrictCodeExecution, 1, "app"), openatp.ActionSucceeded)
	fixture.NoErr(t, s.ResetTenant(ctx, a))
	fixture.MustMachines(t, s, a, 1)
	fixture.Diff(t, "after a reset", openatp.MachineState{MachineID: fixture.MachineID(1)}, state(a, 1))
	if !state(b, 1).Restricted {
		t.Errorf("the other tenant's machine lost its state in a reset")
	}
}
