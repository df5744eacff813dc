package storetest

import (
	"testing"
	"time"

	"github.com/openatp/openatp"
)

// testMachineState checks the effects of succeeded actions on their
// machine's state: written with the success, none for a failure, a
// timeout or a cancel, per tenant, wiped by a reset.
func testMachineState(t *testing.T, su *suite) {
	s := su.open(t)
	a := mustTenant(t, s, 1, "A")
	b := mustTenant(t, s, 2, "B")
	mustMachines(t, s, a, 1, 2)
	mustMachines(t, s, b, 1)
	state := func(tenant string, n int) openatp.MachineState {
		t.Helper()
		st, err := s.MachineState(ctx, tenant, machineID(n))
		noErr(t, err)
		return st
	}
	diff(t, "untouched state", openatp.MachineState{MachineID: machineID(1)}, state(a, 1))
	_, err := s.MachineState(ctx, a, machineID(9))
	wantCode(t, err, openatp.NotFound, "ResourceNotFound")
	_, err = s.MachineState(ctx, tenantID(7), machineID(1))
	wantKind(t, err, openatp.NotFound)

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
			noErr(t, err)
		}
		if end == openatp.ActionCancelled {
			x, err = s.UpdateMachineAction(ctx, tenant, x.ID, func(y *openatp.MachineAction, stamp time.Time) error { return y.Cancel("u", "", stamp) })
			noErr(t, err)
		}
		return x
	}
	isolate := newAction(t, openatp.ActionIsolate, 1, "app")
	isolate.Scope = openatp.Ptr("Selective")
	done := run(a, isolate, openatp.ActionSucceeded)
	want := openatp.MachineState{MachineID: machineID(1), Isolated: true, IsolationType: openatp.Ptr("Selective"),
		LastActionID: &done.ID, Updated: &done.LastUpdateDateTimeUTC}
	diff(t, "isolated", want, state(a, 1))
	diff(t, "the other tenant's machine", openatp.MachineState{MachineID: machineID(1)}, state(b, 1))
	diff(t, "the other machine", openatp.MachineState{MachineID: machineID(2)}, state(a, 2))

	// A failed, timed-out or cancelled action changes nothing; nor does a
	// scan.
	run(a, newAction(t, openatp.ActionUnisolate, 1, "app"), openatp.ActionFailed)
	run(a, newAction(t, openatp.ActionUnisolate, 1, "app"), openatp.ActionTimeOut)
	run(a, newAction(t, openatp.ActionUnisolate, 1, "app"), openatp.ActionCancelled)
	run(a, newAction(t, openatp.ActionRunAntiVirusScan, 1, "app"), openatp.ActionSucceeded)
	diff(t, "isolated still", want, state(a, 1))

	// Restrict, unisolate, offboard: each changes its part only.
	r := run(a, newAction(t, openatp.ActionRestrictCodeExecution, 1, "app"), openatp.ActionSucceeded)
	want.Restricted, want.LastActionID, want.Updated = true, &r.ID, &r.LastUpdateDateTimeUTC
	diff(t, "restricted", want, state(a, 1))
	u := run(a, newAction(t, openatp.ActionUnisolate, 1, "app"), openatp.ActionSucceeded)
	want.Isolated, want.IsolationType, want.LastActionID, want.Updated = false, nil, &u.ID, &u.LastUpdateDateTimeUTC
	diff(t, "unisolated", want, state(a, 1))
	o := run(a, newAction(t, openatp.ActionOffboard, 1, "app"), openatp.ActionSucceeded)
	want.Offboarded, want.LastActionID, want.Updated = true, &o.ID, &o.LastUpdateDateTimeUTC
	diff(t, "offboarded", want, state(a, 1))
	un := run(a, newAction(t, openatp.ActionUnrestrictCodeExecution, 1, "app"), openatp.ActionSucceeded)
	want.Restricted, want.LastActionID, want.Updated = false, &un.ID, &un.LastUpdateDateTimeUTC
	diff(t, "unrestricted", want, state(a, 1))
	// An isolation without a scope is a full one.
	full := newAction(t, openatp.ActionIsolate, 2, "app")
	full.Scope = nil
	f := run(a, full, openatp.ActionSucceeded)
	diff(t, "fully isolated", openatp.MachineState{MachineID: machineID(2), Isolated: true, IsolationType: openatp.Ptr("Full"),
		LastActionID: &f.ID, Updated: &f.LastUpdateDateTimeUTC}, state(a, 2))

	// A reset wipes the tenant's states, not the other tenant's.
	run(b, newAction(t, openatp.ActionRestrictCodeExecution, 1, "app"), openatp.ActionSucceeded)
	noErr(t, s.ResetTenant(ctx, a))
	mustMachines(t, s, a, 1)
	diff(t, "after a reset", openatp.MachineState{MachineID: machineID(1)}, state(a, 1))
	if !state(b, 1).Restricted {
		t.Errorf("the other tenant's machine lost its state in a reset")
	}
}
