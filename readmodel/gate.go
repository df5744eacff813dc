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
	running   chan struct{} // closed when the running check completes; nil if none
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
		if g.running == nil {
			g.started++
			mine := g.started
			done := make(chan struct{})
			g.running = done
			g.mu.Unlock()
			v, err := g.check(context.WithoutCancel(ctx))
			g.mu.Lock()
			g.val, g.err, g.completed, g.running = v, err, mine, nil
			close(done)
			continue
		}
		running := g.running
		g.mu.Unlock()
		select {
		case <-running:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		g.mu.Lock()
	}
}
