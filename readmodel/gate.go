package readmodel

import (
	"context"
	"sync"
)

// versionGate shares store.DataVersion calls between concurrent requests
// without ever giving a request an answer older than the request: a request
// takes the result of a check that started after the request arrived, and
// starts one itself when none has. Under load one check serves every
// request that arrived while the previous check ran, so a request that
// starts after a write was acknowledged still sees it, at a fraction of the
// cost of a check per request.
type versionGate struct {
	check func(context.Context) (uint64, error)

	mu        sync.Mutex
	started   uint64        // number of checks started
	completed uint64        // number of the last completed check
	val       uint64        // its result
	err       error         //
	running   bool          // a check is running
	done      chan struct{} // closed when the running check completes; made by its first waiter
}

func (g *versionGate) get(ctx context.Context) (uint64, error) {
	g.mu.Lock()
	need := g.started + 1 // the first check to start after this request arrived
	for {
		if g.completed >= need {
			v, err := g.val, g.err
			g.mu.Unlock()
			return v, err
		}
		if !g.running {
			g.started++
			mine := g.started
			g.running = true
			g.mu.Unlock()
			// The check answers every request that waits for it: it runs
			// on none of their contexts (a background one allocates nothing,
			// and the check runs once per request at rest).
			v, err := g.check(context.Background())
			g.mu.Lock()
			g.val, g.err, g.completed, g.running = v, err, mine, false
			if g.done != nil {
				close(g.done)
				g.done = nil
			}
			continue
		}
		if g.done == nil {
			g.done = make(chan struct{})
		}
		done := g.done
		g.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		g.mu.Lock()
	}
}
