package actions

import (
	"sync"
	"time"

	"github.com/openatp/openatp"
)

// Time is a clock's source of time and timers: the wall clock in a
// server, a fake one in tests.
type Time interface {
	Now() time.Time
	// NewTimer returns a running timer that fires after d.
	NewTimer(d time.Duration) Timer
}

// Timer is a timer of a Time, as *time.Timer behaves since Go 1.23: after
// Stop or Reset, no value of an earlier expiry is received.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}

// WallClock is the Time of a server: time.Now and time.NewTimer.
type WallClock struct{}

// Now returns time.Now().
func (WallClock) Now() time.Time { return time.Now() }

// NewTimer returns a time.Timer.
func (WallClock) NewTimer(d time.Duration) Timer { return wallTimer{time.NewTimer(d)} }

type wallTimer struct{ *time.Timer }

func (t wallTimer) C() <-chan time.Time { return t.Timer.C }

// Timings are the durations of actions per tenant and action type, over
// the defaults (openatp.DefaultActionTiming). Its Timing method is a
// Config.Timing. The zero value is ready; it is safe for concurrent use.
type Timings struct {
	mu sync.RWMutex
	m  map[[2]string]openatp.ActionTiming
}

// Set sets the timing of the actions of type typ of a tenant; an empty
// tenant id sets it for every tenant, an empty type for every type. The
// most specific setting applies: (tenant, type), (tenant, every type),
// (every tenant, type), then (every tenant, every type). Actions that the
// clock tracks take it at their next step (or when tracked again).
func (t *Timings) Set(tenantID, typ string, d openatp.ActionTiming) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[[2]string]openatp.ActionTiming{}
	}
	t.m[[2]string{tenantID, typ}] = d
}

// Timing returns the timing of action a of a tenant.
func (t *Timings) Timing(tenantID string, a *openatp.MachineAction) openatp.ActionTiming {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, k := range [][2]string{{tenantID, a.Type}, {tenantID, ""}, {"", a.Type}, {"", ""}} {
		if d, ok := t.m[k]; ok {
			return d
		}
	}
	return openatp.DefaultActionTiming(a.Type, a.Scope)
}
