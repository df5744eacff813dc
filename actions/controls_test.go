package actions_test

import (
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/actions"
)

func TestControlsOutcome(t *testing.T) {
	var c actions.Controls
	m1, m2 := "00000000000000000000000000000000000000a1", "00000000000000000000000000000000000000a2"
	a := &openatp.MachineAction{ID: openatp.NewGUID(), Type: openatp.ActionIsolate, MachineID: m1}
	other := &openatp.MachineAction{ID: openatp.NewGUID(), Type: openatp.ActionIsolate, MachineID: m1}
	check := func(what string, tenant string, x *openatp.MachineAction, want openatp.ActionOutcome) {
		t.Helper()
		if got := c.Outcome(tenant, x); got != want {
			t.Errorf("%s: outcome %+v, want %+v", what, got, want)
		}
	}
	check("nothing set", "t1", a, openatp.ActionOutcome{})
	c.SetUnreachable("t1", "00000000000000000000000000000000000000A1", true)
	check("unreachable", "t1", a, openatp.ActionOutcome{Unreachable: true})
	check("another tenant", "t2", a, openatp.ActionOutcome{})
	for _, f := range []actions.Failure{{Type: "isolate", HResult: 3}, {MachineID: m1, HResult: 2}, {ActionID: a.ID, HResult: 1}} {
		if _, err := c.AddFailure("t1", f); err != nil {
			t.Fatal(err)
		}
	}
	// The action's own failure, then its machine's, then its type's.
	check("own failure", "t1", a, openatp.ActionOutcome{Unreachable: true, FailHResult: 1})
	check("machine's failure", "t1", other, openatp.ActionOutcome{Unreachable: true, FailHResult: 2})
	check("type's failure", "t1", &openatp.MachineAction{ID: openatp.NewGUID(), Type: openatp.ActionIsolate, MachineID: m2},
		openatp.ActionOutcome{FailHResult: 3})
	check("another type", "t1", &openatp.MachineAction{ID: openatp.NewGUID(), Type: openatp.ActionOffboard, MachineID: m2}, openatp.ActionOutcome{})
	if got := c.Failures("t1"); len(got) != 3 || got[0].ActionID != a.ID || got[1].MachineID != m1 || got[2].Type != openatp.ActionIsolate {
		t.Errorf("failures %+v", got)
	}
	c.ClearFailures("t1")
	c.SetUnreachable("t1", m1, false)
	check("cleared", "t1", a, openatp.ActionOutcome{})
	if got := c.Unreachable("t1"); len(got) != 0 {
		t.Errorf("unreachable %v after clearing", got)
	}

	for _, f := range []actions.Failure{{HResult: 1}, {Type: "Isolate", MachineID: m1, HResult: 1}, {Type: "Reboot", HResult: 1},
		{Type: "Isolate"}, {ActionID: "nope", HResult: 1}, {MachineID: "m1", HResult: 1}} {
		if _, err := c.AddFailure("t1", f); !openatp.IsKind(err, openatp.Invalid) {
			t.Errorf("AddFailure(%+v): %v, want Invalid", f, err)
		}
	}
}

func TestControlsTimings(t *testing.T) {
	var c actions.Controls
	scan := &openatp.MachineAction{Type: openatp.ActionRunAntiVirusScan, Scope: openatp.Ptr("Full")}
	if got, want := c.Timing("t1", scan), openatp.DefaultActionTiming(scan.Type, scan.Scope); got != want {
		t.Errorf("default timing %+v, want %+v", got, want)
	}
	every := openatp.ActionTiming{TimeOut: time.Hour}
	c.Timings.Set("t1", "", every)
	c.Timings.Set("t2", openatp.ActionRunAntiVirusScan, openatp.ActionTiming{})
	if got := c.Timing("t1", scan); got != every {
		t.Errorf("tenant timing %+v, want %+v", got, every)
	}
	if got := c.Timings.TenantTimings("t1"); len(got) != 1 || got[""] != every {
		t.Errorf("TenantTimings %v", got)
	}
	c.Timings.ClearTenant("t1")
	if got, want := c.Timing("t1", scan), openatp.DefaultActionTiming(scan.Type, scan.Scope); got != want {
		t.Errorf("cleared timing %+v, want %+v", got, want)
	}
	if got := c.Timing("t2", scan); got != (openatp.ActionTiming{}) {
		t.Errorf("the other tenant's timing %+v, want zero", got)
	}
}
