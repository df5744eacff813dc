// Package lifetime owns goroutines. A Group starts them with its context,
// cancels that context on Stop (or when one of them fails), waits for all
// of them, and reports the first error one returned.
//
// Every long-lived goroutine of openatp is started by the Group of the
// value that owns it (the read model's builds, the token service's
// refreshes, the server's listeners), and that value's Close stops and
// waits for it: no goroutine outlives its owner, and tests check so with
// goleak. Short fork-join loops that start and join their goroutines in
// one function need no Group.
package lifetime

import (
	"context"
	"sync"
)

// Group is a set of goroutines with one lifetime. Its zero value is not
// usable: New makes one.
type Group struct {
	ctx    context.Context
	cancel context.CancelCauseFunc

	mu      sync.Mutex
	stopped bool          // Go starts nothing more
	running int           // goroutines started and not yet returned
	idle    chan struct{} // closed when running drops to 0; nil while it is 0
	err     error         // the first error a goroutine returned
}

// New returns a group whose goroutines run with a context derived from
// parent; it is canceled by Stop, by the first goroutine that returns an
// error (context.Cause then returns that error), or with parent.
func New(parent context.Context) *Group {
	g := &Group{}
	g.ctx, g.cancel = context.WithCancelCause(parent)
	return g
}

// Go runs f in a goroutine with the group's context, unless the group is
// stopped: then it runs nothing and reports false. The first error a
// goroutine returns is the group's (Wait returns it) and cancels the
// group's context, asking the others to stop.
func (g *Group) Go(f func(ctx context.Context) error) bool {
	g.mu.Lock()
	if g.stopped {
		g.mu.Unlock()
		return false
	}
	if g.running == 0 {
		g.idle = make(chan struct{})
	}
	g.running++
	g.mu.Unlock()
	go func() {
		err := f(g.ctx)
		g.mu.Lock()
		if err != nil && g.err == nil {
			g.err = err
			g.cancel(err)
		}
		if g.running--; g.running == 0 {
			close(g.idle)
			g.idle = nil
		}
		g.mu.Unlock()
	}()
	return true
}

// Context returns the context the group's goroutines run with. It is done
// once the group is stopped or one of its goroutines failed: an owner
// serving until either selects on it.
func (g *Group) Context() context.Context { return g.ctx }

// Stop cancels the group's context and makes Go run nothing more. It does
// not wait: Wait does.
func (g *Group) Stop() {
	g.mu.Lock()
	g.stopped = true
	g.mu.Unlock()
	g.cancel(nil)
}

// Wait waits until none of the group's goroutines runs, and returns the
// first error one returned. It may be called more than once, and while
// other goroutines call Go.
func (g *Group) Wait() error {
	g.mu.Lock()
	idle := g.idle
	g.mu.Unlock()
	if idle != nil {
		<-idle
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// Close stops the group and waits for its goroutines: Stop, then Wait.
func (g *Group) Close() error {
	g.Stop()
	return g.Wait()
}
