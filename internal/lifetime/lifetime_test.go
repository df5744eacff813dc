package lifetime

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Close cancels the goroutines' context and returns only once every one
// of them has returned.
func TestCloseStopsAndWaits(t *testing.T) {
	g := New(context.Background())
	var returned atomic.Int32
	for range 3 {
		g.Go(func(ctx context.Context) error {
			<-ctx.Done()
			time.Sleep(10 * time.Millisecond) // a goroutine slow to return is still waited for
			returned.Add(1)
			return nil
		})
	}
	if err := g.Close(); err != nil {
		t.Fatalf("Close = %v, want nil", err)
	}
	if n := returned.Load(); n != 3 {
		t.Fatalf("Close returned with %d of 3 goroutines returned", n)
	}
	if g.Context().Err() == nil {
		t.Error("the group's context is not canceled after Close")
	}
}

// After Stop, Go runs nothing.
func TestGoAfterStop(t *testing.T) {
	g := New(context.Background())
	g.Stop()
	ran := false
	if g.Go(func(context.Context) error { ran = true; return nil }) {
		t.Error("Go after Stop reported true")
	}
	if err := g.Wait(); err != nil || ran {
		t.Errorf("Wait = %v, ran = %v; want nil, false", err, ran)
	}
}

// The first error is the group's: it cancels the others, and Wait returns
// it and not a later one.
func TestFirstErrorCancelsTheRest(t *testing.T) {
	g := New(context.Background())
	first, later := errors.New("first"), errors.New("later")
	g.Go(func(ctx context.Context) error {
		<-ctx.Done() // canceled by the failure below
		return later
	})
	g.Go(func(context.Context) error { return first })
	select {
	case <-g.Context().Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a failing goroutine did not cancel the group's context")
	}
	if cause := context.Cause(g.Context()); cause != first {
		t.Errorf("the context's cause is %v, want %v", cause, first)
	}
	if err := g.Wait(); err != first {
		t.Errorf("Wait = %v, want %v", err, first)
	}
	if err := g.Close(); err != first {
		t.Errorf("Close after Wait = %v, want %v", err, first)
	}
}

// Goroutines that return nil leave the group running: Wait waits for
// them to return on their own, without a Stop.
func TestWaitWithoutStop(t *testing.T) {
	g := New(context.Background())
	defer g.Close()
	release := make(chan struct{})
	var done atomic.Bool
	g.Go(func(context.Context) error { <-release; done.Store(true); return nil })
	time.AfterFunc(10*time.Millisecond, func() { close(release) })
	if err := g.Wait(); err != nil || !done.Load() {
		t.Fatalf("Wait = %v with the goroutine done = %v", err, done.Load())
	}
	if g.Context().Err() != nil {
		t.Error("goroutines returning nil canceled the group")
	}
	// The group is still usable.
	if !g.Go(func(context.Context) error { return nil }) {
		t.Error("Go after a Wait refused")
	}
}

// Cancelling the parent cancels the goroutines.
func TestParentCancel(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	g := New(parent)
	g.Go(func(ctx context.Context) error { <-ctx.Done(); return nil })
	cancel()
	if err := g.Wait(); err != nil {
		t.Errorf("Wait = %v", err)
	}
}

// Go and Wait may run at once (the race detector checks the group's
// bookkeeping).
func TestGoDuringWait(t *testing.T) {
	g := New(context.Background())
	var n atomic.Int32
	starter := New(context.Background())
	starter.Go(func(context.Context) error {
		for range 100 {
			g.Go(func(context.Context) error { n.Add(1); return nil })
		}
		return nil
	})
	for range 10 {
		_ = g.Wait()
	}
	if err := starter.Close(); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 100 {
		t.Errorf("%d goroutines ran, want 100", n.Load())
	}
}
