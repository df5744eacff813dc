package openatp_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
)

func TestActionBusy(t *testing.T) {
	m1, m2 := strings.Repeat("1", 40), strings.Repeat("2", 40)
	act := func(id, typ, status, machine string) openatp.MachineAction {
		return openatp.MachineAction{ID: id, Type: typ, Status: status, MachineID: machine}
	}
	for _, c := range []struct {
		name string
		live openatp.MachineAction
		new  openatp.MachineAction
		busy bool
	}{
		{"isolate after pending isolate", act("a", "Isolate", "Pending", m1), act("b", "Isolate", "Pending", m1), true},
		{"unisolate after isolate in progress", act("a", "Isolate", "InProgress", m1), act("b", "Unisolate", "Pending", m1), true},
		{"unrestrict after restrict", act("a", "RestrictCodeExecution", "Pending", m1), act("b", "UnrestrictCodeExecution", "Pending", m1), true},
		{"second live response", act("a", "LiveResponse", "InProgress", m1), act("b", "LiveResponse", "Pending", m1), true},
		{"second scan", act("a", "RunAntiVirusScan", "Pending", m1), act("b", "RunAntiVirusScan", "Pending", m1), true},
		{"isolate after succeeded isolate", act("a", "Isolate", "Succeeded", m1), act("b", "Unisolate", "Pending", m1), false},
		{"isolate after cancelled isolate", act("a", "Isolate", "Cancelled", m1), act("b", "Isolate", "Pending", m1), false},
		{"other machine", act("a", "Isolate", "Pending", m1), act("b", "Isolate", "Pending", m2), false},
		{"other kind", act("a", "Isolate", "Pending", m1), act("b", "RestrictCodeExecution", "Pending", m1), false},
		{"scan beside isolation", act("a", "Isolate", "Pending", m1), act("b", "RunAntiVirusScan", "Pending", m1), false},
		{"itself", act("a", "Isolate", "Pending", m1), act("a", "Isolate", "Pending", m1), false},
	} {
		err := openatp.BusyError(&c.new, []openatp.MachineAction{c.live})
		if busy := err != nil; busy != c.busy {
			t.Errorf("%s: busy %v, want %v", c.name, busy, c.busy)
		}
		var e *openatp.Error
		if err != nil && (!errors.As(err, &e) || e.Kind != openatp.Invalid || e.Code != "ActiveRequestAlreadyExists" || e.Message != "Action is already in progress") {
			t.Errorf("%s: error %#v", c.name, err)
		}
	}
}

func TestActionLifecycle(t *testing.T) {
	created := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	timing := openatp.ActionTiming{Pending: time.Second, InProgress: time.Minute, TimeOut: time.Hour}
	a := openatp.MachineAction{ID: "x", Status: "Pending", CreationDateTimeUTC: created, LastUpdateDateTimeUTC: created}

	step, ok := a.NextStep(timing, openatp.ActionOutcome{})
	if !ok || step != (openatp.ActionStep{Status: "InProgress", Due: created.Add(time.Second)}) {
		t.Fatalf("pending: %v %v", step, ok)
	}
	if step, _ := a.NextStep(timing, openatp.ActionOutcome{Unreachable: true}); step != (openatp.ActionStep{Status: "TimeOut", Due: created.Add(time.Hour)}) {
		t.Errorf("pending, unreachable: %v", step)
	}
	if err := a.Advance("Succeeded", 0); !openatp.IsKind(err, openatp.Conflict) || a.Status != "Pending" {
		t.Errorf("Pending → Succeeded: %v, status %s", err, a.Status)
	}
	if err := a.Advance("InProgress", 0); err != nil {
		t.Fatal(err)
	}
	started := created.Add(2 * time.Second)
	a.LastUpdateDateTimeUTC = started
	if step, _ := a.NextStep(timing, openatp.ActionOutcome{}); step != (openatp.ActionStep{Status: "Succeeded", Due: started.Add(time.Minute)}) {
		t.Errorf("in progress: %v", step)
	}
	if step, _ := a.NextStep(timing, openatp.ActionOutcome{FailHResult: -2147024891}); step != (openatp.ActionStep{Status: "Failed", Due: started.Add(time.Minute)}) {
		t.Errorf("in progress, failing: %v", step)
	}
	if err := a.Advance("Failed", 0); !openatp.IsKind(err, openatp.Conflict) {
		t.Errorf("Failed without an HRESULT: %v", err)
	}
	b := a
	if err := b.Advance("Failed", -2147024891); err != nil || b.Status != "Failed" || b.ErrorHResult != -2147024891 {
		t.Errorf("Failed: %v %+v", err, b)
	}
	if err := a.Advance("Succeeded", 0); err != nil || a.Status != "Succeeded" || a.ErrorHResult != 0 {
		t.Errorf("Succeeded: %v %+v", err, a)
	}
	if _, ok := a.NextStep(timing, openatp.ActionOutcome{}); ok {
		t.Error("a final action has a next step")
	}
	for _, to := range []string{"InProgress", "Succeeded", "Failed", "TimeOut", "Cancelled", "Pending"} {
		if err := a.Advance(to, 1); !openatp.IsKind(err, openatp.Conflict) {
			t.Errorf("Succeeded → %s: %v", to, err)
		}
	}
	// Zero durations: every step is due at once.
	z := openatp.MachineAction{Status: "Pending", CreationDateTimeUTC: created}
	if step, _ := z.NextStep(openatp.ActionTiming{}, openatp.ActionOutcome{}); !step.Due.Equal(created) {
		t.Errorf("zero timing: due %v", step.Due)
	}
}

func TestActionCancel(t *testing.T) {
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for _, s := range []string{"Pending", "InProgress"} {
		a := openatp.MachineAction{ID: "x", Status: s}
		if err := a.Cancel("u@contoso.com", "stop", at); err != nil {
			t.Fatalf("cancel %s: %v", s, err)
		}
		if a.Status != "Cancelled" || *a.CancellationRequestor != "u@contoso.com" || *a.CancellationComment != "stop" || !a.CancellationDateTimeUTC.Equal(at) {
			t.Errorf("cancelled %s: %+v", s, a)
		}
	}
	a := openatp.MachineAction{ID: "x", Status: "Pending"}
	if err := a.Cancel("app", "", at); err != nil || a.CancellationComment != nil {
		t.Errorf("cancel without a comment: %v, %+v", err, a)
	}
	for _, s := range []string{"Succeeded", "Failed", "TimeOut", "Cancelled"} {
		a := openatp.MachineAction{ID: "x", Status: s}
		err := a.Cancel("u", "c", at)
		var e *openatp.Error
		if !errors.As(err, &e) || e.Kind != openatp.Invalid || e.Code != "BadRequest" || a.Status != s || a.CancellationRequestor != nil {
			t.Errorf("cancel %s: %v, %+v", s, err, a)
		}
	}
}

func TestMachineActionNormalize(t *testing.T) {
	good := func() openatp.MachineAction {
		return openatp.MachineAction{ID: openatp.NewGUID(), Type: "Isolate", Status: "Pending", MachineID: strings.Repeat("A", 40),
			CreationDateTimeUTC: time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("x", 3600))}
	}
	a := good()
	if err := a.Normalize(); err != nil {
		t.Fatal(err)
	}
	if a.MachineID != strings.Repeat("a", 40) || a.Commands == nil || a.CreationDateTimeUTC.Format(time.RFC3339Nano) != "2026-01-02T02:04:05.1234568Z" {
		t.Errorf("normalized %+v", a)
	}
	for _, c := range []struct {
		field string
		edit  func(a *openatp.MachineAction)
	}{
		{"id", func(a *openatp.MachineAction) { a.ID = "1" }},
		{"type", func(a *openatp.MachineAction) { a.Type = "isolate" }},
		{"status", func(a *openatp.MachineAction) { a.Status = "Canceled" }},
		{"machineId", func(a *openatp.MachineAction) { a.MachineID = "x" }},
		{"requestorComment", func(a *openatp.MachineAction) { a.RequestorComment = "\xff" }},
	} {
		a := good()
		c.edit(&a)
		var fe *openatp.FieldError
		if err := a.Normalize(); !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: %v", c.field, err)
		}
	}
	b := good()
	c := b
	c.Status = "Cancelled"
	if err := openatp.CheckActionUpdate(&b, &c); err != nil {
		t.Errorf("status change refused: %v", err)
	}
	c.MachineID = strings.Repeat("b", 40)
	if err := openatp.CheckActionUpdate(&b, &c); !openatp.IsKind(err, openatp.Invalid) {
		t.Errorf("machine change allowed: %v", err)
	}
}
