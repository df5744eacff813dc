// Package actions runs the lifecycle of machine actions on a clock: a
// Pending action becomes InProgress, then Succeeded (or Failed), or times
// out on a machine that does not answer, after the durations of its tenant
// and type (openatp.ActionTiming), as the service's actions move.
//
// A Clock keeps the next step of every live action in a heap ordered by
// when it is due, and one goroutine (owned by an internal/lifetime.Group)
// sleeps until the earliest is due: no timer fires while nothing is due.
// Each step is one store write (openatp.MachineActionStore's
// UpdateMachineAction) that decides again, from the action as stored,
// whether the step is still due, so that a cancel or a change of timing in
// between is never overwritten. The store is the truth: a new Clock
// resumes every live action where its times say it is, so a restart loses
// nothing and a step that fell due while the server was down runs at once.
package actions

import (
	"container/heap"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/lifetime"
)

// Config is what a Clock needs. Store is required; the others have
// defaults.
type Config struct {
	Store openatp.MachineActionStore
	// Time is the source of time and timers; nil is the wall clock. The
	// store must stamp with the same time (its Now).
	Time Time
	// Timing returns the durations of an action of a tenant; nil is
	// openatp.DefaultActionTiming (a *Timings sets them per tenant and
	// type).
	Timing func(tenantID string, a *openatp.MachineAction) openatp.ActionTiming
	// Outcome returns whether an action's machine answers and whether the
	// action fails; nil: every machine answers and every action succeeds.
	Outcome func(tenantID string, a *openatp.MachineAction) openatp.ActionOutcome
	// Retry is how long a step that the store failed to write waits before
	// it is tried again; 0 is a second.
	Retry time.Duration
	// Errors, when set, is told of each step the store failed to write
	// (the step is tried again after Retry), and of each Succeeded hook
	// that failed.
	Errors func(tenantID, actionID string, err error)
	// Succeeded, when set, is called after the write that made an action
	// Succeeded (the store has already changed its machine's state in
	// that write): for the effects outside the action store, such as
	// OffboardedHealth. It is not called again if it fails.
	Succeeded func(ctx context.Context, tenantID string, a openatp.MachineAction) error
	// Run, when set, runs each command of a live response action that
	// has just succeeded, in the step's write (MachineAction.RunCommands):
	// it returns the error message of a command that fails, "" when it
	// completes (see LibraryRunner). Nil: every command completes.
	Run func(ctx context.Context, tenantID string, a *openatp.MachineAction, c *openatp.LiveResponseCommand) string
	// Results, when set, returns the result file of command index of a
	// live response action that Run made (Controls.Result), for
	// Clock.Result; ok false: the command's usual result.
	Results func(tenantID string, a *openatp.MachineAction, index int) ([]byte, bool)
	// Investigations, when set, returns an investigation of a tenant as
	// it is at now, if it runs for run (Controls.InvestigationAt), for
	// Clock.InvestigationAt; nil: openatp.Investigation.At.
	Investigations func(tenantID string, inv openatp.Investigation, now time.Time, run time.Duration) openatp.Investigation
}

// Clock drives the live machine actions of every tenant through their
// lifecycle. Its methods are safe for concurrent use.
type Clock struct {
	cfg Config
	bg  *lifetime.Group

	mu    sync.Mutex
	steps stepHeap
	byKey map[key]*step
	wake  chan struct{} // a step was added before the earliest; capacity 1
	// failing are the live actions that end Failed with this errorHResult
	// whatever cfg.Outcome says (TrackFailing): kept in memory until the
	// action is final.
	failing map[key]int32
}

type key struct{ tenant, id string }

// step is the next step of one live action: when it is due.
type step struct {
	key
	due   time.Time
	index int // in the heap
}

// Start resumes the live actions of the store (LiveMachineActions) and
// starts the clock's goroutine; Close stops it. ctx bounds the resume.
func Start(ctx context.Context, cfg Config) (*Clock, error) {
	if cfg.Time == nil {
		cfg.Time = WallClock{}
	}
	if cfg.Timing == nil {
		cfg.Timing = func(_ string, a *openatp.MachineAction) openatp.ActionTiming {
			return openatp.DefaultActionTiming(a.Type, a.Scope)
		}
	}
	if cfg.Outcome == nil {
		cfg.Outcome = func(string, *openatp.MachineAction) openatp.ActionOutcome { return openatp.ActionOutcome{} }
	}
	if cfg.Retry <= 0 {
		cfg.Retry = time.Second
	}
	c := &Clock{cfg: cfg, byKey: map[key]*step{}, wake: make(chan struct{}, 1)}
	err := cfg.Store.LiveMachineActions(ctx, func(tenantID string, a openatp.MachineAction) error {
		c.Track(tenantID, a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.bg = lifetime.New(context.Background())
	c.bg.Go(c.run)
	return c, nil
}

// Close stops the clock and waits for its goroutine. A step being written
// is abandoned (its transaction rolls back) and runs when a clock runs
// again.
func (c *Clock) Close() error { return c.bg.Close() }

// Track schedules the next step of action a of a tenant, as stored (after
// CreateMachineAction, a cancel, or any change): a final action is
// forgotten. Tracking an action again moves its step.
func (c *Clock) Track(tenantID string, a openatp.MachineAction) {
	k := key{tenantID, a.ID}
	next, ok := a.NextStep(c.cfg.Timing(tenantID, &a), c.outcome(k, &a))
	c.mu.Lock()
	defer c.mu.Unlock()
	if !ok {
		if s := c.byKey[k]; s != nil {
			heap.Remove(&c.steps, s.index)
			delete(c.byKey, k)
		}
		return
	}
	c.scheduleLocked(k, next.Due)
}

// TrackFailing is Track for a new action that is to end Failed with
// errorHResult hresult instead of Succeeded, whatever Config.Outcome
// says (a fail-action fault rule applied to the request that created
// it). Its machine not answering still makes it time out first. The
// decision is kept in memory until the action is final: a clock that
// resumes the action after a restart lets it succeed.
func (c *Clock) TrackFailing(tenantID string, a openatp.MachineAction, hresult int32) {
	if hresult != 0 {
		c.mu.Lock()
		if c.failing == nil {
			c.failing = map[key]int32{}
		}
		c.failing[key{tenantID, a.ID}] = hresult
		c.mu.Unlock()
	}
	c.Track(tenantID, a)
}

// outcome is Config.Outcome of action a, with its TrackFailing failure;
// that of a final action is forgotten.
func (c *Clock) outcome(k key, a *openatp.MachineAction) openatp.ActionOutcome {
	o := c.cfg.Outcome(k.tenant, a)
	c.mu.Lock()
	h, ok := c.failing[k]
	if ok && a.Final() {
		delete(c.failing, k)
	}
	c.mu.Unlock()
	if ok {
		o.FailHResult = h
	}
	return o
}

// scheduleLocked puts the step of k at due, waking the goroutine if it
// became the earliest.
func (c *Clock) scheduleLocked(k key, due time.Time) {
	if s := c.byKey[k]; s != nil {
		s.due = due
		heap.Fix(&c.steps, s.index)
	} else {
		s = &step{key: k, due: due}
		c.byKey[k] = s
		heap.Push(&c.steps, s)
	}
	if c.steps[0].key == k {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// Pending returns the number of live actions the clock tracks.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.steps)
}

// run is the clock's goroutine: it takes each step when it is due, and
// otherwise sleeps until the earliest is due or a new step comes first.
func (c *Clock) run(ctx context.Context) error {
	var timer Timer
	var due []key // the steps due, taken together
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		c.mu.Lock()
		due = due[:0]
		wait := time.Duration(-1) // nothing is due: wait for Track
		now := c.cfg.Time.Now()
		for len(c.steps) > 0 && len(due) < maxBatch {
			if d := c.steps[0].due.Sub(now); d > 0 {
				if len(due) == 0 {
					wait = d
				}
				break
			}
			s := heap.Pop(&c.steps).(*step)
			delete(c.byKey, s.key)
			due = append(due, s.key)
		}
		c.mu.Unlock()
		if len(due) > 0 {
			c.takeDue(ctx, due)
			if ctx.Err() != nil {
				return nil
			}
			continue
		}
		var fired <-chan time.Time
		if wait >= 0 {
			if timer == nil {
				timer = c.cfg.Time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			fired = timer.C()
			// The timer counts from when it was armed: if the time moved
			// on between reading it and arming (a test's clock can jump),
			// the step may be due already, and the timer late.
			if !c.cfg.Time.Now().Before(now.Add(wait)) {
				timer.Stop()
				continue
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-c.wake:
		case <-fired:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// errFinal and notYet are what a step's store write answers when the
// action as stored has no step due: it is final, or its step is later.
var errFinal = errors.New("the action is final")

type notYet struct{ due time.Time }

func (notYet) Error() string { return "the step is not due yet" }

// maxBatch bounds the steps that fell due together which one store
// write takes: one commit for many when steps come faster than the store
// commits, and still a short write.
const maxBatch = 64

// takeDue writes the steps that fell due, those of one tenant in one
// store write (UpdateMachineActions), in the order they fell due, and
// schedules the step after each.
func (c *Clock) takeDue(ctx context.Context, due []key) {
	var tenants []string
	ids := map[string][]string{}
	for _, k := range due {
		if ids[k.tenant] == nil {
			tenants = append(tenants, k.tenant)
		}
		ids[k.tenant] = append(ids[k.tenant], k.id)
	}
	for _, t := range tenants {
		c.take(ctx, t, ids[t])
	}
}

// take writes the steps of the actions ids of tenant that fell due, and
// schedules the step after each.
func (c *Clock) take(ctx context.Context, tenant string, ids []string) {
	updated, refused, err := c.cfg.Store.UpdateMachineActions(ctx, tenant, ids, func(a *openatp.MachineAction, stamp time.Time) error {
		return c.step(ctx, key{tenant, a.ID}, a, stamp)
	})
	for i, id := range ids {
		k := key{tenant, id}
		switch {
		case err != nil:
			c.settle(ctx, k, openatp.MachineAction{}, err)
		default:
			c.settle(ctx, k, updated[i], refused[i])
		}
	}
}

// step moves action a, as stored, to its next step if that fell due by
// stamp, the time of the write: errFinal when it has none, notYet when
// it is later.
func (c *Clock) step(ctx context.Context, k key, a *openatp.MachineAction, stamp time.Time) error {
	o := c.outcome(k, a)
	next, ok := a.NextStep(c.cfg.Timing(k.tenant, a), o)
	if !ok {
		return errFinal
	}
	// Durations are measured on the tenant's action clock, which
	// stamped the action's times: a step is due when this write's
	// stamp has reached it.
	if next.Due.After(stamp) {
		return notYet{next.Due}
	}
	if err := a.Advance(next.Status, o.FailHResult); err != nil {
		return err
	}
	failCommands(a, stamp)
	a.RunCommands(stamp, func(cmd *openatp.LiveResponseCommand) string {
		if c.cfg.Run == nil {
			return ""
		}
		return c.cfg.Run(ctx, k.tenant, a, cmd)
	})
	return nil
}

// settle does what the write of a step of k answered: track the action
// as written (a), drop it, or try its step again later.
func (c *Clock) settle(ctx context.Context, k key, a openatp.MachineAction, err error) {
	var later notYet
	switch {
	case err == nil:
		c.Track(k.tenant, a)
		if a.Status == openatp.ActionSucceeded && c.cfg.Succeeded != nil {
			if err := c.cfg.Succeeded(ctx, k.tenant, a); err != nil && c.cfg.Errors != nil && ctx.Err() == nil {
				c.cfg.Errors(k.tenant, k.id, err)
			}
		}
	case errors.Is(err, errFinal), openatp.IsKind(err, openatp.NotFound), ctx.Err() != nil:
		// Final (cancelled), deleted (a reset), or the clock is closing.
	case errors.As(err, &later):
		c.mu.Lock()
		c.scheduleLocked(k, later.due)
		c.mu.Unlock()
	default:
		if c.cfg.Errors != nil {
			c.cfg.Errors(k.tenant, k.id, err)
		}
		c.mu.Lock()
		c.scheduleLocked(k, c.cfg.Time.Now().Add(c.cfg.Retry))
		c.mu.Unlock()
	}
}

// stepHeap orders steps by when they are due (container/heap).
type stepHeap []*step

func (h stepHeap) Len() int           { return len(h) }
func (h stepHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h stepHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *stepHeap) Push(x any) {
	s := x.(*step)
	s.index = len(*h)
	*h = append(*h, s)
}
func (h *stepHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	s.index = -1
	return s
}
