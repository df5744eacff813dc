// Package ratelimittest is the suite every ratelimit.Counter passes, with a
// fake clock: exact rolling windows, refusals that consume nothing,
// Retry-After values, concurrency and key isolation.
package ratelimittest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openatp/openatp/ratelimit"
)

// Clock is a fake clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set stops the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// NewCounter returns a fresh counter applying p with clock now; counters
// made for different subtests must not share counts.
type NewCounter func(t *testing.T, p ratelimit.Policy, now func() time.Time) ratelimit.Counter

// t0 is the suite's starting time, off the whole second as a real clock is.
var t0 = time.Date(2026, 3, 1, 9, 0, 0, 123456000, time.UTC)

// Precision is how far a retryAfter may differ from the exact value: the
// Redis counter keeps microseconds.
const Precision = time.Millisecond

// Run runs the suite against counters made by newCounter.
func Run(t *testing.T, newCounter NewCounter) {
	t.Run("Minute", func(t *testing.T) { testMinute(t, newCounter) })
	t.Run("RefusedConsumesNothing", func(t *testing.T) { testRefusedConsumesNothing(t, newCounter) })
	t.Run("Sliding", func(t *testing.T) { testSliding(t, newCounter) })
	t.Run("Hour", func(t *testing.T) { testHour(t, newCounter) })
	t.Run("BindingWindow", func(t *testing.T) { testBindingWindow(t, newCounter) })
	t.Run("WhichWindow", func(t *testing.T) { testWhichWindow(t, newCounter) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, newCounter) })
	t.Run("KeysIsolated", func(t *testing.T) { testKeysIsolated(t, newCounter) })
	t.Run("Off", func(t *testing.T) { testOff(t, newCounter) })
}

type checker struct {
	t   *testing.T
	c   ratelimit.Counter
	clk *Clock
}

func newChecker(t *testing.T, newCounter NewCounter, p ratelimit.Policy) *checker {
	clk := NewClock(t0)
	return &checker{t: t, c: newCounter(t, p, clk.Now), clk: clk}
}

func (k *checker) allow(key string) (bool, time.Duration) {
	k.t.Helper()
	ok, retry, err := k.c.Allow(context.Background(), key)
	if err != nil {
		k.t.Fatalf("Allow(%q) at %v: %v", key, k.clk.Now().Sub(t0), err)
	}
	if ok && retry != 0 {
		k.t.Errorf("Allow(%q) at %v accepted with retryAfter %v, want 0", key, k.clk.Now().Sub(t0), retry)
	}
	if !ok && retry <= 0 {
		k.t.Errorf("Allow(%q) at %v refused with retryAfter %v, want > 0", key, k.clk.Now().Sub(t0), retry)
	}
	return ok, retry
}

// pass checks that the next call of key is accepted.
func (k *checker) pass(key, what string) {
	k.t.Helper()
	if ok, retry := k.allow(key); !ok {
		k.t.Fatalf("%s: refused at +%v (retryAfter %v), want accepted", what, k.clk.Now().Sub(t0), retry)
	}
}

// refuse checks that the next call of key is refused with retryAfter want.
func (k *checker) refuse(key, what string, want time.Duration) {
	k.t.Helper()
	ok, retry := k.allow(key)
	if ok {
		k.t.Fatalf("%s: accepted at +%v, want refused", what, k.clk.Now().Sub(t0))
	}
	if d := retry - want; d < -Precision || d > Precision {
		k.t.Fatalf("%s: refused at +%v with retryAfter %v, want %v", what, k.clk.Now().Sub(t0), retry, want)
	}
}

func testMinute(t *testing.T, newCounter NewCounter) {
	k := newChecker(t, newCounter, ratelimit.Service)
	for i := range 100 { // calls at +0s, +0.1s, ... +9.9s
		k.pass("minute", fmt.Sprintf("call %d", i+1))
		k.clk.Advance(100 * time.Millisecond)
	}
	k.refuse("minute", "call 101 at +10s", 50*time.Second) // the first call leaves the minute at +60s
	k.clk.Set(t0.Add(time.Minute - time.Millisecond))
	k.refuse("minute", "call at +59.999s", time.Millisecond)
	k.clk.Set(t0.Add(time.Minute))
	k.pass("minute", "call at +60s, when the first call has left the window")
	k.refuse("minute", "second call at +60s", 100*time.Millisecond)
	k.clk.Advance(100 * time.Millisecond)
	k.pass("minute", "call at +60.1s, when the second call has left the window")
}

func testRefusedConsumesNothing(t *testing.T, newCounter NewCounter) {
	p := ratelimit.Policy{{Limit: 5, Every: 10 * time.Second}}
	k := newChecker(t, newCounter, p)
	for i := range 5 {
		k.pass("r", fmt.Sprintf("call %d", i+1))
	}
	for i := range 10 { // a retry storm, one call a second
		k.clk.Advance(time.Second / 2)
		k.refuse("r", fmt.Sprintf("storm call %d", i+1), 10*time.Second-time.Duration(i)*time.Second-time.Second/2)
		k.clk.Advance(time.Second / 2)
	}
	// At +10s the five calls at +0s have left; the refused calls never counted.
	for i := range 5 {
		k.pass("r", fmt.Sprintf("call %d after the storm", i+1))
	}
	k.refuse("r", "call 6 after the storm", 10*time.Second)
}

func testSliding(t *testing.T, newCounter NewCounter) {
	p := ratelimit.Policy{{Limit: 3, Every: 10 * time.Second}}
	k := newChecker(t, newCounter, p)
	// Calls at +0, +4, +8: full until +10, when one slot opens; the next at +14.
	for _, at := range []time.Duration{0, 4, 8} {
		k.clk.Set(t0.Add(at * time.Second))
		k.pass("s", fmt.Sprintf("call at +%ds", at))
	}
	k.clk.Set(t0.Add(9 * time.Second))
	k.refuse("s", "call at +9s", time.Second)
	k.clk.Set(t0.Add(10 * time.Second))
	k.pass("s", "call at +10s")
	k.refuse("s", "second call at +10s", 4*time.Second)
	k.clk.Set(t0.Add(13*time.Second + 500*time.Millisecond))
	k.refuse("s", "call at +13.5s", 500*time.Millisecond)
	k.clk.Set(t0.Add(14 * time.Second))
	k.pass("s", "call at +14s")
	// After a long pause the whole budget is back.
	k.clk.Set(t0.Add(time.Hour))
	for i := range 3 {
		k.pass("s", fmt.Sprintf("call %d after an hour", i+1))
	}
	k.refuse("s", "call 4 after an hour", 10*time.Second)
}

func testHour(t *testing.T, newCounter NewCounter) {
	k := newChecker(t, newCounter, ratelimit.Service)
	// 1,500 calls 2.4 s apart: 25 in any minute, all within the hour.
	for i := range 1500 {
		k.clk.Set(t0.Add(time.Duration(i) * 2400 * time.Millisecond))
		k.pass("hour", fmt.Sprintf("call %d", i+1))
	}
	k.clk.Set(t0.Add(3598 * time.Second))
	k.refuse("hour", "call 1,501 at +3598s", 2*time.Second)
	k.clk.Set(t0.Add(time.Hour))
	k.pass("hour", "call at +1h, when the first call has left the hour")
	k.refuse("hour", "second call at +1h", 2400*time.Millisecond)
}

func testBindingWindow(t *testing.T, newCounter NewCounter) {
	p := ratelimit.Policy{{Limit: 2, Every: time.Second}, {Limit: 3, Every: 10 * time.Second}}
	k := newChecker(t, newCounter, p)
	k.pass("b", "call 1 at +0s")
	k.pass("b", "call 2 at +0s")
	k.refuse("b", "call 3 at +0s: both windows' waits, the longer", time.Second)
	k.clk.Set(t0.Add(time.Second))
	k.pass("b", "call at +1s")
	k.refuse("b", "second call at +1s: the 10 s window binds", 9*time.Second)
	k.clk.Set(t0.Add(10 * time.Second))
	k.pass("b", "call at +10s")
	k.pass("b", "second call at +10s")
	k.refuse("b", "third call at +10s: both windows full, the 10 s one waits longer", time.Second)
}

// testWhichWindow: a ratelimit.WindowCounter names the window that
// refused a call, the one with the longest wait (the first of them on a
// tie), also when it answers a retry without counting.
func testWhichWindow(t *testing.T, newCounter NewCounter) {
	p := ratelimit.Policy{{Limit: 2, Every: time.Second}, {Limit: 3, Every: 10 * time.Second}}
	k := newChecker(t, newCounter, p)
	wc, ok := k.c.(ratelimit.WindowCounter)
	if !ok {
		t.Skip("not a ratelimit.WindowCounter")
	}
	check := func(what string, wantOK bool, wantRetry time.Duration, wantWindow int) {
		t.Helper()
		ok, retry, window, err := wc.AllowWindow(context.Background(), "w")
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if d := retry - wantRetry; ok != wantOK || d < -Precision || d > Precision || !ok && window != wantWindow {
			t.Fatalf("%s: %v, retryAfter %v, window %d; want %v, %v, window %d", what, ok, retry, window, wantOK, wantRetry, wantWindow)
		}
	}
	check("call 1 at +0s", true, 0, 0)
	check("call 2 at +0s", true, 0, 0)
	check("call 3 at +0s: the 1 s window", false, time.Second, 0)
	check("call 4 at +0s, a retry: the 1 s window again", false, time.Second, 0)
	k.clk.Set(t0.Add(time.Second))
	check("call at +1s", true, 0, 0)
	check("second call at +1s: the 10 s window", false, 9*time.Second, 1)
	check("its retry: the 10 s window", false, 9*time.Second, 1)
	k.clk.Set(t0.Add(10 * time.Second))
	check("call at +10s", true, 0, 0)
	check("second call at +10s", true, 0, 0)
	// Calls at +1, +10, +10: the 1 s window waits 1 s, the 10 s one 1 s.
	check("third call at +10s: both wait 1 s, the first window named", false, time.Second, 0)
}

func testConcurrent(t *testing.T, newCounter NewCounter) {
	k := newChecker(t, newCounter, ratelimit.Service)
	var accepted, refused atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 200 {
		wg.Go(func() {
			<-start
			ok, retry, err := k.c.Allow(context.Background(), "concurrent")
			switch {
			case err != nil:
				t.Error(err)
			case ok:
				accepted.Add(1)
			default:
				refused.Add(1)
				if d := retry - time.Minute; d < -Precision || d > Precision {
					t.Errorf("refused with retryAfter %v, want 1m", retry)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if accepted.Load() != 100 || refused.Load() != 100 {
		t.Errorf("200 concurrent calls at one instant: %d accepted, %d refused; want 100 and 100", accepted.Load(), refused.Load())
	}
}

func testKeysIsolated(t *testing.T, newCounter NewCounter) {
	p := ratelimit.Policy{{Limit: 10, Every: time.Minute}}
	k := newChecker(t, newCounter, p)
	keys := []string{"tenantA|app1|users/machines", "tenantA|app2|users/machines", "tenantB|app1|users/machines", "tenantA|app1|machines"}
	for i := range 10 {
		k.pass(keys[0], fmt.Sprintf("%s call %d", keys[0], i+1))
	}
	k.refuse(keys[0], keys[0]+" call 11", time.Minute)
	for _, key := range keys[1:] {
		for i := range 10 {
			k.pass(key, fmt.Sprintf("%s call %d while %s is throttled", key, i+1, keys[0]))
		}
		k.refuse(key, key+" call 11", time.Minute)
	}
}

func testOff(t *testing.T, newCounter NewCounter) {
	k := newChecker(t, newCounter, ratelimit.Policy{})
	for i := range 2000 {
		k.pass("off", fmt.Sprintf("call %d", i+1))
	}
}
