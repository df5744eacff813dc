package refcount_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/openatp/openatp/internal/refcount"
)

// The last release, and only it, reports true; TryRetain fails after it;
// a release too many panics.
func TestCount(t *testing.T) {
	var c refcount.Count
	if c.TryRetain() {
		t.Fatal("TryRetain succeeded on a count never initialized")
	}
	c.Init()
	c.Retain()
	if !c.TryRetain() {
		t.Fatal("TryRetain failed with references held")
	}
	for i := range 2 {
		if c.Release() {
			t.Fatalf("release %d of 3 reported the last", i+1)
		}
	}
	if !c.Release() {
		t.Fatal("the third release of 3 did not report the last")
	}
	if c.TryRetain() {
		t.Fatal("TryRetain succeeded after the last release")
	}
	defer func() {
		if recover() == nil {
			t.Error("a release too many did not panic")
		}
	}()
	c.Release()
}

// Concurrent retains and releases: exactly one release is the last.
func TestCountConcurrent(t *testing.T) {
	var c refcount.Count
	c.Init()
	var lasts atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				if c.TryRetain() && c.Release() {
					lasts.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if c.Release() {
		lasts.Add(1)
	}
	if n := lasts.Load(); n != 1 {
		t.Errorf("%d releases reported the last, want 1", n)
	}
}
