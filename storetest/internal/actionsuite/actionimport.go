package actionsuite

import (
	"errors"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/storetest/internal/fixture"
)

// done returns a final action of type typ on machine n, created at c
// and last updated at u.
func done(t *testing.T, typ, status string, n int, c, u time.Time) openatp.MachineAction {
	t.Helper()
	a := newAction(t, typ, n, "app")
	a.Status, a.CreationDateTimeUTC, a.LastUpdateDateTimeUTC = status, c, u
	if status == openatp.ActionFailed {
		a.ErrorHResult = -2147024891
	}
	return a
}

// wantItemField checks that err is Invalid, about item i and field.
func wantItemField(t *testing.T, err error, i int, field string) {
	t.Helper()
	fixture.WantKind(t, err, openatp.Invalid)
	var fe *openatp.FieldError
	if n, ok := openatp.ItemIndex(err); !ok || n != i || !errors.As(err, &fe) || fe.Field != field {
		t.Errorf("error %v: want item %d, field %s", err, i, field)
	}
}

// ActionImport: ImportMachineActions keeps the given times of actions
// later than every stamp of the tenant, stamps the others after them in
// the order of their times, leaves an unchanged action alone, replaces a
// changed one as the lifecycle would, and writes nothing of a batch with
// a bad action.
func ActionImport(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	fixture.MustMachines(t, s, a, 1, 2)
	count := func() int {
		t.Helper()
		n, err := s.CountMachineActions(ctx, a, openatp.MachineActionFilter{})
		fixture.NoErr(t, err)
		return n
	}

	// Into a tenant without actions: kept as given, in any order given.
	scan := done(t, openatp.ActionRunAntiVirusScan, openatp.ActionSucceeded, 1, fixture.At(0), fixture.At(1))
	failed := done(t, openatp.ActionCollectInvestigationPackage, openatp.ActionFailed, 2, fixture.At(0), fixture.At(2))
	iso := done(t, openatp.ActionIsolate, openatp.ActionSucceeded, 2, fixture.At(1), fixture.At(3))
	in := []openatp.MachineAction{iso, scan, failed}
	got, err := s.ImportMachineActions(ctx, a, in)
	fixture.NoErr(t, err)
	fixture.Diff(t, "imported actions", in, got)
	list, err := s.MachineActions(ctx, a, openatp.MachineActionFilter{})
	fixture.NoErr(t, err)
	fixture.Diff(t, "stored actions, by update", []openatp.MachineAction{scan, failed, iso}, list)
	st, err := s.MachineState(ctx, a, fixture.MachineID(2))
	fixture.NoErr(t, err)
	if !st.Isolated || st.LastActionID == nil || *st.LastActionID != iso.ID {
		t.Errorf("machine 2's state %+v: want isolated by %s", st, iso.ID)
	}

	// Again: nothing changes, no stamp moves.
	got, err = s.ImportMachineActions(ctx, a, in)
	fixture.NoErr(t, err)
	fixture.Diff(t, "imported again", in, got)
	again, err := s.MachineActions(ctx, a, openatp.MachineActionFilter{})
	fixture.NoErr(t, err)
	fixture.Diff(t, "stored after importing again", list, again)

	// Times not after the tenant's latest stamp are stamped after it, in
	// their order; a future one is stamped no later than now.
	live := mustCreateAction(t, s, a, newAction(t, openatp.ActionRunAntiVirusScan, 1, "app"))
	old1 := done(t, openatp.ActionUnisolate, openatp.ActionSucceeded, 2, fixture.At(0), fixture.At(5))
	old0 := done(t, openatp.ActionOffboard, openatp.ActionCancelled, 1, fixture.At(0), fixture.At(4))
	old0.CancellationRequestor, old0.CancellationDateTimeUTC = openatp.Ptr("u@contoso.com"), openatp.Ptr(fixture.At(4))
	future := done(t, openatp.ActionRestrictCodeExecution, openatp.ActionTimeOut, 1, fixture.At(0), time.Now().Add(time.Hour))
	got, err = s.ImportMachineActions(ctx, a, []openatp.MachineAction{old1, future, old0})
	fixture.NoErr(t, err)
	after := time.Now()
	if len(got) != 3 || !got[2].LastUpdateDateTimeUTC.After(live.LastUpdateDateTimeUTC) ||
		!got[0].LastUpdateDateTimeUTC.After(got[2].LastUpdateDateTimeUTC) || !got[1].LastUpdateDateTimeUTC.After(got[0].LastUpdateDateTimeUTC) ||
		got[1].LastUpdateDateTimeUTC.After(after) {
		t.Fatalf("stamps %v, want after %v in the order of the given times, and not after now", got, live.LastUpdateDateTimeUTC)
	}
	if !got[0].CreationDateTimeUTC.Equal(fixture.At(0)) || !got[2].CancellationDateTimeUTC.Equal(fixture.At(4)) {
		t.Errorf("creation %v, cancellation %v: want kept", got[0].CreationDateTimeUTC, got[2].CancellationDateTimeUTC)
	}
	polled, err := s.MachineActions(ctx, a, openatp.MachineActionFilter{Updated: openatp.TimeRange{After: &live.LastUpdateDateTimeUTC}})
	fixture.NoErr(t, err)
	fixture.Diff(t, "a poll after the live action's stamp", []openatp.MachineAction{got[2], got[0], got[1]}, polled)
	if next := mustCreateAction(t, s, a, newAction(t, openatp.ActionIsolate, 1, "app")); !next.LastUpdateDateTimeUTC.After(got[1].LastUpdateDateTimeUTC) {
		t.Errorf("a later action stamped %v, not after the import's %v", next.LastUpdateDateTimeUTC, got[1].LastUpdateDateTimeUTC)
	}
	if st, _ := s.MachineState(ctx, a, fixture.MachineID(2)); st.Isolated {
		t.Errorf("machine 2 is still isolated after an imported Unisolate")
	}

	// A live action replaced by its outcome: stamped, its effect applied.
	pending := live
	pending.Status = openatp.ActionSucceeded
	got, err = s.ImportMachineActions(ctx, a, []openatp.MachineAction{pending})
	fixture.NoErr(t, err)
	if got[0].Status != openatp.ActionSucceeded || !got[0].LastUpdateDateTimeUTC.After(live.LastUpdateDateTimeUTC) {
		t.Errorf("replaced action %+v", got[0])
	}

	// A bad action fails the whole batch.
	n := count()
	ok := done(t, openatp.ActionRunAntiVirusScan, openatp.ActionSucceeded, 1, fixture.At(0), fixture.At(1))
	other := scan
	other.Type = openatp.ActionOffboard
	stray := done(t, openatp.ActionRunAntiVirusScan, openatp.ActionSucceeded, 3, fixture.At(0), fixture.At(1))
	noTime := ok
	noTime.ID, noTime.CreationDateTimeUTC = openatp.NewGUID(), time.Time{}
	late := ok
	late.ID, late.CreationDateTimeUTC = openatp.NewGUID(), fixture.At(2)
	busy1 := newAction(t, openatp.ActionIsolate, 2, "app")
	busy1.CreationDateTimeUTC, busy1.LastUpdateDateTimeUTC = fixture.At(0), fixture.At(0)
	busy2 := newAction(t, openatp.ActionUnisolate, 2, "app")
	busy2.CreationDateTimeUTC, busy2.LastUpdateDateTimeUTC = fixture.At(0), fixture.At(0)
	busyStored := newAction(t, openatp.ActionIsolate, 1, "app") // an Isolate of machine 1 is live
	busyStored.CreationDateTimeUTC, busyStored.LastUpdateDateTimeUTC = fixture.At(0), fixture.At(0)
	for _, c := range []struct {
		name  string
		as    []openatp.MachineAction
		field string
	}{
		{"changed type", []openatp.MachineAction{ok, other}, "id"},
		{"unknown machine", []openatp.MachineAction{ok, stray}, "machineId"},
		{"repeated id", []openatp.MachineAction{ok, ok}, "id"},
		{"no creation time", []openatp.MachineAction{ok, noTime}, "creationDateTimeUtc"},
		{"created after its update", []openatp.MachineAction{ok, late}, "creationDateTimeUtc"},
		{"busy in the batch", []openatp.MachineAction{busy1, busy2}, "status"},
		{"busy in the store", []openatp.MachineAction{ok, busyStored}, "status"},
	} {
		_, err := s.ImportMachineActions(ctx, a, c.as)
		t.Run(c.name, func(t *testing.T) { wantItemField(t, err, 1, c.field) })
	}
	if m := count(); m != n {
		t.Errorf("%d actions after failed imports, want %d", m, n)
	}
	if _, err := s.MachineAction(ctx, a, ok.ID); !openatp.IsKind(err, openatp.NotFound) {
		t.Errorf("an action of a failed import was stored: %v", err)
	}
	_, err = s.ImportMachineActions(ctx, fixture.TenantID(9), []openatp.MachineAction{ok})
	fixture.WantKind(t, err, openatp.NotFound)

	// More actions than one read names: each found again, nothing
	// changes on a second import.
	d := fixture.MustTenant(t, s, 3, "D")
	fixture.MustMachines(t, s, d, 1, 2)
	many := make([]openatp.MachineAction, 1100)
	for i := range many {
		many[i] = done(t, openatp.ActionRunAntiVirusScan, openatp.ActionSucceeded, 1+i%2, fixture.T0, fixture.T0.Add(time.Duration(i+1)*time.Second))
	}
	_, err = s.ImportMachineActions(ctx, d, many)
	fixture.NoErr(t, err)
	first, err := s.MachineActions(ctx, d, openatp.MachineActionFilter{})
	fixture.NoErr(t, err)
	_, err = s.ImportMachineActions(ctx, d, many)
	fixture.NoErr(t, err)
	second, err := s.MachineActions(ctx, d, openatp.MachineActionFilter{})
	fixture.NoErr(t, err)
	fixture.Diff(t, "1,100 actions imported again", first, second)
	fixture.Diff(t, "1,100 actions imported", many, first)

	// A live action is stored live, for the lifecycle to resume.
	b := fixture.MustTenant(t, s, 2, "B")
	fixture.MustMachines(t, s, b, 1)
	progress := newAction(t, openatp.ActionRunAntiVirusScan, 1, "app")
	progress.Status, progress.CreationDateTimeUTC, progress.LastUpdateDateTimeUTC = openatp.ActionInProgress, fixture.At(0), fixture.At(1)
	_, err = s.ImportMachineActions(ctx, b, []openatp.MachineAction{progress})
	fixture.NoErr(t, err)
	var resumed []openatp.MachineAction
	fixture.NoErr(t, s.LiveMachineActions(ctx, func(tenantID string, x openatp.MachineAction) error {
		if tenantID == b {
			resumed = append(resumed, x)
		}
		return nil
	}))
	fixture.Diff(t, "live actions of B", []openatp.MachineAction{progress}, resumed)
}
