package actions_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/actions"
	"github.com/openatp/openatp/internal/actionrequest"
	"github.com/openatp/openatp/sqlite"
)

var ctx = context.Background()

// fakeTime is a Time that moves only when the test advances it.
type fakeTime struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

func newFakeTime() *fakeTime {
	return &fakeTime{now: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
}

func (f *fakeTime) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeTime) NewTimer(d time.Duration) actions.Timer {
	t := &fakeTimer{f: f, c: make(chan time.Time, 1)}
	f.mu.Lock()
	f.timers = append(f.timers, t)
	f.mu.Unlock()
	t.Reset(d)
	return t
}

// Advance moves the time on by d and fires the timers that fell due.
func (f *fakeTime) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	for _, t := range f.timers {
		if t.active && !t.when.After(f.now) {
			t.active = false
			t.c <- f.now
		}
	}
}

// armed returns the number of timers that are running.
func (f *fakeTime) armed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, t := range f.timers {
		if t.active {
			n++
		}
	}
	return n
}

type fakeTimer struct {
	f      *fakeTime
	c      chan time.Time
	when   time.Time
	active bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.active
	t.active = false
	select {
	case <-t.c:
	default:
	}
	return was
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.active
	select {
	case <-t.c:
	default:
	}
	t.when = t.f.now.Add(d)
	if d <= 0 {
		t.active = false
		t.c <- t.f.now
	} else {
		t.active = true
	}
	return was
}

// env is a store on a fake time with one tenant and machines 1 to 3.
type env struct {
	path   string
	store  *sqlite.DB
	time   *fakeTime
	tenant string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{path: filepath.Join(t.TempDir(), "openatp.db"), time: newFakeTime(), tenant: "00000001-0000-4000-8000-000000000000"}
	e.store = e.open(t)
	if err := e.store.CreateTenant(ctx, openatp.Tenant{ID: e.tenant, Name: "A"}); err != nil {
		t.Fatal(err)
	}
	var ms []openatp.Machine
	for n := 1; n <= 3; n++ {
		m := openatp.Machine{ID: machineID(n), ComputerDNSName: openatp.Ptr(fmt.Sprintf("host%d", n))}
		if err := m.Normalize(); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	if err := e.store.UpsertMachines(ctx, e.tenant, ms); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) open(t *testing.T) *sqlite.DB {
	t.Helper()
	s, err := sqlite.Open(ctx, e.path)
	if err != nil {
		t.Fatal(err)
	}
	s.Now = e.time.Now
	t.Cleanup(func() { s.Close() })
	return s
}

func machineID(n int) string { return fmt.Sprintf("%040x", n) }

// start starts a clock on the env's store and time.
func (e *env) start(t *testing.T, cfg actions.Config) *actions.Clock {
	t.Helper()
	cfg.Store, cfg.Time = e.store, e.time
	c, err := actions.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// create creates an action of type typ on machine n and tracks it.
func (e *env) create(t *testing.T, c *actions.Clock, typ string, n int) openatp.MachineAction {
	t.Helper()
	a, err := actionrequest.Request{Type: typ, Comment: "test", ScanType: "Full"}.Action(&openatp.Machine{ID: machineID(n)}, "app", openatp.ActionRequestSource)
	if err != nil {
		t.Fatal(err)
	}
	if a, err = e.store.CreateMachineAction(ctx, e.tenant, a); err != nil {
		t.Fatal(err)
	}
	if c != nil {
		c.Track(e.tenant, a)
	}
	return a
}

// waitFor waits (in real time: the clock's goroutine runs on its own)
// until the action has the status, and returns it.
func (e *env) waitFor(t *testing.T, id, status string) openatp.MachineAction {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a, err := e.store.MachineAction(ctx, e.tenant, id)
		if err != nil {
			t.Fatal(err)
		}
		if a.Status == status {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("action %s is %s, want %s", a.Type, a.Status, status)
		}
		time.Sleep(time.Millisecond)
	}
}

// settle waits until the clock's next step is the one given (ok false:
// none), i.e. the clock has done everything that was due.
func settle(t *testing.T, c *actions.Clock, want time.Time, ok bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		due, has := c.NextDue()
		if has == ok && due.Equal(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("next step due %v (%v), want %v (%v)", due, has, want, ok)
		}
		time.Sleep(time.Millisecond)
	}
}

func status(t *testing.T, e *env, id string) string {
	t.Helper()
	a, err := e.store.MachineAction(ctx, e.tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	return a.Status
}

func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	var timings actions.Timings
	timings.Set("", "", openatp.ActionTiming{Pending: time.Second, InProgress: 2 * time.Second, TimeOut: time.Hour})
	timings.Set(e.tenant, openatp.ActionRunAntiVirusScan, openatp.ActionTiming{Pending: time.Second, InProgress: time.Minute})
	c := e.start(t, actions.Config{Timing: timings.Timing})
	if e.time.armed() != 0 {
		t.Error("a timer runs while no action is live")
	}
	iso := e.create(t, c, openatp.ActionIsolate, 1)
	scan := e.create(t, c, openatp.ActionRunAntiVirusScan, 2)
	created := iso.CreationDateTimeUTC
	settle(t, c, created.Add(time.Second), true)

	e.time.Advance(time.Second - time.Millisecond)
	settle(t, c, created.Add(time.Second), true)
	if s := status(t, e, iso.ID); s != "Pending" {
		t.Fatalf("isolation %s before its pending time", s)
	}
	e.time.Advance(time.Millisecond)
	started := e.waitFor(t, iso.ID, "InProgress")
	// The scan was stamped 100 ns after the isolation (the tenant's
	// action clock moved on while the fake time stood still).
	e.time.Advance(time.Millisecond)
	e.waitFor(t, scan.ID, "InProgress")
	if !started.LastUpdateDateTimeUTC.After(created) {
		t.Errorf("InProgress stamped %v, not after creation %v", started.LastUpdateDateTimeUTC, created)
	}
	settle(t, c, started.LastUpdateDateTimeUTC.Add(2*time.Second), true)

	e.time.Advance(2 * time.Second)
	done := e.waitFor(t, iso.ID, "Succeeded")
	if done.ErrorHResult != 0 {
		t.Errorf("succeeded with errorHResult %d", done.ErrorHResult)
	}
	if s := status(t, e, scan.ID); s != "InProgress" {
		t.Errorf("the tenant's scan (a minute) is %s after 3 s", s)
	}
	e.time.Advance(time.Minute)
	e.waitFor(t, scan.ID, "Succeeded")
	settle(t, c, time.Time{}, false)
	if c.Pending() != 0 || e.time.armed() != 0 {
		t.Errorf("after every action ended: %d tracked, %d timers running", c.Pending(), e.time.armed())
	}
}

func TestTimeOutAndFailure(t *testing.T) {
	e := newEnv(t)
	timing := openatp.ActionTiming{Pending: time.Second, InProgress: time.Second, TimeOut: time.Hour}
	outcome := func(_ string, a *openatp.MachineAction) openatp.ActionOutcome {
		switch a.MachineID {
		case machineID(1):
			return openatp.ActionOutcome{Unreachable: true}
		case machineID(2):
			return openatp.ActionOutcome{FailHResult: -2147024809}
		}
		return openatp.ActionOutcome{}
	}
	c := e.start(t, actions.Config{Timing: func(string, *openatp.MachineAction) openatp.ActionTiming { return timing }, Outcome: outcome})
	lost := e.create(t, c, openatp.ActionIsolate, 1)
	failing := e.create(t, c, openatp.ActionCollectInvestigationPackage, 2)
	e.time.Advance(time.Second + time.Millisecond)
	e.waitFor(t, failing.ID, "InProgress")
	e.time.Advance(time.Second)
	failed := e.waitFor(t, failing.ID, "Failed")
	if failed.ErrorHResult != -2147024809 {
		t.Errorf("errorHResult %d", failed.ErrorHResult)
	}
	if s := status(t, e, lost.ID); s != "Pending" {
		t.Errorf("action on an unreachable machine is %s", s)
	}
	settle(t, c, lost.CreationDateTimeUTC.Add(time.Hour), true)
	e.time.Advance(time.Hour)
	e.waitFor(t, lost.ID, "TimeOut")
	settle(t, c, time.Time{}, false)
}

func TestCancelled(t *testing.T) {
	e := newEnv(t)
	timing := openatp.ActionTiming{Pending: time.Second, InProgress: time.Second, TimeOut: time.Hour}
	c := e.start(t, actions.Config{Timing: func(string, *openatp.MachineAction) openatp.ActionTiming { return timing }})
	tracked := e.create(t, c, openatp.ActionIsolate, 1)
	untracked := e.create(t, c, openatp.ActionRestrictCodeExecution, 1)
	cancel := func(id string) openatp.MachineAction {
		a, err := e.store.UpdateMachineAction(ctx, e.tenant, id, func(a *openatp.MachineAction, stamp time.Time) error {
			return a.Cancel("analyst", "no", stamp)
		})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	c.Track(e.tenant, cancel(tracked.ID)) // the clock forgets it at once
	cancel(untracked.ID)                  // the clock finds it final when its step falls due
	if c.Pending() != 1 {
		t.Errorf("%d actions tracked, want the one cancelled behind the clock's back", c.Pending())
	}
	e.time.Advance(time.Second + time.Millisecond)
	settle(t, c, time.Time{}, false)
	for _, id := range []string{tracked.ID, untracked.ID} {
		if s := status(t, e, id); s != "Cancelled" {
			t.Errorf("cancelled action became %s", s)
		}
	}
}

func TestResume(t *testing.T) {
	e := newEnv(t)
	timing := openatp.ActionTiming{Pending: time.Second, InProgress: time.Minute, TimeOut: time.Hour}
	cfg := actions.Config{Timing: func(string, *openatp.MachineAction) openatp.ActionTiming { return timing },
		Errors: func(_, id string, err error) { t.Errorf("step of %s: %v", id, err) }}
	c := e.start(t, cfg)
	first := e.create(t, c, openatp.ActionIsolate, 1)
	e.time.Advance(time.Second)
	e.waitFor(t, first.ID, "InProgress")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// While no clock runs: a new action, and time passes.
	second := e.create(t, nil, openatp.ActionIsolate, 2)
	e.time.Advance(30 * time.Second)
	// A new process resumes both where their times say they are.
	e.store = e.open(t)
	c2 := e.start(t, cfg)
	e.waitFor(t, second.ID, "InProgress")
	if s := status(t, e, first.ID); s != "InProgress" {
		t.Errorf("resumed action %s half way through its minute", s)
	}
	e.time.Advance(30 * time.Second)
	e.waitFor(t, first.ID, "Succeeded")
	e.time.Advance(30 * time.Second)
	e.waitFor(t, second.ID, "Succeeded")
	settle(t, c2, time.Time{}, false)
}

// TestWallClockZeroDurations runs the clock on the wall clock with every
// duration zero, as API tests do: an action ends at once, in order.
func TestWallClockZeroDurations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "openatp.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tenant := "00000001-0000-4000-8000-000000000000"
	if err := s.CreateTenant(ctx, openatp.Tenant{ID: tenant, Name: "A"}); err != nil {
		t.Fatal(err)
	}
	m := openatp.Machine{ID: machineID(1)}
	if err := m.Normalize(); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertMachines(ctx, tenant, []openatp.Machine{m}); err != nil {
		t.Fatal(err)
	}
	var timings actions.Timings
	timings.Set("", "", openatp.ActionTiming{})
	c, err := actions.Start(ctx, actions.Config{Store: s, Timing: timings.Timing})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a, err := actionrequest.Request{Type: "Isolate", Comment: "now"}.Action(&m, "app", "")
	if err != nil {
		t.Fatal(err)
	}
	if a, err = s.CreateMachineAction(ctx, tenant, a); err != nil {
		t.Fatal(err)
	}
	c.Track(tenant, a)
	deadline := time.Now().Add(10 * time.Second)
	for a.Status != "Succeeded" {
		if time.Now().After(deadline) {
			t.Fatalf("action %s after 10 s", a.Status)
		}
		time.Sleep(time.Millisecond)
		if a, err = s.MachineAction(ctx, tenant, a.ID); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.MachineActions(ctx, tenant, openatp.MachineActionFilter{})
	if err != nil || len(got) != 1 || !got[0].LastUpdateDateTimeUTC.After(got[0].CreationDateTimeUTC) {
		t.Errorf("actions %+v (%v)", got, err)
	}
}

// TrackFailing: the action ends Failed with the errorHResult given,
// whatever the outcome says; a live response's first command fails and
// the rest are skipped; the clock forgets the decision once the action
// is final, and a restart (a new clock) lets the action succeed.
func TestTrackFailing(t *testing.T) {
	e := newEnv(t)
	timing := openatp.ActionTiming{Pending: time.Second, InProgress: time.Second, TimeOut: time.Hour}
	cfg := actions.Config{Timing: func(string, *openatp.MachineAction) openatp.ActionTiming { return timing },
		Errors: func(_, id string, err error) { t.Errorf("step of %s: %v", id, err) }}
	c := e.start(t, cfg)
	a := e.create(t, nil, openatp.ActionIsolate, 1)
	c.TrackFailing(e.tenant, a, -2147024891)
	lr, err := actionrequest.LiveResponse{Comment: "x", Commands: []openatp.LiveResponseCommand{
		{Type: "PutFile", Params: []openatp.CommandParam{{Key: "FileName", Value: "a.exe"}}},
		{Type: "GetFile", Params: []openatp.CommandParam{{Key: "Path", Value: `C:\x`}}}}}.Action(&openatp.Machine{ID: machineID(2)}, "app", "")
	if err != nil {
		t.Fatal(err)
	}
	if lr, err = e.store.CreateMachineAction(ctx, e.tenant, lr); err != nil {
		t.Fatal(err)
	}
	c.TrackFailing(e.tenant, lr, 5)
	ok := e.create(t, c, openatp.ActionRunAntiVirusScan, 3)
	e.time.Advance(time.Second + time.Millisecond)
	for _, id := range []string{a.ID, lr.ID, ok.ID} {
		e.waitFor(t, id, "InProgress")
	}
	e.time.Advance(time.Second + time.Millisecond)
	if got := e.waitFor(t, a.ID, "Failed"); got.ErrorHResult != -2147024891 {
		t.Errorf("errorHResult %d", got.ErrorHResult)
	}
	got := e.waitFor(t, lr.ID, "Failed")
	if c0, c1 := got.Commands[0], got.Commands[1]; got.ErrorHResult != 5 || c0.CommandStatus != "Failed" || c0.StartTime == nil ||
		len(c0.Errors) != 1 || c0.Errors[0] != "The command failed with error 0x00000005" || c1.CommandStatus != "Created" || c1.StartTime != nil {
		t.Errorf("failed live response %+v", got)
	}
	e.waitFor(t, ok.ID, "Succeeded")
	settle(t, c, time.Time{}, false)

	// After a restart the decision is gone: the action succeeds.
	again := e.create(t, nil, openatp.ActionIsolate, 1)
	c.TrackFailing(e.tenant, again, 7)
	c.Close()
	c2 := e.start(t, cfg)
	e.time.Advance(2*time.Second + time.Millisecond)
	e.waitFor(t, again.ID, "InProgress")
	e.time.Advance(time.Second + time.Millisecond)
	e.waitFor(t, again.ID, "Succeeded")
	settle(t, c2, time.Time{}, false)
}
