package demo_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/demo"
)

// TestGenerateActions: a history of every type in every final status,
// created in order over the 30 days before Start and updated before it,
// on emitted machines, normalized, and the same for the same options.
func TestGenerateActions(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	o := demo.Options{Seed: 7, Machines: 50, Users: 20, Start: start}
	machines := map[string]string{}
	if err := demo.Generate(o, demo.Funcs{OnMachine: func(m openatp.Machine) error { machines[m.ID] = *m.ComputerDNSName; return nil }}); err != nil {
		t.Fatal(err)
	}
	gen := func() []openatp.MachineAction {
		var as []openatp.MachineAction
		if err := demo.GenerateActions(o, 64, func(a openatp.MachineAction) error { as = append(as, a); return nil }); err != nil {
			t.Fatal(err)
		}
		return as
	}
	as := gen()
	if len(as) != 64 {
		t.Fatalf("%d actions, want 64", len(as))
	}
	if !reflect.DeepEqual(as, gen()) {
		t.Error("two runs with the same options differ")
	}
	seen := map[[2]string]bool{}
	ids := map[string]bool{}
	for i, a := range as {
		c := a
		if err := c.Normalize(); err != nil || !reflect.DeepEqual(c, a) {
			t.Errorf("action %d does not normalize unchanged: %v", i, err)
		}
		if !a.Final() {
			t.Errorf("action %d is %s, not final", i, a.Status)
		}
		if ids[a.ID] {
			t.Errorf("action %d: id %s twice", i, a.ID)
		}
		ids[a.ID] = true
		name, ok := machines[a.MachineID]
		if !ok || a.ComputerDNSName == nil || *a.ComputerDNSName != name {
			t.Errorf("action %d is on %s (%v), not an emitted machine", i, a.MachineID, a.ComputerDNSName)
		}
		if a.CreationDateTimeUTC.Before(start.Add(-30*24*time.Hour)) || !a.LastUpdateDateTimeUTC.Before(start) ||
			a.LastUpdateDateTimeUTC.Before(a.CreationDateTimeUTC) {
			t.Errorf("action %d: created %v, updated %v; want within the 30 days before %v", i, a.CreationDateTimeUTC, a.LastUpdateDateTimeUTC, start)
		}
		if i > 0 && a.CreationDateTimeUTC.Before(as[i-1].CreationDateTimeUTC) {
			t.Errorf("action %d created before action %d", i, i-1)
		}
		if (a.Status == openatp.ActionFailed) != (a.ErrorHResult != 0) {
			t.Errorf("action %d: %s with errorHResult %d", i, a.Status, a.ErrorHResult)
		}
		if (a.Status == openatp.ActionCancelled) != (a.CancellationDateTimeUTC != nil) {
			t.Errorf("action %d: %s with cancellation time %v", i, a.Status, a.CancellationDateTimeUTC)
		}
		seen[[2]string{a.Type, a.Status}] = true
	}
	for _, typ := range demo.HistoryTypes {
		for _, s := range []string{openatp.ActionSucceeded, openatp.ActionFailed, openatp.ActionCancelled, openatp.ActionTimeOut} {
			if !seen[[2]string{typ, s}] && !(typ == openatp.ActionOffboard && s == openatp.ActionSucceeded) {
				t.Errorf("no %s action ends %s", typ, s)
			}
		}
	}
	if slices.Contains(demo.HistoryTypes, openatp.ActionLiveResponse) {
		t.Error("live response is not served: no history of it")
	}
}

// TestDocAction: the documented example, normalized, on its machine.
func TestDocAction(t *testing.T) {
	m, a := demo.DocAction()
	cm, ca := m, a
	if err := cm.Normalize(); err != nil || !reflect.DeepEqual(cm, m) {
		t.Errorf("the machine does not normalize unchanged: %v", err)
	}
	if err := ca.Normalize(); err != nil || !reflect.DeepEqual(ca, a) {
		t.Errorf("the action does not normalize unchanged: %v", err)
	}
	if a.MachineID != m.ID || a.ID != "5382f7ea-7557-4ab7-9782-d50480024a4e" || a.Status != openatp.ActionSucceeded {
		t.Errorf("DocAction = %+v", a)
	}
}
