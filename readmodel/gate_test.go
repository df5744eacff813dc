package readmodel

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A versionGate result is never older than the request: the check it comes
// from started after the request arrived.
func TestVersionGateNeverStale(t *testing.T) {
	var writes atomic.Uint64 // the "data version": bumped by writers
	var checks atomic.Int64
	g := &versionGate{check: func(context.Context) (uint64, error) {
		checks.Add(1)
		v := writes.Load()
		time.Sleep(50 * time.Microsecond) // a slow check invites sharing
		return v, nil
	}}
	ctx := context.Background()
	// Sequential: each get sees every write before it.
	for i := range 50 {
		writes.Add(1)
		if v, _ := g.get(ctx); v != uint64(i+1) {
			t.Fatalf("get %d returned version %d, want %d", i, v, i+1)
		}
	}
	// Concurrent: a get never returns a version older than the writes
	// acknowledged before it was called.
	checks.Store(0)
	var wg sync.WaitGroup
	var gets atomic.Int64
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				writes.Add(1)
				time.Sleep(20 * time.Microsecond)
			}
		}
	})
	var readers sync.WaitGroup
	for range 16 {
		readers.Go(func() {
			for range 300 {
				before := writes.Load()
				v, err := g.get(ctx)
				gets.Add(1)
				if err != nil || v < before {
					t.Errorf("get returned %d (err %v), older than version %d acknowledged before the call", v, err, before)
					return
				}
			}
		})
	}
	readers.Wait()
	close(stop)
	wg.Wait()
	if c, n := checks.Load(), gets.Load(); c >= n {
		t.Errorf("%d checks for %d gets: concurrent gets should share checks", c, n)
	} else {
		t.Logf("%d checks served %d gets", c, n)
	}
}

func TestVersionGateCancel(t *testing.T) {
	release := make(chan struct{})
	g := &versionGate{check: func(context.Context) (uint64, error) { <-release; return 1, nil }}
	go func() { _, _ = g.get(context.Background()) }()
	for {
		g.mu.Lock()
		running := g.running
		g.mu.Unlock()
		if running {
			break
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.get(ctx); err == nil {
		t.Error("get with a cancelled context waited for the running check and succeeded")
	}
	close(release)
}
