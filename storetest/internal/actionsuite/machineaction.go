// Package actionsuite holds the conformance cases of the response actions:
// machine actions (MachineActionStore) and what a succeeded one changes on
// its machine, the live response library and investigations;
// storetest.Run runs them with the rest of the suite.
package actionsuite

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/actionrequest"
	"github.com/openatp/openatp/storetest/internal/fixture"
)

// newAction returns a new Pending action of type typ on machine n, asked
// by requestor.
func newAction(t *testing.T, typ string, n int, requestor string) openatp.MachineAction {
	t.Helper()
	r := actionrequest.Request{Type: typ, Comment: "because " + typ, ScanType: "Quick", Sha1: fmt.Sprintf("%040x", n)}
	a, err := r.Action(&openatp.Machine{ID: fixture.MachineID(n)}, requestor, openatp.ActionRequestSource)
	if err != nil {
		t.Fatalf("Action: %v", err)
	}
	return a
}

func mustCreateAction(t *testing.T, s openatp.Store, tenant string, a openatp.MachineAction) openatp.MachineAction {
	t.Helper()
	out, err := s.CreateMachineAction(ctx, tenant, a)
	if err != nil {
		t.Fatalf("CreateMachineAction(%s %s): %v", a.Type, a.MachineID, err)
	}
	return out
}

func ActionRoundTrip(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	fixture.MustMachines(t, s, a, 1)
	before := time.Now().Add(-time.Minute)
	in := newAction(t, openatp.ActionStopAndQuarantineFile, 1, "app-1")
	in.Title, in.ExternalID, in.TroubleshootInfo = openatp.Ptr("Stop and quarantine"), openatp.Ptr("ext-1"), openatp.Ptr("none")
	in.Commands = []openatp.ActionCommand{{Index: 0, CommandStatus: "Created", Command: openatp.LiveResponseCommand{Type: "RunScript",
		Params: []openatp.CommandParam{{Key: "ScriptName", Value: "a.ps1"}}}}}
	created := mustCreateAction(t, s, a, in)
	if !created.CreationDateTimeUTC.After(before) || !created.LastUpdateDateTimeUTC.Equal(created.CreationDateTimeUTC) {
		t.Errorf("stamps %v %v, want now and equal", created.CreationDateTimeUTC, created.LastUpdateDateTimeUTC)
	}
	want := in
	want.ComputerDNSName = openatp.Ptr("host1.contoso.com")
	want.CreationDateTimeUTC, want.LastUpdateDateTimeUTC = created.CreationDateTimeUTC, created.CreationDateTimeUTC
	want.Commands = []openatp.ActionCommand{in.Commands[0]}
	want.Commands[0].Errors = []string{}
	fixture.Diff(t, "created action", want, created)
	got, err := s.MachineAction(ctx, a, in.ID)
	fixture.NoErr(t, err)
	fixture.Diff(t, "stored action", want, got)

	fixture.WantCode(t, func() error { _, err := s.MachineAction(ctx, a, openatp.NewGUID()); return err }(), openatp.NotFound, "ResourceNotFound")
	_, err = s.CreateMachineAction(ctx, a, newAction(t, openatp.ActionIsolate, 9, "app-1"))
	fixture.WantCode(t, err, openatp.NotFound, "ResourceNotFound")
	dup := newAction(t, openatp.ActionIsolate, 1, "app-1")
	dup.ID = in.ID
	_, err = s.CreateMachineAction(ctx, a, dup)
	fixture.WantKind(t, err, openatp.Conflict)
	done := newAction(t, openatp.ActionIsolate, 1, "app-1")
	done.Status = openatp.ActionSucceeded
	_, err = s.CreateMachineAction(ctx, a, done)
	fixture.WantKind(t, err, openatp.Invalid)
	bad := newAction(t, openatp.ActionIsolate, 1, "app-1")
	bad.Type = "Reboot"
	_, err = s.CreateMachineAction(ctx, a, bad)
	fixture.WantKind(t, err, openatp.Invalid)
	_, err = s.CreateMachineAction(ctx, fixture.TenantID(7), newAction(t, openatp.ActionIsolate, 1, "app-1"))
	fixture.WantKind(t, err, openatp.NotFound)

	// Live actions of every tenant, with their tenant.
	b := fixture.MustTenant(t, s, 2, "B")
	fixture.MustMachines(t, s, b, 1)
	other := mustCreateAction(t, s, b, newAction(t, openatp.ActionIsolate, 1, "app-2"))
	var live []string
	fixture.NoErr(t, s.LiveMachineActions(ctx, func(tenant string, x openatp.MachineAction) error {
		live = append(live, tenant+" "+x.ID)
		return nil
	}))
	slices.Sort(live)
	wantLive := []string{a + " " + in.ID, b + " " + other.ID}
	slices.Sort(wantLive)
	fixture.Diff(t, "live actions", wantLive, live)
}

func ActionBusy(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	fixture.MustMachines(t, s, a, 1, 2)
	isolate := mustCreateAction(t, s, a, newAction(t, openatp.ActionIsolate, 1, "app"))
	for _, typ := range []string{openatp.ActionIsolate, openatp.ActionUnisolate} {
		_, err := s.CreateMachineAction(ctx, a, newAction(t, typ, 1, "app"))
		fixture.WantCode(t, err, openatp.Invalid, "ActiveRequestAlreadyExists")
	}
	// Other kinds, other machines are free.
	restrict := mustCreateAction(t, s, a, newAction(t, openatp.ActionRestrictCodeExecution, 1, "app"))
	mustCreateAction(t, s, a, newAction(t, openatp.ActionIsolate, 2, "app"))
	mustCreateAction(t, s, a, newAction(t, openatp.ActionRunAntiVirusScan, 1, "app"))
	_, err := s.CreateMachineAction(ctx, a, newAction(t, openatp.ActionUnrestrictCodeExecution, 1, "app"))
	fixture.WantCode(t, err, openatp.Invalid, "ActiveRequestAlreadyExists")
	// In progress still blocks; final no more.
	_, err = s.UpdateMachineAction(ctx, a, isolate.ID, func(x *openatp.MachineAction, _ time.Time) error { return x.Advance(openatp.ActionInProgress, 0) })
	fixture.NoErr(t, err)
	_, err = s.CreateMachineAction(ctx, a, newAction(t, openatp.ActionUnisolate, 1, "app"))
	fixture.WantCode(t, err, openatp.Invalid, "ActiveRequestAlreadyExists")
	_, err = s.UpdateMachineAction(ctx, a, isolate.ID, func(x *openatp.MachineAction, _ time.Time) error { return x.Advance(openatp.ActionSucceeded, 0) })
	fixture.NoErr(t, err)
	mustCreateAction(t, s, a, newAction(t, openatp.ActionUnisolate, 1, "app"))
	_, err = s.UpdateMachineAction(ctx, a, restrict.ID, func(x *openatp.MachineAction, stamp time.Time) error { return x.Cancel("u", "", stamp) })
	fixture.NoErr(t, err)
	mustCreateAction(t, s, a, newAction(t, openatp.ActionUnrestrictCodeExecution, 1, "app"))

	// Racing creates of one kind on one machine, half through a second
	// store when the engine allows: one wins, the others are busy.
	other := s
	if su.Reopen != nil {
		other = su.Reopen(t, s)
	}
	fixture.MustMachines(t, s, a, 3)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, busy := 0, 0
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := s
			if w%2 == 1 {
				st = other
			}
			_, err := st.CreateMachineAction(ctx, a, newAction(t, []string{openatp.ActionLiveResponse, openatp.ActionLiveResponse}[w%2], 3, "app"))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case openatp.IsKind(err, openatp.Invalid):
				busy++
			default:
				t.Errorf("racing create: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || busy != 7 {
		t.Errorf("racing creates: %d created, %d busy; want 1 and 7", won, busy)
	}
}

// ActionSessions checks the bound of openatp.MaxLiveResponseSessions
// live response sessions per tenant, taken in the create's transaction:
// racing creates, half through a second store when the engine allows,
// never take more; other tenants and other action types are not bound by
// it; a session that ends frees its place.
func ActionSessions(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	b := fixture.MustTenant(t, s, 2, "B")
	const n = openatp.MaxLiveResponseSessions + 6
	machines := make([]int, n+1)
	for i := range machines {
		machines[i] = i + 1
	}
	fixture.MustMachines(t, s, a, machines...)
	fixture.MustMachines(t, s, b, 1)
	other := s
	if su.Reopen != nil {
		other = su.Reopen(t, s)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []string
	refused := 0
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := s
			if w%2 == 1 {
				st = other
			}
			x, err := st.CreateMachineAction(ctx, a, newAction(t, openatp.ActionLiveResponse, w+1, "app"))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, x.ID)
			case openatp.IsKind(err, openatp.TooManyRequests):
				refused++
				fixture.WantCode(t, err, openatp.TooManyRequests, "TooManyRequests")
			default:
				t.Errorf("racing session: %v", err)
			}
		}()
	}
	wg.Wait()
	if len(won) != openatp.MaxLiveResponseSessions || refused != n-openatp.MaxLiveResponseSessions {
		t.Fatalf("racing sessions: %d created, %d refused; want %d and %d", len(won), refused, openatp.MaxLiveResponseSessions, n-openatp.MaxLiveResponseSessions)
	}
	// Another type on a machine of the tenant, and a session of another
	// tenant, are free.
	mustCreateAction(t, s, a, newAction(t, openatp.ActionIsolate, n+1, "app"))
	mustCreateAction(t, s, b, newAction(t, openatp.ActionLiveResponse, 1, "app"))
	_, err := s.CreateMachineAction(ctx, a, newAction(t, openatp.ActionLiveResponse, n+1, "app"))
	fixture.WantCode(t, err, openatp.TooManyRequests, "TooManyRequests")
	// A session that ends frees its place.
	_, err = s.UpdateMachineAction(ctx, a, won[0], func(x *openatp.MachineAction, stamp time.Time) error { return x.Cancel("u", "", stamp) })
	fixture.NoErr(t, err)
	mustCreateAction(t, s, a, newAction(t, openatp.ActionLiveResponse, n+1, "app"))
}

// ActionUpdateBatch checks UpdateMachineActions: the actions are taken
// in the order given, each stamped after the one before; a refused one
// (f's error, a missing id, a change f may not make) is left as it was
// and answered as UpdateMachineAction would answer it, while the others
// are written.
func ActionUpdateBatch(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	fixture.MustMachines(t, s, a, 1, 2, 3, 4)
	var xs []openatp.MachineAction
	for n := 1; n <= 4; n++ {
		xs = append(xs, mustCreateAction(t, s, a, newAction(t, openatp.ActionRunAntiVirusScan, n, "app")))
	}
	missing := openatp.NewGUID()
	refuse := fmt.Errorf("not this one")
	ids := []string{xs[2].ID, missing, xs[0].ID, xs[1].ID, xs[3].ID}
	var seen []string
	updated, refused, err := s.UpdateMachineActions(ctx, a, ids, func(x *openatp.MachineAction, _ time.Time) error {
		seen = append(seen, x.ID)
		switch x.ID {
		case xs[0].ID:
			return refuse
		case xs[3].ID:
			x.MachineID = fixture.MachineID(1) // not the lifecycle's to change
			return nil
		}
		return x.Advance(openatp.ActionInProgress, 0)
	})
	fixture.NoErr(t, err)
	if len(updated) != len(ids) || len(refused) != len(ids) {
		t.Fatalf("%d updated and %d refused for %d ids", len(updated), len(refused), len(ids))
	}
	// f sees the present actions in the order given (a rerun of the
	// transaction may show them again, in the same order).
	if want := []string{xs[2].ID, xs[0].ID, xs[1].ID, xs[3].ID}; !slices.Equal(seen[len(seen)-len(want):], want) {
		t.Errorf("f saw %v, want %v last", seen, want)
	}
	fixture.NoErr(t, refused[0])
	fixture.WantCode(t, refused[1], openatp.NotFound, "ResourceNotFound")
	if refused[2] != refuse {
		t.Errorf("refused[2] = %v, want f's error as it is", refused[2])
	}
	fixture.NoErr(t, refused[3])
	fixture.WantKind(t, refused[4], openatp.Invalid)
	if updated[0].Status != openatp.ActionInProgress || updated[3].Status != openatp.ActionInProgress {
		t.Errorf("updated: %s %s, want InProgress", updated[0].Status, updated[3].Status)
	}
	if !updated[3].LastUpdateDateTimeUTC.After(updated[0].LastUpdateDateTimeUTC) || !updated[0].LastUpdateDateTimeUTC.After(xs[3].LastUpdateDateTimeUTC) {
		t.Errorf("stamps %v then %v, want each after the one before and after the creations", updated[0].LastUpdateDateTimeUTC, updated[3].LastUpdateDateTimeUTC)
	}
	for i, want := range []openatp.MachineAction{xs[0], updated[3], updated[0], xs[3]} {
		got, err := s.MachineAction(ctx, a, want.ID)
		fixture.NoErr(t, err)
		fixture.Diff(t, fmt.Sprintf("stored action %d", i), want, got)
	}
	_, _, err = s.UpdateMachineActions(ctx, fixture.TenantID(7), ids, func(*openatp.MachineAction, time.Time) error { return nil })
	fixture.WantKind(t, err, openatp.NotFound)
}

func ActionCancel(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	fixture.MustMachines(t, s, a, 1)
	x := mustCreateAction(t, s, a, newAction(t, openatp.ActionRunAntiVirusScan, 1, "app"))
	var at time.Time
	cancelled, err := s.UpdateMachineAction(ctx, a, x.ID, func(y *openatp.MachineAction, stamp time.Time) error {
		at = stamp
		return y.Cancel("analyst@contoso.com", "wrong machine", stamp)
	})
	fixture.NoErr(t, err)
	want := x
	want.Status, want.CancellationRequestor, want.CancellationComment = openatp.ActionCancelled, openatp.Ptr("analyst@contoso.com"), openatp.Ptr("wrong machine")
	want.CancellationDateTimeUTC, want.LastUpdateDateTimeUTC = &at, at
	fixture.Diff(t, "cancelled action", want, cancelled)
	got, err := s.MachineAction(ctx, a, x.ID)
	fixture.NoErr(t, err)
	fixture.Diff(t, "stored cancelled action", want, got)
	if !at.After(x.LastUpdateDateTimeUTC) {
		t.Errorf("cancel stamped %v, not after creation %v", at, x.LastUpdateDateTimeUTC)
	}
	// A final action cannot be cancelled again, nor move on: nothing is written.
	_, err = s.UpdateMachineAction(ctx, a, x.ID, func(y *openatp.MachineAction, stamp time.Time) error { return y.Cancel("u", "", stamp) })
	fixture.WantCode(t, err, openatp.Invalid, "BadRequest")
	_, err = s.UpdateMachineAction(ctx, a, x.ID, func(y *openatp.MachineAction, _ time.Time) error { return y.Advance(openatp.ActionInProgress, 0) })
	fixture.WantKind(t, err, openatp.Conflict)
	got, err = s.MachineAction(ctx, a, x.ID)
	fixture.NoErr(t, err)
	fixture.Diff(t, "action after refused changes", want, got)
	// Only the lifecycle's properties may change.
	_, err = s.UpdateMachineAction(ctx, a, x.ID, func(y *openatp.MachineAction, _ time.Time) error { y.MachineID = fixture.MachineID(2); return nil })
	fixture.WantKind(t, err, openatp.Invalid)
	_, err = s.UpdateMachineAction(ctx, a, openatp.NewGUID(), func(*openatp.MachineAction, time.Time) error { return nil })
	fixture.WantCode(t, err, openatp.NotFound, "ResourceNotFound")
	// A failure keeps its HRESULT.
	y := mustCreateAction(t, s, a, newAction(t, openatp.ActionCollectInvestigationPackage, 1, "app"))
	for _, step := range []struct {
		to string
		hr int32
	}{{openatp.ActionInProgress, 0}, {openatp.ActionFailed, -2147024894}} {
		_, err := s.UpdateMachineAction(ctx, a, y.ID, func(z *openatp.MachineAction, _ time.Time) error { return z.Advance(step.to, step.hr) })
		fixture.NoErr(t, err)
	}
	got, err = s.MachineAction(ctx, a, y.ID)
	fixture.NoErr(t, err)
	if got.Status != openatp.ActionFailed || got.ErrorHResult != -2147024894 {
		t.Errorf("failed action: %+v", got)
	}
}

// ActionClock checks the action clock: every write stamps a time
// later than the tenant's stamps before it, in commit order, so that a
// poll on lastUpdateDateTimeUtc gt the greatest stamp seen misses nothing
// and sees nothing twice.
func ActionClock(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	b := fixture.MustTenant(t, s, 2, "B")
	fixture.MustMachines(t, s, a, 1, 2, 3, 4)
	fixture.MustMachines(t, s, b, 1)
	var ids []string
	for n := 1; n <= 4; n++ {
		ids = append(ids, mustCreateAction(t, s, a, newAction(t, openatp.ActionLiveResponse, n, "app")).ID)
	}
	other := s
	if su.Reopen != nil {
		other = su.Reopen(t, s)
	}
	var mu sync.Mutex
	var commits []time.Time // the stamps in the order f ran: under the clock's lock, the commit order
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := s
			if w%2 == 1 {
				st = other
			}
			for i := range 8 {
				_, err := st.UpdateMachineAction(ctx, a, ids[(w+i)%len(ids)], func(x *openatp.MachineAction, stamp time.Time) error {
					x.TroubleshootInfo = openatp.Ptr(fmt.Sprintf("writer %d, write %d", w, i))
					mu.Lock()
					commits = append(commits, stamp)
					mu.Unlock()
					return nil
				})
				if err != nil {
					t.Errorf("UpdateMachineAction: %v", err)
				}
			}
		}()
	}
	// A poller meanwhile: each poll asks for what changed after the
	// greatest stamp it has seen, and sees each stamp once.
	seen := map[time.Time]bool{}
	var last time.Time
	poll := func() {
		got, err := other.MachineActions(ctx, a, openatp.MachineActionFilter{Updated: openatp.TimeRange{After: &last}})
		fixture.NoErr(t, err)
		for _, x := range got {
			if seen[x.LastUpdateDateTimeUTC] {
				t.Errorf("poll saw stamp %v twice", x.LastUpdateDateTimeUTC)
			}
			seen[x.LastUpdateDateTimeUTC] = true
			if !x.LastUpdateDateTimeUTC.After(last) {
				t.Errorf("poll after %v returned %v, or out of order", last, x.LastUpdateDateTimeUTC)
			}
			last = x.LastUpdateDateTimeUTC
		}
	}
	stop := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			select {
			case <-stop:
				return
			default:
				poll()
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-polled
	poll()
	if len(commits) != 32 {
		t.Fatalf("%d commits, want 32", len(commits))
	}
	for i := 1; i < len(commits); i++ {
		if !commits[i].After(commits[i-1]) {
			t.Fatalf("stamp %d (%v) not after stamp %d (%v): stamps out of commit order", i, commits[i], i-1, commits[i-1])
		}
	}
	// Every final stamp was seen by the poller.
	all, err := s.MachineActions(ctx, a, openatp.MachineActionFilter{})
	fixture.NoErr(t, err)
	for _, x := range all {
		if !seen[x.LastUpdateDateTimeUTC] {
			t.Errorf("the poller missed action %s stamped %v", x.ID, x.LastUpdateDateTimeUTC)
		}
	}
	// Another tenant's clock is its own: its first stamp is not after
	// tenant A's last only because the clocks share the wall clock.
	x := mustCreateAction(t, s, b, newAction(t, openatp.ActionIsolate, 1, "app"))
	if x.LastUpdateDateTimeUTC.IsZero() {
		t.Error("tenant B's action not stamped")
	}
}

func ActionFilter(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	fixture.MustMachines(t, s, a, 1, 2)
	mk := func(typ string, n int, requestor string) openatp.MachineAction {
		return mustCreateAction(t, s, a, newAction(t, typ, n, requestor))
	}
	iso := mk(openatp.ActionIsolate, 1, "app")                                                            // 0
	scan := mk(openatp.ActionRunAntiVirusScan, 1, "u@contoso.com")                                        // 1
	iso2 := mk(openatp.ActionIsolate, 2, "app")                                                           // 2
	coll := mk(openatp.ActionCollectInvestigationPackage, 2, "app")                                       // 3
	iso, err := s.UpdateMachineAction(ctx, a, iso.ID, func(x *openatp.MachineAction, _ time.Time) error { // moves iso last
		return x.Advance(openatp.ActionInProgress, 0)
	})
	fixture.NoErr(t, err)
	ids := func(as []openatp.MachineAction) []string {
		var out []string
		for _, x := range as {
			out = append(out, x.ID)
		}
		return out
	}
	for _, c := range []struct {
		name string
		f    openatp.MachineActionFilter
		want []openatp.MachineAction
	}{
		{"all, by last update", openatp.MachineActionFilter{}, []openatp.MachineAction{scan, iso2, coll, iso}},
		{"by last update, descending", openatp.MachineActionFilter{Desc: true}, []openatp.MachineAction{iso, coll, iso2, scan}},
		{"by creation", openatp.MachineActionFilter{OrderBy: "creationDateTimeUtc"}, []openatp.MachineAction{iso, scan, iso2, coll}},
		{"by creation, descending, paged", openatp.MachineActionFilter{OrderBy: "creationDateTimeUtc", Desc: true, Skip: 1, Top: 2}, []openatp.MachineAction{iso2, scan}},
		{"status", openatp.MachineActionFilter{Statuses: []string{"InProgress"}}, []openatp.MachineAction{iso}},
		{"statuses", openatp.MachineActionFilter{Statuses: []string{"Pending", "Succeeded", "Failed"}}, []openatp.MachineAction{scan, iso2, coll}},
		{"type", openatp.MachineActionFilter{Types: []string{"Isolate"}}, []openatp.MachineAction{iso2, iso}},
		{"machine and type", openatp.MachineActionFilter{MachineIDs: []string{fixture.MachineID(2)}, Types: []string{"Isolate"}}, []openatp.MachineAction{iso2}},
		{"requestor", openatp.MachineActionFilter{Requestors: []string{"u@contoso.com"}}, []openatp.MachineAction{scan}},
		{"ids", openatp.MachineActionFilter{IDs: []string{coll.ID, iso.ID, openatp.NewGUID()}}, []openatp.MachineAction{coll, iso}},
		{"updated after", openatp.MachineActionFilter{Updated: openatp.TimeRange{After: &iso2.LastUpdateDateTimeUTC}}, []openatp.MachineAction{coll, iso}},
		{"updated from", openatp.MachineActionFilter{Updated: openatp.TimeRange{From: &iso2.LastUpdateDateTimeUTC}}, []openatp.MachineAction{iso2, coll, iso}},
		{"created before", openatp.MachineActionFilter{Created: openatp.TimeRange{Before: &iso2.CreationDateTimeUTC}}, []openatp.MachineAction{scan, iso}},
		{"created until", openatp.MachineActionFilter{Created: openatp.TimeRange{Until: &iso2.CreationDateTimeUTC}}, []openatp.MachineAction{scan, iso2, iso}},
		{"created between", openatp.MachineActionFilter{Created: openatp.TimeRange{After: &iso.CreationDateTimeUTC, Before: &coll.CreationDateTimeUTC}}, []openatp.MachineAction{scan, iso2}},
		{"none", openatp.MachineActionFilter{Types: []string{"Offboard"}}, nil},
	} {
		got, err := s.MachineActions(ctx, a, c.f)
		fixture.NoErr(t, err)
		if got == nil {
			t.Errorf("%s: nil list", c.name)
		}
		if d := cmp.Diff(ids(c.want), ids(got)); d != "" {
			t.Errorf("%s: (-want +got)\n%s", c.name, d)
		}
		f := c.f
		f.Skip, f.Top = 0, 0
		n, err := s.CountMachineActions(ctx, a, f)
		fixture.NoErr(t, err)
		if all, _ := s.MachineActions(ctx, a, f); n != len(all) {
			t.Errorf("%s: count %d, want %d", c.name, n, len(all))
		}
	}
	_, err = s.MachineActions(ctx, a, openatp.MachineActionFilter{OrderBy: "status"})
	fixture.WantKind(t, err, openatp.Invalid)
	_, err = s.MachineActions(ctx, fixture.TenantID(9), openatp.MachineActionFilter{})
	fixture.WantKind(t, err, openatp.NotFound)
}

func ActionTenantIsolation(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	b := fixture.MustTenant(t, s, 2, "B")
	fixture.MustMachines(t, s, a, 1)
	fixture.MustMachines(t, s, b, 1)
	x := mustCreateAction(t, s, a, newAction(t, openatp.ActionIsolate, 1, "app"))
	// B's machine of the same id is free of A's action.
	mustCreateAction(t, s, b, newAction(t, openatp.ActionIsolate, 1, "app"))
	_, err := s.MachineAction(ctx, b, x.ID)
	fixture.WantKind(t, err, openatp.NotFound)
	_, err = s.UpdateMachineAction(ctx, b, x.ID, func(y *openatp.MachineAction, stamp time.Time) error { return y.Cancel("u", "", stamp) })
	fixture.WantKind(t, err, openatp.NotFound)
	got, err := s.MachineActions(ctx, b, openatp.MachineActionFilter{IDs: []string{x.ID}})
	fixture.NoErr(t, err)
	if len(got) != 0 {
		t.Errorf("tenant B lists tenant A's action: %v", got)
	}
	// A reset deletes the tenant's actions, and only its.
	fixture.NoErr(t, s.ResetTenant(ctx, b))
	if n, err := s.CountMachineActions(ctx, b, openatp.MachineActionFilter{}); err != nil || n != 0 {
		t.Errorf("after reset, tenant B has %d actions (%v)", n, err)
	}
	if n, err := s.CountMachineActions(ctx, a, openatp.MachineActionFilter{}); err != nil || n != 1 {
		t.Errorf("after B's reset, tenant A has %d actions (%v), want 1", n, err)
	}
}

// ActionPut: PutMachineActions keeps actions as they are, times and
// final statuses included, replaces by id, refuses an unknown machine,
// and later writes stamp after the latest stamp it stored.
func ActionPut(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	fixture.MustMachines(t, s, a, 1)
	future := time.Now().Add(time.Hour).UTC().Round(openatp.TimePrecision)
	done := newAction(t, openatp.ActionIsolate, 1, "app")
	done.Status, done.CreationDateTimeUTC, done.LastUpdateDateTimeUTC = openatp.ActionSucceeded, fixture.T0, fixture.T0.Add(time.Minute)
	failed := newAction(t, openatp.ActionRunAntiVirusScan, 1, "app")
	failed.Status, failed.ErrorHResult, failed.CreationDateTimeUTC, failed.LastUpdateDateTimeUTC = openatp.ActionFailed, -2147024891, fixture.T0, future
	if err := s.PutMachineActions(ctx, a, []openatp.MachineAction{done, failed}); err != nil {
		t.Fatalf("PutMachineActions: %v", err)
	}
	got, err := s.MachineAction(ctx, a, done.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(done, got); diff != "" {
		t.Errorf("stored action differs (-put +got):\n%s", diff)
	}
	done.Status = openatp.ActionCancelled
	if err := s.PutMachineActions(ctx, a, []openatp.MachineAction{done}); err != nil {
		t.Fatalf("PutMachineActions again: %v", err)
	}
	if n, err := s.CountMachineActions(ctx, a, openatp.MachineActionFilter{}); err != nil || n != 2 {
		t.Errorf("CountMachineActions = %d, %v; want 2 (replaced by id)", n, err)
	}
	if got, _ := s.MachineAction(ctx, a, done.ID); got.Status != openatp.ActionCancelled {
		t.Errorf("status = %s, want Cancelled", got.Status)
	}
	stray := newAction(t, openatp.ActionIsolate, 2, "app")
	stray.CreationDateTimeUTC, stray.LastUpdateDateTimeUTC = fixture.T0, fixture.T0
	if err := s.PutMachineActions(ctx, a, []openatp.MachineAction{stray}); !openatp.IsKind(err, openatp.NotFound) {
		t.Errorf("PutMachineActions on an unknown machine = %v, want NotFound", err)
	}
	if err := s.PutMachineActions(ctx, a, []openatp.MachineAction{newAction(t, openatp.ActionIsolate, 1, "app")}); !openatp.IsKind(err, openatp.Invalid) {
		t.Errorf("PutMachineActions without times = %v, want Invalid", err)
	}
	live := mustCreateAction(t, s, a, newAction(t, openatp.ActionIsolate, 1, "app"))
	if !live.LastUpdateDateTimeUTC.After(future) {
		t.Errorf("a new action stamped %v, not after the stored %v", live.LastUpdateDateTimeUTC, future)
	}
}

// ActionEpoch: MachineActionEpoch stays the same across creates and
// updates (which stamp after every stamp before them) and changes with
// PutMachineActions, a reset, and the tenant deleted and created again;
// NotFound for a tenant that does not exist.
func ActionEpoch(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	fixture.MustMachines(t, s, a, 1)
	epoch := func() openatp.ActionEpoch {
		t.Helper()
		e, err := s.MachineActionEpoch(ctx, a)
		if err != nil {
			t.Fatalf("MachineActionEpoch: %v", err)
		}
		return e
	}
	e0 := epoch()
	x := mustCreateAction(t, s, a, newAction(t, openatp.ActionIsolate, 1, "app"))
	if _, err := s.UpdateMachineAction(ctx, a, x.ID, func(x *openatp.MachineAction, _ time.Time) error { return x.Advance(openatp.ActionInProgress, 0) }); err != nil {
		t.Fatal(err)
	}
	if e := epoch(); e != e0 {
		t.Errorf("epoch after a create and an update = %+v, want %+v", e, e0)
	}
	old := newAction(t, openatp.ActionRunAntiVirusScan, 1, "app")
	old.Status, old.CreationDateTimeUTC, old.LastUpdateDateTimeUTC = openatp.ActionSucceeded, fixture.T0, fixture.T0
	if err := s.PutMachineActions(ctx, a, []openatp.MachineAction{old}); err != nil {
		t.Fatal(err)
	}
	e1 := epoch()
	if e1 == e0 {
		t.Errorf("epoch after PutMachineActions = %+v, unchanged", e1)
	}
	if err := s.ResetTenant(ctx, a); err != nil {
		t.Fatal(err)
	}
	if e := epoch(); e == e1 {
		t.Errorf("epoch after ResetTenant = %+v, unchanged", e)
	}
	if _, err := s.MachineActionEpoch(ctx, fixture.TenantID(9)); !openatp.IsKind(err, openatp.NotFound) {
		t.Errorf("MachineActionEpoch of no tenant = %v, want NotFound", err)
	}
}
